#pragma once

// Byte rules for header fields (RFC 9110 5.1, 5.5), checked for every field of every message.

#include "absl/strings/string_view.h"

namespace portico::http {

// True if `s` is a token (tchar only): what a field name must be. The empty string is one.
bool isToken(absl::string_view s);

// True if `s` holds a byte no field value may hold: a control character other than HTAB, or
// DEL. Bytes from 0x80 (obs-text) are allowed.
bool hasBadValueByte(absl::string_view s);

}  // namespace portico::http
