#include "source/common/http/authority.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstdint>
#include <string_view>

#include "absl/strings/ascii.h"

namespace portico::http {
namespace {

// unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
// sub-delims = "!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="
bool isRegNameByte(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("-._~!$&'()*+,;=").find(c) != std::string_view::npos;
}

// RFC 3986 also allows %XX here; we do not. No DNS name needs it (IDNs travel as punycode),
// and "%61dmin.example" would match no virtual host of ours yet may be "admin.example" to an
// upstream that decodes it.
bool isValidRegName(absl::string_view host) {
  for (char c : host) {
    if (!isRegNameByte(c)) return false;
  }
  return true;
}

// Inside the brackets: IPv6address or IPvFuture ("v" HEXDIG "." then unreserved, sub-delims
// and ':').
bool isValidIpLiteral(absl::string_view inner) {
  if (inner.empty()) return false;
  if (inner[0] == 'v' || inner[0] == 'V') {
    const size_t dot = inner.find('.');
    if (dot == absl::string_view::npos || dot == 1 || dot + 1 == inner.size()) return false;
    for (size_t i = 1; i < dot; ++i) {
      if (!absl::ascii_isxdigit(static_cast<unsigned char>(inner[i]))) return false;
    }
    for (char c : inner.substr(dot + 1)) {
      if (!isRegNameByte(c) && c != ':') return false;
    }
    return true;
  }
  // IPv6address exactly (RFC 3986 3.2.2 and RFC 4291 2.2 agree): "[:]" or nine groups are not
  // addresses. inet_pton also refuses zone ids ("%eth0"), which a URI would percent-encode.
  char text[INET6_ADDRSTRLEN];
  if (inner.size() >= sizeof(text)) return false;
  inner.copy(text, inner.size());
  text[inner.size()] = '\0';
  in6_addr address;
  return inet_pton(AF_INET6, text, &address) == 1;
}

}  // namespace

bool isValidAuthority(absl::string_view s) {
  absl::string_view host = s;
  absl::string_view port;
  bool has_port = false;
  if (!s.empty() && s[0] == '[') {
    const size_t close = s.find(']');
    if (close == absl::string_view::npos) return false;
    if (!isValidIpLiteral(s.substr(1, close - 1))) return false;
    absl::string_view rest = s.substr(close + 1);
    if (!rest.empty()) {
      if (rest[0] != ':') return false;
      has_port = true;
      port = rest.substr(1);
    }
    host = absl::string_view();
  } else {
    const size_t colon = s.find(':');
    if (colon != absl::string_view::npos) {
      has_port = true;
      port = s.substr(colon + 1);
      host = s.substr(0, colon);
    }
    if (host.empty() || !isValidRegName(host)) return false;
  }
  if (has_port) {
    // RFC 3986 allows an empty port ("host:"); above 65535 is never a TCP port.
    if (port.size() > 5) return false;
    uint32_t value = 0;
    for (char c : port) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) return false;
      value = value * 10 + static_cast<uint32_t>(c - '0');
    }
    if (value > 65535) return false;
  }
  return true;
}

}  // namespace portico::http
