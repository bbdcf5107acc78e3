#include "source/common/common/utf8.h"

namespace portico::utf8 {

size_t sequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  if (c < 0x80) return 1;
  const size_t n = c >= 0xf0 && c <= 0xf4   ? 4
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xc2 && c <= 0xdf ? 2
                                            : 0;
  if (n == 0 || i + n > s.size()) return 0;
  // The second byte's range depends on the first (RFC 3629 section 4).
  const unsigned char second = b(i + 1);
  const unsigned char lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80;
  const unsigned char hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
  if (second < lo || second > hi) return 0;
  for (size_t k = 2; k < n; k++) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  return n;
}

bool isValid(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequenceLength(s, i);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

bool isControl(absl::string_view s, size_t i, size_t n) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  if (n == 1) return b(0) < 0x20 || b(0) == 0x7f;
  if (n == 2) return b(0) == 0xc2 && b(1) < 0xa0;  // U+0080..U+009F
  if (n == 3) return b(0) == 0xe2 && b(1) == 0x80 && (b(2) == 0xa8 || b(2) == 0xa9);
  return false;
}

bool isPrintableText(absl::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const size_t n = sequenceLength(s, i);
    if (n == 0 || isControl(s, i, n)) return false;
    i += n;
  }
  return true;
}

}  // namespace portico::utf8
