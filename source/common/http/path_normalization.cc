#include "source/common/http/path_normalization.h"

#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace portico::http {
namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = absl::ascii_tolower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bool isUnreserved(char c) {  // RFC 3986 2.3
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

// Whether there is anything to do (the common case is nothing: one scan, no allocation).
bool needsWork(absl::string_view path, const PathNormalizationOptions& options) {
  const bool escapes =
      options.normalize || options.escaped_slashes != EscapedSlashesAction::kKeepUnchanged;
  for (size_t i = 0; i < path.size(); i++) {
    if (escapes && path[i] == '%') return true;
    if (options.normalize && path[i] == '\\') return true;
    if (path[i] != '/' || i + 1 >= path.size()) continue;
    if (options.merge_slashes && path[i + 1] == '/') return true;
    if (options.normalize && path[i + 1] == '.') return true;
  }
  return false;
}

// Decodes %2F and %5C (either case); escapes are read left to right, so "%252F" stays.
// Returns whether there was one.
bool unescapeSlashes(std::string& path) {
  std::string out;
  bool found = false;
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] == '%' && i + 2 < path.size() && hexValue(path[i + 1]) >= 0 &&
        hexValue(path[i + 2]) >= 0) {
      const char decoded = static_cast<char>(hexValue(path[i + 1]) * 16 + hexValue(path[i + 2]));
      if (decoded == '/' || decoded == '\\') {
        if (!found) out.assign(path, 0, i);
        found = true;
        out.push_back(decoded);
      } else if (found) {
        out.append(path, i, 3);
      }
      i += 2;
      continue;
    }
    if (found) out.push_back(path[i]);
  }
  if (found) path = std::move(out);
  return found;
}

// Decodes unreserved characters, upper-cases the other escapes and turns '\' into '/'; false
// if an escape is malformed.
bool normalizeEscapes(absl::string_view path, std::string& out) {
  out.reserve(path.size());
  for (size_t i = 0; i < path.size(); i++) {
    if (path[i] != '%') {
      out.push_back(path[i] == '\\' ? '/' : path[i]);
      continue;
    }
    if (i + 2 >= path.size()) return false;  // "%" or "%4" at the end
    const int hi = hexValue(path[i + 1]), lo = hexValue(path[i + 2]);
    if (hi < 0 || lo < 0) return false;
    const char decoded = static_cast<char>(hi * 16 + lo);
    if (isUnreserved(decoded)) {
      out.push_back(decoded);
    } else {
      out.push_back('%');
      out.push_back(absl::ascii_toupper(path[i + 1]));
      out.push_back(absl::ascii_toupper(path[i + 2]));
    }
    i += 2;
  }
  return true;
}

// RFC 3986 5.2.4 for a path that starts with '/'.
std::string removeDotSegments(absl::string_view path) {
  std::vector<absl::string_view> segments = absl::StrSplit(path.substr(1), '/');
  std::vector<absl::string_view> out;
  out.reserve(segments.size());
  for (size_t i = 0; i < segments.size(); i++) {
    const bool last = i + 1 == segments.size();
    if (segments[i] == ".") {
      if (last) out.push_back("");  // "/a/." -> "/a/"
      continue;
    }
    if (segments[i] == "..") {
      if (!out.empty()) out.pop_back();
      if (last) out.push_back("");  // "/a/b/.." -> "/a/"
      continue;
    }
    out.push_back(segments[i]);
  }
  return absl::StrCat("/", absl::StrJoin(out, "/"));
}

std::string mergeSlashes(absl::string_view path) {
  std::string out;
  out.reserve(path.size());
  for (char c : path) {
    if (c == '/' && !out.empty() && out.back() == '/') continue;
    out.push_back(c);
  }
  return out;
}

}  // namespace

PathNormalizationResult normalizePath(std::string& target,
                                      const PathNormalizationOptions& options) {
  const size_t query = target.find('?');
  absl::string_view path(target.data(), query == std::string::npos ? target.size() : query);
  if (path.empty() || path[0] != '/' || !needsWork(path, options)) {
    return PathNormalizationResult::kContinue;
  }
  std::string result(path);
  bool redirect = false;
  bool normalize = options.normalize;
  if (options.escaped_slashes != EscapedSlashesAction::kKeepUnchanged && unescapeSlashes(result)) {
    if (options.escaped_slashes == EscapedSlashesAction::kRejectRequest) {
      return PathNormalizationResult::kEscapedSlash;
    }
    redirect = options.escaped_slashes == EscapedSlashesAction::kUnescapeAndRedirect;
    // Decoded slashes make new segments: "/public%2F..%2Fadmin" is now "/public/../admin",
    // which an upstream resolves to /admin while the routes saw /public. Normalised even
    // without normalize_path, so the decoding never creates a path the routes did not see.
    normalize = true;
  }
  if (normalize) {
    std::string unescaped;
    if (!normalizeEscapes(result, unescaped)) return PathNormalizationResult::kMalformed;
    // Dot segments first, then slashes, as Envoy does: "/a//../b" is "/a/b".
    result = removeDotSegments(unescaped);
  }
  if (options.merge_slashes) result = mergeSlashes(result);
  if (query != std::string::npos) result.append(target, query, std::string::npos);
  target = std::move(result);
  return redirect ? PathNormalizationResult::kRedirect : PathNormalizationResult::kContinue;
}

std::string normalizedPathRedirectLocation(const std::string& target) {
  const size_t first = target.find_first_not_of("/\\");
  if (first == std::string::npos) return "/";
  return first <= 1 ? target : absl::StrCat("/", absl::string_view(target).substr(first));
}

}  // namespace portico::http
