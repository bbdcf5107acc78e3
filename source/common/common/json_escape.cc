#include "source/common/common/json_escape.h"

#include <cstdio>

#include "source/common/common/utf8.h"

namespace portico {
namespace {

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
      case '"':
        out += "\\\"";
        continue;
      case '\\':
        out += "\\\\";
        continue;
      case '\n':
        out += "\\n";
        continue;
      case '\r':
        out += "\\r";
        continue;
      case '\t':
        out += "\\t";
        continue;
      default:
        break;
    }
    if (u < 0x20) {
      appendEscaped(u, out);
    } else if (u >= 0x80) {
      const size_t n = utf8::sequenceLength(s, i);
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
