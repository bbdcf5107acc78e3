#include "source/common/http/field_bytes.h"

#include <cstdint>
#include <cstring>
#include <string_view>

namespace portico::http {

namespace {
// tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
//         "~" / DIGIT / ALPHA (RFC 9110 5.6.2)
constexpr std::array<bool, 256> makeTokenChars() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; c++) {
    t[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
  }
  for (char c : std::string_view("!#$%&'*+-.^_`|~")) t[static_cast<unsigned char>(c)] = true;
  return t;
}

// CTLs other than HTAB, and DEL (RFC 9110 5.5), as a lookup table.
constexpr std::array<bool, 256> makeBadValueBytes() {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; c++) t[c] = (c < 0x20 && c != '\t') || c == 0x7f;
  return t;
}
constexpr std::array<bool, 256> kBadValueBytes = makeBadValueBytes();

}  // namespace

namespace field_bytes_internal {
const std::array<bool, 256> kTokenChars = makeTokenChars();
}  // namespace field_bytes_internal

bool isToken(absl::string_view s) {
  for (char c : s) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

bool hasBadValueByte(absl::string_view s) {
  // Eight bytes at a time; a word with a byte below 0x20 (HTAB included) or a DEL is looked
  // at byte by byte. Both word tests are exact for "is there such a byte" (a borrow starts
  // only at a byte that matches).
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x80 * kOnes;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    memcpy(&w, s.data() + i, 8);
    const uint64_t below_space = (w - 0x20 * kOnes) & ~w & kHigh;
    const uint64_t x = w ^ (0x7f * kOnes);
    const uint64_t del = (x - kOnes) & ~x & kHigh;
    if ((below_space | del) == 0) continue;
    for (size_t j = i; j < i + 8; j++) {
      if (kBadValueBytes[static_cast<unsigned char>(s[j])]) return true;
    }
  }
  for (; i < s.size(); i++) {
    if (kBadValueBytes[static_cast<unsigned char>(s[i])]) return true;
  }
  return false;
}

}  // namespace portico::http
