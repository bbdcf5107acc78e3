#pragma once

// Admin: the operator's HTTP endpoint on its own listener, served on the main thread.
// Handlers are registered by path with the methods they accept; a wrong method gets 405.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/listener.h"

namespace portico::server {

struct AdminRequest {
  std::string method;
  std::string path;   // without the query
  absl::flat_hash_map<std::string, std::string> query;
};

struct AdminResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  explicit AdminServer(event::Dispatcher& dispatcher);
  ~AdminServer();

  // `post_only`: GET answers 405 (state-changing endpoints).
  void addHandler(const std::string& path, bool post_only, absl::string_view help, Handler handler);
  absl::Status start(const network::Address& address);
  uint16_t port() const { return listener_ ? listener_->boundPort() : 0; }
  // "/path: help" lines, for the index page.
  std::string helpText() const;

  // Serves one parsed request (public for tests).
  AdminResponse handle(const AdminRequest& request) const;

 private:
  class AdminConnection;
  struct Entry {
    bool post_only;
    std::string help;
    Handler handler;
  };

  event::Dispatcher& dispatcher_;
  std::unique_ptr<network::TcpListener> listener_;
  std::vector<std::string> order_;
  absl::flat_hash_map<std::string, Entry> handlers_;
  absl::flat_hash_map<AdminConnection*, std::unique_ptr<AdminConnection>> connections_;
};

}  // namespace portico::server
