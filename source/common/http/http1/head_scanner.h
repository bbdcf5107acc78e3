#pragma once

// HeadScanner: a strict pre-check of an HTTP/1.1 message head (request line + header lines)
// before llhttp sees it. llhttp 8.1 (non-strict build) tolerates bare LF, bare CR and obs-fold,
// which are request smuggling vectors when a proxy and an upstream disagree; we refuse them.
// It also finds where the head ends, so the codec never lets llhttp run past it unchecked, and
// enforces the head size limit.

#include <cstddef>
#include <cstdint>

namespace portico::http::http1 {

class HeadScanner {
 public:
  enum class Result { kNeedMore, kHeadEnd, kError };

  explicit HeadScanner(size_t max_head_bytes) : max_bytes_(max_head_bytes) {}

  // Scans data[0, len). kHeadEnd: *used = bytes up to and including the final LF.
  // kNeedMore: *used = len. kError: see error()/tooLarge().
  Result scan(const char* data, size_t len, size_t* used);
  void reset();
  // Scans a trailer section next: header lines then an empty line, no request line.
  void resetForTrailers();
  const char* error() const { return error_; }
  // The error is the size limit (431) rather than a malformed head (400).
  bool tooLarge() const { return too_large_; }
  size_t bytes() const { return bytes_; }
  // A message has begun: more than one empty line before it (RFC 9112 2.2 asks servers to
  // ignore at least one, which some clients send after a body), or any other byte.
  bool started() const { return lines_ > 0 || line_length_ > 0 || bytes_ > 2; }

 private:
  size_t max_bytes_;
  size_t bytes_ = 0;
  size_t line_length_ = 0;
  uint32_t lines_ = 0;
  char prev_ = 0;
  bool too_large_ = false;
  const char* error_ = nullptr;
};

}  // namespace portico::http::http1
