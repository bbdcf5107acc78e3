#pragma once

// Syntax checks for header names and values that come from config, so that the proxy never emits
// a header it would itself reject (or one that splits a response: CR/LF injection).

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portico::router {

// Returns `name` lower-cased (HeaderMap stores lower-case names) when it is a valid RFC 9110
// token; an error naming `field_path` when it is empty or has any other character. Pseudo-headers
// (":path") are refused: the router sees them as separate request fields, not as headers.
absl::StatusOr<std::string> normalizeHeaderName(absl::string_view name,
                                                absl::string_view field_path);

// OK unless `value` holds a byte no field value may hold (http::hasBadValueByte: control
// characters other than HTAB, DEL).
absl::Status validateHeaderValue(absl::string_view value, absl::string_view field_path);

}  // namespace portico::router
