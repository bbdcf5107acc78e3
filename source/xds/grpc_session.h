#pragma once

// GrpcSession: one bidirectional gRPC call as HTTP/2 (nghttp2, client side), without a
// transport. Bytes from the server go in through receive(); bytes for the server leave through
// Transport::write(). Length-prefixed protobuf messages travel in DATA frames; the call's
// status comes from the trailers (or from how the stream or connection ended). GrpcStream runs
// a session over a TCP connection, cleartext or TLS; tests run it over memory.
//
// The data plane must not load libgrpc (it links BoringSSL; see BUILD_FACTS.md), so this is
// the proxy's own minimal gRPC client.

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "google/protobuf/message_lite.h"
#include "source/xds/grpc_message_decoder.h"

struct nghttp2_session;

namespace portico::xds {

// gRPC status codes the client produces itself.
inline constexpr int kGrpcInternal = 13;
inline constexpr int kGrpcUnavailable = 14;
inline constexpr int kGrpcResourceExhausted = 8;
// Requests queued for a server that does not take them (no HTTP/2 window, no TCP reads): past
// this the call ends, instead of memory growing for as long as the server keeps talking.
inline constexpr size_t kMaxUnsentRequestBytes = 16 * 1024 * 1024;
// Above that, for the frames nghttp2 sends on its own (PING and SETTINGS acknowledgements,
// window updates) and the framing of our requests.
inline constexpr size_t kControlFrameAllowance = 1024 * 1024;

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

class GrpcSession {
 public:
  class Transport {
   public:
    virtual ~Transport() = default;
    // Bytes for the server, in order.
    virtual void write(absl::string_view bytes) = 0;
    // Bytes written and not yet sent on (e.g. the socket's buffer).
    virtual size_t unsentBytes() const = 0;
    // The call is over (status and message as for GrpcStreamCallbacks::onStreamClosed).
    // Called once, possibly from inside receive(), start() or send(); the session does nothing
    // more afterwards. The transport decides when to tell the callbacks.
    virtual void onSessionClosed(int grpc_status, absl::string_view message) = 0;
  };

  // `path` is "/package.Service/Method"; `secure` sets :scheme to https.
  GrpcSession(std::string path, std::string authority, bool secure, GrpcStreamCallbacks& callbacks,
              Transport& transport);
  ~GrpcSession();
  GrpcSession(const GrpcSession&) = delete;
  GrpcSession& operator=(const GrpcSession&) = delete;

  // Writes the connection preface, settings and request headers, then onStreamReady().
  void start();
  // Queues one message; it leaves as soon as flow control allows.
  void send(const google::protobuf::MessageLite& message);
  // Bytes from the server, in any pieces.
  void receive(absl::string_view bytes);

  // Ends the call from our side (a message we cannot use): nothing more is read or sent.
  void abort(int grpc_status, absl::string_view message) { failLocally(grpc_status, message); }

  bool ready() const { return stream_id_ > 0 && !closed_; }
  bool closed() const { return closed_; }
  // The call ended on something we found wrong (a frame, a message, a stalled server), not on
  // the server's status or the connection's end.
  bool endedLocally() const { return ended_locally_; }
  // The server's SETTINGS arrived: an HTTP/2 server answers (not only a TLS terminator).
  bool serverSettingsReceived() const { return server_settings_received_; }

  // Called from the nghttp2 C callbacks.
  void onHeader(absl::string_view name, absl::string_view value);
  void onDataChunk(const uint8_t* data, size_t len);
  void onResponseEnd(int32_t stream_id);
  void onServerSettings() { server_settings_received_ = true; }
  void onStreamClose(uint32_t error_code);
  void onProtocolErrorSent();
  ssize_t readOutgoing(uint8_t* buf, size_t length, uint32_t* data_flags);

 private:
  void flush();
  void fail(int grpc_status, absl::string_view message);
  void failLocally(int grpc_status, absl::string_view message);

  const std::string path_;
  const std::string authority_;
  const bool secure_;
  GrpcStreamCallbacks& callbacks_;
  Transport& transport_;
  nghttp2_session* session_ = nullptr;
  int32_t stream_id_ = -1;
  std::string outgoing_;  // framed messages not yet taken by nghttp2
  size_t outgoing_offset_ = 0;
  bool data_deferred_ = false;
  bool receiving_ = false;  // inside nghttp2_session_mem_recv: flush() waits (no re-entry)
  GrpcMessageDecoder decoder_{64 * 1024 * 1024};  // the limit: a whole route table or more
  int grpc_status_ = -1;
  std::string grpc_message_;
  int http_status_ = 0;
  bool closed_ = false;
  bool ended_locally_ = false;
  bool protocol_error_sent_ = false;  // we answered something the server sent with an error
  bool server_settings_received_ = false;
};

}  // namespace portico::xds
