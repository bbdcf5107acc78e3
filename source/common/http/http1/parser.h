#pragma once

// Http1Parser: llhttp wrapped into a resumable, pausing parser that produces a RequestHead or
// ResponseHead and body spans. Shared by the server (downstream) and client (upstream) codecs.
//
// Outcomes of execute(): all input consumed; paused after a complete message (the caller
// resumes it when it is ready for the next pipelined message); or an error with a reason.
// Body spans point into the caller's input and are only valid during the callback.
//
// Plain heads (plain_head.h) do not go through llhttp either: at the start of a message, a head
// that is whole in the input and plain is parsed in one pass; any other goes to llhttp.
//
// Content-Length bodies do not go through llhttp: after such a head, execute() returns kPaused
// with rawBodyRemaining() > 0, and the codec takes the body straight from its input buffer
// (whole slices change hands, no copy), reporting it with consumeRawBody(). Only chunked
// bodies arrive through onBody().

#include <llhttp.h>

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "source/common/http/header_map.h"
#include "source/common/http/http1/plain_head.h"

namespace portico::http::http1 {

class ParserCallbacks {
 public:
  virtual ~ParserCallbacks() = default;
  // Return false to fail the parse (e.g. a limit was hit); setError() first.
  virtual bool onHeadersComplete() = 0;
  virtual void onBody(absl::string_view data) = 0;
  virtual void onMessageComplete() = 0;
  // The zero-size chunk of a chunked body was parsed; trailers (if any) follow. Return true to
  // pause right there (execute() returns kPaused), e.g. to scan the trailer section first.
  virtual bool onLastChunk() { return false; }
};

enum class ParseResult { kConsumedAll, kPaused, kError };

class Http1Parser {
 public:
  // Header fields are parsed straight into `headers` (the codec's head); it is cleared when
  // a message begins.
  Http1Parser(llhttp_type_t type, ParserCallbacks& callbacks, HeaderMap& headers);
  Http1Parser(const Http1Parser&) = delete;
  Http1Parser& operator=(const Http1Parser&) = delete;

  // Parses up to len bytes; *consumed says how many were used. At the start of a message it
  // first tries a plain head (tryPlainHead), unless `try_plain` is false because the caller
  // just did.
  ParseResult execute(const char* data, size_t len, size_t* consumed, bool try_plain = true);
  // At the start of a message, parses a plain head at `data` if there is one whole in the input
  // (within the head limits) and does what llhttp's callbacks would: true with *result and
  // *consumed set. False when the parser is mid-message or the head is not plain; nothing is
  // consumed then, and execute() (llhttp) takes the input.
  bool tryPlainHead(const char* data, size_t len, size_t* consumed, ParseResult* result) {
    return plain_heads_enabled_ && llhttp_idle_ && raw_body_remaining_ == 0 &&
           llhttp_get_errno(&parser_) == HPE_OK && executePlainHead(data, len, consumed, result);
  }
  // After kPaused: allows the next message.
  void resume() { llhttp_resume(&parser_); }
  // Bytes of the current Content-Length body still to come (0: none in progress).
  uint64_t rawBodyRemaining() const { return raw_body_remaining_; }
  // The codec delivered n more body bytes. At the end of the body this completes the message
  // (onMessageComplete) and returns true; the parser then waits for resume() as after any
  // message.
  bool consumeRawBody(uint64_t n);
  // Signals EOF from the peer (close-delimited responses end here). Returns false on error.
  bool finish();

  // Valid during/after onHeadersComplete until the next message begins.
  std::string& url() { return url_; }
  std::string& statusText() { return status_text_; }
  HeaderMap& headers() { return headers_; }
  int statusCode() const { return plain_ ? plain_head_.status : parser_.status_code; }
  absl::string_view methodName() const;
  // The current request's method is HEAD, as soon as it is known (also when its head is then
  // refused: the refusal must carry no body).
  bool methodIsHead() const { return head_method_; }
  // A new message begins (the codec knows before llhttp's first callback): forget the last
  // message's method.
  void forgetMethod() { head_method_ = false; }
  int minorVersion() const { return plain_ ? plain_head_.minor_version : parser_.http_minor; }
  int majorVersion() const { return plain_ ? 1 : parser_.http_major; }
  // A plain head is always keep-alive, never chunked, an upgrade or close-delimited. "close"
  // wins over "keep-alive" in one Connection field, in HTTP/1.0 too (llhttp's answer for 1.0
  // looks at keep-alive only).
  bool keepAlive() const {
    return plain_ ||
           (llhttp_should_keep_alive(&parser_) != 0 && (parser_.flags & F_CONNECTION_CLOSE) == 0);
  }
  // keepAlive() for a message that has no body whatever its framing says (a response to HEAD):
  // only the version and Connection count. llhttp's own answer also asks whether the body
  // runs to the close, which a bodiless response without a length seems to.
  bool keepAliveWithoutBody() const {
    if (plain_) return true;
    if (parser_.http_major > 0 && parser_.http_minor > 0) {
      return (parser_.flags & F_CONNECTION_CLOSE) == 0;
    }
    return (parser_.flags & (F_CONNECTION_KEEP_ALIVE | F_CONNECTION_CLOSE)) ==
           F_CONNECTION_KEEP_ALIVE;
  }
  bool chunked() const { return !plain_ && (parser_.flags & F_CHUNKED) != 0; }
  bool hasContentLength() const {
    return plain_ ? plain_head_.has_content_length : (parser_.flags & F_CONTENT_LENGTH) != 0;
  }
  uint64_t contentLength() const {
    return plain_ ? plain_head_.content_length : parser_.content_length;
  }
  bool upgrade() const { return !plain_ && parser_.upgrade != 0; }
  bool messageNeedsEof() const { return !plain_ && llhttp_message_needs_eof(&parser_) != 0; }
  // The current message's head was plain (tests and fuzz targets).
  bool plainHead() const { return plain_; }
  // Off: every head goes through llhttp (the fuzz targets compare both ways).
  void setPlainHeads(bool enabled) { plain_heads_enabled_ = enabled; }
  // Tells llhttp that the current response has no body (response to HEAD, or a 1xx/204/304
  // it already knows). Only meaningful inside onHeadersComplete.
  void skipBody() { skip_body_ = true; }
  // For a 1xx head: neither its Connection field nor its version (an HTTP/1.0 head without
  // keep-alive) ends the connection, whose fate the final response decides (llhttp would
  // refuse that response as data after the close).
  void ignoreConnectionClose() {
    parser_.flags = (parser_.flags & ~F_CONNECTION_CLOSE) | F_CONNECTION_KEEP_ALIVE;
  }
  // Treats an Upgrade request as a plain one (we strip Upgrade before forwarding).
  void clearUpgrade() { parser_.upgrade = 0; }

