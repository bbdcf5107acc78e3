#include "source/common/http/http1/plain_head.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "absl/strings/match.h"
#include "source/common/http/field_bytes.h"

namespace portico::http::http1 {
namespace {

constexpr size_t kNone = absl::string_view::npos;

bool isPrintable(unsigned char c) { return c >= 0x20 && c < 0x7f; }

// The line starting at `pos`: the index of its CR when the line is printable ASCII (0x20-0x7E:
// no CTL, so no bare LF or HTAB, no DEL, no obs-text) and ends in CRLF; kNone when it is not,
// or is not whole in `data`. Sixteen bytes at a time where SSE2 is there: one pass finds the
// CR and any byte that is not printable (CR is one of those).
size_t lineEnd(absl::string_view data, size_t pos) {
  const char* p = data.data();
  const size_t n = data.size();
  size_t i = pos;
#if defined(__SSE2__)
  const __m128i space = _mm_set1_epi8(0x20);
  const __m128i del = _mm_set1_epi8(0x7f);
  for (; i + 16 <= n; i += 16) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    // Signed compare: bytes >= 0x80 are negative, so "< 0x20" takes them too.
    const __m128i bad = _mm_or_si128(_mm_cmplt_epi8(v, space), _mm_cmpeq_epi8(v, del));
    const int mask = _mm_movemask_epi8(bad);
    if (mask == 0) continue;
    i += static_cast<size_t>(__builtin_ctz(static_cast<unsigned>(mask)));
    break;
  }
  if (i + 16 > n) {
    while (i < n && isPrintable(static_cast<unsigned char>(p[i]))) i++;
  }
#else
  while (i < n && isPrintable(static_cast<unsigned char>(p[i]))) i++;
#endif
  if (i + 1 >= n || p[i] != '\r' || p[i + 1] != '\n') return kNone;
  return i;
}

bool parseDecimal(absl::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 15) return false;  // no overflow to think about
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// "HTTP/1.1" or "HTTP/1.0".
bool parseVersion(absl::string_view s, int& minor) {
  if (s.size() != 8 || !absl::StartsWith(s, "HTTP/1.") || (s[7] != '0' && s[7] != '1')) {
    return false;
  }
  minor = s[7] - '0';
  return true;
}

// Header fields from `pos` through the empty line. Fields that change framing or connection
// handling decline unless they are the plain cases.
bool parseFields(absl::string_view data, size_t pos, HeaderMap& headers, PlainHead& head) {
  bool keep_alive_token = false;
  while (true) {
    const size_t end = lineEnd(data, pos);
    if (end == kNone) return false;
    if (end == pos) {
      head.bytes = end + 2;
      break;
    }
    const absl::string_view line = data.substr(pos, end - pos);
    pos = end + 2;
    // No bounds check: the CR after the line is no token byte, so the scan stops there.
    size_t colon = 0;
    while (isTokenChar(line.data()[colon])) colon++;
    if (colon == 0 || colon == line.size() || line[colon] != ':') return false;
    const absl::string_view name = line.substr(0, colon);
    absl::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    const absl::string_view unstripped = value;  // Content-Length: digits to the end, exactly
    while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
    // Only names starting with c, p, t or u can be special: skip the compares for the rest.
    const char first = static_cast<char>(name[0] | 0x20);
    const bool maybe_special = first == 'c' || first == 'p' || first == 't' || first == 'u';
    switch (maybe_special ? name.size() : 0) {
      case 7:  // Upgrade
        if (equalsLowerCase(name, "upgrade")) return false;
        break;
      case 10:  // Connection: only "keep-alive" (llhttp reads a list of options)
        if (equalsLowerCase(name, "connection")) {
          if (!equalsLowerCase(value, "keep-alive")) return false;
          keep_alive_token = true;
        }
        break;
      case 14:
        if (equalsLowerCase(name, "content-length")) {
          if (head.has_content_length || !parseDecimal(unstripped, head.content_length)) {
            return false;
          }
          head.has_content_length = true;
        }
        break;
      case 16:  // llhttp reads Proxy-Connection as Connection
        if (equalsLowerCase(name, "proxy-connection")) return false;
        break;
      case 17:
        if (equalsLowerCase(name, "transfer-encoding")) return false;
        break;
      default:
        break;
    }
    headers.add(name, value);
    head.fields++;
  }
  // Keep-alive only (a closing message changes llhttp's state after it).
  return head.minor_version == 1 || keep_alive_token;
}

// Method names as llhttp reports them (static strings, so the head may outlive the input).
absl::string_view knownMethod(absl::string_view m) {
  static constexpr absl::string_view kMethods[] = {"GET",    "HEAD",    "POST", "PUT",
                                                   "DELETE", "OPTIONS", "PATCH"};
  for (absl::string_view known : kMethods) {
    if (m == known) return known;
  }
  return {};
}

// Origin-form targets of RFC 3986 characters: pchar, "/", "?" and "%" (llhttp takes them all
// the same way). Anything else declines.
bool isPlainTarget(absl::string_view t) {
  static const auto* kAllowed = [] {
    static bool table[256] = {};
    for (int c = 0; c < 256; c++) {
      table[c] = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }
    for (char c : absl::string_view("-._~!$&'()*+,;=:@/?%")) {
      table[static_cast<unsigned char>(c)] = true;
    }
    return table;
  }();
  if (t.empty() || t[0] != '/') return false;
  for (char c : t) {
    if (!kAllowed[static_cast<unsigned char>(c)]) return false;
  }
  return true;
}

}  // namespace

bool parsePlainRequestHead(absl::string_view data, HeaderMap& headers, PlainHead& head) {
  const size_t end = lineEnd(data, 0);
  if (end == kNone) return false;
  const absl::string_view line = data.substr(0, end);
  const size_t sp1 = line.find(' ');
  if (sp1 == kNone) return false;
  const size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == kNone) return false;
  head.method = knownMethod(line.substr(0, sp1));
  head.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  if (head.method.empty() || !isPlainTarget(head.target) ||
      !parseVersion(line.substr(sp2 + 1), head.minor_version)) {
    return false;
  }
  return parseFields(data, end + 2, headers, head);
}

bool parsePlainResponseHead(absl::string_view data, HeaderMap& headers, PlainHead& head) {
  const size_t end = lineEnd(data, 0);
  if (end == kNone) return false;
  const absl::string_view line = data.substr(0, end);
  // "HTTP/1.x NNN reason", the reason possibly empty.
  if (line.size() < 13 || !parseVersion(line.substr(0, 8), head.minor_version) || line[8] != ' ' ||
      line[12] != ' ') {
    return false;
  }
  const char d0 = line[9], d1 = line[10], d2 = line[11];
  if (d0 < '2' || d0 > '5' || d1 < '0' || d1 > '9' || d2 < '0' || d2 > '9') return false;
  head.status = static_cast<uint16_t>((d0 - '0') * 100 + (d1 - '0') * 10 + (d2 - '0'));
  if (head.status == 204 || head.status == 304) return false;  // bodiless whatever they say
  head.reason = line.substr(13);
  // A response without Content-Length ends at the close, or is a 204/304: llhttp's.
  return parseFields(data, end + 2, headers, head) && head.has_content_length;
}

}  // namespace portico::http::http1
