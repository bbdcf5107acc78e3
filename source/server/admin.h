#pragma once

// Admin: the operator's HTTP endpoint on its own listener, served on the main thread by the
// project's LocalServer. Handlers are registered by path with the methods they accept; a
// wrong method gets 405, an unknown path 404 with the list of endpoints.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/local_server.h"
#include "source/common/network/address.h"

namespace portico::server {

using AdminRequest = http::LocalRequest;
using AdminResponse = http::LocalResponse;

class AdminServer {
 public:
  using Handler = std::function<AdminResponse(const AdminRequest&)>;

  explicit AdminServer(event::Dispatcher& dispatcher);

  // `post_only`: GET answers 405 (state-changing endpoints).
  void addHandler(const std::string& path, bool post_only, absl::string_view help, Handler handler);
  absl::Status start(const network::Address& address) { return server_.start(address); }
  uint16_t port() const { return server_.port(); }
  // "/path: help" lines, for the index page.
  std::string helpText() const;

  // Serves one parsed request (public for tests). Every response forbids framing and content
  // sniffing: admin output is for operators and tools, never part of a page.
  AdminResponse handle(const AdminRequest& request) const;
  // Why a request a browser sent on another site's behalf is refused; "" if it is not.
  static std::string refusedOrigin(const AdminRequest& request);

 private:
  AdminResponse dispatch(const AdminRequest& request) const;

  struct Entry {
    bool post_only;
    std::string help;
    Handler handler;
  };

  http::LocalServer server_;
  std::vector<std::string> order_;
  absl::flat_hash_map<std::string, Entry> handlers_;
};

}  // namespace portico::server
