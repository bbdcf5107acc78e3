#include "source/common/common/read_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico {

absl::StatusOr<std::string> readFileBounded(const std::string& path, size_t max_bytes) {
  auto cannot = [&](absl::string_view why) {
    return absl::NotFoundError(absl::StrCat("cannot read '", path, "': ", why));
  };
  if (path.empty()) return cannot("no path given");
  const bool stdin_input = path == "-";
  const int fd = stdin_input ? STDIN_FILENO : ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot(strerror(errno));
  std::string text;
  absl::Status status = absl::OkStatus();
  char chunk[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(fd, chunk, sizeof(chunk));
    if (n == 0) break;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      status = cannot(strerror(errno));
      break;
    }
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > max_bytes) {
      status = cannot(absl::StrCat("larger than ", max_bytes, " bytes"));
      break;
    }
  }
  if (!stdin_input) ::close(fd);
  if (!status.ok()) return status;
  return text;
}

}  // namespace portico
