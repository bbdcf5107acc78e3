#include "source/common/http/local_server.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/http/http1/server_codec.h"
#include "source/common/network/connection_impl.h"

namespace portico::http {
std::string percentDecode(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '%' && i + 2 < s.size() && absl::ascii_isxdigit(s[i + 1]) &&
        absl::ascii_isxdigit(s[i + 2])) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::string percentEncodePathSegment(absl::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// One connection: one request at a time, keep-alive.
class LocalServer::Connection : public network::ConnectionCallbacks,
                                public http1::ServerCodecCallbacks,
                                public event::DeferredDeletable {
 public:
  Connection(LocalServer& server, std::unique_ptr<network::ConnectionImpl> connection)
      : server_(server),
        connection_(std::move(connection)),
        codec_(*this, {}),
        timer_(server.dispatcher_.createTimer([this] { onTimeout(); })) {
    connection_->setCallbacks(*this);
    timer_->enableTimer(server_.limits_.idle_timeout);
  }

  // network::ConnectionCallbacks
  void onData(buffer::Buffer& data) override {
    while (!closed_ && !closing_) {
      if (codec_.waitingForResume()) {
        // The last response is out. A pipelined request behind it waits while the client
        // leaves what we wrote unread; reading resumes below the low watermark.
        if (connection_->aboveHighWatermark()) {
          if (!read_paused_) {
            read_paused_ = true;
            connection_->readDisable(true);
          }
          return;
        }
        codec_.resume();
      }
      if (data.length() == 0) break;
      if (!in_request_) {
        // The first byte of a request (also one pipelined behind the last): from now on it has
        // request_timeout to arrive whole.
        in_request_ = true;
        timer_->enableTimer(server_.limits_.request_timeout);
      }
      codec_.dispatch(data);
      if (!codec_.waitingForResume()) break;
    }
    if (!closed_ && in_request_ && !codec_.partialHead() && !codec_.requestInProgress() &&
        data.length() == 0) {
      // Only an empty line after the last request (some clients send one after a body): still
      // idle, so no 408 for a request nobody started.
      in_request_ = false;
      timer_->enableTimer(server_.limits_.idle_timeout);
    }
  }
  void onEvent(network::ConnectionEvent event) override {
    if (event == network::ConnectionEvent::kConnected) return;
    closed_ = true;
    timer_->disableTimer();
    auto it = server_.connections_.find(this);
    if (it != server_.connections_.end()) {
      server_.dispatcher_.deferredDelete(std::move(it->second));
      server_.connections_.erase(it);
    }
  }
  void onAboveWriteBufferHighWatermark() override {}
  size_t writeBufferLength() const { return connection_->writeBufferLength(); }
  void onBelowWriteBufferLowWatermark() override {
    if (!read_paused_ || closed_) return;
    read_paused_ = false;
    connection_->readDisable(false);  // re-delivers what is buffered: onData() goes on
  }

  // http1::ServerCodecCallbacks
  void onRequestHeaders(RequestHead& head, bool) override {
    request_ = LocalRequest();
    too_large_ = false;
    request_.method = head.method;
    absl::string_view target = head.path;
    size_t q = target.find('?');
    request_.raw_path = std::string(target.substr(0, q));
    request_.path = percentDecode(request_.raw_path);
    if (q != absl::string_view::npos) {
      for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
        std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
        request_.query[percentDecode(p.first)] = percentDecode(p.second);
      }
    }
    for (const auto& h : head.headers) {
      request_.headers[absl::AsciiStrToLower(h.name)] = h.value;
    }
    keep_alive_ = codec_.requestKeepAlive();
  }
  void onRequestBody(buffer::Buffer& data) override {
    if (too_large_ || request_.body.size() + data.length() > server_.limits_.max_body_bytes) {
      too_large_ = true;
      data.clear();
      return;
    }
    request_.body.append(data.toString());
    data.clear();
  }
  void onRequestComplete() override {
    in_request_ = false;
    LocalResponse response;
    if (too_large_) {
      response = LocalResponse{413, "application/json", "{\"error\":\"body too large\"}\n"};
    } else if (server_.bufferedBytes() > server_.limits_.max_buffered_bytes) {
      response = LocalResponse{503,
                               "application/json",
                               "{\"error\":\"too many responses are waiting to be read by their "
                               "clients; retry later\"}\n",
                               {{"retry-after", "1"}}};
    } else {
      response = server_.handler_(request_);
    }
    ResponseHead head;
    head.status = response.status;
    head.headers.add("content-type", response.content_type);
    head.headers.add("content-length", absl::StrCat(response.body.size()));
    head.headers.add("cache-control", "no-cache");
    if (response.status == 401) head.headers.add("www-authenticate", "Bearer");
    for (const auto& [name, value] : response.headers) head.headers.add(name, value);
    buffer::Buffer out;
    codec_.encodeResponseHeaders(head, response.body.empty(), !keep_alive_, out);
    if (!response.body.empty()) codec_.encodeResponseData(response.body, true, out);
    connection_->write(out);
    if (!keep_alive_) {
      // Nothing pipelined behind it is served, even while the response is still being sent.
      closing_ = true;
      connection_->close(network::CloseType::kFlushWrite);
      return;
    }
    // Bytes of a next request already read restart the request clock in onData().
    timer_->enableTimer(server_.limits_.idle_timeout);
  }
  void onRequestError(int status, absl::string_view reason) override {
    closing_ = true;
    timer_->disableTimer();  // closing: the flush has its own bound
    buffer::Buffer out;
    out.add(absl::StrCat("HTTP/1.1 ", status, " ", http1::reasonPhrase(status),
                         "\r\ncontent-length: ", reason.size(), "\r\nconnection: close\r\n\r\n",
                         codec_.requestIsHead() ? "" : reason));  // a HEAD's answer has no body
    connection_->write(out);
    connection_->close(network::CloseType::kFlushWrite);
  }

 private:
  void onTimeout() {
    server_.timeout_count_++;
    if (in_request_) {
      onRequestError(408, "request timeout\n");
    } else {
      connection_->close(network::CloseType::kNoFlush);
    }
  }

  LocalServer& server_;
  std::unique_ptr<network::ConnectionImpl> connection_;
  http1::ServerCodec codec_;
  LocalRequest request_;
  bool keep_alive_ = true;
  bool closed_ = false;
  bool closing_ = false;      // the last response said close: no more requests
  bool read_paused_ = false;  // waiting for the client to read our responses
  bool too_large_ = false;
  bool in_request_ = false;
  event::TimerPtr timer_;
};

size_t LocalServer::bufferedBytes() const {
  size_t total = 0;  // a walk of at most max_connections, once per request on an operator port
  for (const auto& [connection, owned] : connections_) total += connection->writeBufferLength();
  return total;
}

LocalServer::LocalServer(event::Dispatcher& dispatcher, Handler handler, LocalServerLimits limits)
    : dispatcher_(dispatcher), handler_(std::move(handler)), limits_(limits) {}
LocalServer::~LocalServer() = default;

absl::Status LocalServer::start(const network::Address& address) {
  auto listener = network::TcpListener::create(
      dispatcher_, address,
      [this](int fd, const network::Address& peer) {
        if (connections_.size() >= limits_.max_connections) {
          overflow_count_++;
          ::close(fd);
          return;
        }
        auto conn = std::make_unique<network::ConnectionImpl>(dispatcher_, fd, peer, false,
                                                              limits_.write_buffer_limit);
        auto c = std::make_unique<Connection>(*this, std::move(conn));
        connections_[c.get()] = std::move(c);
      },
      /*reuse_port=*/false);  // one socket: a second server on this port fails to start
  if (!listener.ok()) return listener.status();
  listener_ = std::move(*listener);
  return absl::OkStatus();
}

}  // namespace portico::http
