#pragma once

// Field paths in validation errors: "virtual_hosts[1].routes[3].match.safe_regex: <message>".
// Operators fix configs from these messages, so every error names the exact offending field.

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace portico::router {

// "parent.child", or just `child` when `parent` is empty.
inline std::string fieldPath(absl::string_view parent, absl::string_view child) {
  if (parent.empty()) return std::string(child);
  return absl::StrCat(parent, ".", child);
}

// "parent.field[index]".
inline std::string fieldPath(absl::string_view parent, absl::string_view field, size_t index) {
  return fieldPath(parent, absl::StrCat(field, "[", index, "]"));
}

// InvalidArgument "path: message".
inline absl::Status fieldError(absl::string_view path, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(path, ": ", message));
}

}  // namespace portico::router
