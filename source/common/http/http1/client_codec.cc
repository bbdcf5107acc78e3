#include "source/common/http/http1/client_codec.h"

#include <algorithm>
#include <string>
#include <vector>

#include "source/common/http/field_bytes.h"
#include "source/common/http/headers.h"

namespace portico::http::http1 {

ClientCodec::ClientCodec(ClientCodecCallbacks& callbacks, const ClientLimits& limits)
    : callbacks_(callbacks), parser_(HTTP_RESPONSE, *this, head_.headers) {
  parser_.setHeadLimits(limits.max_response_head_bytes, limits.max_response_headers_count);
}

void ClientCodec::encodeRequestHeaders(const RequestHead& head, absl::string_view path,
                                       BodyFraming framing, buffer::Buffer& out) {
  request_framing_ = framing;
  request_is_head_ = head.method == "HEAD";
  interim_count_ = 0;
  response_started_ = false;
  response_complete_ = false;
  const absl::string_view framing_field =
      framing == BodyFraming::kChunked ? "transfer-encoding: chunked\r\n" : "";
  encodeHead({head.method, " ", path, " HTTP/1.1"}, head.headers, {}, {framing_field}, out);
}

void ClientCodec::encodeRequestData(absl::string_view data, bool end_stream, buffer::Buffer& out) {
  encodeBody(request_framing_, data, end_stream, out);
}

void ClientCodec::encodeRequestData(buffer::Buffer& data, bool end_stream, buffer::Buffer& out) {
  encodeBody(request_framing_, data, end_stream, out);
}

void ClientCodec::dispatch(buffer::Buffer& data) {
  while (!failed_ && !response_complete_ && data.length() > 0) {
    if (uint64_t remaining = parser_.rawBodyRemaining(); remaining > 0) {
      // A Content-Length body: hand the bytes on without parsing or copying them.
      uint64_t n = std::min<uint64_t>(remaining, data.length());
      body_.move(data, n);
      callbacks_.onResponseBody(body_);
      body_.clear();
      if (parser_.consumeRawBody(n)) parser_.resume();
      continue;
    }
    absl::string_view piece = data.slice(0);
    size_t consumed = 0;
    ParseResult result = parser_.execute(piece.data(), piece.size(), &consumed);
    data.drain(consumed);
    if (result == ParseResult::kError) {
      failed_ = true;
      callbacks_.onResponseError(parser_.error());
      return;
    }
    if (result == ParseResult::kPaused) {
      if (parser_.rawBodyRemaining() > 0) continue;  // the head ended; its body follows
      parser_.resume();
      if (interim_) {
        interim_ = false;
        continue;  // the final response follows on the same connection
      }
    }
  }
}

void ClientCodec::consumeRawBody(uint64_t n) {
  if (parser_.consumeRawBody(n)) parser_.resume();
}

bool ClientCodec::onConnectionClosed(bool reset) {
  if (response_complete_ || failed_) return false;
  if (response_started_ && parser_.messageNeedsEof() && !reset) {
    if (parser_.finish()) return response_complete_;
  }
  failed_ = true;
  callbacks_.onResponseError(
      response_started_ ? (reset ? "upstream reset mid-response" : "upstream closed mid-response")
                        : "upstream closed before responding");
  return false;
}

bool ClientCodec::onHeadersComplete() {
  head_.status = parser_.statusCode();
  head_.reason = std::move(parser_.statusText());
  // llhttp takes any byte but CR and LF in the reason phrase; control bytes must not reach the
  // client's status line (RFC 9112 4). An empty reason is replaced by the standard one.
  if (hasBadValueByte(head_.reason)) head_.reason.clear();
  head_.minor_version = parser_.minorVersion();
  if (head_.status < 100 || head_.status > 999) {
    // llhttp takes "20" or "099" as a number; a status is three digits (RFC 9112 4).
    // Forwarded, "20" would read as 1xx downstream: no length, and its body taken as the
    // client's next response. 600-999 are invalid too (RFC 9110 15) but pass, as in nginx and
    // HAProxy: a client must treat them as 5xx, and some services use them.
    parser_.setError("invalid status code");
    return false;
  }
  if (head_.status >= 100 && head_.status < 200) {
    if (head_.status == 101) {
      parser_.setError("unexpected 101 Switching Protocols");
      return false;
    }
    if (++interim_count_ > kMaxInterimResponses) {
      // Without a bound an upstream could hold the request (and the client) with 1xx for as
      // long as the route timeout allows; Go's HTTP client stops at 5 as well.
      parser_.setError("too many 1xx responses");
      return false;
    }
    interim_ = true;
    // 1xx responses end at their head (RFC 9112 6.3), whatever Content-Length says; llhttp
    // would read a body.
    parser_.skipBody();
    parser_.ignoreConnectionClose();
    callbacks_.on1xxHeaders(head_);
    return true;
  }
  const std::vector<std::string> codings = transferCodings(head_.headers);
  // A response to HEAD and a 304 may name the codings the body would have had (RFC 9112 6.1):
  // there is no body to decode.
  if (!request_is_head_ && head_.status != 304) {
    // We re-frame bodies and drop Transfer-Encoding (hop-by-hop), so any coding but chunked
    // alone would reach the client unlabelled ("gzip, chunked": gzip bytes as plain content)
    // or change how the body ends. nginx and Envoy refuse these too.
    if (!codings.empty() && (codings.size() != 1 || codings[0] != "chunked")) {
      parser_.setError("unsupported transfer-encoding from upstream");
      return false;
    }
  }
  response_started_ = true;
  // No body after HEAD, 204 or 304, whatever Content-Length says (RFC 9112 6.3); llhttp 8.1
  // only skips it when told.
  const bool bodiless = request_is_head_ || head_.status == 204 || head_.status == 304;
  if (bodiless) parser_.skipBody();
  keep_alive_ = bodiless ? parser_.keepAliveWithoutBody() : parser_.keepAlive();
  // A 204 that announces a body (which it must not have) may send one later, after this
  // connection went back to the pool: it would be read as the next request's response.
  if (head_.status == 204 && !request_is_head_ &&
      (!codings.empty() || (parser_.hasContentLength() && parser_.contentLength() > 0))) {
    keep_alive_ = false;
  }
  keep_alive_timeout_ = http::keepAliveTimeout(head_.headers);
  const bool no_body = bodiless || (parser_.hasContentLength() && parser_.contentLength() == 0 &&
                                    !parser_.chunked());
  callbacks_.onResponseHeaders(head_, no_body);
  return true;
}

void ClientCodec::onBody(absl::string_view data) {
  // Chunked bodies come through llhttp as spans of the input.
  body_.add(data);
  callbacks_.onResponseBody(body_);
  body_.clear();
}

void ClientCodec::onMessageComplete() {
  if (interim_) return;
  response_complete_ = true;
  // llhttp decides keep-alive from the final state (e.g. close-delimited bodies).
  keep_alive_ = keep_alive_ && parser_.keepAlive();
  callbacks_.onResponseComplete();
}

}  // namespace portico::http::http1
