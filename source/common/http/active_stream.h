#pragma once

// ActiveStream: one request/response exchange on an HttpConnection. Runs the decoder filter
// chain (headers, then body), encodes the response through the connection's codec, and on
// completion records stats and the access log entry.

#include <memory>
#include <vector>

#include "source/common/buffer/buffer.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/http/filter.h"
#include "source/common/http/stream_info.h"

namespace portico::http {

class HttpConnection;

class ActiveStream : public StreamDecoderFilterCallbacks, public event::DeferredDeletable {
 public:
  ActiveStream(HttpConnection& connection, RequestHead& head);
  ~ActiveStream() override;

  void decodeHeaders(bool end_stream);
  // Takes the whole of `data`.
  void decodeData(buffer::Buffer& data, bool end_stream);
  // The downstream went away before the response completed.
  void onDownstreamReset();
  void onAboveWriteBufferHighWatermark();
  void onBelowWriteBufferLowWatermark();
  bool responseComplete() const { return response_complete_; }
  void setRequestComplete() { request_complete_ = true; }

  // StreamDecoderFilterCallbacks
  event::Dispatcher& dispatcher() override;
  const router::Route* route() override { return route_; }
  absl::string_view downstreamAddress() override;
  void continueDecoding() override;
  void encode1xxHeaders(ResponseHead& head) override;
  void encodeHeaders(ResponseHead& head, bool end_stream) override;
  using StreamDecoderFilterCallbacks::encodeData;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void sendLocalReply(int status, absl::string_view body, absl::string_view details) override;
  void resetStream(absl::string_view details) override;
  void readDisableDownstream(bool disable) override;
  uint32_t bufferLimit() const override { return config_->buffer_limit; }
  void setUpstreamHost(absl::string_view host) override { info_.upstream_host = std::string(host); }

 private:
  void prepareRequestHeaders();
  void runHeaders();
  void runData(buffer::Buffer& data, bool end_stream);
  void complete();
  void destroyFilters();

  HttpConnection& connection_;
  HttpConnectionManagerConfigConstSharedPtr config_;
  RequestHead& head_;
  const router::Route* route_ = nullptr;
  std::vector<StreamDecoderFilterPtr> filters_;
  size_t next_filter_ = 0;     // first filter that has not seen the headers
  bool stopped_ = false;       // the chain is stopped at headers
  bool headers_end_stream_ = false;
  buffer::Buffer buffered_body_;  // body that arrived while stopped
  bool buffered_end_stream_ = false;
  ResponseHead local_reply_head_;
  StreamInfo info_;
  uint32_t downstream_read_disables_ = 0;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool request_complete_ = false;
  bool close_connection_ = false;
  bool destroyed_ = false;
};

}  // namespace portico::http
