#include "source/common/http/active_stream.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/access_log/access_log.h"
#include "source/common/http/conn_manager_impl.h"
#include "source/common/http/headers.h"
#include "source/common/http/path_normalization.h"
#include "source/router/route_table.h"

namespace portico::http {

ActiveStream::ActiveStream(HttpConnection& connection, RequestHead& head)
    : connection_(connection),
      // Each stream takes the listener's current config: routes updated by the control plane
      // apply to the next request, also on connections that were open before.
      config_(connection.currentConfig()),
      head_(head) {
  info_.start_monotonic = connection_.services_.dispatcher.now();
  info_.request = &head_;
  info_.downstream_address = &connection_.connection_->remoteAddress();
  const HttpConnectionManagerConfig& config = *config_;
  for (const FilterFactoryCb& factory : config.filter_factories) {
    factory(*this, connection_.services_);
  }
  // The response meets the encoders in reverse config order (the filter nearest the client
  // encodes last, as it decoded first).
  std::reverse(encoders_.begin(), encoders_.end());
  for (size_t i = 0; i < encoders_.size(); i++) {
    encoders_[i]->setIndex(i);
    encoders_[i]->filter().setEncoderFilterCallbacks(*encoders_[i]);
  }
  stats::WorkerStats& s = connection_.services_.stats;
  s.inc(config.stats->downstream_rq_total);
  s.gaugeAdd(config.stats->downstream_rq_active, 1);
  // The client may still be behind on an earlier response (pipelining): the connection's
  // "above" edge went to that stream, so this one starts from the state.
  if (connection_.connection_->aboveHighWatermark()) addResponsePressure(1);
}

ActiveStream::~ActiveStream() { destroyFilters(); }

void ActiveStream::addStreamDecoderFilter(StreamDecoderFilterPtr filter) {
  filters_.push_back(filter.get());
  filter->setDecoderFilterCallbacks(*this);
  owned_filters_.push_back(std::move(filter));
}

void ActiveStream::addStreamEncoderFilter(StreamEncoderFilterPtr filter) {
  addEncoder(*filter);
  owned_filters_.push_back(std::move(filter));
}

void ActiveStream::addStreamFilter(StreamFilterPtr filter) {
  filters_.push_back(filter.get());
  filter->setDecoderFilterCallbacks(*this);
  addEncoder(*filter);
  owned_filters_.push_back(std::move(filter));
}

void ActiveStream::addEncoder(StreamEncoderFilter& filter) {
  encoders_.push_back(std::make_unique<EncoderSlot>(*this, filter));
}

void ActiveStream::destroyFilters() {
  if (destroyed_) return;
  destroyed_ = true;
  for (auto& f : owned_filters_) f->onDestroy();
  // Undo back-pressure the filters asked for, so the connection can read again.
  while (downstream_read_disables_ > 0) readDisableDownstream(false);
}

event::Dispatcher& ActiveStream::dispatcher() { return connection_.services_.dispatcher; }

absl::string_view ActiveStream::downstreamAddress() { return connection_.remote_ip_; }

void ActiveStream::prepareRequestHeaders() {
  removeHopByHopHeaders(head_.headers);
  setForwardingHeaders(head_.headers, connection_.remote_ip_, "http", connection_.services_.random);
}

void ActiveStream::decodeHeaders(bool end_stream) {
  prepareRequestHeaders();
  headers_end_stream_ = end_stream;
  request_complete_ = end_stream;
  if (config_->path_normalization.any() && !normalizeRequestPath()) return;
  const auto& routes = config_->routes;
  if (routes != nullptr) {
    absl::string_view path = head_.path;
    route_ = routes->match(head_.host(), path, head_.headers);
  }
  if (route_ != nullptr) info_.route_name = route_->name();
  runHeaders();
}

bool ActiveStream::normalizeRequestPath() {
  switch (normalizePath(head_.path, config_->path_normalization)) {
    case PathNormalizationResult::kContinue:
      return true;
    case PathNormalizationResult::kMalformed:
      connection_.services_.stats.inc(config_->stats->downstream_rq_failed_path_normalization);
      sendLocalReply(400, "", "path_normalization_failed");
      return false;
    case PathNormalizationResult::kEscapedSlash:
      connection_.services_.stats.inc(config_->stats->downstream_rq_failed_path_normalization);
      sendLocalReply(400, "", "path_has_escaped_slashes");
      return false;
    case PathNormalizationResult::kRedirect:
      break;
  }
  // The client asks again for the decoded path, so every party on the way (and its logs)
  // sees what the upstream will serve. No route is chosen, so no route header ops apply.
  connection_.services_.stats.inc(config_->stats->downstream_rq_redirected_with_normalized_path);
  info_.response_code_details = "path_normalization_redirect";
  local_reply_head_ = ResponseHead();
  local_reply_head_.status = 307;
  local_reply_head_.headers.add("location", normalizedPathRedirectLocation(head_.path));
  local_reply_head_.headers.add("content-length", "0");
  encodeHeaders(local_reply_head_, true);
  return false;
}

void ActiveStream::runHeaders() {
  // A response begun (a filter's local reply an encoder holds) ends the decoder chain too:
  // the filters after it, the router among them, must not send the request on.
  while (next_filter_ < filters_.size() && !response_started_ && !response_complete_) {
    StreamDecoderFilter& filter = *filters_[next_filter_++];
    if (filter.decodeHeaders(head_, headers_end_stream_) == FilterHeadersStatus::kStopIteration) {
      stopped_ = next_filter_ < filters_.size();
      return;
    }
  }
  stopped_ = false;
}

void ActiveStream::continueDecoding() {
  if (!stopped_ || response_started_ || response_complete_) return;
  stopped_ = false;
  runHeaders();
  if (stopped_ || response_started_ || response_complete_) return;
  if (buffered_body_.length() > 0 || buffered_end_stream_) {
    buffer::Buffer body;
    body.move(buffered_body_);
    runData(body, buffered_end_stream_);
  }
  if (held_body_paused_reading_) {
    // The held body went on to the filters (which apply their own back-pressure): read again.
    held_body_paused_reading_ = false;
    readDisableDownstream(false);
  }
}

void ActiveStream::decodeData(buffer::Buffer& data, bool end_stream) {
  if (headers_end_stream_) {
    // The codec also reports the end of a body-less request: the headers said it already, and
    // a filter hears end_stream once.
    data.clear();
    return;
  }
  info_.bytes_received += data.length();
  if (end_stream) request_complete_ = true;
  if (response_complete_) {
    data.clear();  // answered already; the rest of the body is dropped
    return;
  }
  if (stopped_) {
    buffered_body_.move(data);
    buffered_end_stream_ = end_stream;
    if (buffered_body_.length() > config_->buffer_limit && !held_body_paused_reading_) {
      held_body_paused_reading_ = true;
      readDisableDownstream(true);
    }
    return;
  }
  runData(data, end_stream);
}

void ActiveStream::runData(buffer::Buffer& data, bool end_stream) {
  for (size_t i = 0; i < next_filter_ && !response_complete_; i++) {
    if (filters_[i]->decodeData(data, end_stream) == FilterDataStatus::kStopIterationAndBuffer) {
      break;  // the filter took what it needs
    }
  }
  data.clear();
}

void ActiveStream::encode1xxHeaders(ResponseHead& head) {
  if (response_started_ || connection_.closed_) return;
  // An HTTP/1.0 client knows no 1xx: it would take this one as the response (RFC 9110 15.2).
  if (head_.minor_version == 0) return;
  removeHopByHopHeaders(head.headers);  // as on the final response
  for (auto& slot : encoders_) slot->filter().encode1xxHeaders(head);
  buffer::Buffer out;
  connection_.codec_.encode1xx(head, out);
  connection_.write(out);
}

void ActiveStream::encodeHeaders(ResponseHead& head, bool end_stream) {
  if (response_started_ || connection_.closed_) return;
  response_started_ = true;
  info_.response = &head;
  encode_head_ = &head;
  encode_end_stream_ = end_stream;
  runEncodeHeaders();
}

void ActiveStream::runEncodeHeaders() {
  while (next_encoder_ < encoders_.size() && !response_complete_) {
    EncoderSlot& slot = *encoders_[next_encoder_++];
    if (slot.filter().encodeHeaders(*encode_head_, encode_end_stream_) ==
        FilterHeadersStatus::kStopIteration) {
      encoder_stopped_ = true;
      if (held_response_head_ == nullptr || encode_head_ != held_response_head_.get()) {
        held_response_head_ = std::make_unique<ResponseHead>(*encode_head_);
        encode_head_ = held_response_head_.get();
        info_.response = encode_head_;
      }
      return;
    }
  }
  if (response_complete_) return;
  encoder_stopped_ = false;
  writeHeaders(*encode_head_, encode_end_stream_);
}

void ActiveStream::continueEncoding(size_t index) {
  // Only the filter the chain stopped at may resume it.
  if (!encoder_stopped_ || response_complete_ || next_encoder_ != index + 1) return;
  encoder_stopped_ = false;
  runEncodeHeaders();
  if (encoder_stopped_ || response_complete_) return;
  // The held body leaves now: lift its back-pressure before it runs (the producer may be
  // gone once the last piece completes the stream).
  if (encoder_buffer_above_limit_) {
    encoder_buffer_above_limit_ = false;
    addResponsePressure(-1);
  }
  if (encoder_buffered_.length() > 0 || encoder_buffered_end_stream_) {
    buffer::Buffer body;
    body.move(encoder_buffered_);
    runEncodeData(body, encoder_buffered_end_stream_, 0);
  }
}

void ActiveStream::encodeData(buffer::Buffer& data, bool end_stream) {
  if (!response_started_ || response_complete_ || connection_.closed_) {
    data.clear();
    return;
  }
  if (encoder_stopped_) {
    encoder_buffered_.move(data);
    encoder_buffered_end_stream_ = end_stream;
    if (!encoder_buffer_above_limit_ && encoder_buffered_.length() > config_->buffer_limit) {
      encoder_buffer_above_limit_ = true;
      addResponsePressure(1);
    }
    return;
  }
  runEncodeData(data, end_stream, 0);
}

void ActiveStream::runEncodeData(buffer::Buffer& data, bool end_stream, size_t from) {
  for (size_t i = from; i < encoders_.size(); i++) {
    if (response_complete_ || connection_.closed_) break;
    if (encoders_[i]->filter().encodeData(data, end_stream) ==
        FilterDataStatus::kStopIterationAndBuffer) {
      data.clear();  // the filter took what it needs
      return;
    }
  }
  if (response_complete_ || connection_.closed_) {
    data.clear();
    return;
  }
  if (!headers_written_) {
    // A filter injected body while a later filter still holds the headers: a filter bug that
    // would reorder the response. Fail the stream loudly rather than send it out of order.
    data.clear();
    resetStream("encoder_filter_data_before_headers");
    return;
  }
  writeData(data, end_stream);
}

void ActiveStream::writeHeaders(ResponseHead& head, bool end_stream) {
  headers_written_ = true;
  info_.response_code = head.status;
  if (info_.response_code_details.empty()) info_.response_code_details = "via_upstream";
  // Hop-by-hop fields are already gone: the router strips the upstream's head before its
  // header operations and the encoder filters, and local replies carry none.
  // A response that starts before the request body has all arrived (an upstream refusing an
  // upload early: 401, 413) most likely ends first, and then the connection closes with the
  // rest of the body unread: say so, or a client reuses the connection for its next request.
  close_connection_ = !connection_.codec_.requestKeepAlive() || connection_.draining_ ||
                      connection_.services_.draining || !request_complete_;
  buffer::Buffer out;
  http1::BodyFraming framing =
      connection_.codec_.encodeResponseHeaders(head, end_stream, close_connection_, out);
  if (framing == http1::BodyFraming::kCloseDelimited) close_connection_ = true;
  connection_.write(out);
  if (end_stream) complete();
}

void ActiveStream::writeData(buffer::Buffer& data, bool end_stream) {
  info_.bytes_sent += data.length();
  buffer::Buffer out;
  connection_.codec_.encodeResponseData(data, end_stream, out);
  if (out.length() > 0) connection_.write(out);
  if (end_stream) complete();
}

network::Connection* ActiveStream::responseBodySink() {
  if (!headers_written_ || response_complete_ || connection_.closed_ ||
      connection_.codec_.responseFraming() != http1::BodyFraming::kContentLength) {
    return nullptr;
  }
  for (const auto& slot : encoders_) {
    if (!slot->filter().bodyPassesThrough()) return nullptr;
  }
  return connection_.connection_.get();
}

void ActiveStream::onResponseBodyForwarded(uint64_t bytes) {
  info_.bytes_sent += bytes;
  if (!response_spliced_) {
    response_spliced_ = true;
    connection_.services_.stats.inc(config_->stats->downstream_rs_spliced);
  }
}

void ActiveStream::sendLocalReply(int status, absl::string_view body, absl::string_view details) {
  if (response_complete_) return;
  info_.response_code_details = std::string(details);
  connection_.services_.stats.inc(config_->stats->downstream_rq_local_reply);
  if (response_started_) {
    resetStream(details);
    return;
  }
  local_reply_head_ = ResponseHead();
  local_reply_head_.status = status;
  local_reply_head_.headers.add("content-type", "text/plain");
  local_reply_head_.headers.add("content-length", absl::StrCat(body.size()));
  if (route_ != nullptr) route_->applyResponseHeaderOps(local_reply_head_.headers);
  encodeHeaders(local_reply_head_, body.empty());
  if (!body.empty()) encodeData(body, true);
}

bool ActiveStream::closeDelimitedBodyInFlight() const {
  return headers_written_ && !response_complete_ &&
         connection_.codec_.responseFraming() == http1::BodyFraming::kCloseDelimited;
}

void ActiveStream::resetStream(absl::string_view details) {
  if (response_complete_) return;
  if (info_.response_code_details.empty() || info_.response_code_details == "via_upstream") {
    info_.response_code_details = std::string(details);
  }
  close_connection_ = true;
  request_complete_ = false;
  // A body delimited by the close (an HTTP/1.0 client, no length) would read as complete
  // if the connection ended with a FIN: end it with a reset instead.
  abort_connection_ = closeDelimitedBodyInFlight();
  complete();
}

void ActiveStream::readDisableDownstream(bool disable) {
  if (disable) {
    downstream_read_disables_++;
  } else if (downstream_read_disables_ > 0) {
    downstream_read_disables_--;
  } else {
    return;
  }
  if (connection_.connection_->isOpen()) connection_.connection_->readDisable(disable);
}

void ActiveStream::onAboveWriteBufferHighWatermark() { addResponsePressure(1); }

void ActiveStream::onBelowWriteBufferLowWatermark() { addResponsePressure(-1); }

void ActiveStream::addResponsePressure(int delta) {
  if (destroyed_) return;  // filters hear nothing after onDestroy()
  const int before = response_pressure_;
  response_pressure_ = std::max(0, response_pressure_ + delta);
  if (before == 0 && response_pressure_ > 0) {
    for (StreamDecoderFilter* f : filters_) {
      if (auto* cb = f->watermarkCallbacks()) cb->onAboveWriteBufferHighWatermark();
    }
  } else if (before > 0 && response_pressure_ == 0) {
    for (StreamDecoderFilter* f : filters_) {
      if (auto* cb = f->watermarkCallbacks()) cb->onBelowWriteBufferLowWatermark();
    }
  }
}

void ActiveStream::onDownstreamReset() {
  if (response_complete_) return;
  connection_.services_.stats.inc(config_->stats->downstream_rq_rx_reset);
  endEarly("downstream_reset");
}

void ActiveStream::onProxyClose() {
  if (response_complete_) return;
  endEarly("proxy_shutdown");
}

void ActiveStream::endEarly(absl::string_view details) {
  // A response already under way gets the reason it stopped too: its status says 200, and
  // "via_upstream" would read as if all of it was sent.
  if (info_.response_code_details.empty() || info_.response_code_details == "via_upstream") {
    info_.response_code_details = std::string(details);
  }
  response_complete_ = true;
  destroyFilters();
  const auto elapsed = connection_.services_.dispatcher.now() - info_.start_monotonic;
  info_.duration = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
  connection_.services_.stats.gaugeAdd(config_->stats->downstream_rq_active, -1);
  writeAccessLog(elapsed);
}

void ActiveStream::writeAccessLog(std::chrono::steady_clock::duration elapsed) {
  const auto& log = config_->access_log;
  if (log == nullptr) return;
  // The wall-clock start, read only when a log needs it (one clock read less per request).
  info_.start_time = std::chrono::system_clock::now() -
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(elapsed);
  log->log(info_, connection_.services_.dispatcher);
}

void ActiveStream::complete() {
  if (response_complete_) return;
  response_complete_ = true;
  destroyFilters();
  const HttpConnectionManagerConfig& config = *config_;
  stats::WorkerStats& s = connection_.services_.stats;
  const auto elapsed = std::chrono::steady_clock::now() - info_.start_monotonic;
  info_.duration = std::chrono::duration_cast<std::chrono::microseconds>(elapsed);
  if (info_.response_code > 0) s.inc(config.stats->rqClass(info_.response_code));
  s.recordValue(config.stats->downstream_rq_time, static_cast<uint64_t>(info_.duration.count()));
  s.gaugeAdd(config.stats->downstream_rq_active, -1);
  writeAccessLog(elapsed);
  // A request whose body was not fully read leaves unparsed bytes: the connection can't go on.
  connection_.onStreamComplete(close_connection_ || !request_complete_, abort_connection_);
}

}  // namespace portico::http
