#include "source/server/admin.h"

#include "absl/strings/str_cat.h"

namespace portico::server {

namespace {
constexpr char kText[] = "text/plain; charset=utf-8";
}

AdminServer::AdminServer(event::Dispatcher& dispatcher)
    : server_(dispatcher, [this](const AdminRequest& request) { return handle(request); }) {}

void AdminServer::addHandler(const std::string& path, bool post_only, absl::string_view help,
                             Handler handler) {
  order_.push_back(path);
  handlers_[path] = Entry{post_only, std::string(help), std::move(handler)};
}

std::string AdminServer::helpText() const {
  std::string out = "admin commands are:\n";
  for (const std::string& path : order_) {
    const Entry& e = handlers_.at(path);
    absl::StrAppend(&out, "  ", path, e.post_only ? " (POST)" : "", ": ", e.help, "\n");
  }
  return out;
}

AdminResponse AdminServer::handle(const AdminRequest& request) const {
  auto it = handlers_.find(request.path);
  if (it == handlers_.end()) {
    if (request.path == "/") return AdminResponse{200, kText, helpText()};
    return AdminResponse{404, kText, "unknown admin path\n" + helpText()};
  }
  const Entry& e = it->second;
  if (e.post_only && request.method != "POST") {
    return AdminResponse{405, kText, "this endpoint requires POST\n"};
  }
  if (!e.post_only && request.method != "GET" && request.method != "HEAD" &&
      request.method != "POST") {
    return AdminResponse{405, kText, "method not allowed\n"};
  }
  return e.handler(request);
}

}  // namespace portico::server
