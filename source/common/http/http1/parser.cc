#include "source/common/http/http1/parser.h"

#include <algorithm>
#include <cstring>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/common/http/field_bytes.h"
#include "source/common/http/http1/plain_head.h"

namespace portico::http::http1 {

Http1Parser::Http1Parser(llhttp_type_t type, ParserCallbacks& callbacks, HeaderMap& headers)
    : request_(type == HTTP_REQUEST), callbacks_(callbacks), headers_(headers) {
  // One settings table for every parser: llhttp only reads it.
  static const llhttp_settings_t settings = [] {
    llhttp_settings_t s;
    llhttp_settings_init(&s);
    s.on_message_begin = onMessageBeginCb;
    s.on_method_complete = onMethodCompleteCb;
    s.on_url = onUrlCb;
    s.on_status = onStatusCb;
    s.on_header_field = onHeaderFieldCb;
    s.on_header_value = onHeaderValueCb;
    s.on_header_value_complete = onHeaderValueCompleteCb;
    s.on_headers_complete = onHeadersCompleteCb;
    s.on_body = onBodyCb;
    s.on_message_complete = onMessageCompleteCb;
    s.on_chunk_header = onChunkHeaderCb;
    s.on_chunk_complete = onChunkCompleteCb;
    s.on_chunk_extension_name = onChunkExtensionCb;
    s.on_chunk_extension_value = onChunkExtensionCb;
    return s;
  }();
  llhttp_init(&parser_, type, &settings);
  parser_.data = this;
}

// Chunk extensions are dropped, never forwarded, so nothing else would bound them: without a
// limit a client could send one endless chunk-size line (as Node's CVE-2024-22019). Leading
// zeros of a chunk size are bounded by the whole line's limit (llhttp takes any number).
constexpr size_t kMaxChunkExtensionBytes = 16 * 1024;
// The extension count leaves out separators (";a;a" counts 2): the whole line may be twice it.
constexpr size_t kMaxChunkSizeLineBytes = 2 * kMaxChunkExtensionBytes + 1024;

ParseResult Http1Parser::execute(const char* data, size_t len, size_t* consumed, bool try_plain) {
  ParseResult result;
  if (try_plain && tryPlainHead(data, len, consumed, &result)) return result;
  const bool was_in_size_line = in_size_line_;
  const uint32_t size_line = size_line_epoch_;
  llhttp_errno_t err = llhttp_execute(&parser_, data, len);
  if (err == HPE_OK) {
    *consumed = len;
  } else {
    const char* pos = llhttp_get_error_pos(&parser_);
    *consumed = pos != nullptr && pos >= data ? static_cast<size_t>(pos - data) : 0;
  }
  const bool parsed = err == HPE_OK || err == HPE_PAUSED;
  if (parsed && (was_in_size_line || in_size_line_) &&
      !countSizeLine(data, *consumed, was_in_size_line, size_line)) {
    error_ = absl::StrCat("chunk-size line longer than ", kMaxChunkSizeLineBytes, " bytes");
    return ParseResult::kError;
  }
  if (err == HPE_OK) return ParseResult::kConsumedAll;
  if (err == HPE_PAUSED) return ParseResult::kPaused;
  if (error_.empty()) {
    error_ = err == HPE_PAUSED_UPGRADE
                 ? "upgrade not supported"
                 : std::string(llhttp_errno_name(err)) + ": " + llhttp_get_error_reason(&parser_);
  }
  return ParseResult::kError;
}

bool Http1Parser::countSizeLine(const char* data, size_t n, bool was_in_line, uint32_t line) {
  // A chunk-size line holds no LF and begins right after one (the head's last, or the one
  // ending a chunk's data), so LFs in the bytes parsed by this call place the lines exactly,
  // whatever the reads' boundaries. Only the ends of the call are looked at: a line within
  // one call is shorter than the call (a buffer slice).
  if (was_in_line) {
    if (in_size_line_ && line == size_line_epoch_) {
      size_line_bytes_ += n;  // the whole call was in the line
      return size_line_bytes_ <= kMaxChunkSizeLineBytes;
    }
    // The line open at the start ended at the call's first LF.
    const void* lf = memchr(data, '\n', n);
    size_t before = lf != nullptr ? static_cast<size_t>(static_cast<const char*>(lf) - data) : n;
    if (size_line_bytes_ + before > kMaxChunkSizeLineBytes) return false;
  }
  if (in_size_line_ && (!was_in_line || line != size_line_epoch_)) {
    // A line began in this call, after its last LF.
    const void* lf = memrchr(data, '\n', n);
    size_line_bytes_ = lf != nullptr ? n - (static_cast<const char*>(lf) - data + 1) : n;
    return size_line_bytes_ <= kMaxChunkSizeLineBytes;
  }
  return true;
}

bool Http1Parser::finish() {
  llhttp_errno_t err = llhttp_finish(&parser_);
  if (err == HPE_OK || err == HPE_PAUSED) return true;
  if (error_.empty()) error_ = std::string(llhttp_errno_name(err));
  return false;
}

bool Http1Parser::executePlainHead(const char* data, size_t len, size_t* consumed,
                                   ParseResult* result) {
  beginMessage();
  plain_head_ = PlainHead();
  const absl::string_view input(data, len);
  const bool parsed = request_ ? parsePlainRequestHead(input, headers_, plain_head_)
                               : parsePlainResponseHead(input, headers_, plain_head_);
  // The limits as llhttp's path applies them (it counts fewer bytes: a head this large goes
  // there, and fails or not there).
  if (!parsed || plain_head_.bytes > max_head_bytes_ ||
      (max_fields_ != 0 && plain_head_.fields > max_fields_)) {
    headers_.clear();
    return false;
  }
  plain_ = true;
  head_method_ = plain_head_.method == "HEAD";
  if (request_) {
    url_.assign(plain_head_.target.data(), plain_head_.target.size());
  } else {
    status_text_.assign(plain_head_.reason.data(), plain_head_.reason.size());
  }
  plain_head_.target = plain_head_.reason = {};  // views into the caller's input
  *consumed = plain_head_.bytes;
  // From here as onHeadersCompleteCb and onMessageCompleteCb.
  in_trailers_ = true;
  if (!callbacks_.onHeadersComplete()) {
    if (error_.empty()) error_ = "rejected";
    *result = ParseResult::kError;
    return true;
  }
  if (!skip_body_ && plain_head_.content_length > 0) {
    raw_body_remaining_ = plain_head_.content_length;
  } else {
    callbacks_.onMessageComplete();
  }
  *result = ParseResult::kPaused;
  return true;
}

absl::string_view Http1Parser::methodName() const {
  if (plain_) return plain_head_.method;
  return llhttp_method_name(static_cast<llhttp_method_t>(parser_.method));
}

void Http1Parser::beginMessage() {
  head_method_ = false;
  url_.clear();
  status_text_.clear();
  field_.clear();
  value_.clear();
  headers_.clear();
  in_trailers_ = false;
  head_bytes_ = 0;
  fields_ = 0;
  skip_body_ = false;
  raw_body_remaining_ = 0;
  plain_ = false;
}

int Http1Parser::onMessageBeginCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.beginMessage();
  s.llhttp_idle_ = false;
  return 0;
}

