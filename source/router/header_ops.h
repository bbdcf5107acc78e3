#pragma once

// Header mutations configured at route, virtual host and route configuration level.
//
// Precedence: the most specific level wins. Levels are applied route first, then virtual host,
// then route configuration; within a level removals come before additions (Envoy). A level that
// sets (append: false) or removes a header name owns that name: less specific levels do not
// touch it, so a route's value is never overwritten by a global one. Appends (append: true) own
// nothing and add a line at every level. The three levels are flattened once per route at config
// time, so applying them is a plain loop.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_field.h"
#include "portico/config/v1/core.pb.h"
#include "source/common/http/header_map.h"

namespace portico::router {

struct HeaderOp {
  enum class Kind { kRemove, kSet, kAppend };
  Kind kind;
  std::string name;  // lower-case
  std::string value;
};

using HeaderOpList = std::vector<HeaderOp>;
using HeaderOpListSharedPtr = std::shared_ptr<const HeaderOpList>;

// Validates one level's `<prefix>headers_to_add` / `<prefix>headers_to_remove` fields, e.g.
// prefix "request_" for request_headers_to_add. Names are lower-cased; empty names, names with
// non-token characters, values with CR/LF/NUL and the body framing headers (content-length,
// transfer-encoding) are refused with their field path.
absl::StatusOr<HeaderOpList> buildHeaderOps(
    const google::protobuf::RepeatedPtrField<config::v1::HeaderValueOption>& to_add,
    const google::protobuf::RepeatedPtrField<std::string>& to_remove, absl::string_view field_path,
    absl::string_view prefix);

// Flattens `more_specific` over `less_specific` following the precedence above.
HeaderOpList mergeHeaderOps(const HeaderOpList& more_specific, const HeaderOpList& less_specific);

void applyHeaderOps(const HeaderOpList& ops, http::HeaderMap& headers);

}  // namespace portico::router
