#include "source/common/http/conn_manager_impl.h"

#include "absl/strings/str_cat.h"
#include "source/common/access_log/access_log.h"
#include "source/common/http/active_stream.h"

namespace portico::http {

HttpConnection::HttpConnection(HttpConnectionManagerConfigConstSharedPtr config,
                               WorkerServices& services,
                               std::unique_ptr<network::ConnectionImpl> connection,
                               std::function<void(HttpConnection&)> on_closed,
                               const HttpConnectionManagerConfigConstSharedPtr* current)
    : config_(std::move(config)),
      current_(current),
      services_(services),
      connection_(std::move(connection)),
      on_closed_(std::move(on_closed)),
      codec_(*this, config_->limits) {
  connection_->setCallbacks(*this);
  remote_ip_ = connection_->remoteAddress().ip();
  // One timer per connection (see TimerMode).
  timer_ = services_.dispatcher.createTimer([this] { onTimeout(); });
  services_.stats.inc(config_->stats->downstream_cx_total);
  services_.stats.gaugeAdd(config_->stats->downstream_cx_active, 1);
  armIdleTimer();
}

HttpConnection::~HttpConnection() {
  // Destroyed with a response still streaming (the drain deadline passed, the worker stops):
  // a body delimited by the close must not end with a FIN, which says it is complete.
  if (stream_ != nullptr && stream_->closeDelimitedBodyInFlight()) connection_->setResetOnClose();
  if (stream_ != nullptr) stream_->onProxyClose();  // logged, like any other request
  stream_.reset();
  services_.stats.gaugeAdd(config_->stats->downstream_cx_active, -1);
}

void HttpConnection::armIdleTimer() {
  timer_mode_ = TimerMode::kIdle;
  idle_progress_mark_.reset();
  if (config_->idle_timeout.count() > 0) {
    timer_->enableTimer(config_->idle_timeout);
  } else {
    timer_->disableTimer();
  }
}

void HttpConnection::armHeadersTimer() {
  if (timer_mode_ == TimerMode::kHeaders && timer_->enabled()) return;
  if (timer_mode_ != TimerMode::kHeaders) head_started_ = services_.dispatcher.now();
  timer_mode_ = TimerMode::kHeaders;
  // Off (0s), a head still arriving is bounded as Envoy bounds it (its stream opens at the
  // first byte): by the stream idle timeout, an idle one (onTimeout). Else nothing would end it.
  const std::chrono::milliseconds timeout = config_->request_headers_timeout.count() > 0
                                                ? config_->request_headers_timeout
                                                : config_->stream_idle_timeout;
  stream_progress_mark_ = connection_->bytesRead();
  if (timeout.count() > 0) {
    timer_->enableTimer(timeout);
  } else {
    timer_->disableTimer();
  }
}

void HttpConnection::armStreamTimer() {
  timer_mode_ = TimerMode::kStream;
  stream_progress_mark_ = connection_->bytesRead() + connection_->bytesWritten();
  if (config_->stream_idle_timeout.count() > 0) {
    timer_->enableTimer(config_->stream_idle_timeout);
  } else {
    timer_->disableTimer();
  }
}

void HttpConnection::onTimeout() {
  if (timer_mode_ == TimerMode::kStream) {
    if (stream_ == nullptr) {  // ended by a path that re-arms nothing: idle from here
      armIdleTimer();
      return;
    }
    const uint64_t progress = connection_->bytesRead() + connection_->bytesWritten();
    if (progress != stream_progress_mark_) {
      armStreamTimer();
      return;
    }
    services_.stats.inc(config_->stats->downstream_rq_idle_timeout);
    // Still arriving: the client's fault (408). Complete: the upstream's (504). Once the
    // response has started, sendLocalReply resets the stream.
    if (stream_->requestComplete()) {
      stream_->sendLocalReply(504, "stream idle timeout\n", "stream_idle_timeout");
    } else {
      stream_->sendLocalReply(408, "stream idle timeout\n", "stream_idle_timeout");
    }
    return;
  }
  if (timer_mode_ == TimerMode::kIdle) {
    // A slow reader still taking a response is not idle: wait while it makes progress. (Read
    // here, not when armed: that happens after every request.)
    if (connection_->bytesUndelivered() > 0) {
      const uint64_t delivered = connection_->bytesDelivered();
      if (idle_progress_mark_ != delivered) {
        armIdleTimer();
        idle_progress_mark_ = delivered;
        return;
      }
    }
    // Idle while draining: a fresh connection's grace ran out (startDrain).
    services_.stats.inc(draining_ ? config_->stats->downstream_cx_drain_close
                                  : config_->stats->downstream_cx_idle_timeout);
    closeConnection(network::CloseType::kNoFlush);
    return;
  }
  if (config_->request_headers_timeout.count() == 0) {
    // The stream idle timeout standing in (armHeadersTimer): idle means no byte came.
    if (connection_->bytesRead() != stream_progress_mark_) {
      stream_progress_mark_ = connection_->bytesRead();
      timer_->enableTimer(config_->stream_idle_timeout);
      return;
    }
    services_.stats.inc(config_->stats->downstream_rq_idle_timeout);
    if (stream_ == nullptr) refuseRequest(408, "stream idle timeout", "stream_idle_timeout");
    return;
  }
  services_.stats.inc(config_->stats->downstream_rq_headers_timeout);
  // Slowloris defence: the head did not arrive in time.
  if (stream_ == nullptr) {
    refuseRequest(408, "request headers timeout", "request_headers_timeout");
  }
}

void HttpConnection::onData(buffer::Buffer& data) {
  if (closing_) {
    data.drain(data.length());  // read while the close flushes: nothing more is served
    return;
  }
  if (stream_ == nullptr && !codec_.waitingForResume()) armHeadersTimer();
  pending_input_ = &data;
  dispatchBuffered();
}

void HttpConnection::dispatchBuffered() {
  if (pending_input_ == nullptr || closed_ || closing_) return;
  buffer::Buffer& data = *pending_input_;
  const bool was_waiting_for_output = waiting_for_output_;
  dispatching_ = true;
  while (!closed_ && !closing_) {
    codec_.dispatch(data);
    if (closed_ || closing_ || codec_.failed()) break;
    // A request finished and its response too (e.g. a local reply): go on with the next one,
    // unless the client has not taken the responses so far.
    if (codec_.waitingForResume() && stream_ == nullptr) {
      if (connection_->aboveHighWatermark()) {
        waiting_for_output_ = true;
        break;
      }
      codec_.resume();
      head_started_ = services_.dispatcher.now();
      if (data.length() > 0) continue;
    }
    break;
  }
  dispatching_ = false;
  if (closed_ || closing_) return;
  if (codec_.waitingForResume() && data.length() > config_->buffer_limit &&
      !read_disabled_for_pipelining_) {
    // Pipelined requests pile up while we answer the current one: stop reading.
    read_disabled_for_pipelining_ = true;
    connection_->readDisable(true);
  }
  if (stream_ != nullptr) return;
  if (waiting_for_output_) {
    // The client's turn: it must read within the idle timeout. Armed once, when the wait
    // starts: bytes the client trickles in meanwhile do not restart it.
    if (!was_waiting_for_output) armIdleTimer();
  } else if (codec_.partialHead() || data.length() > 0) {
    armHeadersTimer();
  } else if (draining_) {
    // Kept by startDrain() for input that turned out to be no request (an empty line after a
    // body): idle while draining, so closed now, not left to the idle timer.
    closeConnection(network::CloseType::kFlushWrite);
  } else {
    armIdleTimer();
  }
}

void HttpConnection::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kConnected) return;
  closed_ = true;
  timer_->disableTimer();
  uint64_t rx = connection_->bytesRead(), tx = connection_->bytesWritten();
  services_.stats.inc(config_->stats->downstream_cx_rx_bytes_total, rx - last_rx_bytes_);
  services_.stats.inc(config_->stats->downstream_cx_tx_bytes_total, tx - last_tx_bytes_);
  last_rx_bytes_ = rx;
  last_tx_bytes_ = tx;
  if (stream_ != nullptr) {
    stream_->onDownstreamReset();
    services_.dispatcher.deferredDelete(std::move(stream_));
  }
  on_closed_(*this);
}

