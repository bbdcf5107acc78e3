#include "source/common/http/http1/head_scanner.h"

#include <cstring>

namespace portico::http::http1 {

void HeadScanner::reset() {
  bytes_ = 0;
  line_length_ = 0;
  lines_ = 0;
  prev_ = 0;
  too_large_ = false;
  error_ = nullptr;
}

void HeadScanner::resetForTrailers() {
  reset();
  lines_ = 1;  // as if after the request line: the first empty line ends the section
  prev_ = '\n';
}

HeadScanner::Result HeadScanner::scan(const char* data, size_t len, size_t* used) {
  // Line by line with memchr (SIMD in glibc): a head is short lines of ordinary bytes, and the
  // checks only concern line ends, line starts and the request line.
  size_t i = 0;
  while (i < len) {
    const char* nl = static_cast<const char*>(memchr(data + i, '\n', len - i));
    const size_t end = nl != nullptr ? static_cast<size_t>(nl - data) : len;
    const char* seg = data + i;
    const size_t seg_len = end - i;
    bytes_ += seg_len + (nl != nullptr ? 1 : 0);
    if (bytes_ > max_bytes_) {
      too_large_ = true;
      error_ = "request headers too large";
      return Result::kError;
    }
    if (seg_len > 0) {
      if (prev_ == '\r') {
        error_ = "bare CR in message head";  // a CR ended the last piece, no LF followed
        return Result::kError;
      }
      // A CR may only be the last byte before the LF (or of this piece, LF still to come).
      const void* cr = memchr(seg, '\r', seg_len);
      if (cr != nullptr && cr != seg + seg_len - 1) {
        error_ = "bare CR in message head";
        return Result::kError;
      }
      const size_t content = cr != nullptr ? seg_len - 1 : seg_len;
      if (line_length_ == 0 && lines_ > 0 && content > 0 && (seg[0] == ' ' || seg[0] == '\t')) {
        error_ = "obsolete line folding in header";
        return Result::kError;
      }
      if (lines_ == 0) {
        // method SP request-target SP version: exactly one space between parts.
        char prev = line_length_ == 0 ? ' ' : prev_;
        for (size_t k = 0; k < content; k++) {
          if (seg[k] == ' ' && prev == ' ') {
            error_ = "malformed request line";
            return Result::kError;
          }
          prev = seg[k];
        }
      }
      line_length_ += content;
      prev_ = seg[seg_len - 1];
    }
    if (nl == nullptr) break;
    if (prev_ != '\r') {
      error_ = "bare LF in message head";
      return Result::kError;
    }
    prev_ = '\n';
    i = end + 1;
    if (line_length_ == 0) {
      // Empty lines before the request line are ignored (RFC 9112 2.2); after it, one ends
      // the head.
      if (lines_ == 0) continue;
      *used = i;
      return Result::kHeadEnd;
    }
    lines_++;
    line_length_ = 0;
  }
  *used = len;
  return Result::kNeedMore;
}

}  // namespace portico::http::http1
