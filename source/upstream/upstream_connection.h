#pragma once

// UpstreamConnection: one TCP connection to a host with its HTTP/1.1 client codec. Owned by a
// ConnPool; a stream attaches to it for the duration of one request/response.

#include <list>
#include <memory>

#include "source/common/event/dispatcher.h"
#include "source/common/http/http1/client_codec.h"
#include "source/common/network/connection_impl.h"

namespace portico::upstream {

class ConnPool;

// What an attached stream receives besides the codec's response callbacks.
class UpstreamStreamCallbacks : public http::http1::ClientCodecCallbacks {
 public:
  // The upstream connection's send buffer crossed the watermarks (request body back-pressure).
  virtual void onUpstreamAboveWriteHighWatermark() = 0;
  virtual void onUpstreamBelowWriteLowWatermark() = 0;
  // Raw forwarding of a large Content-Length response body: where its remaining bytes may go
  // untouched (the downstream connection), or nullptr to receive them through
  // onResponseBody() as usual.
  virtual network::Connection* responseBodySink() { return nullptr; }
  // That many more body bytes went to the sink (accounting only; onResponseComplete() or
  // onResponseError() ends the response as usual).
  virtual void onResponseBodyForwarded(uint64_t /*bytes*/) {}
};

class UpstreamConnection : public network::ConnectionCallbacks,
                           public http::http1::ClientCodecCallbacks,
                           public event::DeferredDeletable {
 public:
  UpstreamConnection(ConnPool& pool, std::unique_ptr<network::ConnectionImpl> connection);
  ~UpstreamConnection() override;

  void attach(UpstreamStreamCallbacks& stream) { stream_ = &stream; }
  void detach() { stream_ = nullptr; }
  http::http1::ClientCodec& codec() { return codec_; }
  network::Connection& connection() { return *connection_; }
  // Writes and flushes.
  void write(buffer::Buffer& data) { connection_->write(data); }
  void readDisable(bool disable) { connection_->readDisable(disable); }
  bool connected() const { return connected_; }
  // The upstream closed this connection, which had sat idle in the pool before, without
  // sending a byte of the attached request's response: the keep-alive race (it closed the
  // connection as idle while our request was on its way, and most likely never read it). A
  // connection parked before its first request (the request it was opened for went elsewhere)
  // is as exposed as a used one.
  bool closedUnansweredOnReuse() const {
    return sat_idle_ && connection_->bytesRead() == last_rx_bytes_;
  }

  // network::ConnectionCallbacks
  void onData(buffer::Buffer& data) override;
  void onEvent(network::ConnectionEvent event) override;
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;
  void onRawForwardProgress(uint64_t bytes) override;
  void onRawForwardDone(uint64_t bytes, bool input_follows) override;

  // http::http1::ClientCodecCallbacks (forwarded to the attached stream)
  void on1xxHeaders(http::ResponseHead& head) override;
  void onResponseHeaders(http::ResponseHead& head, bool end_stream) override;
  void onResponseBody(buffer::Buffer& data) override;
  void onResponseComplete() override;
  void onResponseError(absl::string_view reason) override;

 private:
  friend class ConnPool;

  // Below this much body left after the head, copying costs less than the pipe's syscalls.
  static constexpr uint64_t kMinForwardBytes = 32 * 1024;
  void maybeForwardBody();

  ConnPool* pool_;  // changes when a replaced cluster hands the connection on
  std::unique_ptr<network::ConnectionImpl> connection_;
  http::http1::ClientCodec codec_;
  UpstreamStreamCallbacks* stream_ = nullptr;
  event::TimerPtr timer_;  // connect timeout, then idle timeout
  bool connected_ = false;
  bool timed_out_ = false;
  event::MonotonicTime idle_since_;  // set when parked
  bool sat_idle_ = false;            // taken from the idle list at least once
  uint64_t last_rx_bytes_ = 0;       // bytesRead() when the last stream was released
  // Bytes already added to the cluster's byte counters.
  uint64_t counted_rx_bytes_ = 0;
  uint64_t counted_tx_bytes_ = 0;
  // The pool list holding this connection (connecting, idle or busy) and its node there:
  // moving between lists is a splice, with no search and no allocation.
  std::list<std::unique_ptr<UpstreamConnection>>* pool_list_ = nullptr;
  std::list<std::unique_ptr<UpstreamConnection>>::iterator pool_node_;
};

}  // namespace portico::upstream
