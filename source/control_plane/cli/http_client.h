#pragma once

// A blocking HTTP/1.1 client for the CLI: one request per connection ("connection: close"),
// plain http:// URLs only (the API listens on loopback or behind a TLS terminator).

#include <string>

#include "absl/status/statusor.h"

namespace portico::control_plane::cli {

struct ClientResponse {
  int status = 0;
  std::string body;
};

// `server`: "http://host:port" (a trailing slash is fine). Unavailable when the server cannot
// be reached; the HTTP status is in the response otherwise.
absl::StatusOr<ClientResponse> httpRequest(const std::string& server, const std::string& method,
                                           const std::string& path, const std::string& token,
                                           const std::string& body = "", int timeout_seconds = 30);

}  // namespace portico::control_plane::cli