int Http1Parser::onMethodCompleteCb(llhttp_t* p) {
  self(p).head_method_ = p->method == HTTP_HEAD;
  return 0;
}

bool Http1Parser::headLimitExceeded() {
  error_ = absl::StrCat(in_trailers_ ? "trailers" : "headers", " larger than ", max_head_bytes_,
                        " bytes");
  return false;
}

int Http1Parser::onUrlCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.countHeadBytes(len)) return -1;
  s.url_.append(at, len);
  return 0;
}

int Http1Parser::onStatusCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.countHeadBytes(len)) return -1;
  s.status_text_.append(at, len);
  return 0;
}

int Http1Parser::onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.countHeadBytes(len)) return -1;
  s.field_.append(at, len);
  return 0;
}

int Http1Parser::onHeaderValueCb(llhttp_t* p, const char* at, size_t len) {
  Http1Parser& s = self(p);
  if (!s.countHeadBytes(len)) return -1;
  s.value_.append(at, len);
  return 0;
}

int Http1Parser::onHeaderValueCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  // llhttp leaves trailing whitespace in values; field values exclude it (RFC 9110 5.5).
  // Field names are tokens (RFC 9110 5.1): llhttp 8.1 lets spaces and empty names through.
  if (s.field_.empty() || !http::isToken(s.field_)) {
    s.error_ = "invalid header name";
    return -1;
  }
  if (s.max_fields_ != 0 && ++s.fields_ > s.max_fields_) {
    s.too_many_fields_ = true;
    s.error_ = absl::StrCat("more than ", s.max_fields_, s.in_trailers_ ? " trailer" : " header",
                            " fields");
    return -1;
  }
  absl::string_view value = absl::StripTrailingAsciiWhitespace(s.value_);
  if (http::hasBadValueByte(value)) {
    s.error_ = "invalid character in header value";
    return -1;
  }
  // Trailers are parsed for framing but not forwarded.
  if (!s.in_trailers_) s.headers_.add(s.field_, value);
  s.field_.clear();
  s.value_.clear();
  return 0;
}

