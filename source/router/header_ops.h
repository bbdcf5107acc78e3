#pragma once

// Header mutations configured at route, virtual host and route configuration level.
//
// Precedence: the most specific level wins. Levels are applied route first, then virtual host,
// then route configuration; within a level removals come before additions (Envoy). A level that
// sets (append: false) or removes a header name owns that name: less specific levels do not
// touch it, so a route's value is never overwritten by a global one. Appends (append: true) own
// nothing and add a line at every level.
//
// Each level is kept once and shared by the levels under it (every route of a virtual host
// points at the same virtual-host level): flattening them per route would copy the inherited
// ops into every route that has ops of its own, N x M entries for N routes and M inherited ops.

#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_set.h"
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

// One level's ops over the levels less specific than it.
struct HeaderOpLevel {
  HeaderOpList ops;
  absl::flat_hash_set<std::string> owned;              // names `ops` set or remove
  std::shared_ptr<const HeaderOpLevel> less_specific;  // nullptr: none
};
using HeaderOpLevelSharedPtr = std::shared_ptr<const HeaderOpLevel>;

// At most this many ops (adds and removes) per level, as Envoy's limit.
inline constexpr int kMaxHeaderOpsPerLevel = 1000;

// Validates one level's `<prefix>headers_to_add` / `<prefix>headers_to_remove` fields, e.g.
// prefix "request_" for request_headers_to_add. Names are lower-cased; empty names, names with
// non-token characters, values with CR/LF/NUL and the body framing headers (content-length,
// transfer-encoding) are refused with their field path.
absl::StatusOr<HeaderOpList> buildHeaderOps(
    const google::protobuf::RepeatedPtrField<config::v1::HeaderValueOption>& to_add,
    const google::protobuf::RepeatedPtrField<std::string>& to_remove, absl::string_view field_path,
    absl::string_view prefix);

// `ops` as a level over `less_specific` (which may be nullptr). A level without ops is
// `less_specific` itself, so a chain is never longer than the levels that have ops.
HeaderOpLevelSharedPtr layerHeaderOps(HeaderOpList ops, HeaderOpLevelSharedPtr less_specific);

// Applies a chain of levels (nullptr: nothing to do) following the precedence above.
void applyHeaderOps(const HeaderOpLevel* levels, http::HeaderMap& headers);
// Applies one level's ops on their own.
void applyHeaderOps(const HeaderOpList& ops, http::HeaderMap& headers);

}  // namespace portico::router
