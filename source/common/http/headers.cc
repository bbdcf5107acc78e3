#include "source/common/http/headers.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

#include <vector>

namespace portico::http {

void removeHopByHopHeaders(HeaderMap& headers) {
  if (headers.contains("connection")) {
    // Every Connection line counts; copy first: remove() below invalidates the values.
    std::vector<std::string> listed;
    headers.forEachValue("connection", [&](const std::string& v) {
      for (absl::string_view token : absl::StrSplit(v, ',')) {
        token = absl::StripAsciiWhitespace(token);
        // Never let a client strip our own end-to-end essentials via Connection.
        if (!token.empty() && !absl::EqualsIgnoreCase(token, "host")) listed.emplace_back(token);
      }
    });
    for (const std::string& name : listed) headers.remove(name);
  }
  static constexpr absl::string_view kHopByHop[] = {
      "connection", "keep-alive", "proxy-connection", "te", "transfer-encoding", "upgrade",
      "trailer"};
  bool any = false;
  for (const HeaderEntry& e : headers) {
    for (absl::string_view h : kHopByHop) any = any || e.name == h;
  }
  if (!any) return;
  for (absl::string_view h : kHopByHop) headers.remove(h);
}

std::string generateRequestId(const std::function<uint64_t()>& random) {
  uint64_t hi = random();
  uint64_t lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  // 8-4-4-4-12 hex digits; written by hand: this runs once per request.
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(36, '-');
  int pos = 0;
  auto put = [&](uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) out[pos + i] = kHex[(v >> (4 * (digits - 1 - i))) & 0xf];
    pos += digits + 1;
  };
  put(hi >> 32, 8);
  put((hi >> 16) & 0xffff, 4);
  put(hi & 0xffff, 4);
  put(lo >> 48, 4);
  put(lo & 0xffffffffffffULL, 12);
  return out;
}

}  // namespace portico::http
