#include "source/router/router_filter.h"

#include "absl/strings/str_cat.h"
#include "source/common/http/headers.h"
#include "source/router/route_table.h"

namespace portico::router {

using http::FilterDataStatus;
using http::FilterHeadersStatus;
using http::http1::BodyFraming;

http::FilterFactoryCb routerFilterFactory() {
  return [](http::FilterChainFactoryCallbacks& chain, http::WorkerServices& services) {
    chain.addStreamDecoderFilter(std::make_unique<RouterFilter>(services));
  };
}

FilterHeadersStatus RouterFilter::decodeHeaders(http::RequestHead& head, bool end_stream) {
  route_ = callbacks_->route();
  request_complete_ = end_stream;
  if (route_ == nullptr) {
    callbacks_->sendLocalReply(404, "", "route_not_found");
    return FilterHeadersStatus::kStopIteration;
  }
  switch (route_->kind()) {
    case RouteActionKind::kDirectResponse: {
      http::ResponseHead response;
      response.status = static_cast<int>(route_->directStatus());
      const std::string& body = route_->directBody();
      if (!body.empty()) response.headers.add("content-type", route_->directContentType());
      response.headers.add("content-length", absl::StrCat(body.size()));
      route_->applyResponseHeaderOps(response.headers);
      callbacks_->encodeHeaders(response, body.empty());
      if (!body.empty()) callbacks_->encodeData(body, true);
      return FilterHeadersStatus::kStopIteration;
    }
    case RouteActionKind::kRedirect: {
      if (route_->redirectLacksAuthority(head)) {
        callbacks_->sendLocalReply(400, "an https redirect needs the request's Host\n",
                                   "redirect_without_host");
        return FilterHeadersStatus::kStopIteration;
      }
      http::ResponseHead response;
      response.status = static_cast<int>(route_->redirectCode());
      response.headers.add("location", route_->redirectLocation(head, false));
      response.headers.add("content-length", "0");
      route_->applyResponseHeaderOps(response.headers);
      callbacks_->encodeHeaders(response, true);
      return FilterHeadersStatus::kStopIteration;
    }
    case RouteActionKind::kCluster:
      break;
  }

  const std::string& cluster_name = route_->clusterName(services_.random());
  cluster_ = services_.cluster_manager.get(cluster_name);
  if (cluster_ == nullptr) {
    callbacks_->sendLocalReply(503, "cluster not found\n", "cluster_not_found");
    return FilterHeadersStatus::kStopIteration;
  }
  host_ = cluster_->chooseHost(services_.random());
  if (host_ == nullptr) {
    callbacks_->sendLocalReply(503, "no healthy upstream\n", "no_healthy_upstream");
    return FilterHeadersStatus::kStopIteration;
  }
  callbacks_->setUpstreamHost(host_->host->address_string);

  // The upstream request is the downstream head with the route's rewrites applied in place
  // (no copy of the headers; the access log sees what was sent, as in Envoy). A rewritten path
  // is kept aside so the log still shows the path the client asked for.
  request_ = &head;
  upstream_path_ = route_->rewritePath(head.path);
  if (!route_->hostRewrite().empty()) {
    head.headers.set("host", route_->hostRewrite());
  } else if (const std::string* host = head.headers.get("host"); host == nullptr || host->empty()) {
    // An HTTP/1.0 request may come without Host, and an HTTP/1.1 one with an empty Host; we
    // forward HTTP/1.1 with an authority, which must be named (RFC 9112 3.2). Name the upstream
    // host, as nginx's default $proxy_host does.
    head.headers.set("host", host_->host->address_string);
  }
  route_->applyRequestHeaderOps(head.headers);
  if (end_stream) {
    request_framing_ = BodyFraming::kNone;
  } else if (head.headers.contains("content-length")) {
    request_framing_ = BodyFraming::kContentLength;
  } else {
    request_framing_ = BodyFraming::kChunked;
  }

  const upstream::ClusterStats& s = *cluster_->info().stats;
  services_.stats.inc(s.upstream_rq_total);
  services_.stats.gaugeAdd(s.upstream_rq_active, 1);
  host_->active_requests++;
  host_->counts->active_requests++;
  host_->total_requests++;
  active_counted_ = true;
  // The loop turn's time, as for the stream's own timing: a clock read per request saved, at
  // the cost of the turn's length in precision.
  upstream_start_ = services_.dispatcher.now();

  if (end_stream) startRouteTimeout();
  // onPoolReady() may run inside and, should its write fail, start a retry with a handle of
  // its own: keep that one.
  if (upstream::PendingRequest* pending = cluster_->pool(*host_).newStream(*this)) {
    pending_ = pending;
  }
  return FilterHeadersStatus::kStopIteration;
}

FilterDataStatus RouterFilter::decodeData(buffer::Buffer& data, bool end_stream) {
  if (end_stream) request_complete_ = true;
  if (response_complete_) return FilterDataStatus::kStopIterationAndBuffer;
  if (end_stream) startRouteTimeout();
  if (upstream_ == nullptr) {
    // Not connected yet: hold the body, bounded by the connection's buffer limit.
    request_body_.move(data);
    if (request_body_.length() > callbacks_->bufferLimit()) {
      held_over_limit_ = true;
      updateDownstreamRead();
    }
    return FilterDataStatus::kStopIterationAndBuffer;
  }
  buffer::Buffer out;
  upstream_->codec().encodeRequestData(data, end_stream, out);
  if (out.length() > 0) upstream_->write(out);
  if (end_stream) request_sent_ = true;
  return FilterDataStatus::kStopIterationAndBuffer;
}

void RouterFilter::onPoolReady(upstream::UpstreamConnection& connection) {
  pending_ = nullptr;
  upstream_ = &connection;
  connection.attach(*this);
  // A reused connection may still hold bytes over its mark (an earlier body the upstream had
  // not read when it answered): no "above" edge will come for it.
  upstream_full_ = connection.connection().aboveHighWatermark();
  updateUpstreamRead();  // the client may have been full before we had a connection
  buffer::Buffer out;
  connection.codec().encodeRequestHeaders(
      *request_, upstream_path_.has_value() ? *upstream_path_ : request_->path, request_framing_,
      out);
  if (request_body_.length() > 0 || request_complete_) {
    connection.codec().encodeRequestData(request_body_, request_complete_, out);
  }
  if (request_complete_) request_sent_ = true;
  connection.write(out);             // may raise onUpstreamAboveWriteHighWatermark()
  if (upstream_ == nullptr) return;  // the write failed and the connection let us go
  held_over_limit_ = false;
  updateDownstreamRead();
}

void RouterFilter::onPoolFailure(upstream::PoolFailureReason reason) {
  pending_ = nullptr;
  switch (reason) {
    case upstream::PoolFailureReason::kOverflow:
      fail(503,
           "upstream connect error or disconnect/reset before headers. reset reason: overflow\n",
           "upstream_overflow");
      return;
    case upstream::PoolFailureReason::kTimeout:
    case upstream::PoolFailureReason::kConnectFailure:
      fail(503,
           "upstream connect error or disconnect/reset before headers. reset reason: connection "
           "failure\n",
           "upstream_connect_failure");
      return;
  }
}

void RouterFilter::on1xxHeaders(http::ResponseHead& head) {
  // 100 Continue is hop-by-hop in spirit; the client's own Expect is answered by the upstream.
  callbacks_->encode1xxHeaders(head);
}

void RouterFilter::onResponseHeaders(http::ResponseHead& head, bool end_stream) {
  response_started_ = true;
  recordUpstreamStats(head.status);
  // The upstream's hop-by-hop fields (and those its Connection names) go before the route
  // adds its own: a field the proxy adds is end-to-end whatever the upstream's Connection says.
  http::removeHopByHopHeaders(head.headers);
  route_->applyResponseHeaderOps(head.headers);
  if (end_stream) {
    // Release before encoding: encoding the end may destroy this filter.
    response_complete_ = true;
    finishUpstream(request_sent_ && upstream_->codec().keepAlive());
    callbacks_->encodeHeaders(head, true);
    return;
  }
  callbacks_->encodeHeaders(head, false);
}

void RouterFilter::onResponseBody(buffer::Buffer& data) {
  if (!response_complete_) callbacks_->encodeData(data, false);
}

network::Connection* RouterFilter::responseBodySink() {
  return response_complete_ ? nullptr : callbacks_->responseBodySink();
}

void RouterFilter::onResponseBodyForwarded(uint64_t bytes) {
  if (!response_complete_) callbacks_->onResponseBodyForwarded(bytes);
}

void RouterFilter::onResponseComplete() {
  if (response_complete_) return;
  response_complete_ = true;
  finishUpstream(request_sent_ && upstream_->codec().keepAlive());
  callbacks_->encodeData(absl::string_view(), true);
}

void RouterFilter::onResponseError(absl::string_view reason) {
  // The connection already detached us and closes itself.
  const bool unanswered_on_reuse = upstream_ != nullptr && upstream_->closedUnansweredOnReuse();
  upstream_ = nullptr;
  if (unanswered_on_reuse && retryUnansweredRequest()) return;
  finishUpstream(false);
  if (cluster_ != nullptr) services_.stats.inc(cluster_->info().stats->upstream_rq_reset);
  if (response_started_) {
    callbacks_->resetStream("upstream_reset_after_response_started");
  } else {
    fail(502,
         absl::StrCat("upstream connect error or disconnect/reset before headers. reset reason: ",
                      reason, "\n"),
         "upstream_reset_before_response_started");
  }
}

bool RouterFilter::retryUnansweredRequest() {
  // Only a request we can send again exactly as it was, whose repetition RFC 9110 9.2.2
  // allows (an idempotent method) should the upstream have read it after all: no body (a
  // body was streamed through and is gone). nginx retries such requests too; without this a
  // client meets a 502 whenever an upstream's keep-alive timeout is shorter than ours.
  if (response_started_ || !request_complete_ || request_framing_ != BodyFraming::kNone ||
      unanswered_retries_ >= kMaxUnansweredRetries) {
    return false;
  }
  const std::string& method = request_->method;
  if (method != "GET" && method != "HEAD" && method != "OPTIONS" && method != "DELETE" &&
      method != "PUT" && method != "TRACE") {
    return false;
  }
  unanswered_retries_++;
  services_.stats.inc(cluster_->info().stats->upstream_rq_retry);
  request_sent_ = false;
  upstream_full_ = false;
  upstream_read_disabled_ = false;  // that connection is gone; the next one starts readable
  updateDownstreamRead();
  // From a timer, once the dying connection's close has unwound: inside it, its pool still
  // counts it (a retry from here would see one connection too many at the cap).
  if (retry_timer_ == nullptr) {
    retry_timer_ = services_.dispatcher.createTimer([this] {
      if (response_complete_) return;  // timed out or failed meanwhile
      if (upstream::PendingRequest* pending =
              cluster_->pool(*host_).newStream(*this, /*prefer_new=*/true)) {
        pending_ = pending;
      }
    });
  }
  retry_timer_->enableTimer(std::chrono::milliseconds(0));
  return true;
}

void RouterFilter::startRouteTimeout() {
  // As Envoy's route timeout: it runs from the end of the request, so an upload takes as long
  // as it needs (stream_idle_timeout ends one that stops moving), and it bounds the wait for
  // the complete response.
  if (route_->timeout().count() == 0) return;
  timeout_timer_ = services_.dispatcher.createTimer([this] { onTimeout(); });
  timeout_timer_->enableTimer(route_->timeout());
}

void RouterFilter::onTimeout() {
  if (cluster_ != nullptr) services_.stats.inc(cluster_->info().stats->upstream_rq_timeout);
  if (pending_ != nullptr) {
    pending_->cancel();
    pending_ = nullptr;
  }
  finishUpstream(false);
  if (response_started_) {
    callbacks_->resetStream("upstream_response_timeout");
  } else {
    fail(504, "upstream request timeout\n", "upstream_response_timeout");
  }
}

void RouterFilter::fail(int status, absl::string_view body, absl::string_view details) {
  if (!response_started_) recordUpstreamStats(status);
  response_complete_ = true;
  finishUpstream(false);
  callbacks_->sendLocalReply(status, body, details);
}

void RouterFilter::recordUpstreamStats(int status) {
  if (cluster_ == nullptr) return;
  const upstream::ClusterStats& s = *cluster_->info().stats;
  services_.stats.inc(s.rqClass(status));
  auto elapsed = services_.dispatcher.now() - upstream_start_;
  services_.stats.recordValue(
      s.upstream_rq_time,
      static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(elapsed).count()));
}

