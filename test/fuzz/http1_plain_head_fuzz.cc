// libFuzzer target: the plain-head fast path (plain_head.h) against llhttp. The same bytes go
// to two parsers, one with plain heads on and one with every head through llhttp, message after
// message (up to eight, pipelined); everything they report must be equal: the result, the bytes
// consumed, the error, the head (start line, version, fields in order), the framing
// (Content-Length, chunked, upgrade, keep-alive, close-delimited) and the body. A difference
// aborts.
//
// Input layout: byte 0 bit 0 = parse as a response (else a request), bit 1 = the response
// answers HEAD (its body is skipped, as the client codec does); the rest is the message.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "source/common/http/header_map.h"
#include "source/common/http/http1/parser.h"
#include "test/fuzz/fuzz_check.h"

namespace portico::http::http1 {
namespace {

using portico::fuzz::check;

class Recorder : public ParserCallbacks {
 public:
  Recorder(llhttp_type_t type, bool skip_body, bool plain)
      : parser_(type, *this, headers_), request_(type == HTTP_REQUEST), skip_body_(skip_body) {
    parser_.setPlainHeads(plain);
    parser_.setHeadLimits(8192, 50);
  }

  // Up to eight pipelined messages; Content-Length bodies are taken around the parser, as the
  // codecs do.
  std::string run(absl::string_view data) {
    for (int i = 0; i < 8 && !data.empty(); i++) {
      size_t consumed = 0;
      const ParseResult result = parser_.execute(data.data(), data.size(), &consumed);
      absl::StrAppend(&log_, "result ", static_cast<int>(result), " consumed ", consumed, " raw ",
                      parser_.rawBodyRemaining(), "\n");
      data.remove_prefix(consumed);
      if (result == ParseResult::kError) {
        absl::StrAppend(&log_, "error ", parser_.error(), "\n");
        break;
      }
      if (result == ParseResult::kConsumedAll) break;
      if (const uint64_t raw = parser_.rawBodyRemaining(); raw > 0) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(raw, data.size()));
        absl::StrAppend(&log_, "raw body ", data.substr(0, n), "\n");
        data.remove_prefix(n);
        if (!parser_.consumeRawBody(n)) break;
      }
      parser_.resume();
    }
    return log_;
  }

  bool onHeadersComplete() override {
    // The method of a response and the status of a request mean nothing: not compared.
    if (request_) {
      absl::StrAppend(&log_, "head ", parser_.methodName(), " '", parser_.url(), "' ");
    } else {
      absl::StrAppend(&log_, "head ", parser_.statusCode(), " '", parser_.statusText(), "' ");
    }
    absl::StrAppend(&log_, parser_.majorVersion(), ".", parser_.minorVersion(), " cl ",
                    parser_.hasContentLength(), ":", parser_.contentLength(), " chunked ",
                    parser_.chunked(), " upgrade ", parser_.upgrade(), "\n");
    for (const HeaderEntry& e : headers_) absl::StrAppend(&log_, e.name, ": ", e.value, "\n");
    if (skip_body_) parser_.skipBody();
    return true;
  }
  void onBody(absl::string_view data) override { absl::StrAppend(&log_, "body ", data, "\n"); }
  void onMessageComplete() override {
    // Read here, after the head: llhttp decides keep-alive from the final state.
    absl::StrAppend(&log_, "complete keep-alive ", parser_.keepAlive(), " eof ",
                    parser_.messageNeedsEof(), "\n");
  }

 private:
  HeaderMap headers_;
  Http1Parser parser_;
  bool request_;
  bool skip_body_;
  std::string log_;
};

}  // namespace
}  // namespace portico::http::http1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using portico::http::http1::Recorder;
  if (size < 1) return 0;
  const bool response = (data[0] & 1) != 0;
  const bool head_request = response && (data[0] & 2) != 0;
  const absl::string_view message(reinterpret_cast<const char*>(data + 1), size - 1);
  const llhttp_type_t type = response ? HTTP_RESPONSE : HTTP_REQUEST;
  Recorder fast(type, head_request, true);
  Recorder llhttp(type, head_request, false);
  const std::string fast_log = fast.run(message);
  const std::string llhttp_log = llhttp.run(message);
  if (fast_log != llhttp_log) {
    fprintf(stderr, "plain:\n%s\nllhttp:\n%s\n", fast_log.c_str(), llhttp_log.c_str());
  }
  portico::fuzz::check(fast_log == llhttp_log, "the plain-head path and llhttp disagree");
  return 0;
}
