// libFuzzer target: arbitrary bytes as an upstream's answer to the upstream HTTP/1 codec
// (ClientCodec), delivered in two reads split at a fuzzer-chosen point. After each complete
// response on a connection that may be reused, the next request is encoded, as the connection
// pool does when it hands the connection to another stream.
//
// Input layout: byte 0 = request methods (bit i: request i is HEAD, else GET), bytes 1 and 2 =
// split point (big-endian, modulo the payload size), rest = the bytes the upstream sends.
//
// Beyond "no crash / no sanitizer report", every run checks that the split does not change what
// the codec reports (Content-Length bodies are moved slice by slice, chunked ones go through
// llhttp: both must give the same bytes wherever the reads end) and that a response to HEAD has
// no body. The second read is also replayed with a body in progress taken around the codec
// (raw forwarding): the codec must report the same responses. A violation aborts.

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "test/common/http/http1/codec_test_util.h"
#include "test/fuzz/fuzz_check.h"

namespace portico::http::http1 {
namespace {

using portico::fuzz::check;

RequestHead request(bool head) {
  RequestHead r;
  r.method = head ? "HEAD" : "GET";
  r.path = "/";
  r.headers.add("host", "upstream");
  return r;
}

struct Outcome {
  std::vector<std::string> events;
  std::string error;
  size_t responses = 0;
};

// `raw`: as the upstream connection does with a large Content-Length body, bytes the codec has
// not seen yet of a body in progress go around it (consumeRawBody, as after a splice) at the
// start of each read; the rest of the read is dispatched.
Outcome run(uint8_t methods, const std::vector<absl::string_view>& pieces, bool raw) {
  test::ClientCodecDriver driver;
  size_t sent = 0;
  driver.sendRequest(request(methods & 1));
  sent++;
  auto dispatch = [&] {
    while (true) {
      const size_t before = driver.callbacks.log.events().size();
      driver.codec.dispatch(driver.input);
      if (!driver.callbacks.error.empty()) break;
      if (!driver.codec.responseComplete()) break;
      // Reuse the connection for the next request only when that is safe.
      if (!driver.codec.keepAlive() || sent >= 8) break;
      driver.sendRequest(request((methods >> sent) & 1));
      sent++;
      if (driver.input.length() == 0 && driver.callbacks.log.events().size() == before) break;
    }
  };
  for (absl::string_view piece : pieces) {
    if (raw && driver.callbacks.error.empty() && driver.input.length() == 0) {
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>(driver.codec.rawBodyRemaining(), piece.size()));
      if (n > 0) {
        driver.callbacks.log.addBody(piece.substr(0, n));
        piece.remove_prefix(n);
        driver.codec.consumeRawBody(n);
        dispatch();  // a completed response lets the next request go
      }
    }
    driver.input.add(piece);
    dispatch();
  }
  if (driver.callbacks.error.empty() && !driver.codec.responseComplete()) {
    driver.codec.onConnectionClosed();
  }
  Outcome out;
  out.events = driver.callbacks.log.events();
  out.error = driver.callbacks.error;
  for (const std::string& e : out.events) {
    if (e == "complete") out.responses++;
  }
  return out;
}

}  // namespace
}  // namespace portico::http::http1

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico::http::http1;
  if (size < 3) return 0;
  const uint8_t methods = data[0];
  const size_t split_seed = (static_cast<size_t>(data[1]) << 8) | data[2];
  absl::string_view payload(reinterpret_cast<const char*>(data + 3), size - 3);
  const size_t split = payload.empty() ? 0 : split_seed % (payload.size() + 1);

  Outcome whole = run(methods, {payload}, false);
  Outcome two = run(methods, {payload.substr(0, split), payload.substr(split)}, false);
  Outcome spliced = run(methods, {payload.substr(0, split), payload.substr(split)}, true);
  check(spliced.events == two.events && spliced.error == two.error,
        "a body taken around the codec (raw forwarding) changed the reported responses");
  check(whole.error.empty() == two.error.empty(), "split changed whether the response failed");
  if (whole.error.empty()) {
    check(whole.events == two.events, "split changed the reported responses");
  } else {
    check(whole.responses == two.responses, "split changed how many responses completed");
  }
  // A response to HEAD never has a body: the first request's method is bit 0.
  if ((methods & 1) != 0) {
    for (const std::string& e : whole.events) {
      if (e == "complete") break;
      check(e.rfind("body ", 0) != 0, "body reported for a HEAD response");
    }
  }
  return 0;
}
