#pragma once

// YAML -> JSON, so that config files in YAML map onto protobuf messages with protobuf's own
// JSON parser (field names, enums, Durations "5s", well-known types all for free).

#include <string>

#include "absl/status/statusor.h"

namespace portico::config {

// Unquoted scalars become JSON numbers, booleans or null when they look like one; quoted
// scalars always stay strings. Errors carry the YAML line and column.
absl::StatusOr<std::string> yamlToJson(const std::string& yaml);

}  // namespace portico::config
