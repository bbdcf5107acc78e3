#include "source/common/http/headers.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace portico::http {

namespace {
bool isHopByHop(absl::string_view name) {
  switch (name.size()) {
    case 2:
      return name == "te";
    case 7:
      return name == "upgrade" || name == "trailer";
    case 10:
      return name == "connection" || name == "keep-alive";
    case 16:
      return name == "proxy-connection";
    case 17:
      return name == "transfer-encoding";
    default:
      return false;
  }
}
}  // namespace

std::vector<std::string> transferCodings(const HeaderMap& headers) {
  std::vector<std::string> codings;
  headers.forEachValue("transfer-encoding", [&](const std::string& v) {
    for (absl::string_view c : absl::StrSplit(v, ',')) {
      codings.push_back(absl::AsciiStrToLower(absl::StripAsciiWhitespace(c)));
    }
  });
  return codings;
}

void removeHopByHopHeaders(HeaderMap& headers) {
  bool any = false;
  // Names listed in Connection are hop-by-hop too. Every Connection line counts; copied,
  // because removing entries moves the values.
  absl::InlinedVector<std::string, 2> listed;
  for (const HeaderEntry& e : headers) {
    if (!isHopByHop(e.name)) continue;
    any = true;
    if (e.name != "connection") continue;
    // The common value names nothing more to remove: skip the split.
    if (absl::EqualsIgnoreCase(e.value, "keep-alive")) continue;
    for (absl::string_view token : absl::StrSplit(e.value, ',')) {
      token = absl::StripAsciiWhitespace(token);
      // Hop-by-hop names are removed anyway; never let a client strip our own end-to-end
      // essentials (Host) via Connection.
      if (token.empty() || isHopByHop(token) || absl::EqualsIgnoreCase(token, "host")) continue;
      listed.emplace_back(token);
    }
  }
  if (!any) return;
  headers.removeIf([&](const HeaderEntry& e) {
    if (isHopByHop(e.name)) return true;
    for (const std::string& name : listed) {
      if (absl::EqualsIgnoreCase(e.name, name)) return true;
    }
    return false;
  });
}

std::optional<std::chrono::seconds> keepAliveTimeout(const HeaderMap& headers) {
  const std::string* value = headers.get("keep-alive");
  if (value == nullptr) return std::nullopt;
  for (absl::string_view parameter : absl::StrSplit(*value, ',')) {
    parameter = absl::StripAsciiWhitespace(parameter);
    if (parameter.size() <= 8 || !absl::EqualsIgnoreCase(parameter.substr(0, 8), "timeout=")) {
      continue;
    }
    uint32_t seconds;
    if (!absl::SimpleAtoi(parameter.substr(8), &seconds)) return std::nullopt;
    return std::chrono::seconds(seconds);
  }
  return std::nullopt;
}

RequestId generateRequestId(const std::function<uint64_t()>& random) {
  uint64_t hi = random();
  uint64_t lo = random();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  // 8-4-4-4-12 hex digits; written by hand: this runs once per request.
  static constexpr char kHex[] = "0123456789abcdef";
  RequestId out;
  int pos = 0;
  auto put = [&](uint64_t v, int digits) {
    for (int i = digits - 1; i >= 0; i--) {
      out.chars[pos + i] = kHex[(v >> (4 * (digits - 1 - i))) & 0xf];
    }
    if (pos + digits < 36) out.chars[pos + digits] = '-';
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