  void setError(absl::string_view reason) { error_ = std::string(reason); }
  // Bounds on one head (start line + fields) and on one trailer section: bytes the callbacks
  // receive, and fields; a plain head counts its whole length. Past either the parse fails (a
  // plain head goes to llhttp instead). 0 = unbounded.
  void setHeadLimits(size_t max_bytes, uint32_t max_fields) {
    max_head_bytes_ = max_bytes == 0 ? SIZE_MAX : max_bytes;
    max_fields_ = max_fields;
  }
  const std::string& error() const { return error_; }
  // The last execute() failed on the field count of setHeadLimits().
  bool tooManyFields() const { return too_many_fields_; }
  // The last execute() failed on a method llhttp does not know (it knows a fixed list).
  bool unknownMethod() const { return llhttp_get_errno(&parser_) == HPE_INVALID_METHOD; }

 private:
  static Http1Parser& self(llhttp_t* p) { return *static_cast<Http1Parser*>(p->data); }
  // What a new message resets, from llhttp's on_message_begin or before a plain head.
  void beginMessage();
  // tryPlainHead() once the parser is known to be at the start of a message.
  bool executePlainHead(const char* data, size_t len, size_t* consumed, ParseResult* result);
  static int onMessageBeginCb(llhttp_t* p);
  static int onMethodCompleteCb(llhttp_t* p);
  static int onUrlCb(llhttp_t* p, const char* at, size_t len);
  static int onStatusCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len);
  static int onHeaderValueCompleteCb(llhttp_t* p);
  static int onHeadersCompleteCb(llhttp_t* p);
  static int onBodyCb(llhttp_t* p, const char* at, size_t len);
  static int onMessageCompleteCb(llhttp_t* p);
  static int onChunkHeaderCb(llhttp_t* p);
  static int onChunkCompleteCb(llhttp_t* p);
  void beginSizeLine();
  // Counts the chunk-size line bytes among the `n` parsed by an execute() call that began in
  // line `line` (if `was_in_line`); false once a line is over the limit.
  bool countSizeLine(const char* data, size_t n, bool was_in_line, uint32_t line);
  static int onChunkExtensionCb(llhttp_t* p, const char* at, size_t len);
  // Counts `len` more head bytes; false (with the error set) past the limit. Inline: it runs
  // for every span llhttp reports.
  bool countHeadBytes(size_t len) {
    head_bytes_ += len;
    return head_bytes_ <= max_head_bytes_ || headLimitExceeded();
  }
  bool headLimitExceeded();

  llhttp_t parser_;
  const bool request_;
  ParserCallbacks& callbacks_;
  std::string url_;
  std::string status_text_;
  std::string field_;
  std::string value_;
  HeaderMap& headers_;
  std::string error_;
  size_t max_head_bytes_ = SIZE_MAX;
  uint32_t max_fields_ = 0;
  size_t head_bytes_ = 0;  // of the current head or trailer section
  uint32_t fields_ = 0;
  bool too_many_fields_ = false;
  size_t chunk_extension_bytes_ = 0;  // of the current chunk-size line
  // In a chunk-size line (from the end of the head or of a chunk to the next chunk header);
  // each line has its own epoch, and bytes of whole execute() calls inside one are counted.
  bool in_size_line_ = false;
  uint32_t size_line_epoch_ = 0;
  size_t size_line_bytes_ = 0;
  bool in_trailers_ = false;
  bool skip_body_ = false;
  uint64_t raw_body_remaining_ = 0;
  // llhttp is between messages (it has not begun one, or finished the last).
  bool llhttp_idle_ = true;
  bool plain_heads_enabled_ = true;
  bool plain_ = false;        // the current message's head was plain
  bool head_method_ = false;  // the current request's method is HEAD (see methodIsHead())
  PlainHead plain_head_;
};

}  // namespace portico::http::http1
