#include "source/xds/grpc_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::xds {

namespace {
std::string authorityOf(const network::Address& server, const std::optional<TlsOptions>& tls) {
  return tls.has_value() && !tls->server_name.empty() ? tls->server_name : server.asString();
}
}  // namespace

GrpcStream::GrpcStream(event::Dispatcher& dispatcher, const network::Address& server,
                       std::string path, GrpcStreamCallbacks& callbacks, StreamOptions options)
    : dispatcher_(dispatcher),
      server_(server),
      callbacks_(callbacks),
      tls_options_(std::move(options.tls)),
      keepalive_(options.keepalive),
      session_(std::move(path), authorityOf(server, tls_options_), tls_options_.has_value(),
               callbacks, *this) {}

GrpcStream::~GrpcStream() {
  closed_ = true;  // no callbacks from here on
  if (connection_ != nullptr) connection_->close(network::CloseType::kNoFlush);
}

void GrpcStream::start() {
  connection_ = network::ConnectionImpl::connect(dispatcher_, server_, 4 * 1024 * 1024);
  if (connection_ == nullptr) {
    fail(kGrpcUnavailable, "cannot create socket");
    return;
  }
  connection_->setCallbacks(*this);
  // An idle stream is watched by TCP keepalive, not HTTP/2 PINGs: gRPC servers answer PINGs
  // more often than every 5 minutes with GOAWAY "too_many_pings". The kernel's probes find a
  // half-open connection (a NAT or balancer that forgot it) within about 4 intervals, and
  // TCP_USER_TIMEOUT bounds data left unacknowledged.
  const int fd = connection_->fd();
  const int on = 1;
  const int seconds = static_cast<int>(
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(keepalive_).count()));
  const int probes = 3;
  const unsigned int user_timeout_ms = static_cast<unsigned int>(4 * seconds * 1000);
  setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &seconds, sizeof(seconds));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &seconds, sizeof(seconds));
  setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &probes, sizeof(probes));
  setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout_ms, sizeof(user_timeout_ms));
  // Set-up (connect, TLS, the server's HTTP/2 SETTINGS) must be done in time: a TLS
  // terminator in front of a hung control plane completes the handshake and no more.
  setup_timer_ = dispatcher_.createTimer([this] {
    if (!closed_ && !session_.serverSettingsReceived()) {
      fail(kGrpcUnavailable,
           absl::StrCat("no answer from the control plane within ", keepalive_.count(), " ms"));
    }
  });
  setup_timer_->enableTimer(keepalive_);
}

void GrpcStream::write(absl::string_view bytes) {
  if (closed_) return;
  buffer::Buffer out;
  if (tls_ != nullptr) {
    std::string cipher;
    absl::Status st = tls_->write(bytes, cipher);
    if (!st.ok()) {
      fail(kGrpcUnavailable, st.message());
      return;
    }
    out.add(cipher);
  } else {
    out.add(bytes);
  }
  if (out.length() > 0) connection_->write(out);
}

size_t GrpcStream::unsentBytes() const {
  return connection_ != nullptr ? connection_->writeBufferLength() : 0;
}

void GrpcStream::onData(buffer::Buffer& data) {
  while (data.length() > 0 && !closed_) {
    absl::string_view piece = data.slice(0);
    if (tls_ != nullptr) {
      std::string plain, out;
      absl::Status st = tls_->onNetworkData(piece, plain, out);
      data.drain(piece.size());
      if (!out.empty()) {
        buffer::Buffer b;
        b.add(out);
        connection_->write(b);
      }
      if (tls_->handshakeDone()) session_.start();  // once; later calls do nothing
      // What was decrypted before an error or the peer's close_notify (the server's trailers,
      // say) is read first: it tells why the stream ends.
      if (!plain.empty()) session_.receive(plain);
      if (!st.ok()) {
        fail(kGrpcUnavailable, st.message());
        return;
      }
    } else {
      session_.receive(piece);
      data.drain(piece.size());
    }
  }
}

void GrpcStream::onEvent(network::ConnectionEvent event) {
  if (closed_) return;
  if (event == network::ConnectionEvent::kConnected) {
    connected_ = true;
    if (!tls_options_.has_value()) {
      session_.start();
      return;
    }
    auto tls = TlsClient::create(*tls_options_);
    if (!tls.ok()) {
      fail(kGrpcUnavailable, tls.status().message());
      return;
    }
    tls_ = std::move(*tls);
    std::string hello;
    absl::Status st = tls_->handshake(hello);
    if (!st.ok()) {
      fail(kGrpcUnavailable, st.message());
      return;
    }
    buffer::Buffer b;
    b.add(hello);
    connection_->write(b);
    return;
  }
  // Never connected: the connect failed (refused, unreachable); say so, not "closed".
  fail(kGrpcUnavailable, connected_ ? "connection to the control plane closed"
                                    : absl::StrCat("cannot connect: ", connectError()));
}

std::string GrpcStream::connectError() const {
  const int error = connection_ != nullptr ? connection_->connectError() : 0;
  return error != 0 ? strerror(error) : "the connection closed before it was established";
}

void GrpcStream::fail(int grpc_status, absl::string_view message) {
  if (closed_) return;
  closed_ = true;
  std::string msg(message);
  // Deferred: the caller may be deep inside nghttp2 or the connection. The owner may delete
  // this object before then; the weak token tells.
  std::weak_ptr<bool> alive = alive_;
  dispatcher_.post([this, alive, grpc_status, msg] {
    if (alive.lock() != nullptr) callbacks_.onStreamClosed(grpc_status, msg);
  });
}

}  // namespace portico::xds
