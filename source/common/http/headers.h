#pragma once

// Header rules a proxy applies on both directions.

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "source/common/http/header_map.h"

namespace portico::http {

// Whether `lower_name` is hop-by-hop by itself (one of those listed below).
bool isHopByHopHeader(absl::string_view lower_name);

// Removes hop-by-hop fields (RFC 9110 7.6.1): connection, keep-alive, proxy-connection, te,
// transfer-encoding, upgrade, trailer, and every field the Connection header names.
// Framing headers are re-created by the codec of the next hop.
void removeHopByHopHeaders(HeaderMap& headers);

// The transfer codings of every Transfer-Encoding field, in order, lower-cased and trimmed
// ("gzip, Chunked" -> {"gzip", "chunked"}); empty when there is none.
std::vector<std::string> transferCodings(const HeaderMap& headers);

// The idle timeout a server announces in `Keep-Alive: timeout=N[, max=M]` (RFC 2068 19.7.1,
// still sent by Node, Apache and others): after N seconds idle it closes the connection.
// nullopt when there is no such header or its timeout is not a number.
std::optional<std::chrono::seconds> keepAliveTimeout(const HeaderMap& headers);

// What a proxy adds to a request it forwards:
// - x-forwarded-for: `client_ip` appended to the hops already listed. Several fields are one
//   list (RFC 9110 5.3), so they become one field, every hop kept in order; empty ones are
//   dropped, so "X-Forwarded-For:" does not become ", <ip>".
// - x-forwarded-proto: `proto`, whatever the client sent.
// - x-request-id: kept when the first one is non-empty, else a generated UUID.
// A field the request carries once is edited in place; repeated ones become one field at the
// end. This runs for every request: one scan finds all three fields.
void setForwardingHeaders(HeaderMap& headers, absl::string_view client_ip, absl::string_view proto,
                          const std::function<uint64_t()>& random);

// A random UUID (version 4) for x-request-id, written into a fixed buffer: nothing is
// allocated per request (the header map copies it into storage it reuses).
struct RequestId {
  char chars[36];
  absl::string_view view() const { return absl::string_view(chars, sizeof(chars)); }
};
RequestId generateRequestId(const std::function<uint64_t()>& random);

}  // namespace portico::http