void HttpConnection::onAboveWriteBufferHighWatermark() {
  if (stream_ != nullptr) stream_->onAboveWriteBufferHighWatermark();
}

void HttpConnection::onBelowWriteBufferLowWatermark() {
  if (stream_ != nullptr) {
    stream_->onBelowWriteBufferLowWatermark();
    return;
  }
  if (!waiting_for_output_) return;
  waiting_for_output_ = false;
  if (!dispatching_ && !closed_ && !closing_) startNextRequest();
}

void HttpConnection::onRequestHeaders(RequestHead& head, bool end_stream) {
  armStreamTimer();  // with the route timeout, if the route has one
  stream_ = std::make_unique<ActiveStream>(*this, head);
  stream_->decodeHeaders(end_stream);
}

void HttpConnection::onRequestBody(buffer::Buffer& data) {
  if (stream_ != nullptr) stream_->decodeData(data, false);
}

void HttpConnection::onRequestComplete() {
  // No stream: the response went out before the request ended (and the stream is gone).
  if (stream_ != nullptr) {
    buffer::Buffer none;
    stream_->decodeData(none, true);
  }
}

void HttpConnection::onRequestError(int status, absl::string_view reason) {
  // The codec goes on parsing the rest of its input after a local reply closed the connection
  // from inside a callback: an error in bytes nobody will answer is not a second request.
  if (closed_ || closing_) return;
  services_.stats.inc(config_->stats->downstream_cx_protocol_error);
  if (stream_ != nullptr) {
    // Mid-body framing error (e.g. a bad chunk size): answer if we still can, then close.
    stream_->sendLocalReply(status, absl::StrCat(reason, "\n"), "protocol_error");
    return;
  }
  refuseRequest(status, reason, "protocol_error");
}