void RouterFilter::finishUpstream(bool reusable) {
  if (timeout_timer_) timeout_timer_->disableTimer();
  if (retry_timer_) retry_timer_->disableTimer();
  if (upstream_ != nullptr) {
    upstream::UpstreamConnection* connection = upstream_;
    upstream_ = nullptr;
    if (upstream_read_disabled_) {
      upstream_read_disabled_ = false;
      connection->readDisable(false);
    }
    cluster_->pool(*host_).release(*connection, reusable);
  }
  if (active_counted_) {
    active_counted_ = false;
    host_->active_requests--;
    host_->counts->active_requests--;
    services_.stats.gaugeAdd(cluster_->info().stats->upstream_rq_active, -1);
  }
}

void RouterFilter::onDestroy() {
  if (pending_ != nullptr) {
    pending_->cancel();
    pending_ = nullptr;
  }
  // A response still in flight (downstream went away): the connection can't be reused.
  // That also disables both timers. They are freed with the filter, not here: onDestroy() can
  // run inside the timeout timer's own callback (a 504 ends the stream).
  finishUpstream(false);
}

void RouterFilter::updateUpstreamRead() {
  if (upstream_ == nullptr || client_full_ == upstream_read_disabled_) return;
  upstream_read_disabled_ = client_full_;
  upstream_->readDisable(client_full_);
}

void RouterFilter::updateDownstreamRead() {
  const bool pause = upstream_full_ || held_over_limit_;
  if (pause == downstream_read_disabled_) return;
  downstream_read_disabled_ = pause;
  callbacks_->readDisableDownstream(pause);
}

void RouterFilter::onAboveWriteBufferHighWatermark() {
  client_full_ = true;
  updateUpstreamRead();
}

void RouterFilter::onBelowWriteBufferLowWatermark() {
  client_full_ = false;
  updateUpstreamRead();
}

void RouterFilter::onUpstreamAboveWriteHighWatermark() {
  upstream_full_ = true;
  updateDownstreamRead();
}

void RouterFilter::onUpstreamBelowWriteLowWatermark() {
  upstream_full_ = false;
  updateDownstreamRead();
}

}  // namespace portico::router
