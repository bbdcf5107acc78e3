#pragma once

// LocalServer: a small HTTP/1.1 server for operator endpoints (the proxy's admin port, the
// control plane's REST API) on the project's own stack (TcpListener, ConnectionImpl,
// http1::ServerCodec on a Dispatcher). Keep-alive, bounded request bodies, one handler for
// every request, run on the dispatcher's thread. Not for proxied traffic.

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/listener.h"

namespace portico::http {

struct LocalRequest {
  std::string method;
  std::string path;  // without the query, percent-decoded
  absl::flat_hash_map<std::string, std::string> query;
  absl::flat_hash_map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct LocalResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class LocalServer {
 public:
  using Handler = std::function<LocalResponse(const LocalRequest&)>;
  static constexpr size_t kMaxBodyBytes = 4 * 1024 * 1024;

  LocalServer(event::Dispatcher& dispatcher, Handler handler);
  ~LocalServer();

  absl::Status start(const network::Address& address);
  uint16_t port() const { return listener_ ? listener_->boundPort() : 0; }

 private:
  class Connection;
  event::Dispatcher& dispatcher_;
  Handler handler_;
  std::unique_ptr<network::TcpListener> listener_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
};

}  // namespace portico::http
