#include "source/common/http/headers.h"

#include <array>
#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "source/common/http/field_bytes.h"

namespace portico::http {

bool isHopByHopHeader(absl::string_view name) {
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
  // Names listed in Connection are hop-by-hop too. Every Connection line counts; copied
  // (removing entries moves the values), lower-cased like the map's names, and kept in a set:
  // a head of tens of thousands of tokens costs one look-up per field, not tokens x fields.
  absl::flat_hash_set<std::string> listed;
  for (const HeaderEntry& e : headers) {
    if (!isHopByHopHeader(e.name)) continue;
    any = true;
    if (e.name != "connection") continue;
    // The common value names nothing more to remove: skip the split.
    if (equalsLowerCase(e.value, "keep-alive")) continue;
    for (absl::string_view token : absl::StrSplit(e.value, ',')) {
      token = absl::StripAsciiWhitespace(token);
      // Hop-by-hop names are removed anyway; never let a client strip our own end-to-end
      // essentials (Host) via Connection. "close" is a connection option, not a field name:
      // skipped, it costs no allocation on every HTTP/1.0 or closing message.
      if (token.empty() || isHopByHopHeader(token) || absl::EqualsIgnoreCase(token, "host") ||
          absl::EqualsIgnoreCase(token, "close")) {
        continue;
      }
      listed.insert(absl::AsciiStrToLower(token));
    }
  }
  if (!any) return;
  headers.removeIf([&](const HeaderEntry& e) {
    return isHopByHopHeader(e.name) || (!listed.empty() && listed.contains(e.name));
  });
}

void setForwardingHeaders(HeaderMap& headers, absl::string_view client_ip, absl::string_view proto,
                          const std::function<uint64_t()>& random) {
  constexpr size_t kAbsent = ~size_t{0};
  size_t xff = kAbsent, xfp = kAbsent, request_id = kAbsent;
  int xff_count = 0, xfp_count = 0, request_id_count = 0;
  for (size_t i = 0; i < headers.size(); i++) {
    const std::string& name = headers[i].name;
    switch (name.size()) {  // names are lower-case
      case 12:
        if (name == "x-request-id" && request_id_count++ == 0) request_id = i;
        break;
      case 15:
        if (name == "x-forwarded-for" && xff_count++ == 0) xff = i;
        break;
      case 17:
        if (name == "x-forwarded-proto" && xfp_count++ == 0) xfp = i;
        break;
      default:
        break;
    }
  }
  const bool keep_request_id = request_id != kAbsent && !headers[request_id].value.empty();
  // Several x-request-id fields become the first one, which the log shows: an upstream
  // reading the last (or all of them) would otherwise know the request by another id.
  std::string kept_request_id;
  if (keep_request_id && request_id_count > 1) kept_request_id = headers[request_id].value;
  // In-place edits first: set() below moves entries, which would stale the indexes.
  if (xff_count == 1) {
    std::string& value = headers.valueAt(xff);
    if (!value.empty()) value.append(", ");
    value.append(client_ip.data(), client_ip.size());
  }
  if (xfp_count == 1) headers.valueAt(xfp).assign(proto.data(), proto.size());
  if (!keep_request_id && request_id_count == 1) {
    const RequestId id = generateRequestId(random);
    headers.valueAt(request_id).assign(id.chars, sizeof(id.chars));
  }
  if (xff_count == 0) {
    headers.add("x-forwarded-for", client_ip);
  } else if (xff_count > 1) {
    std::string joined;
    headers.forEachValue("x-forwarded-for", [&](const std::string& value) {
      if (!value.empty()) absl::StrAppend(&joined, value, ", ");
    });
    joined.append(client_ip.data(), client_ip.size());
    headers.set("x-forwarded-for", joined);
  }
  if (xfp_count == 0) {
    headers.add("x-forwarded-proto", proto);
  } else if (xfp_count > 1) {
    headers.set("x-forwarded-proto", proto);
  }
  if (request_id_count == 0) {
    headers.add("x-request-id", generateRequestId(random).view());
  } else if (request_id_count > 1 && keep_request_id) {
    headers.set("x-request-id", kept_request_id);
  } else if (request_id_count > 1) {
    headers.set("x-request-id", generateRequestId(random).view());
  }
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
  // 8-4-4-4-12 hex digits, two per byte from a table: this runs once per request.
  static constexpr std::array<char, 512> kHexPairs = [] {
    constexpr char kHex[] = "0123456789abcdef";
    std::array<char, 512> t{};
    for (int b = 0; b < 256; b++) {
      t[2 * b] = kHex[b >> 4];
      t[2 * b + 1] = kHex[b & 0xf];
    }
    return t;
  }();
  char digits[32];
  for (int i = 0; i < 8; i++) {
    memcpy(digits + 2 * i, &kHexPairs[2 * ((hi >> (56 - 8 * i)) & 0xff)], 2);
    memcpy(digits + 16 + 2 * i, &kHexPairs[2 * ((lo >> (56 - 8 * i)) & 0xff)], 2);
  }
  RequestId out;
  char* o = out.chars;
  memcpy(o, digits, 8);
  o[8] = '-';
  memcpy(o + 9, digits + 8, 4);
  o[13] = '-';
  memcpy(o + 14, digits + 12, 4);
  o[18] = '-';
  memcpy(o + 19, digits + 16, 4);
  o[23] = '-';
  memcpy(o + 24, digits + 20, 12);
  return out;
}

}  // namespace portico::http
