#include "source/server/admin.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/http/http1/server_codec.h"
#include "source/common/network/connection_impl.h"

namespace portico::server {

// One admin connection: parse one request at a time, answer, keep alive.
class AdminServer::AdminConnection : public network::ConnectionCallbacks,
                                     public http::http1::ServerCodecCallbacks,
                                     public event::DeferredDeletable {
 public:
  AdminConnection(AdminServer& admin, std::unique_ptr<network::ConnectionImpl> connection)
      : admin_(admin), connection_(std::move(connection)), codec_(*this, {}) {
    connection_->setCallbacks(*this);
  }

  // network::ConnectionCallbacks
  void onData(buffer::Buffer& data) override {
    while (!closed_ && data.length() > 0) {
      codec_.dispatch(data);
      if (!codec_.waitingForResume()) break;
      codec_.resume();
    }
  }
  void onEvent(network::ConnectionEvent event) override {
    if (event == network::ConnectionEvent::kConnected) return;
    closed_ = true;
    auto it = admin_.connections_.find(this);
    if (it != admin_.connections_.end()) {
      admin_.dispatcher_.deferredDelete(std::move(it->second));
      admin_.connections_.erase(it);
    }
  }
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

  // http::http1::ServerCodecCallbacks
  void onRequestHeaders(http::RequestHead& head, bool) override {
    request_ = AdminRequest();
    request_.method = head.method;
    absl::string_view target = head.path;
    size_t q = target.find('?');
    request_.path = std::string(target.substr(0, q));
    if (q != absl::string_view::npos) {
      for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        request_.query[p.first] = p.second;
      }
    }
    keep_alive_ = codec_.requestKeepAlive();
  }
  void onRequestBody(absl::string_view) override {}
  void onRequestComplete() override {
    AdminResponse response = admin_.handle(request_);
    http::ResponseHead head;
    head.status = response.status;
    head.headers.add("content-type", response.content_type);
    head.headers.add("content-length", absl::StrCat(response.body.size()));
    head.headers.add("cache-control", "no-cache");
    buffer::Buffer out;
    codec_.encodeResponseHeaders(head, response.body.empty(), !keep_alive_, out);
    codec_.encodeResponseData(response.body, true, out);
    connection_->write(out);
    if (!keep_alive_) connection_->close(network::CloseType::kFlushWrite);
  }
  void onRequestError(int status, absl::string_view reason) override {
    buffer::Buffer out;
    out.add(absl::StrCat("HTTP/1.1 ", status, " Bad Request\r\ncontent-length: ", reason.size(),
                         "\r\nconnection: close\r\n\r\n", reason));
    connection_->write(out);
    connection_->close(network::CloseType::kFlushWrite);
  }

 private:
  AdminServer& admin_;
  std::unique_ptr<network::ConnectionImpl> connection_;
  http::http1::ServerCodec codec_;
  AdminRequest request_;
  bool keep_alive_ = true;
  bool closed_ = false;
};

AdminServer::AdminServer(event::Dispatcher& dispatcher) : dispatcher_(dispatcher) {}
AdminServer::~AdminServer() = default;

void AdminServer::addHandler(const std::string& path, bool post_only, absl::string_view help,
                             Handler handler) {
  order_.push_back(path);
  handlers_[path] = Entry{post_only, std::string(help), std::move(handler)};
}

absl::Status AdminServer::start(const network::Address& address) {
  auto listener = network::TcpListener::create(
      dispatcher_, address, [this](int fd, const network::Address& peer) {
        auto conn = std::make_unique<network::ConnectionImpl>(dispatcher_, fd, peer, false,
                                                              1024 * 1024);
        auto admin_conn = std::make_unique<AdminConnection>(*this, std::move(conn));
        connections_[admin_conn.get()] = std::move(admin_conn);
      });
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  return absl::OkStatus();
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
    if (request.path == "/") return AdminResponse{200, "text/plain; charset=utf-8", helpText()};
    return AdminResponse{404, "text/plain; charset=utf-8", "unknown admin path\n" + helpText()};
  }
  const Entry& e = it->second;
  if (e.post_only && request.method != "POST") {
    return AdminResponse{405, "text/plain; charset=utf-8", "this endpoint requires POST\n"};
  }
  if (!e.post_only && request.method != "GET" && request.method != "HEAD" &&
      request.method != "POST") {
    return AdminResponse{405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  return e.handler(request);
}

}  // namespace portico::server
