#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "portico/config/v1/bootstrap.pb.h"

namespace portico::config {

// Reads a YAML (or JSON) bootstrap file into the proto. Unknown fields and wrong types are
// errors naming the field. Semantic checks happen when the snapshot is built.
absl::StatusOr<v1::Bootstrap> loadBootstrapFile(const std::string& path);
// A bootstrap file larger than this is refused (16 MiB: 10k routes take about 2 MiB).
inline constexpr size_t kMaxBootstrapFileBytes = 16 * 1024 * 1024;
absl::StatusOr<v1::Bootstrap> parseBootstrapYaml(const std::string& yaml);

}  // namespace portico::config
