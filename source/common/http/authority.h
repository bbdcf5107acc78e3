#pragma once

// The authority a request names (Host header, absolute-form target): RFC 9110 7.2 and
// RFC 3986 3.2.2-3.2.3. Checked before a request is routed or forwarded, so the proxy and the
// upstream cannot read a different host out of the same bytes.

#include "absl/strings/string_view.h"

namespace portico::http {

// True if `s` is uri-host [":" port]: a reg-name (unreserved and sub-delims; percent-encoding
// is refused, see authority.cc), an IPv4 address (a reg-name's bytes) or a bracketed
// IPv6/IPvFuture literal, then an optional port up to 65535. Empty is false (an empty Host is
// legal but not an authority; callers decide). Userinfo ('@'), '/', '?', '#', '%', whitespace
// and control bytes are never valid.
bool isValidAuthority(absl::string_view s);

}  // namespace portico::http
