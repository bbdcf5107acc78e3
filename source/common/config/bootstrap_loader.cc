#include "source/common/config/bootstrap_loader.h"

#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/config/yaml_to_json.h"

namespace portico::config {

absl::StatusOr<v1::Bootstrap> parseBootstrapYaml(const std::string& yaml) {
  auto json = yamlToJson(yaml);
  if (!json.ok()) return json.status();
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
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto bootstrap = parseBootstrapYaml(ss.str());
  if (!bootstrap.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", bootstrap.status().message()));
  }
  return bootstrap;
}

}  // namespace portico::config
