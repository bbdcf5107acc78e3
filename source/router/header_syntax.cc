#include "source/router/header_syntax.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "source/router/config_error.h"

namespace portico::router {
namespace {

// tchar from RFC 9110 5.6.2, after lower-casing.
bool isTokenChar(char c) {
  return absl::ascii_isalnum(c) ||
         absl::string_view("!#$%&'*+-.^_`|~").find(c) != absl::string_view::npos;
}

}  // namespace

absl::StatusOr<std::string> normalizeHeaderName(absl::string_view name,
                                                absl::string_view field_path) {
  if (name.empty()) return fieldError(field_path, "header name must not be empty");
  std::string lower = absl::AsciiStrToLower(name);
  for (char c : lower) {
    if (!isTokenChar(c)) {
      return fieldError(field_path,
                        absl::StrFormat("invalid character 0x%02x in header name \"%s\"",
                                        static_cast<unsigned char>(c), absl::CHexEscape(name)));
    }
  }
  return lower;
}

absl::Status validateHeaderValue(absl::string_view value, absl::string_view field_path) {
  for (char c : value) {
    if (c == '\r' || c == '\n' || c == '\0') {
      return fieldError(field_path, "header value must not contain CR, LF or NUL");
    }
  }
  return absl::OkStatus();
}

}  // namespace portico::router
