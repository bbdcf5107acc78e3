#pragma once

// YAML -> JSON, so that config files in YAML map onto protobuf messages with protobuf's own
// JSON parser (field names, enums, Durations "5s", well-known types all for free).

#include <string>

#include "absl/status/statusor.h"

namespace portico::config {

// Unquoted scalars become JSON numbers, booleans or null when they look like one; quoted
// scalars always stay strings. Errors carry the YAML line and column.
// The JSON may not exceed maxJsonBytes(yaml.size()): aliases can make a tiny document expand
// without bound, and this also parses what the control plane's API receives.
absl::StatusOr<std::string> yamlToJson(const std::string& yaml);
size_t maxJsonBytes(size_t yaml_bytes);

}  // namespace portico::config
