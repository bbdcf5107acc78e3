#include "source/control_plane/cli/line_diff.h"

#include <vector>

#include "absl/strings/str_split.h"

namespace portico::control_plane::cli {

std::string lineDiff(const std::string& before, const std::string& after) {
  if (before == after) return "";
  std::vector<std::string> a, b;
  if (!before.empty()) a = absl::StrSplit(before, '\n');
  if (!after.empty()) b = absl::StrSplit(after, '\n');
  const size_t n = a.size(), m = b.size();
  std::vector<std::vector<int>> lcs(n + 1, std::vector<int>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  std::string out;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      out += " " + a[i++] + "\n";
      j++;
    } else if (j < m && (i == n || lcs[i][j + 1] >= lcs[i + 1][j])) {
      out += "+" + b[j++] + "\n";
    } else {
      out += "-" + a[i++] + "\n";
    }
  }
  return out;
}

}  // namespace portico::control_plane::cli
