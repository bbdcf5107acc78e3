#pragma once

// HttpConnection: one downstream HTTP/1.1 connection. It owns the socket and the server codec,
// runs one ActiveStream at a time (pipelined requests wait, answered in order), and applies
// connection-level policy: idle and request-headers timeouts, drain (connection: close),
// local replies for protocol errors, and downstream write back-pressure.

#include <memory>
#include <optional>

#include "source/common/event/dispatcher.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/http/http1/server_codec.h"
#include "source/common/network/connection_impl.h"

namespace portico::http {

class ActiveStream;

class HttpConnection : public network::ConnectionCallbacks,
                       public http1::ServerCodecCallbacks,
                       public event::DeferredDeletable {
 public:
  // `current`, when given, is the listener's config slot (updated in place by the worker on a
  // config change); each new stream reads it. `config` is the one connection-level settings
  // (limits, timeouts) come from for the connection's life.
  HttpConnection(HttpConnectionManagerConfigConstSharedPtr config, WorkerServices& services,
                 std::unique_ptr<network::ConnectionImpl> connection,
                 std::function<void(HttpConnection&)> on_closed,
                 const HttpConnectionManagerConfigConstSharedPtr* current = nullptr);
  ~HttpConnection() override;

  // Drain: close now if idle, else after the current response. A connection that has not
  // sent its first request yet gets kFreshConnectionDrainGrace to send it.
  void startDrain();
  static constexpr std::chrono::milliseconds kFreshConnectionDrainGrace{1000};
  bool idle() const { return stream_ == nullptr; }
  const HttpConnectionManagerConfigConstSharedPtr& currentConfig() const {
    return current_ != nullptr ? *current_ : config_;
  }

  // network::ConnectionCallbacks
  void onData(buffer::Buffer& data) override;
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // http1::ServerCodecCallbacks
  void onRequestHeaders(RequestHead& head, bool end_stream) override;
  void onRequestBody(buffer::Buffer& data) override;
  void onRequestComplete() override;
  void onRequestError(int status, absl::string_view reason) override;

 private:
  friend class ActiveStream;

  // Called by the stream when its response is fully encoded.
  // `abort`: close with a reset (RST), not a FIN (see CloseType::kAbort).
  void onStreamComplete(bool close_connection, bool abort = false);
  // Called by the stream to write encoded bytes.
  void write(buffer::Buffer& data);
  void dispatchBuffered();
  // Resumes the codec for the next pipelined request (the last one's response is written).
  void startNextRequest();
  void armIdleTimer();
  void armHeadersTimer();
  void armStreamTimer();
  void onTimeout();
  // Answers a request refused before it became a stream (a bad head, a timeout while it came
  // in) and closes; logged with `details` as its response code details.
  void refuseRequest(int status, absl::string_view reason, absl::string_view details);
  void closeConnection(network::CloseType type);

  HttpConnectionManagerConfigConstSharedPtr config_;
  const HttpConnectionManagerConfigConstSharedPtr* current_;
  WorkerServices& services_;
  std::unique_ptr<network::ConnectionImpl> connection_;
  std::function<void(HttpConnection&)> on_closed_;
  http1::ServerCodec codec_;
  std::unique_ptr<ActiveStream> stream_;
  // The connection's one timer: the idle timeout (no request), the request-headers timeout
  // (part of a head arrived), or the stream idle timeout (a request in progress).
  enum class TimerMode { kIdle, kHeaders, kStream };
  event::TimerPtr timer_;
  TimerMode timer_mode_ = TimerMode::kIdle;
  // Bytes read and written when the stream timer was last armed: progress is judged when it
  // fires, never per read or write.
  uint64_t stream_progress_mark_ = 0;
  // When the current head's first bytes came (the request-headers timer was armed for it).
  std::chrono::steady_clock::time_point head_started_;
  std::string remote_ip_;
  buffer::Buffer* pending_input_ = nullptr;
  uint64_t last_rx_bytes_ = 0;
  uint64_t last_tx_bytes_ = 0;
  bool closed_ = false;
  bool closing_ = false;  // a close was asked for (it may wait to flush)
  bool draining_ = false;
  bool dispatching_ = false;
  bool read_disabled_for_pipelining_ = false;
  // The next request waits until the client has taken the last responses (the write buffer
  // fell below its low watermark): a client that pipelines requests answered on the spot
  // and never reads would otherwise grow the buffer for ever.
  bool waiting_for_output_ = false;
  // bytesDelivered() at the last idle timeout that found a response still on its way.
  std::optional<uint64_t> idle_progress_mark_;
};

}  // namespace portico::http
