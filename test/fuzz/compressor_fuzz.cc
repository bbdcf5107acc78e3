// libFuzzer target for the compressor filter's inputs: accept-encoding values (the q-value
// parser) and arbitrary bodies cut into arbitrary pieces. Invariant: what the filter emits,
// piece by piece, gunzips to exactly the body it was given.
//
// Input: byte 0 picks the piece sizes' seed; up to the first '\n' is an accept-encoding
// value; the rest is the body.

#include <cstdint>
#include <cstdlib>
#include <string>

#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"
#include "source/filters/http/compressor/compressor_filter.h"
#include "source/filters/http/compressor/gzip_stream.h"
#include "test/filters/http/compressor/gunzip.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace portico;
  if (size == 0) return 0;
  const uint8_t seed = data[0];
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  size_t eol = rest.find('\n');
  std::string accept = rest.substr(0, eol);
  std::string body = eol == std::string::npos ? "" : rest.substr(eol + 1);

  http::HeaderMap headers;
  headers.add("accept-encoding", accept);
  filters::compressor::acceptsGzip(headers);  // must not crash or hang

  filters::compressor::GzipStream gzip(1 + seed % 9, 9 + seed % 7, 1 + seed % 9);
  if (!gzip.ok()) abort();
  std::string out;
  size_t offset = 0, step = 1 + seed;
  do {
    size_t n = std::min(step, body.size() - offset);
    buffer::Buffer in, piece;
    in.add(body.data() + offset, n);
    offset += n;
    const bool last = offset == body.size();
    if (!gzip.compress(in, piece, last).ok()) abort();
    if (in.length() != 0) abort();  // all input taken
    out += piece.toString();
    step = step * 3 % 4093 + 1;
    if (last) break;
  } while (true);
  filters::compressor::test::Gunzipped inflated = filters::compressor::test::gunzip(out);
  if (!inflated.complete || inflated.data != body) abort();
  return 0;
}
