#include "source/common/config/bootstrap_loader.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/common/read_file.h"
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
  auto text = readFileBounded(path, kMaxBootstrapFileBytes);
  if (!text.ok()) return text.status();
  auto bootstrap = parseBootstrapYaml(*text);
  if (!bootstrap.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bootstrap.status().message()));
  }
  return bootstrap;
}

}  // namespace portico::config
