#include "source/filters/http/compressor/compressor_filter.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "source/router/route.h"

namespace portico::filters::compressor {

namespace {

// Parses a q-value ("0", "0.5", "1.000"); malformed counts as 1 (RFC 9110 default weight).
double qValue(absl::string_view params) {
  for (absl::string_view p : absl::StrSplit(params, ';')) {
    p = absl::StripAsciiWhitespace(p);
    if (p.size() > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
      double q;
      if (absl::SimpleAtod(p.substr(2), &q) && q >= 0 && q <= 1) return q;
    }
  }
  return 1.0;
}

bool containsToken(const http::HeaderMap& headers, absl::string_view name,
                   absl::string_view token) {
  bool found = false;
  headers.forEachValue(name, [&](absl::string_view value) {
    for (absl::string_view t : absl::StrSplit(value, ',')) {
      if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(t), token)) found = true;
    }
  });
  return found;
}

}  // namespace

bool acceptsGzip(const http::HeaderMap& request_headers) {
  std::optional<double> gzip_q, star_q;
  request_headers.forEachValue("accept-encoding", [&](absl::string_view value) {
    for (absl::string_view item : absl::StrSplit(value, ',')) {
      item = absl::StripAsciiWhitespace(item);
      size_t semi = item.find(';');
      absl::string_view coding = absl::StripAsciiWhitespace(item.substr(0, semi));
      double q = semi == absl::string_view::npos ? 1.0 : qValue(item.substr(semi + 1));
      if (absl::EqualsIgnoreCase(coding, "gzip") || absl::EqualsIgnoreCase(coding, "x-gzip")) {
        gzip_q = q;
      } else if (coding == "*") {
        star_q = q;
      }
    }
  });
  if (gzip_q.has_value()) return *gzip_q > 0;
  return star_q.has_value() && *star_q > 0;
}

bool CompressorFilter::eligible(const http::ResponseHead& head) const {
  if (head.status < 200 || head.status == 204 || head.status == 206 || head.status == 304) {
    return false;
  }
  // Already encoded unless every coding of every content-encoding field is identity: a
  // second field ("identity", then "br") still says the bytes are brotli.
  bool encoded = false;
  head.headers.forEachValue("content-encoding", [&](absl::string_view value) {
    for (absl::string_view coding : absl::StrSplit(value, ',')) {
      if (!absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(coding), "identity")) encoded = true;
    }
  });
  if (encoded) return false;
  if (containsToken(head.headers, "cache-control", "no-transform")) return false;
  const std::string* type = head.headers.get("content-type");
  if (type == nullptr) return false;
  std::string media = absl::AsciiStrToLower(
      absl::StripAsciiWhitespace(absl::string_view(*type).substr(0, type->find(';'))));
  if (!config_->content_types.contains(media)) return false;
  const std::string* length = head.headers.get("content-length");
  uint64_t n;
  if (length != nullptr && absl::SimpleAtoi(*length, &n) && n < config_->min_content_length) {
    return false;
  }
  if (config_->disable_on_etag && head.headers.contains("etag")) return false;
  return true;
}

http::FilterHeadersStatus CompressorFilter::decodeHeaders(http::RequestHead& head, bool) {
  client_accepts_gzip_ = acceptsGzip(head.headers);
  return http::FilterHeadersStatus::kContinue;
}

http::FilterHeadersStatus CompressorFilter::encodeHeaders(http::ResponseHead& head,
                                                          bool end_stream) {
  const CompressorStats& s = *config_->stats;
  const router::Route* route = callbacks_->route();
  const bool head_request = callbacks_->requestHead().method == "HEAD";
  if ((end_stream && !head_request) ||
      (route != nullptr && route->filterDisabled(config_->filter_name)) || !eligible(head)) {
    stats_.inc(s.not_compressed);
    return http::FilterHeadersStatus::kContinue;
  }
  // The representation depends on accept-encoding from here on, compressed or not (a HEAD
  // answer says so too, but its head describes the uncompressed body it would have had).
  if (!containsToken(head.headers, "vary", "accept-encoding") &&
      !containsToken(head.headers, "vary", "*")) {
    head.headers.add("vary", "accept-encoding");
  }
  const bool accepts = client_accepts_gzip_.has_value()
                           ? *client_accepts_gzip_
                           : acceptsGzip(callbacks_->requestHead().headers);
  if (head_request || !accepts) {
    stats_.inc(s.not_compressed);
    return http::FilterHeadersStatus::kContinue;
  }
  auto gzip =
      std::make_unique<GzipStream>(config_->level, config_->window_bits, config_->memory_level);
  if (!gzip->ok()) {
    stats_.inc(s.not_compressed);
    return http::FilterHeadersStatus::kContinue;
  }
  gzip_ = std::move(gzip);
  stats_.inc(s.compressed);
  head.headers.remove("content-length");  // streamed: chunked (or close-delimited for 1.0)
  head.headers.remove("content-encoding");
  head.headers.add("content-encoding", "gzip");
  head.headers.remove("accept-ranges");  // offsets into the compressed body mean nothing
  const std::string* etag = head.headers.get("etag");
  if (etag != nullptr && !absl::StartsWith(*etag, "W/")) {
    head.headers.set("etag", absl::StrCat("W/", *etag));
  }
  return http::FilterHeadersStatus::kContinue;
}

http::FilterDataStatus CompressorFilter::encodeData(buffer::Buffer& data, bool end_stream) {
  if (gzip_ == nullptr) return http::FilterDataStatus::kContinue;
  const CompressorStats& s = *config_->stats;
  stats_.inc(s.total_uncompressed_bytes, data.length());
  buffer::Buffer out;
  absl::Status status = gzip_->compress(data, out, end_stream);
  if (!status.ok()) {
    // The head promised gzip: nothing honest can follow.
    data.clear();
    callbacks_->resetStream("compressor_error");
    return http::FilterDataStatus::kStopIterationAndBuffer;
  }
  stats_.inc(s.total_compressed_bytes, out.length());
  if (end_stream) gzip_.reset();
  data.move(out);
  // An empty non-final piece says nothing to the client; don't send it.
  if (data.length() == 0 && !end_stream) return http::FilterDataStatus::kStopIterationAndBuffer;
  return http::FilterDataStatus::kContinue;
}

}  // namespace portico::filters::compressor
