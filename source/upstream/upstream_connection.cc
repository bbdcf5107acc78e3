#include "source/upstream/upstream_connection.h"

#include "source/upstream/conn_pool.h"

namespace portico::upstream {

UpstreamConnection::UpstreamConnection(ConnPool& pool,
                                       std::unique_ptr<network::ConnectionImpl> connection)
    : pool_(&pool),
      connection_(std::move(connection)),
      codec_(*this, http::http1::ClientLimits{pool.cluster_->max_response_head_bytes,
                                              pool.cluster_->max_response_headers_count}) {
  connection_->setCallbacks(*this);
  connection_->setDeliverEachRead(true);  // a large body may be forwarded raw after its head
}

UpstreamConnection::~UpstreamConnection() = default;

void UpstreamConnection::onData(buffer::Buffer& data) {
  if (stream_ == nullptr) {
    // Bytes on an idle connection: the upstream is confused or closing. Never reuse it.
    data.clear();
    connection_->close(network::CloseType::kNoFlush);
    return;
  }
  codec_.dispatch(data);
  // Bytes after a complete response: the upstream broke framing; never reuse the connection.
  if (data.length() > 0 && codec_.responseComplete()) {
    data.clear();
    connection_->close(network::CloseType::kNoFlush);
    return;
  }
  if (data.length() == 0) maybeForwardBody();
}

void UpstreamConnection::maybeForwardBody() {
  const uint64_t remaining = codec_.rawBodyRemaining();
  if (remaining < kMinForwardBytes || stream_ == nullptr) return;
  network::Connection* sink = stream_->responseBodySink();
  if (sink == nullptr) return;
  // When it starts, the body no longer comes through onData(); onRawForwardDone() ends it.
  connection_->forwardRaw(*sink, remaining);
}

void UpstreamConnection::onRawForwardProgress(uint64_t bytes) {
  if (stream_ != nullptr) stream_->onResponseBodyForwarded(bytes);
}

void UpstreamConnection::onRawForwardDone(uint64_t bytes, bool input_follows) {
  codec_.consumeRawBody(bytes);  // completes the response (the pool hands us out next turn)
  // Bytes right behind the body: the upstream broke framing (they could pose as the next
  // request's response); or it closed. Never reuse the connection.
  if (input_follows) connection_->close(network::CloseType::kNoFlush);
}

void UpstreamConnection::onEvent(network::ConnectionEvent event) {
  if (event == network::ConnectionEvent::kConnected) {
    connected_ = true;
    pool_->onConnected(*this);
    return;
  }
  // Closed. An attached stream learns through the codec (a close-delimited body ends here).
  if (stream_ != nullptr && connected_) codec_.onConnectionClosed(connection_->closedByReset());
  pool_->onConnectionClosed(*this, !connected_, timed_out_);
}

void UpstreamConnection::onAboveWriteBufferHighWatermark() {
  if (stream_ != nullptr) stream_->onUpstreamAboveWriteHighWatermark();
}

void UpstreamConnection::onBelowWriteBufferLowWatermark() {
  if (stream_ != nullptr) stream_->onUpstreamBelowWriteLowWatermark();
}

void UpstreamConnection::on1xxHeaders(http::ResponseHead& head) {
  if (stream_ != nullptr) stream_->on1xxHeaders(head);
}

void UpstreamConnection::onResponseHeaders(http::ResponseHead& head, bool end_stream) {
  if (stream_ != nullptr) stream_->onResponseHeaders(head, end_stream);
}

void UpstreamConnection::onResponseBody(buffer::Buffer& data) {
  if (stream_ != nullptr) stream_->onResponseBody(data);
}

void UpstreamConnection::onResponseComplete() {
  if (stream_ != nullptr) stream_->onResponseComplete();
}

void UpstreamConnection::onResponseError(absl::string_view reason) {
  if (stream_ != nullptr) {
    UpstreamStreamCallbacks* stream = stream_;
    stream_ = nullptr;
    stream->onResponseError(reason);
  }
  connection_->close(network::CloseType::kNoFlush);
}

}  // namespace portico::upstream