int Http1Parser::onHeadersCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.in_trailers_ = true;
  s.head_bytes_ = 0;  // a trailer section has its own budget
  s.fields_ = 0;
  if (!s.callbacks_.onHeadersComplete()) {
    if (s.error_.empty()) s.error_ = "rejected";
    return -1;
  }
  // 1 = the message has no body (llhttp's contract for on_headers_complete).
  if (s.skip_body_) return 1;
  // A Content-Length body: llhttp skips it and the codec moves it (see the header comment).
  // Not for interim responses, and not with an upgrade still pending (llhttp would then hand
  // the connection over).
  if ((p->flags & F_CONTENT_LENGTH) != 0 && (p->flags & (F_CHUNKED | F_TRANSFER_ENCODING)) == 0 &&
      p->content_length > 0 && p->upgrade == 0 &&
      (p->type == HTTP_REQUEST || p->status_code >= 200)) {
    s.raw_body_remaining_ = p->content_length;
    return 1;
  }
  if ((p->flags & F_CHUNKED) != 0) s.beginSizeLine();
  return 0;
}

int Http1Parser::onBodyCb(llhttp_t* p, const char* at, size_t len) {
  self(p).callbacks_.onBody(absl::string_view(at, len));
  return 0;
}

int Http1Parser::onChunkExtensionCb(llhttp_t* p, const char* /*at*/, size_t len) {
  Http1Parser& s = self(p);
  // An empty name or value (";;;;", "a=;") still ends a span: counted as the separator's byte,
  // so a line of bare separators is bounded too. (llhttp refuses spaces in extensions, so
  // every byte is in a span or separates two: the count is at least half the line.)
  s.chunk_extension_bytes_ += std::max<size_t>(len, 1);
  if (s.chunk_extension_bytes_ <= kMaxChunkExtensionBytes) return 0;
  s.error_ = absl::StrCat("chunk extensions larger than ", kMaxChunkExtensionBytes, " bytes");
  return -1;
}

void Http1Parser::beginSizeLine() {
  in_size_line_ = true;
  ++size_line_epoch_;
  size_line_bytes_ = 0;
}

int Http1Parser::onChunkCompleteCb(llhttp_t* p) {
  self(p).beginSizeLine();  // after the last chunk, the message completes next (clears it)
  return 0;
}

int Http1Parser::onChunkHeaderCb(llhttp_t* p) {
  self(p).in_size_line_ = false;
  self(p).chunk_extension_bytes_ = 0;  // the next size line starts afresh
  if (p->content_length != 0) return 0;
  return self(p).callbacks_.onLastChunk() ? HPE_PAUSED : 0;
}

bool Http1Parser::consumeRawBody(uint64_t n) {
  raw_body_remaining_ -= std::min(n, raw_body_remaining_);
  if (raw_body_remaining_ > 0) return false;
  callbacks_.onMessageComplete();
  return true;
}

int Http1Parser::onMessageCompleteCb(llhttp_t* p) {
  Http1Parser& s = self(p);
  s.in_size_line_ = false;
  // After a message that does not keep the connection, llhttp refuses whatever follows: it
  // stays in charge of this connection's bytes then.
  s.llhttp_idle_ = llhttp_should_keep_alive(p) != 0;
  // With a raw body, llhttp's message ends at the head; ours ends in consumeRawBody().
  if (s.raw_body_remaining_ == 0) s.callbacks_.onMessageComplete();
  // Pause so the owner handles one message at a time (in-order pipelining).
  return HPE_PAUSED;
}

}  // namespace portico::http::http1
