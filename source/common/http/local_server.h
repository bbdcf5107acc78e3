#pragma once

// LocalServer: a small HTTP/1.1 server for operator endpoints (the proxy's admin port, the
// control plane's REST API) on the project's own stack (TcpListener, ConnectionImpl,
// http1::ServerCodec on a Dispatcher). Keep-alive, bounded request bodies, one handler for
// every request, run on the dispatcher's thread. Pipelined requests wait while the client
// leaves earlier responses unread (above the write buffer's watermark), so one client can
// neither grow memory nor keep the thread rendering answers nobody reads; over all clients,
// responses unread past a budget turn further requests into 503s. Not for proxied traffic.

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/listener.h"

namespace portico::http {

struct LocalRequest {
  std::string method;
  std::string path;      // without the query, percent-decoded
  std::string raw_path;  // without the query, as sent (to split before decoding: "a%2Fb")
  absl::flat_hash_map<std::string, std::string> query;
  absl::flat_hash_map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct LocalResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more response headers
};

// Bounds that keep a slow or idle client from holding the server's descriptors forever.
struct LocalServerLimits {
  // From a request's first byte to its last (head and body): past it, 408 and close.
  std::chrono::milliseconds request_timeout{15000};
  // A connection with no request under way is closed after this.
  std::chrono::milliseconds idle_timeout{60000};
  // Connections beyond this are closed as soon as they are accepted.
  size_t max_connections = 1024;
  // A longer request body is read and dropped, then answered 413.
  size_t max_body_bytes = 4 * 1024 * 1024;
  // Responses buffered for one connection above which its next request waits.
  uint32_t write_buffer_limit = 1024 * 1024;
  // Responses buffered over all connections (clients not reading them) above which a request
  // is answered 503 instead of being rendered: many connections that each hold one big answer
  // (a /stats, a /config_dump) would otherwise grow memory without the per-connection bound.
  size_t max_buffered_bytes = 64 * 1024 * 1024;
};

// "%41" -> "A"; a '%' without two hex digits stays as it is.
std::string percentDecode(absl::string_view s);
// Percent-encodes all but RFC 3986's unreserved characters: a name as one path segment.
std::string percentEncodePathSegment(absl::string_view s);

class LocalServer {
 public:
  using Handler = std::function<LocalResponse(const LocalRequest&)>;

  LocalServer(event::Dispatcher& dispatcher, Handler handler, LocalServerLimits limits = {});
  ~LocalServer();

  absl::Status start(const network::Address& address);
  uint16_t port() const { return listener_ ? listener_->boundPort() : 0; }
  size_t connectionCount() const { return connections_.size(); }
  // Connections refused at max_connections, and closed by either timeout, since start.
  uint64_t overflowCount() const { return overflow_count_; }
  uint64_t timeoutCount() const { return timeout_count_; }
  // Bytes of responses written and not yet taken by the clients' sockets, over all connections.
  size_t bufferedBytes() const;

 private:
  class Connection;
  event::Dispatcher& dispatcher_;
  Handler handler_;
  const LocalServerLimits limits_;
  uint64_t overflow_count_ = 0;
  uint64_t timeout_count_ = 0;
  std::unique_ptr<network::TcpListener> listener_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
};

}  // namespace portico::http
