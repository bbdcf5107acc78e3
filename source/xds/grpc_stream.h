#pragma once

// GrpcStream: one bidirectional gRPC call to the control plane over TCP, cleartext (HTTP/2
// with prior knowledge) or TLS (BoringSSL, ALPN h2), on our own event loop. The HTTP/2 and
// gRPC half is GrpcSession; this class owns the connection and the TLS state and moves bytes
// between them. Runs on the main thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/connection_impl.h"
#include "source/xds/grpc_session.h"
#include "source/xds/tls_client.h"

namespace portico::xds {

struct StreamOptions {
  std::optional<TlsOptions> tls;  // unset: cleartext h2c
  // Liveness (see bootstrap.proto): the server must answer within this long after connecting,
  // and TCP keepalive probes an idle connection at this interval.
  std::chrono::milliseconds keepalive{10000};
};

class GrpcStream : public network::ConnectionCallbacks, public GrpcSession::Transport {
 public:
  // `path` is "/package.Service/Method". With `tls`, HTTP/2 runs over TLS (ALPN h2).
  GrpcStream(event::Dispatcher& dispatcher, const network::Address& server, std::string path,
             GrpcStreamCallbacks& callbacks, StreamOptions options = {});
  ~GrpcStream() override;

  void start();
  // Queues one message; it leaves as soon as flow control allows.
  void send(const google::protobuf::MessageLite& message) { session_.send(message); }
  bool ready() const { return session_.ready() && !closed_; }
  // Ends the stream from our side (a message we cannot read); onStreamClosed follows, posted.
  // Nothing more is read: later messages of the same read are not delivered.
  void abort(int grpc_status, absl::string_view message) { session_.abort(grpc_status, message); }
  // The stream ended on something we found wrong (abort(), a bad frame or message, requests
  // the server does not take), not on the server's status or the connection's end.
  bool endedLocally() const { return session_.endedLocally(); }

  // network::ConnectionCallbacks
  void onData(buffer::Buffer& data) override;
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

  // GrpcSession::Transport: bytes go out through TLS when enabled.
  void write(absl::string_view bytes) override;
  size_t unsentBytes() const override;
  void onSessionClosed(int grpc_status, absl::string_view message) override {
    fail(grpc_status, message);
  }

 private:
  void fail(int grpc_status, absl::string_view message);
  std::string connectError() const;

  event::Dispatcher& dispatcher_;
  network::Address server_;
  GrpcStreamCallbacks& callbacks_;
  std::optional<TlsOptions> tls_options_;
  const std::chrono::milliseconds keepalive_;
  event::TimerPtr setup_timer_;
  std::unique_ptr<TlsClient> tls_;
  std::unique_ptr<network::ConnectionImpl> connection_;
  GrpcSession session_;
  bool closed_ = false;
  bool connected_ = false;  // the TCP connect completed
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace portico::xds
