#include "source/common/http/http1/server_codec.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "source/common/http/authority.h"
#include "source/common/http/field_bytes.h"
#include "source/common/http/headers.h"

namespace portico::http::http1 {

namespace {
// "token SP target SP HTTP/1.x" ending in CRLF, after any empty lines: the request line of
// `data` (the start of a message) when it is whole.
bool isRequestLineWithAnyMethod(absl::string_view data) {
  while (absl::StartsWith(data, "\r\n")) data.remove_prefix(2);
  const size_t end = data.find("\r\n");
  if (end == absl::string_view::npos) return false;
  std::vector<absl::string_view> parts = absl::StrSplit(data.substr(0, end), ' ');
  return parts.size() == 3 && isToken(parts[0]) && !parts[1].empty() && parts[2].size() == 8 &&
         absl::StartsWith(parts[2], "HTTP/1.") &&
         absl::ascii_isdigit(static_cast<unsigned char>(parts[2][7]));
}
}  // namespace

ServerCodec::ServerCodec(ServerCodecCallbacks& callbacks, const ServerLimits& limits)
    : callbacks_(callbacks),
      limits_(limits),
      parser_(HTTP_REQUEST, *this, head_.headers),
      scanner_(limits.max_request_headers_bytes) {
  // The byte limit as the scanner counts it, for plain heads, which skip the scanner: a larger
  // head goes the scanner's way and gets its 431. (llhttp's own count of the same head is
  // smaller, so on that path the scanner always refuses first.) The field count is checked
  // as each field ends: a head of many empty fields must not fill the header map first.
  parser_.setHeadLimits(limits.max_request_headers_bytes, limits.max_headers_count);
}

void ServerCodec::dispatch(buffer::Buffer& data) {
  while (!waiting_ && !failed_ && data.length() > 0) {
    if (uint64_t remaining = parser_.rawBodyRemaining(); remaining > 0) {
      // A Content-Length body: hand the bytes on without parsing or copying them.
      uint64_t n = std::min<uint64_t>(remaining, data.length());
      body_.move(data, n);
      callbacks_.onRequestBody(body_);
      body_.clear();
      if (failed_) return;
      if (parser_.consumeRawBody(n)) {
        waiting_ = true;  // as after any complete request: wait for resume()
        return;
      }
      continue;
    }
    absl::string_view piece = data.slice(0);
    const bool head_begins = in_head_ && scanner_.bytes() == 0;
    if (head_begins) {
      request_is_head_ = false;
      parser_.forgetMethod();
    }
    size_t feed = piece.size();
    bool head_ends_here = false;
    size_t consumed = 0;
    ParseResult result;
    // A plain head (CRLF lines of printable bytes, checked by its parser) needs no scanner:
    // the scanner's refusals are all of bytes a plain head cannot hold. Only when the scanner
    // has seen nothing of this message yet: an earlier read may have left it a bare CR to
    // refuse, or empty lines that count against the size limit.
    const bool plain = in_head_ && scanner_.bytes() == 0 &&
                       parser_.tryPlainHead(piece.data(), piece.size(), &consumed, &result);
    if (!plain) {
      if (in_head_ || in_trailers_) {
        HeadScanner::Result r = scanner_.scan(piece.data(), piece.size(), &feed);
        if (r == HeadScanner::Result::kError) {
          // Refused before llhttp saw the method: a HEAD is still known by its first bytes
          // (after the empty lines a client may send first), and its refusal has no body.
          if (head_begins && in_head_) {
            absl::string_view start = piece;
            while (absl::ConsumePrefix(&start, "\r\n")) {
            }
            request_is_head_ = absl::StartsWith(start, "HEAD ");
          }
          fail(scanner_.tooLarge() ? 431 : 400, scanner_.error());
          return;
        }
        head_ends_here = r == HeadScanner::Result::kHeadEnd;
      }
      result = parser_.execute(piece.data(), feed, &consumed, /*try_plain=*/false);
    }
    // A well-formed request line whose method llhttp does not know ("QUERY", "get": methods
    // are case-sensitive) asks for a method we do not implement (RFC 9110 9.1: 501); anything
    // else that fails there is a malformed request.
    const bool unknown_method = !plain && result == ParseResult::kError &&
                                parser_.unknownMethod() &&
                                isRequestLineWithAnyMethod(piece.substr(0, feed));
    data.drain(consumed);
    if (failed_) return;  // a callback refused the request
    if (result == ParseResult::kError) {
      if (unknown_method) {
        fail(501, "method not implemented");
      } else if (parser_.tooManyFields()) {
        fail(431, in_trailers_ ? parser_.error() : "too many request headers");
      } else {
        fail(400, parser_.error());
      }
      return;
    }
    if (result == ParseResult::kPaused) {
      if (trailer_pause_) {
        // Paused after the zero-size chunk: scan the trailers before llhttp parses them.
        trailer_pause_ = false;
        parser_.resume();
        continue;
      }
      if (parser_.rawBodyRemaining() > 0) continue;  // the head ended; its body follows
      waiting_ = true;
      return;
    }
    if (head_ends_here && (in_head_ || in_trailers_)) {
      // Our scanner saw the end of the head but llhttp did not: never guess, refuse.
      fail(400, "malformed request head");
      return;
    }
  }
}

void ServerCodec::resume() {
  if (!waiting_) return;
  waiting_ = false;
  in_head_ = true;
  scanner_.reset();
  parser_.resume();
}

void ServerCodec::fail(int status, absl::string_view reason) {
  if (failed_) return;
  failed_ = true;
  in_request_ = false;
  callbacks_.onRequestError(status, reason);
}

bool ServerCodec::onHeadersComplete() {
  in_head_ = false;
  // First: a request refused below is still a HEAD, whose refusal carries no body.
  request_is_head_ = parser_.methodIsHead();
  HeaderMap& headers = parser_.headers();
  if (headers.size() > limits_.max_headers_count) {
    fail(431, "too many request headers");
    return false;
  }
  if (parser_.majorVersion() != 1) {
    fail(400, "unsupported HTTP version");
    return false;
  }
  head_.method.assign(parser_.methodName().data(), parser_.methodName().size());
  if (head_.method == "CONNECT") {
    // 501, not 405: a 405 must list the allowed methods (RFC 9110 15.5.6), and tunnels are
    // something this server does not implement at all.
    fail(501, "CONNECT is not supported");
    return false;
  }
  head_.minor_version = parser_.minorVersion();
  head_.path = std::move(parser_.url());

  // Request target: visible ASCII only, and no fragment (RFC 9112 3.2: none of the target
  // forms has one; a '#' would make us and the upstream disagree on where the path ends).
  for (char c : head_.path) {
    if (c <= 0x20 || c >= 0x7f || c == '#') {
      fail(400, c == '#' ? "fragment in request target" : "invalid character in request target");
      return false;
    }
  }
  // Before an absolute-form target replaces Host: RFC 9112 3.2 asks for 400 on a repeated or
  // invalid Host whatever the form of the target. (A missing one is supplied by an
  // absolute-form target, as nginx does.)
  const bool absolute_form = !head_.path.empty() && head_.path[0] != '/' && head_.path != "*";
  int hosts = 0;
  bool host_valid = true;
  head_.headers.forEachValue("host", [&](const std::string& host) {
    hosts++;
    // RFC 9112 3.2: an empty Host is how a request says it has no authority; anything else must
    // be one, or the route we pick and the host the upstream serves may differ.
    if (!host.empty() && !isValidAuthority(host)) host_valid = false;
  });
  if (hosts > 1 || (hosts == 0 && head_.minor_version == 1 && !absolute_form)) {
    fail(400, hosts > 1 ? "multiple Host headers" : "missing Host header");
    return false;
  }
  if (!host_valid) {
    fail(400, "invalid Host header");
    return false;
  }
  // Origin-form, absolute-form (turned into origin-form + Host), or "*".
  if (!head_.path.empty() && head_.path[0] != '/') {
    absl::string_view target = head_.path;
    if (head_.path == "*" && head_.method == "OPTIONS") {
      // asterisk-form: forwarded as is.
    } else if (absl::StartsWithIgnoreCase(target, "http://") ||
               absl::StartsWithIgnoreCase(target, "https://")) {
      target.remove_prefix(target.find("//") + 2);
      size_t slash = target.find_first_of("/?");
      absl::string_view authority = target.substr(0, slash);
      if (authority.empty()) {
        fail(400, "absolute-form target without authority");
        return false;
      }
      if (authority.find('@') != absl::string_view::npos) {
        // userinfo (RFC 9110 4.2.4: to be treated as an error; it hides the real authority,
        // and it would reach the upstream as part of Host).
        fail(400, "userinfo in request target");
        return false;
      }
      if (!isValidAuthority(authority)) {
        fail(400, "invalid authority in request target");
        return false;
      }
      head_.headers.set("host", authority);
      head_.path = slash == absl::string_view::npos ? "/" : std::string(target.substr(slash));
      if (head_.path[0] == '?') head_.path.insert(0, "/");
    } else {
      fail(400, "invalid request target");
      return false;
    }
  }
  if (parser_.upgrade()) parser_.clearUpgrade();
  // We re-frame bodies, so the only transfer coding we pass on is chunked alone. RFC 9112 6.1:
  // a request whose final coding is not chunked is 400; codings we don't implement are 501.
  const std::vector<std::string> codings = transferCodings(head_.headers);
  if (!codings.empty()) {
    if (head_.minor_version == 0) {
      // RFC 9112 6.1: faulty framing in HTTP/1.0; refuse rather than guess.
      fail(400, "transfer-encoding in an HTTP/1.0 request");
      return false;
    }
    if (codings.back() != "chunked") {
      fail(400, "transfer-encoding must end with chunked");
      return false;
    }
    if (codings.size() > 1) {
      fail(codings[codings.size() - 2] == "chunked" ? 400 : 501, "unsupported transfer-encoding");
      return false;
    }
  }
  if (parser_.hasContentLength()) {
    // "0005" is a valid length (1*DIGIT) that not every upstream reads alike: send the number.
    const std::string* length = head_.headers.get("content-length");
    if (length != nullptr && length->size() > 1 && (*length)[0] == '0') {
      head_.headers.set("content-length", absl::StrCat(parser_.contentLength()));
    }
  }
  request_keep_alive_ = parser_.keepAlive();
  if (parser_.chunked()) {
    request_framing_ = BodyFraming::kChunked;
  } else if (parser_.hasContentLength() && parser_.contentLength() > 0) {
    request_framing_ = BodyFraming::kContentLength;
  } else {
    request_framing_ = BodyFraming::kNone;
  }
  in_request_ = true;
  callbacks_.onRequestHeaders(head_, request_framing_ == BodyFraming::kNone);
  return !failed_;
}

void ServerCodec::onBody(absl::string_view data) {
  // Chunked bodies come through llhttp as spans of the input.
  body_.add(data);
  callbacks_.onRequestBody(body_);
  body_.clear();
}

bool ServerCodec::onLastChunk() {
  in_trailers_ = true;
  trailer_pause_ = true;
  scanner_.resetForTrailers();
  return true;
}

void ServerCodec::onMessageComplete() {
  in_trailers_ = false;
  in_request_ = false;
  callbacks_.onRequestComplete();
}

BodyFraming ServerCodec::encodeResponseHeaders(const ResponseHead& head, bool end_stream,
                                               bool close_connection, buffer::Buffer& out) {
  const int status = head.status;
  const bool no_body_status = status == 204 || status == 304 || (status >= 100 && status < 200);
  const std::string* content_length = head.headers.get("content-length");
  // The codec's own fields: framing, then connection handling.
  absl::string_view framing_field, connection_field;
  if (request_is_head_ || no_body_status) {
    response_framing_ = BodyFraming::kNone;
  } else if (content_length != nullptr) {
    response_framing_ = BodyFraming::kContentLength;
  } else if (end_stream) {
    response_framing_ = BodyFraming::kNone;
    framing_field = "content-length: 0\r\n";
  } else if (head_.minor_version >= 1) {
    response_framing_ = BodyFraming::kChunked;
    framing_field = "transfer-encoding: chunked\r\n";
  } else {
    response_framing_ = BodyFraming::kCloseDelimited;
    close_connection = true;
  }
  if (close_connection) {
    connection_field = "connection: close\r\n";
  } else if (head_.minor_version == 0) {
    connection_field = "connection: keep-alive\r\n";
  }
  // A 1xx or 204 response carries no Content-Length (RFC 9110 8.6), whatever the upstream
  // sent: a client could otherwise wait for a body that never comes. 304 and HEAD keep it.
  const bool no_length = status == 204 || status < 200;
  const StatusLineStart start = statusLineStart(status);
  encodeHead({start.view(), head.reason.empty() ? reasonPhrase(start.status) : head.reason},
             head.headers, no_length ? "content-length" : "", {framing_field, connection_field},
             out);
  return response_framing_;
}

void ServerCodec::encode1xx(const ResponseHead& head, buffer::Buffer& out) {
  const StatusLineStart start = statusLineStart(head.status);
  encodeHead({start.view(), reasonPhrase(start.status)}, head.headers, "content-length", {}, out);
}

void ServerCodec::encodeResponseData(absl::string_view data, bool end_stream, buffer::Buffer& out) {
  encodeBody(response_framing_, data, end_stream, out);
}

void ServerCodec::encodeResponseData(buffer::Buffer& data, bool end_stream, buffer::Buffer& out) {
  encodeBody(response_framing_, data, end_stream, out);
}

}  // namespace portico::http::http1
