#pragma once

// UTF-8 as RFC 3629 defines it: no overlong forms, no surrogates, nothing past U+10FFFF (what
// protobuf accepts in a string field).

#include <cstddef>

#include "absl/strings/string_view.h"

namespace portico::utf8 {

// Length of the valid sequence that starts at s[i] (1 for ASCII), or 0 if none does.
size_t sequenceLength(absl::string_view s, size_t i);

bool isValid(absl::string_view s);

}  // namespace portico::utf8
