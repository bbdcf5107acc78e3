#include "source/filters/http/compressor/gzip_stream.h"

#include "absl/strings/str_cat.h"

namespace portico::filters::compressor {

GzipStream::GzipStream(int level, int window_bits, int memory_level) {
  // +16: a gzip header and trailer instead of a zlib wrapper.
  ok_ = deflateInit2(&zs_, level, Z_DEFLATED, window_bits + 16, memory_level, Z_DEFAULT_STRATEGY) ==
        Z_OK;
}

GzipStream::~GzipStream() {
  if (ok_) deflateEnd(&zs_);
}

absl::Status GzipStream::compress(buffer::Buffer& in, buffer::Buffer& out, bool finish) {
  if (!ok_ || finished_) {
    in.clear();
    return absl::FailedPreconditionError("gzip stream is not usable");
  }
  while (in.sliceCount() > 0) {
    absl::string_view piece = in.slice(0);
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data()));
    zs_.avail_in = static_cast<uInt>(piece.size());
    absl::Status status = run(Z_NO_FLUSH, out);
    in.drain(piece.size());
    if (!status.ok()) return status;
  }
  if (finish) finished_ = true;
  return run(finish ? Z_FINISH : Z_SYNC_FLUSH, out);
}

absl::Status GzipStream::run(int flush, buffer::Buffer& out) {
  // deflate until it has consumed the input and, for a flush, produced everything: it signals
  // that by leaving output room unused.
  while (true) {
    absl::Span<uint8_t> room = out.writableTail();
    zs_.next_out = room.data();
    zs_.avail_out = static_cast<uInt>(room.size());
    int rc = deflate(&zs_, flush);
    out.commitTail(room.size() - zs_.avail_out);
    if (rc == Z_STREAM_END) return absl::OkStatus();
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InternalError(absl::StrCat("deflate failed (", rc, ")"));
    }
    if (zs_.avail_out != 0 && zs_.avail_in == 0) return absl::OkStatus();
  }
}

}  // namespace portico::filters::compressor
