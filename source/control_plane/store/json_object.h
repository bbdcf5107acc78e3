#pragma once

// Splits a JSON object into its members without building a document: each value stays raw JSON
// text, so a resource spec goes straight to protobuf's JSON parser (exact numbers, no detour
// through google.protobuf.Struct doubles).

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portico::control_plane::json {

struct Member {
  std::string key;
  std::string raw;  // the value's JSON text
};

// `text` must be one JSON object (whitespace around it is fine). Members keep their order.
absl::StatusOr<std::vector<Member>> splitObject(absl::string_view text);
// A raw JSON string value ("\"a\\n\"") decoded; InvalidArgument when `raw` is not a string.
absl::StatusOr<std::string> decodeString(absl::string_view raw);

}  // namespace portico::control_plane::json
