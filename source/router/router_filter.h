#pragma once

// RouterFilter: the last filter of every chain. Picks the route's cluster and a host, takes
// an upstream connection from the worker's pool, forwards the request (streaming the body),
// and streams the response back. Owns the route timeout and turns upstream failures into
// local replies: connect failure/overflow 503, reset before response 502, timeout 504.

#include <chrono>
#include <optional>
#include <string>

#include "source/common/buffer/buffer.h"
#include "source/common/common/recycled.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/http/filter.h"
#include "source/upstream/cluster_manager.h"
#include "source/upstream/conn_pool.h"

namespace portico::router {

class Route;

class RouterFilter : public http::StreamDecoderFilter,
                     public http::DownstreamWatermarkCallbacks,
                     public upstream::PoolCallbacks,
                     public upstream::UpstreamStreamCallbacks,
                     public Recycled<RouterFilter> {  // one per request
 public:
  explicit RouterFilter(http::WorkerServices& services) : services_(services) {}

  // http::StreamDecoderFilter
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus decodeHeaders(http::RequestHead& head, bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Buffer& data, bool end_stream) override;
  http::DownstreamWatermarkCallbacks* watermarkCallbacks() override { return this; }
  void onDestroy() override;

  // http::DownstreamWatermarkCallbacks: the client reads slower than the upstream sends.
  void onAboveWriteBufferHighWatermark() override;
  void onBelowWriteBufferLowWatermark() override;

  // upstream::PoolCallbacks
  void onPoolReady(upstream::UpstreamConnection& connection) override;
  void onPoolFailure(upstream::PoolFailureReason reason) override;

  // upstream::UpstreamStreamCallbacks
  void on1xxHeaders(http::ResponseHead& head) override;
  void onResponseHeaders(http::ResponseHead& head, bool end_stream) override;
  void onResponseBody(buffer::Buffer& data) override;
  void onResponseComplete() override;
  void onResponseError(absl::string_view reason) override;
  void onUpstreamAboveWriteHighWatermark() override;
  void onUpstreamBelowWriteLowWatermark() override;
  network::Connection* responseBodySink() override;
  void onResponseBodyForwarded(uint64_t bytes) override;

 private:
  void startRouteTimeout();  // once the whole request has arrived
  void onTimeout();
  // After closedUnansweredOnReuse(): sends the request again on another connection when that
  // is safe. Returns false when it is not (the caller then fails the request).
  bool retryUnansweredRequest();
  void finishUpstream(bool reusable);
  // Back-pressure from state, not from edges: a signal can come before we have a connection
  // (the client was already full), and a pooled connection can come already full.
  void updateUpstreamRead();    // paused while client_full_
  void updateDownstreamRead();  // paused while upstream_full_ or the held body is over limit
  void fail(int status, absl::string_view body, absl::string_view details);
  void recordUpstreamStats(int status);

  http::WorkerServices& services_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
  const Route* route_ = nullptr;
  upstream::WorkerCluster* cluster_ = nullptr;
  upstream::HostState* host_ = nullptr;
  upstream::PendingRequest* pending_ = nullptr;
  upstream::UpstreamConnection* upstream_ = nullptr;
  http::RequestHead* request_ = nullptr;      // the stream's head, valid for its lifetime
  std::optional<std::string> upstream_path_;  // set when the route rewrites the path
  http::http1::BodyFraming request_framing_ = http::http1::BodyFraming::kNone;
  buffer::Buffer request_body_;  // body received before the upstream connection was ready
  event::TimerPtr timeout_timer_;
  event::TimerPtr retry_timer_;  // created on the first retry
  std::chrono::steady_clock::time_point upstream_start_;
  bool request_complete_ = false;
  bool request_sent_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool client_full_ = false;      // the client's write buffer is above its high watermark
  bool upstream_full_ = false;    // the upstream's write buffer is above its high watermark
  bool held_over_limit_ = false;  // request_body_ (no connection yet) is over the limit
  bool upstream_read_disabled_ = false;
  bool downstream_read_disabled_ = false;
  bool active_counted_ = false;
  uint8_t unanswered_retries_ = 0;
  // Connections found closed by the keep-alive race that one request may meet. The first
  // retry prefers a new connection, so a second is only needed at the connection cap.
  static constexpr uint8_t kMaxUnansweredRetries = 2;
};

// The factory installed as the last filter of every HTTP listener.
http::FilterFactoryCb routerFilterFactory();

}  // namespace portico::router
