#pragma once

// GzipStream: one response body compressed to gzip (RFC 1952) with zlib, piece by piece. Each
// piece is flushed (Z_SYNC_FLUSH) so a streamed response is never held back waiting for more
// input; the last piece finishes the stream (trailer with CRC and length).

#include <zlib.h>

#include "absl/status/status.h"
#include "source/common/buffer/buffer.h"

namespace portico::filters::compressor {

class GzipStream {
 public:
  // level 1..9, window_bits 9..15, memory_level 1..9 (validated by CompressorConfig).
  GzipStream(int level, int window_bits, int memory_level);
  ~GzipStream();
  GzipStream(const GzipStream&) = delete;
  GzipStream& operator=(const GzipStream&) = delete;

  // False when zlib could not set up (out of memory): the response is sent as it is.
  bool ok() const { return ok_; }
  // Compresses all of `in` (drained) and appends the output to `out`.
  absl::Status compress(buffer::Buffer& in, buffer::Buffer& out, bool finish);

 private:
  absl::Status run(int flush, buffer::Buffer& out);

  z_stream zs_{};
  bool ok_ = false;
  bool finished_ = false;
};

}  // namespace portico::filters::compressor
