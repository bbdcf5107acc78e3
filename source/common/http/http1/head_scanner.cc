#include "source/common/http/http1/head_scanner.h"

namespace portico::http::http1 {

void HeadScanner::reset() {
  bytes_ = 0;
  line_length_ = 0;
  lines_ = 0;
  prev_ = 0;
  too_large_ = false;
  error_ = nullptr;
}

HeadScanner::Result HeadScanner::scan(const char* data, size_t len, size_t* used) {
  for (size_t i = 0; i < len; i++) {
    const char c = data[i];
    if (++bytes_ > max_bytes_) {
      too_large_ = true;
      error_ = "request headers too large";
      return Result::kError;
    }
    if (prev_ == '\r' && c != '\n') {
      error_ = "bare CR in message head";
      return Result::kError;
    }
    if (c == '\n') {
      if (prev_ != '\r') {
        error_ = "bare LF in message head";
        return Result::kError;
      }
      prev_ = c;
      if (line_length_ == 0) {
        // Empty lines before the request line are ignored (RFC 9112 2.2); after it, one ends
        // the head.
        if (lines_ == 0) continue;
        *used = i + 1;
        return Result::kHeadEnd;
      }
      lines_++;
      line_length_ = 0;
      continue;
    }
    if (c != '\r') {
      if (line_length_ == 0 && lines_ > 0 && (c == ' ' || c == '\t')) {
        error_ = "obsolete line folding in header";
        return Result::kError;
      }
      if (lines_ == 0 && c == ' ' && (line_length_ == 0 || prev_ == ' ')) {
        // method SP request-target SP version: exactly one space between parts.
        error_ = "malformed request line";
        return Result::kError;
      }
      line_length_++;
    }
    prev_ = c;
  }
  *used = len;
  return Result::kNeedMore;
}

}  // namespace portico::http::http1
