#pragma once

// Test helper: inflates gzip output with zlib, to check what the compressor produced.

#include <zlib.h>

#include <string>

namespace portico::filters::compressor::test {

struct Gunzipped {
  std::string data;
  bool ok = false;        // valid so far (a flushed, unfinished stream is ok)
  bool complete = false;  // ended with a whole gzip member (trailer checked)
};

inline Gunzipped gunzip(const std::string& in) {
  Gunzipped result;
  z_stream zs{};
  if (inflateInit2(&zs, 15 + 16) != Z_OK) return result;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  char buf[16384];
  int rc;
  do {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    result.data.append(buf, sizeof(buf) - zs.avail_out);
  } while (rc == Z_OK && (zs.avail_in > 0 || zs.avail_out == 0));
  inflateEnd(&zs);
  result.complete = rc == Z_STREAM_END;
  result.ok = result.complete || rc == Z_OK || (rc == Z_BUF_ERROR && zs.avail_in == 0);
  return result;
}

}  // namespace portico::filters::compressor::test
