#pragma once

// Request path normalisation before routing (the listener's normalize_path and merge_slashes,
// as in Envoy): without it, a route that keeps clients away from /admin does not see
// /%61dmin, /x/../admin or //admin, which an upstream that normalises serves as /admin.

#include <string>

namespace portico::http {

// Normalises the path of an origin-form request target in place; the query is left as it is.
// `normalize`: RFC 3986 6.2.2 - percent-encoded unreserved characters decoded (%61 -> a),
// other escapes upper-cased (%2f -> %2F: an encoded slash stays encoded), then dot segments
// removed (5.2.4; /a/./b/../c -> /a/c). `merge_slashes`: runs of '/' become one.
// Returns false for a malformed escape ('%' without two hex digits): answer 400.
// Targets that are not a path ("*") are left alone.
bool normalizePath(std::string& target, bool normalize, bool merge_slashes);

}  // namespace portico::http
