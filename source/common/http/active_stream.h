#pragma once

// ActiveStream: one request/response exchange on an HttpConnection. Runs the decoder filter
// chain on the request (headers, then body) and the encoder filter chain on the response,
// encodes it through the connection's codec, and on completion records stats and the access
// log entry. The chain rules are in filter.h.

#include <chrono>
#include <memory>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "source/common/buffer/buffer.h"
#include "source/common/common/recycled.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/http/filter.h"
#include "source/common/http/stream_info.h"

namespace portico::http {

class HttpConnection;

class ActiveStream : public StreamDecoderFilterCallbacks,
                     public FilterChainFactoryCallbacks,
                     public event::DeferredDeletable,
                     public Recycled<ActiveStream> {  // one per request
 public:
  ActiveStream(HttpConnection& connection, RequestHead& head);
  ~ActiveStream() override;

  void decodeHeaders(bool end_stream);
  // Takes the whole of `data`.
  void decodeData(buffer::Buffer& data, bool end_stream);
  // The downstream went away before the response completed.
  void onDownstreamReset();
  // The proxy closes the connection under the stream (the drain deadline passed, the worker
  // stops): it ends with details "proxy_shutdown" and is logged.
  void onProxyClose();
  void onAboveWriteBufferHighWatermark();
  void onBelowWriteBufferLowWatermark();
  bool responseComplete() const { return response_complete_; }
  void setRequestComplete() { request_complete_ = true; }
  bool requestComplete() const { return request_complete_; }

  // StreamFilterCallbacks
  event::Dispatcher& dispatcher() override;
  const router::Route* route() override { return route_; }
  absl::string_view downstreamAddress() override;
  const RequestHead& requestHead() override { return head_; }
  uint32_t bufferLimit() const override { return config_->buffer_limit; }
  void resetStream(absl::string_view details) override;

  // StreamDecoderFilterCallbacks
  void continueDecoding() override;
  void encode1xxHeaders(ResponseHead& head) override;
  void encodeHeaders(ResponseHead& head, bool end_stream) override;
  using StreamDecoderFilterCallbacks::encodeData;
  void encodeData(buffer::Buffer& data, bool end_stream) override;
  void sendLocalReply(int status, absl::string_view body, absl::string_view details) override;
  void readDisableDownstream(bool disable) override;
  void setUpstreamHost(absl::string_view host) override { info_.upstream_host = std::string(host); }
  network::Connection* responseBodySink() override;
  void onResponseBodyForwarded(uint64_t bytes) override;

  // FilterChainFactoryCallbacks
  void addStreamDecoderFilter(StreamDecoderFilterPtr filter) override;
  void addStreamEncoderFilter(StreamEncoderFilterPtr filter) override;
  void addStreamFilter(StreamFilterPtr filter) override;

  // A response body delimited by the connection's close is on its way and not complete.
  bool closeDelimitedBodyInFlight() const;

 private:
  // One encoder filter's place in the chain: its callbacks know where to resume.
  class EncoderSlot : public StreamEncoderFilterCallbacks {
   public:
    EncoderSlot(ActiveStream& stream, StreamEncoderFilter& filter)
        : stream_(stream), filter_(filter) {}
    event::Dispatcher& dispatcher() override { return stream_.dispatcher(); }
    const router::Route* route() override { return stream_.route_; }
    absl::string_view downstreamAddress() override { return stream_.downstreamAddress(); }
    const RequestHead& requestHead() override { return stream_.head_; }
    uint32_t bufferLimit() const override { return stream_.bufferLimit(); }
    void resetStream(absl::string_view details) override { stream_.resetStream(details); }
    void continueEncoding() override { stream_.continueEncoding(index_); }
    ResponseHead& responseHead() override { return *stream_.encode_head_; }
    void injectEncodedData(buffer::Buffer& data, bool end_stream) override {
      stream_.runEncodeData(data, end_stream, index_ + 1);
    }
    StreamEncoderFilter& filter() { return filter_; }
    void setIndex(size_t index) { index_ = index; }

   private:
    ActiveStream& stream_;
    StreamEncoderFilter& filter_;
    size_t index_ = 0;  // position in encoders_
  };

  void addEncoder(StreamEncoderFilter& filter);
  void prepareRequestHeaders();
  // Applies the listener's path options; false when it answered (400 or 307) instead.
  bool normalizeRequestPath();
  void runHeaders();
  void runData(buffer::Buffer& data, bool end_stream);
  void runEncodeHeaders();
  void runEncodeData(buffer::Buffer& data, bool end_stream, size_t from);
  void continueEncoding(size_t index);
  void writeHeaders(ResponseHead& head, bool end_stream);
  void writeData(buffer::Buffer& data, bool end_stream);
  // Response back-pressure from the socket's buffer or from body held for a stopped encoder:
  // the decoder filters (the router) hear "above" once and "below" when every source cleared.
  void addResponsePressure(int delta);
  void complete();
  // Sets the wall-clock start from the time taken so far and writes the line, if logging.
  void writeAccessLog(std::chrono::steady_clock::duration elapsed);
  // Ends a stream whose response will not complete: details, filters, stats, log.
  void endEarly(absl::string_view details);
  void destroyFilters();

  HttpConnection& connection_;
  HttpConnectionManagerConfigConstSharedPtr config_;
  RequestHead& head_;
  const router::Route* route_ = nullptr;
  // Inline: a stream is built per request, and most chains are a few filters long.
  absl::InlinedVector<std::unique_ptr<StreamFilterBase>, 4> owned_filters_;
  absl::InlinedVector<StreamDecoderFilter*, 4> filters_;           // decoders, config order
  absl::InlinedVector<std::unique_ptr<EncoderSlot>, 2> encoders_;  // in encoding order
  size_t next_filter_ = 0;  // first decoder that has not seen the headers
  bool stopped_ = false;    // the decoder chain is stopped at headers
  bool headers_end_stream_ = false;
  buffer::Buffer buffered_body_;  // request body that arrived while stopped
  bool buffered_end_stream_ = false;
  bool held_body_paused_reading_ = false;  // buffered_body_ went over the limit
  ResponseHead* encode_head_ = nullptr;    // the response head while the encoder chain runs
  bool encode_end_stream_ = false;
  size_t next_encoder_ = 0;  // first encoder that has not seen the response headers
  bool encoder_stopped_ = false;
  buffer::Buffer encoder_buffered_;  // response body that arrived while stopped
  bool encoder_buffered_end_stream_ = false;
  bool encoder_buffer_above_limit_ = false;
  int response_pressure_ = 0;
  ResponseHead local_reply_head_;
  // The response head while an encoder filter holds the chain (copied when it stops: the
  // producer's head may not outlive its encodeHeaders call). Made only then: most streams
  // never stop, and a head is a few hundred bytes to build and tear down per request.
  std::unique_ptr<ResponseHead> held_response_head_;
  StreamInfo info_;
  uint32_t downstream_read_disables_ = 0;
  bool response_started_ = false;  // headers entered the encoder chain
  bool headers_written_ = false;   // ... and reached the codec
  bool response_complete_ = false;
  bool response_spliced_ = false;  // body bytes went to the socket by raw forwarding
  bool request_complete_ = false;
  bool close_connection_ = false;
  bool abort_connection_ = false;  // reset mid-body of a close-delimited response
  bool destroyed_ = false;
};

}  // namespace portico::http
