#pragma once

// A small HTTP/1.1 server for the REST API on the project's own stack (TcpListener,
// ConnectionImpl, http1::ServerCodec on a Dispatcher), like the data plane's admin endpoint,
// plus request bodies. One handler answers every request; it runs on the dispatcher thread.

#include <functional>
#include <memory>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/listener.h"

namespace portico::control_plane {

struct HttpRequest {
  std::string method;
  std::string path;  // without the query, percent-decoded
  absl::flat_hash_map<std::string, std::string> query;
  absl::flat_hash_map<std::string, std::string> headers;  // lower-case names
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  static constexpr size_t kMaxBodyBytes = 4 * 1024 * 1024;

  HttpServer(event::Dispatcher& dispatcher, Handler handler);
  ~HttpServer();

  absl::Status start(const network::Address& address);
  uint16_t port() const { return listener_ ? listener_->boundPort() : 0; }

 private:
  class Connection;
  event::Dispatcher& dispatcher_;
  Handler handler_;
  std::unique_ptr<network::TcpListener> listener_;
  absl::flat_hash_map<Connection*, std::unique_ptr<Connection>> connections_;
};

// Reason phrase for the status codes the API uses.
absl::string_view reasonPhrase(int status);

}  // namespace portico::control_plane
