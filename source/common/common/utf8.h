#pragma once

// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing past U+10FFFF (what
// protobuf accepts in a string field).

#include <cstddef>

#include "absl/strings/string_view.h"

namespace portico::utf8 {

// Length of the valid sequence that starts at s[i] (1 for ASCII), or 0 if none does.
// Requires i < s.size().
size_t sequenceLength(absl::string_view s, size_t i);

bool isValid(absl::string_view s);

// Whether the valid sequence of `n` bytes at s[i] is a control character: C0, DEL, C1, or the
// line and paragraph separators U+2028/2029 (all end or hide a line somewhere).
bool isControl(absl::string_view s, size_t i, size_t n);

// Valid UTF-8 without control characters: text that reads the same in a file, a log line or
// a terminal.
bool isPrintableText(absl::string_view s);

}  // namespace portico::utf8
