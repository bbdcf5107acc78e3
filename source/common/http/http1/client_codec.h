#pragma once

// ClientCodec: the upstream side of an HTTP/1.1 connection. Encodes one request at a time and
// parses its response (1xx interim responses are passed through separately).

#include <chrono>
#include <optional>

#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"
#include "source/common/http/http1/encoder.h"
#include "source/common/http/http1/parser.h"

namespace portico::http::http1 {

class ClientCodecCallbacks {
 public:
  virtual ~ClientCodecCallbacks() = default;
  virtual void on1xxHeaders(ResponseHead& head) = 0;
  virtual void onResponseHeaders(ResponseHead& head, bool end_stream) = 0;
  // A piece of the response body; the callee takes what it wants (moves or drains it).
  virtual void onResponseBody(buffer::Buffer& data) = 0;
  virtual void onResponseComplete() = 0;
  virtual void onResponseError(absl::string_view reason) = 0;
};

// What one response may make the codec keep: its status line and fields (and a trailer
// section), then the number of fields. Past either, onResponseError(): a response head is
// held whole before it is forwarded, so without a bound an upstream could fill our memory.
struct ClientLimits {
  uint32_t max_response_head_bytes = 60 * 1024;
  uint32_t max_response_headers_count = 100;
};

class ClientCodec : private ParserCallbacks {
 public:
  explicit ClientCodec(ClientCodecCallbacks& callbacks, const ClientLimits& limits = {});

  // Starts a request: writes the request line (with `path`, which may differ from head.path
  // after a rewrite) and headers with the given body framing (kNone, kContentLength - the
  // caller keeps its content-length header - or kChunked).
  void encodeRequestHeaders(const RequestHead& head, absl::string_view path, BodyFraming framing,
                            buffer::Buffer& out);
  void encodeRequestData(absl::string_view data, bool end_stream, buffer::Buffer& out);
  // Moves `data` into `out` with the request's framing.
  void encodeRequestData(buffer::Buffer& data, bool end_stream, buffer::Buffer& out);

  // Parses response bytes, draining what it consumed.
  void dispatch(buffer::Buffer& data);
  // The upstream closed: completes a close-delimited response (unless `reset`: a reset cuts
  // the body short, and the client must not take it as whole), else reports an error if a
  // response was in progress. Returns true if this completed the response.
  bool onConnectionClosed(bool reset = false);

  // Bytes of a Content-Length response body not yet seen (0: none in progress).
  uint64_t rawBodyRemaining() const { return failed_ ? 0 : parser_.rawBodyRemaining(); }
  // n of those bytes went to the client without passing through dispatch() (raw forwarding);
  // completes the response when they were the last.
  void consumeRawBody(uint64_t n);

  bool responseComplete() const { return response_complete_; }
  // The connection can carry another request after this response.
  bool keepAlive() const { return keep_alive_; }
  // What the last response said the server's idle timeout is (Keep-Alive: timeout=N).
  std::optional<std::chrono::seconds> keepAliveTimeout() const { return keep_alive_timeout_; }
  bool responseStarted() const { return response_started_; }

 private:
  // ParserCallbacks
  bool onHeadersComplete() override;
  void onBody(absl::string_view data) override;
  void onMessageComplete() override;

  ClientCodecCallbacks& callbacks_;
  buffer::Buffer body_;  // a body piece on its way to the callbacks
  ResponseHead head_;    // before parser_, which parses into head_.headers
  Http1Parser parser_;
  BodyFraming request_framing_ = BodyFraming::kNone;
  bool request_is_head_ = false;
  bool response_started_ = false;
  bool response_complete_ = false;
  bool interim_ = false;
  uint32_t interim_count_ = 0;  // 1xx responses to the current request
  static constexpr uint32_t kMaxInterimResponses = 5;
  bool keep_alive_ = true;
  std::optional<std::chrono::seconds> keep_alive_timeout_;
  bool failed_ = false;
};

}  // namespace portico::http::http1
