// Micro-benchmarks of the HTTP/1.1 request path pieces: parsing a request head (scanner +
// llhttp + header map), encoding a response head, and HeaderMap operations.
//   bazel run -c opt //tools/bench:http1_codec_bench

#include <benchmark/benchmark.h>

#include <string>

#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"
#include "source/common/http/headers.h"
#include "source/common/http/http1/server_codec.h"

namespace portico::http::http1 {
namespace {

constexpr char kCurlRequest[] =
    "GET /api/v1/users/42 HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: curl/7.88.1\r\n"
    "Accept: */*\r\n\r\n";

constexpr char kBrowserRequest[] =
    "GET /static/app.js?v=123 HTTP/1.1\r\nHost: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/\r\nConnection: keep-alive\r\n"
    "Cookie: session=abcdef0123456789; theme=dark\r\nSec-Fetch-Dest: script\r\n"
    "Sec-Fetch-Mode: no-cors\r\nSec-Fetch-Site: same-origin\r\nCache-Control: no-cache\r\n\r\n";

class CountingCallbacks : public ServerCodecCallbacks {
 public:
  void onRequestHeaders(RequestHead& head, bool) override { headers += head.headers.size(); }
  void onRequestBody(portico::buffer::Buffer& data) override { data.clear(); }
  void onRequestComplete() override { requests++; }
  void onRequestError(int, absl::string_view) override { errors++; }
  size_t headers = 0, requests = 0, errors = 0;
};

void parseLoop(benchmark::State& state, absl::string_view request) {
  CountingCallbacks callbacks;
  ServerCodec codec(callbacks, ServerLimits{});
  buffer::Buffer input;
  for (auto _ : state) {
    input.add(request);
    codec.dispatch(input);
    codec.resume();
  }
  if (callbacks.errors != 0 || callbacks.requests != static_cast<size_t>(state.iterations())) {
    state.SkipWithError("parse failed");
  }
  state.SetBytesProcessed(state.iterations() * request.size());
}

void BM_ParseCurlRequest(benchmark::State& state) { parseLoop(state, kCurlRequest); }
BENCHMARK(BM_ParseCurlRequest);

void BM_ParseBrowserRequest(benchmark::State& state) { parseLoop(state, kBrowserRequest); }
BENCHMARK(BM_ParseBrowserRequest);

void BM_EncodeResponseHead(benchmark::State& state) {
  CountingCallbacks callbacks;
  ServerCodec codec(callbacks, ServerLimits{});
  buffer::Buffer input;
  input.add(kCurlRequest);
  codec.dispatch(input);
  ResponseHead head;
  head.status = 200;
  head.headers.add("content-type", "application/json");
  head.headers.add("content-length", "512");
  head.headers.add("date", "Sun, 29 Nov 2026 02:21:00 GMT");
  head.headers.add("x-request-id", "0d7a9021-be78-4088-80c6-8d02f20e05a7");
  buffer::Buffer out;
  for (auto _ : state) {
    codec.encodeResponseHeaders(head, false, false, out);
    out.clear();
  }
}
BENCHMARK(BM_EncodeResponseHead);

void BM_HeaderMapBuildAndLookup(benchmark::State& state) {
  for (auto _ : state) {
    HeaderMap map;
    map.add("Host", "api.example.com");
    map.add("User-Agent", "curl/7.88.1");
    map.add("Accept", "*/*");
    map.add("X-Forwarded-For", "127.0.0.1");
    benchmark::DoNotOptimize(map.get("x-forwarded-for"));
    benchmark::DoNotOptimize(map.get("authorization"));
    map.set("x-forwarded-proto", "http");
    removeHopByHopHeaders(map);
    benchmark::DoNotOptimize(map);
  }
}
BENCHMARK(BM_HeaderMapBuildAndLookup);

void BM_GenerateRequestId(benchmark::State& state) {
  uint64_t x = 88172645463325252ULL;
  std::function<uint64_t()> random = [&x] {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return x;
  };
  for (auto _ : state) benchmark::DoNotOptimize(generateRequestId(random));
}
BENCHMARK(BM_GenerateRequestId);

}  // namespace
}  // namespace portico::http::http1
