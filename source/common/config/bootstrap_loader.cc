#include "source/common/config/bootstrap_loader.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/config/yaml_to_json.h"

namespace portico::config {

absl::StatusOr<v1::Bootstrap> parseBootstrapYaml(const std::string& yaml) {
  auto json = yamlToJson(yaml);
  if (!json.ok()) return json.status();
  if (*json == "null") {
    return absl::InvalidArgumentError(
        "the document is empty (a bootstrap has static_resources and/or dynamic_resources)");
  }
  if (json->front() != '{') {
    return absl::InvalidArgumentError(
        "the document must be a mapping of bootstrap fields, not a list or a single value");
  }
  v1::Bootstrap bootstrap;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(*json, &bootstrap, options);
  if (!status.ok()) {
    return absl::InvalidArgumentError(std::string(status.message()));
  }
  return bootstrap;
}

absl::StatusOr<v1::Bootstrap> loadBootstrapFile(const std::string& path) {
  auto cannot = [&](absl::string_view why) {
    return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "': ", why));
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return cannot(strerror(errno));
  // Pipes work too (--config <(generate)); the read stops past the limit, so /dev/zero or a
  // runaway generator cannot fill memory.
  std::string text;
  char chunk[64 * 1024];
  ssize_t n;
  while ((n = ::read(fd, chunk, sizeof(chunk))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return cannot(strerror(errno));
    }
    text.append(chunk, static_cast<size_t>(n));
    if (text.size() > kMaxBootstrapFileBytes) {
      ::close(fd);
      return cannot(absl::StrCat("larger than ", kMaxBootstrapFileBytes, " bytes"));
    }
  }
  ::close(fd);
  auto bootstrap = parseBootstrapYaml(text);
  if (!bootstrap.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bootstrap.status().message()));
  }
  return bootstrap;
}

}  // namespace portico::config
