#pragma once

// Byte rules for header fields (RFC 9110 5.1, 5.5), checked for every field of every message.

#include <array>

#include "absl/strings/string_view.h"

namespace portico::http {

namespace field_bytes_internal {
extern const std::array<bool, 256> kTokenChars;
}  // namespace field_bytes_internal

// True if `c` is a tchar (RFC 9110 5.6.2); inline for the head parsers' loops.
inline bool isTokenChar(char c) {
  return field_bytes_internal::kTokenChars[static_cast<unsigned char>(c)];
}

// True if `s` equals `lower` ignoring ASCII case, where `lower` is lower-case (a field name or
// a known value such as "keep-alive"). Inline: the head parsers compare names this way, and
// a call into absl::EqualsIgnoreCase costs more than the compare.
inline bool equalsLowerCase(absl::string_view s, absl::string_view lower) {
  if (s.size() != lower.size()) return false;
  for (size_t i = 0; i < s.size(); i++) {
    const char c = s[i];
    const char l = lower[i];
    if (c != l && !(l >= 'a' && l <= 'z' && (c | 0x20) == l)) return false;
  }
  return true;
}

// True if `s` is a token (tchar only): what a field name must be. The empty string is one.
bool isToken(absl::string_view s);

// True if `s` holds a byte no field value may hold: a control character other than HTAB, or
// DEL. Bytes from 0x80 (obs-text) are allowed.
bool hasBadValueByte(absl::string_view s);

}  // namespace portico::http
