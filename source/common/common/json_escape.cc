#include "source/common/common/json_escape.h"

#include <cstdio>

namespace portico {
namespace {

// Length of the valid UTF-8 sequence starting at s[i] (a byte >= 0x80), or 0.
size_t utf8SequenceLength(absl::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(i);
  const size_t n = c >= 0xf0 && c <= 0xf4 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 && c <= 0xdf ? 2 : 0;
  if (n == 0 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; k++) {
    if ((b(i + k) & 0xc0) != 0x80) return 0;
  }
  return n;
}

void appendEscaped(unsigned char u, std::string& out) {
  char buf[8];
  snprintf(buf, sizeof(buf), "\\u%04x", u);
  out += buf;
}

}  // namespace

void appendJsonString(absl::string_view s, std::string& out) {
  out += '"';
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    const unsigned char u = static_cast<unsigned char>(c);
    switch (c) {
      case '"': out += "\\\""; continue;
      case '\\': out += "\\\\"; continue;
      case '\n': out += "\\n"; continue;
      case '\r': out += "\\r"; continue;
      case '\t': out += "\\t"; continue;
      default: break;
    }
    if (u < 0x20) {
      appendEscaped(u, out);
    } else if (u >= 0x80) {
      const size_t n = utf8SequenceLength(s, i);
      if (n == 0) {
        appendEscaped(u, out);
      } else {
        out.append(s.data() + i, n);
        i += n - 1;
      }
    } else {
      out += c;
    }
  }
  out += '"';
}

}  // namespace portico
