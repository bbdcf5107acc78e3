#pragma once

// Reading a whole file (config, resources, certificates) with a size bound, so that a wrong
// path (/dev/zero, a runaway generator behind a pipe) gives an error instead of filling memory.

#include <cstddef>
#include <string>

#include "absl/status/statusor.h"

namespace portico {

// The contents of `path` ("-": standard input). Errors: NotFound "cannot read '<path>':
// <reason>" (No such file or directory, Is a directory, ...) or "larger than <max> bytes".
// Pipes and devices work; only what is read counts against `max_bytes`.
absl::StatusOr<std::string> readFileBounded(const std::string& path, size_t max_bytes);

}  // namespace portico
