#include "source/server/admin.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace portico::server {

namespace {

constexpr char kText[] = "text/plain; charset=utf-8";

http::LocalServerLimits adminLimits() {
  http::LocalServerLimits limits;
  limits.max_body_bytes = 64 * 1024;  // no endpoint takes a body
  return limits;
}

const std::string* header(const AdminRequest& request, const std::string& name) {
  auto it = request.headers.find(name);
  return it == request.headers.end() ? nullptr : &it->second;
}

// "127.0.0.1:9901", "[::1]:9901", "localhost" (any port): an address, not a DNS name.
bool isAddressOrLocalhost(absl::string_view host) {
  if (absl::StartsWith(host, "[")) {
    const size_t close = host.find(']');
    return close != absl::string_view::npos &&
           network::Address::parse(std::string(host.substr(1, close - 1)), 0).ok();
  }
  host = host.substr(0, host.find(':'));
  return absl::AsciiStrToLower(host) == "localhost" ||
         network::Address::parse(std::string(host), 0).ok();
}

}  // namespace

AdminServer::AdminServer(event::Dispatcher& dispatcher)
    : server_(
          dispatcher, [this](const AdminRequest& request) { return handle(request); },
          adminLimits()) {}

std::string AdminServer::refusedOrigin(const AdminRequest& request) {
  // A web page the operator has open could make the browser POST /quitquitquit here (no body
  // needed), and with DNS rebinding (its own name resolved to this address) read /config_dump.
  // Browsers say where a request comes from (Sec-Fetch-Site, Origin) and which name they
  // resolved (Host). curl, Prometheus and scripts send no Sec-Fetch-* or Origin, so they may
  // still dial the admin by a DNS name.
  const std::string* site = header(request, "sec-fetch-site");
  const std::string* mode = header(request, "sec-fetch-mode");
  if ((request.method == "GET" || request.method == "HEAD") && mode != nullptr &&
      *mode == "navigate" && (site == nullptr || *site != "same-origin")) {
    // The operator following a link or typing an address (a DNS name too): GET changes
    // nothing, and a page of another origin that linked here cannot read what the browser
    // shows. A same-origin navigation by a DNS name is not exempt: with DNS rebinding the
    // page that opens it (in a frame) is that origin and reads it.
    return "";
  }
  if (site != nullptr && *site != "same-origin" && *site != "none") {
    return absl::StrCat("refused: a request from another site (sec-fetch-site: ", *site, ")\n");
  }
  const std::string* host = header(request, "host");
  const std::string* origin = header(request, "origin");
  if (origin != nullptr) {
    absl::string_view authority = *origin;
    const size_t scheme = authority.find("://");
    if (scheme != absl::string_view::npos) authority.remove_prefix(scheme + 3);
    if (host == nullptr || authority != *host) {
      return absl::StrCat("refused: a request from another origin (", *origin, ")\n");
    }
  }
  // Browsers without Sec-Fetch-* still send Origin with a POST.
  if ((site != nullptr || origin != nullptr) && host != nullptr && !host->empty() &&
      !isAddressOrLocalhost(*host)) {
    return absl::StrCat("refused: Host '", *host,
                        "' is not an IP address or localhost (a browser that resolved a name "
                        "to this address: DNS rebinding)\n");
  }
  return "";
}

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
  AdminResponse response = dispatch(request);
  response.headers.emplace_back("x-frame-options", "DENY");
  response.headers.emplace_back("x-content-type-options", "nosniff");
  return response;
}

AdminResponse AdminServer::dispatch(const AdminRequest& request) const {
  if (std::string refused = refusedOrigin(request); !refused.empty()) {
    return AdminResponse{403, kText, std::move(refused)};
  }
  auto it = handlers_.find(request.path);
  if (it == handlers_.end()) {
    if (request.path == "/") return AdminResponse{200, kText, helpText()};
    return AdminResponse{404, kText, "unknown admin path\n" + helpText()};
  }
  const Entry& e = it->second;
  if (e.post_only && request.method != "POST") {
    return AdminResponse{405, kText, "this endpoint requires POST\n", {{"allow", "POST"}}};
  }
  if (!e.post_only && request.method != "GET" && request.method != "HEAD" &&
      request.method != "POST") {
    return AdminResponse{405, kText, "method not allowed\n", {{"allow", "GET, HEAD, POST"}}};
  }
  return e.handler(request);
}

}  // namespace portico::server
