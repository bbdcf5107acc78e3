#pragma once

// CompressorFilter: gzip for responses, per http_filter.proto's Compressor. Its decoder half
// notes what the client accepts before a route's header ops can change the request (a route
// may remove accept-encoding so the upstream sends plain bodies for us to compress); the
// encoder half decides at the response headers and rewrites each body piece in place.

#include <memory>
#include <optional>

#include "source/common/http/filter.h"
#include "source/common/stats/worker_stats.h"
#include "source/filters/http/compressor/compressor_config.h"
#include "source/filters/http/compressor/gzip_stream.h"

namespace portico::filters::compressor {

// Whether an accept-encoding header value accepts gzip (q-values honoured, "*" counts,
// "gzip;q=0" refuses).
bool acceptsGzip(const http::HeaderMap& request_headers);

class CompressorFilter : public http::StreamFilter {
 public:
  CompressorFilter(CompressorConfigConstSharedPtr config, stats::WorkerStats& stats)
      : config_(std::move(config)), stats_(stats) {}

  // http::StreamDecoderFilter: only looks.
  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks&) override {}
  http::FilterHeadersStatus decodeHeaders(http::RequestHead& head, bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Buffer&, bool) override {
    return http::FilterDataStatus::kContinue;
  }

  void setEncoderFilterCallbacks(http::StreamEncoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus encodeHeaders(http::ResponseHead& head, bool end_stream) override;
  http::FilterDataStatus encodeData(buffer::Buffer& data, bool end_stream) override;
  // Not compressing this response: the body is not ours to see (it may be spliced past us).
  bool bodyPassesThrough() const override { return gzip_ == nullptr; }
  void onDestroy() override { gzip_.reset(); }

 private:
  // Whether the response is of a kind this filter compresses (regardless of the client).
  bool eligible(const http::ResponseHead& head) const;

  CompressorConfigConstSharedPtr config_;
  stats::WorkerStats& stats_;
  http::StreamEncoderFilterCallbacks* callbacks_ = nullptr;
  std::unique_ptr<GzipStream> gzip_;  // set while compressing
  // From the client's request as it arrived; unset when an earlier filter answered before
  // our decoder half ran (then the request head is as the client sent it anyway).
  std::optional<bool> client_accepts_gzip_;
};

}  // namespace portico::filters::compressor
