#pragma once

// Request path normalisation before routing (the listener's normalize_path, merge_slashes and
// path_with_escaped_slashes_action, as in Envoy): without it, a route that keeps clients away
// from /admin does not see /%61dmin, /x/../admin, //admin or /x%2F..%2Fadmin, which an upstream
// that normalises serves as /admin.

#include <string>

namespace portico::http {

// What to do with %2F and %5C (encoded '/' and '\') in a request path.
enum class EscapedSlashesAction {
  kKeepUnchanged,        // forwarded as sent; routes see them as ordinary characters
  kRejectRequest,        // 400
  kUnescapeAndRedirect,  // 307 to the path with them decoded (and normalised)
  kUnescapeAndForward,   // decoded, then routed and forwarded
};

struct PathNormalizationOptions {
  // RFC 3986 6.2.2: percent-encoded unreserved characters decoded (%61 -> a), other escapes
  // upper-cased (%2f -> %2F), a raw '\' read as '/' (as browsers and Envoy read it), then dot
  // segments removed (5.2.4; /a/./b/../c -> /a/c).
  bool normalize = false;
  bool merge_slashes = false;  // runs of '/' become one
  EscapedSlashesAction escaped_slashes = EscapedSlashesAction::kKeepUnchanged;

  bool any() const {
    return normalize || merge_slashes || escaped_slashes != EscapedSlashesAction::kKeepUnchanged;
  }
};

enum class PathNormalizationResult {
  kContinue,      // route the (possibly changed) target
  kMalformed,     // '%' without two hex digits (with normalize): 400
  kEscapedSlash,  // an encoded slash under kRejectRequest: 400
  kRedirect,      // an encoded slash under kUnescapeAndRedirect: 307 to the new target
};

// Normalises the path of an origin-form request target in place, in Envoy's order: encoded
// slashes, then normalize, then merge_slashes. The query is left as it is. Targets that are
// not a path ("*", absolute-form) are left alone. On kMalformed and kEscapedSlash the target
// is unspecified.
PathNormalizationResult normalizePath(std::string& target, const PathNormalizationOptions& options);

// The Location for a kRedirect: the normalised target with any run of leading '/' and '\'
// made one '/' ("//evil.example/" would be read by a browser as another host).
std::string normalizedPathRedirectLocation(const std::string& target);

}  // namespace portico::http
