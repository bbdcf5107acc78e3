#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace portico {

// Appends `s` as a JSON string literal (quotes included). Control characters and bytes that
// are not valid UTF-8 (obs-text from clients) are escaped as \u00XX, so the output is always
// valid UTF-8 JSON (RFC 8259 8.1); valid UTF-8 sequences are kept as they are.
void appendJsonString(absl::string_view s, std::string& out);

inline std::string jsonString(absl::string_view s) {
  std::string out;
  appendJsonString(s, out);
  return out;
}

}  // namespace portico