void HttpConnection::refuseRequest(int status, absl::string_view reason,
                                   absl::string_view details) {
  // A minimal response that cannot be confused with anything an upstream sent.
  std::string body = absl::StrCat(reason, "\n");
  const bool head = codec_.requestIsHead();  // a HEAD's answer has no body
  buffer::Buffer out;
  out.add(absl::StrCat("HTTP/1.1 ", status, " ", http1::reasonPhrase(status),
                       "\r\ncontent-type: text/plain\r\ncontent-length: ", body.size(),
                       "\r\nconnection: close\r\n\r\n", head ? "" : body));
  services_.stats.inc(config_->stats->downstream_rq_total);
  services_.stats.inc(config_->stats->rqClass(status));
  // Logged like any request, as Envoy logs its codec errors: the 4xx counters and the log
  // agree, and a flood of malformed or slow requests shows in the log. No request fields
  // (the head was refused or never completed).
  if (const auto& log = currentConfig()->access_log; log != nullptr) {
    StreamInfo info;
    info.downstream_address = &connection_->remoteAddress();
    info.response_code = status;
    info.response_code_details = std::string(details);
    info.bytes_sent = head ? 0 : body.size();
    const auto elapsed = services_.dispatcher.now() - head_started_;
    info.duration = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
    info.start_time = std::chrono::system_clock::now() -
                      std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed);
    log->log(info, services_.dispatcher);
  }
  connection_->write(out);
  closeConnection(network::CloseType::kFlushWrite);
}

void HttpConnection::write(buffer::Buffer& data) {
  if (!closed_) connection_->write(data);
}

void HttpConnection::onStreamComplete(bool close_connection, bool abort) {
  services_.dispatcher.deferredDelete(std::move(stream_));
  if (abort) {
    closeConnection(network::CloseType::kAbort);
    return;
  }
  if (close_connection || draining_) {
    if (draining_) services_.stats.inc(config_->stats->downstream_cx_drain_close);
    closeConnection(network::CloseType::kFlushWrite);
    return;
  }
  if (dispatching_) return;  // dispatchBuffered() resumes the codec when it unwinds
  if (connection_->aboveHighWatermark()) {
    waiting_for_output_ = true;  // onBelowWriteBufferLowWatermark() starts the next request
    armIdleTimer();
    return;
  }
  startNextRequest();
}

void HttpConnection::startNextRequest() {
  codec_.resume();
  head_started_ = services_.dispatcher.now();  // a next head may be waiting already
  if (read_disabled_for_pipelining_) {
    read_disabled_for_pipelining_ = false;
    connection_->readDisable(false);  // re-delivers what is buffered
  } else if (pending_input_ != nullptr && pending_input_->length() > 0) {
    // Through the connection, as a read: a close from inside the parser's callbacks (a local
    // reply to the next request) must not free the bytes the parser is reading.
    services_.dispatcher.runAtEndOfTurn([this] {
      if (!closed_) connection_->deliverBuffered();
    });
  } else {
    armIdleTimer();
  }
}

void HttpConnection::startDrain() {
  draining_ = true;
  // Idle: close now. A request whose head is still arriving (or waits in the buffer, or in the
  // kernel: a connection accepted from the queue as its listener closed) is answered, with
  // connection: close, like one in flight; the headers timeout or the drain deadline bounds
  // the wait.
  const bool request_started = codec_.partialHead() ||
                               (pending_input_ != nullptr && pending_input_->length() > 0) ||
                               connection_->inputWaiting();
  if (stream_ != nullptr || request_started) return;
  if (connection_->bytesRead() == 0) {
    // Accepted a moment ago, its first request not here yet: clients send it right after
    // connecting, and a close now would fail it (a new connection's failure is not retried,
    // unlike a reused one's). It gets a short grace, then the idle close; the request, if it
    // comes, is answered with connection: close.
    timer_mode_ = TimerMode::kIdle;
    idle_progress_mark_.reset();
    timer_->enableTimer(kFreshConnectionDrainGrace);
    return;
  }
  closeConnection(network::CloseType::kFlushWrite);
}

void HttpConnection::closeConnection(network::CloseType type) {
  if (closed_) return;
  // A flushing close can wait for a slow reader; meanwhile no further request is read
  // (RFC 9112 9.6: nothing after a response that announced the close is processed).
  closing_ = true;
  timer_->disableTimer();
  connection_->close(type);
}

}  // namespace portico::http
