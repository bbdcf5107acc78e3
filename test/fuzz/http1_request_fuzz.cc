// libFuzzer target: arbitrary bytes into the downstream HTTP/1 codec (ServerCodec), delivered in
// two reads split at a fuzzer-chosen point, resuming after every complete request as the
// connection manager does once it has answered. Each request is answered through the response
// encoder too.
//
// Input layout: byte 0 and 1 = split point (big-endian, modulo the payload size), rest = the
// bytes a client sends.
//
// Beyond "no crash / no sanitizer report", every run checks that the split does not change what
// the codec reports: the same payload parsed in one read must give the same requests, headers,
// bodies and completions, and an error in both or in neither (the error text and status may
// differ: with two reads, llhttp can meet a later problem before the scanner sees all of the
// head). A violation aborts, which libFuzzer reports as a crash.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "test/common/http/http1/codec_test_util.h"
#include "test/fuzz/fuzz_check.h"

namespace portico::http::http1 {
namespace {

using portico::fuzz::check;

// Small limits, so the fuzzer reaches them with short inputs.
ServerLimits fuzzLimits() {
  ServerLimits limits;
  limits.max_request_headers_bytes = 2048;
  limits.max_headers_count = 16;
  return limits;
}

// Answers the current request the way the connection manager would, alternating framings.
void respond(ServerCodec& codec, size_t n) {
  ResponseHead head;
  head.status = n % 3 == 0 ? 200 : n % 3 == 1 ? 204 : 404;
  if (n % 2 == 0) head.headers.add("content-length", "5");
  buffer::Buffer out;
  BodyFraming framing =
      codec.encodeResponseHeaders(head, /*end_stream=*/false, !codec.requestKeepAlive(), out);
  codec.encodeResponseData("hello", /*end_stream=*/true, out);
  check(out.length() > 0, "encoded an empty response");
  check(framing != BodyFraming::kChunked || codec.requestMinorVersion() >= 1,
        "chunked response to an HTTP/1.0 client");
  check(!(codec.requestIsHead() || head.status == 204) || framing == BodyFraming::kNone,
        "body framing for a response that has no body");
}

// Feeds `pieces`, answering and resuming after every complete request.
std::vector<std::string> run(const std::vector<absl::string_view>& pieces) {
  test::ServerCodecDriver driver(fuzzLimits());
  size_t answered = 0;
  for (absl::string_view piece : pieces) {
    driver.feed(piece);
    while (driver.codec.waitingForResume() && !driver.codec.failed()) {
      check(!driver.callbacks.requests.empty() && driver.callbacks.requests.back().complete,
            "waiting for resume without a complete request");
      respond(driver.codec, answered++);
      driver.resumeAndDispatch();
    }
  }
  const auto& cb = driver.callbacks;
  check(cb.error_status == 0 || cb.error_status == 400 || cb.error_status == 405 ||
            cb.error_status == 431 || cb.error_status == 501,
        "unexpected error status");
  check(cb.error_status != 0 || driver.input.empty(), "unconsumed input without an error");
  size_t body_bytes = 0;
  for (size_t i = 0; i < cb.requests.size(); i++) {
    body_bytes += cb.requests[i].body.size();
    check(i + 1 == cb.requests.size() || cb.requests[i].complete, "earlier request incomplete");
    check(!cb.requests[i].end_stream_on_headers || cb.requests[i].body.empty(),
          "body after end_stream");
  }
  size_t input_bytes = 0;
  for (absl::string_view piece : pieces) input_bytes += piece.size();
  check(body_bytes <= input_bytes, "more body than input");

  std::vector<std::string> events = cb.log.events();
  int errors = 0;
  for (std::string& e : events) {
    if (absl::StartsWith(e, "error ")) {
      e = "error";
      errors++;
    }
  }
  check(errors <= 1, "more than one error");
  check(errors == 0 || events.back() == "error", "events after the error");
  return events;
}

}  // namespace
}  // namespace portico::http::http1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using portico::http::http1::check;
  using portico::http::http1::run;
  if (size < 2) return 0;
  const absl::string_view payload(reinterpret_cast<const char*>(data) + 2, size - 2);
  const size_t split = ((static_cast<size_t>(data[0]) << 8) | data[1]) % (payload.size() + 1);
  const std::vector<std::string> split_events =
      run({payload.substr(0, split), payload.substr(split)});
  const std::vector<std::string> whole_events = run({payload});
  if (split_events != whole_events) {
    for (const auto* events : {&split_events, &whole_events}) {
      fprintf(stderr, events == &split_events ? "split:\n" : "whole:\n");
      for (const std::string& e : *events) fprintf(stderr, "  %s\n", e.c_str());
    }
  }
  check(split_events == whole_events, "splitting the input changed the parse");
  return 0;
}
