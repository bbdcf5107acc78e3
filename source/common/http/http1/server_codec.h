#pragma once

// ServerCodec: the downstream side of an HTTP/1.1 connection. Parses requests one at a time
// (pipelined requests wait in the connection's buffer until resume()), refuses malformed ones,
// and encodes responses with the framing the client can take.

#include <cstdint>

#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"
#include "source/common/http/http1/encoder.h"
#include "source/common/http/http1/head_scanner.h"
#include "source/common/http/http1/parser.h"

namespace portico::http::http1 {

struct ServerLimits {
  uint32_t max_request_headers_bytes = 60 * 1024;
  uint32_t max_headers_count = 100;
};

class ServerCodecCallbacks {
 public:
  virtual ~ServerCodecCallbacks() = default;
  // `head` stays valid (and may be modified) until the next request begins.
  virtual void onRequestHeaders(RequestHead& head, bool end_stream) = 0;
  // A piece of the request body; the callee takes what it wants (moves or drains it).
  virtual void onRequestBody(buffer::Buffer& data) = 0;
  virtual void onRequestComplete() = 0;
  // The connection must answer `status` (400 or 431) and close; nothing more is parsed.
  virtual void onRequestError(int status, absl::string_view reason) = 0;
};

class ServerCodec : private ParserCallbacks {
 public:
  ServerCodec(ServerCodecCallbacks& callbacks, const ServerLimits& limits);

  // Parses from `data`, draining what it consumed. Stops after a complete request (until
  // resume()), on error, or when `data` is empty.
  void dispatch(buffer::Buffer& data);
  // The current request's response is done: the next pipelined request may be parsed.
  void resume();
  // True between a complete request and resume().
  bool waitingForResume() const { return waiting_; }
  bool failed() const { return failed_; }
  // A request's head has been parsed and its body is not finished.
  bool requestInProgress() const { return in_request_; }
  // Some bytes of a request head arrived, but not all of it (a stray CRLF is not a head).
  bool partialHead() const { return in_head_ && !waiting_ && scanner_.started(); }

  // About the current request.
  bool requestKeepAlive() const { return request_keep_alive_; }
  // Also while its head is still arriving or was refused (its refusal carries no body).
  bool requestIsHead() const { return request_is_head_ || (in_head_ && parser_.methodIsHead()); }
  int requestMinorVersion() const { return head_.minor_version; }
  // Framing of the current request's body as received (kNone, kContentLength or kChunked).
  BodyFraming requestFraming() const { return request_framing_; }
  // Framing chosen for the current response by encodeResponseHeaders().
  BodyFraming responseFraming() const { return response_framing_; }

  // Encodes the response head; picks the body framing (Content-Length kept, else chunked for
  // HTTP/1.1 clients, else close-delimited). Adds "connection: close" when close_connection.
  // Returns the framing so callers know whether the connection must close after the body.
  BodyFraming encodeResponseHeaders(const ResponseHead& head, bool end_stream,
                                    bool close_connection, buffer::Buffer& out);
  // 1xx informational responses (100 Continue, 103 Early Hints).
  void encode1xx(const ResponseHead& head, buffer::Buffer& out);
  void encodeResponseData(absl::string_view data, bool end_stream, buffer::Buffer& out);
  // Moves `data` into `out` with the response's framing.
  void encodeResponseData(buffer::Buffer& data, bool end_stream, buffer::Buffer& out);

 private:
  // ParserCallbacks
  bool onHeadersComplete() override;
  void onBody(absl::string_view data) override;
  void onMessageComplete() override;
  bool onLastChunk() override;

  void fail(int status, absl::string_view reason);

  ServerCodecCallbacks& callbacks_;
  ServerLimits limits_;
  buffer::Buffer body_;  // a body piece on its way to the callbacks
  RequestHead head_;     // before parser_, which parses into head_.headers
  Http1Parser parser_;
  HeadScanner scanner_;
  BodyFraming request_framing_ = BodyFraming::kNone;
  BodyFraming response_framing_ = BodyFraming::kNone;
  bool in_head_ = true;
  bool in_trailers_ = false;    // scanning the trailer section of a chunked body
  bool trailer_pause_ = false;  // llhttp paused at the last chunk for us
  bool in_request_ = false;
  bool waiting_ = false;
  bool failed_ = false;
  bool request_keep_alive_ = true;
  bool request_is_head_ = false;
};

}  // namespace portico::http::http1
