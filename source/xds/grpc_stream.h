#pragma once

// GrpcStream: one bidirectional gRPC call over HTTP/2 cleartext (prior knowledge), on
// nghttp2 and our own event loop. The data plane must not load libgrpc (it links BoringSSL;
// see BUILD_FACTS.md), so this is the proxy's own minimal gRPC client: length-prefixed
// protobuf messages in DATA frames, status from the trailers. Runs on the main thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"
#include "source/common/network/connection_impl.h"
#include "source/xds/grpc_message_decoder.h"
#include "source/xds/tls_client.h"

struct nghttp2_session;

namespace portico::xds {

class GrpcStreamCallbacks {
 public:
  virtual ~GrpcStreamCallbacks() = default;
  // The stream is open; messages may be sent.
  virtual void onStreamReady() = 0;
  // One complete message from the server.
  virtual void onMessage(absl::string_view message) = 0;
  // The call ended: grpc-status from the trailers, or 14 (UNAVAILABLE) when the connection
  // failed or closed. Nothing more happens on this object after it.
  virtual void onStreamClosed(int grpc_status, absl::string_view message) = 0;
};

class GrpcStream : public network::ConnectionCallbacks {
 public:
  // `path` is "/package.Service/Method". With `tls`, HTTP/2 runs over TLS (ALPN h2).
  GrpcStream(event::Dispatcher& dispatcher, const network::Address& server, std::string path,
             GrpcStreamCallbacks& callbacks, std::optional<TlsOptions> tls = std::nullopt);
  ~GrpcStream() override;

  void start();
  // Queues one message; it leaves as soon as flow control allows.
  void send(const google::protobuf::MessageLite& message);
  bool ready() const { return stream_id_ > 0 && !closed_; }

  // network::ConnectionCallbacks
  void onData(buffer::Buffer& data) override;
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override {}
  void onBelowWriteBufferLowWatermark() override {}

  // Called from the nghttp2 C callbacks.
  void onHeader(absl::string_view name, absl::string_view value);
  void onDataChunk(const uint8_t* data, size_t len);
  void onStreamClose(uint32_t error_code);
  ssize_t readOutgoing(uint8_t* buf, size_t length, uint32_t* data_flags);

 private:
  void startSession();
  void flushSession();
  // Sends bytes on the connection, through TLS when enabled.
  void sendBytes(absl::string_view bytes);
  void receiveBytes(absl::string_view bytes);
  void fail(int grpc_status, absl::string_view message);

  event::Dispatcher& dispatcher_;
  network::Address server_;
  std::string path_;
  std::string authority_;
  GrpcStreamCallbacks& callbacks_;
  std::optional<TlsOptions> tls_options_;
  std::unique_ptr<TlsClient> tls_;
  std::unique_ptr<network::ConnectionImpl> connection_;
  nghttp2_session* session_ = nullptr;
  int32_t stream_id_ = -1;
  std::string outgoing_;  // framed messages not yet taken by nghttp2
  size_t outgoing_offset_ = 0;
  bool data_deferred_ = false;
  GrpcMessageDecoder decoder_{64 * 1024 * 1024};  // the limit: a whole route table or more
  int grpc_status_ = -1;
  std::string grpc_message_;
  int http_status_ = 0;
  bool closed_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

}  // namespace portico::xds
