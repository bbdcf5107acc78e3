#include "source/router/header_syntax.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_format.h"
#include "source/common/http/field_bytes.h"
#include "source/router/config_error.h"

namespace portico::router {

absl::StatusOr<std::string> normalizeHeaderName(absl::string_view name,
                                                absl::string_view field_path) {
  if (name.empty()) return fieldError(field_path, "header name must not be empty");
  std::string lower = absl::AsciiStrToLower(name);
  for (char c : lower) {
    if (!http::isToken(absl::string_view(&c, 1))) {
      return fieldError(field_path,
                        absl::StrFormat("invalid character 0x%02x in header name \"%s\"",
                                        static_cast<unsigned char>(c), absl::CHexEscape(name)));
    }
  }
  return lower;
}

absl::Status validateHeaderValue(absl::string_view value, absl::string_view field_path) {
  // The rule the codecs apply to what they receive: a value we add must pass it too, or
  // every response would be refused by a strict client (ours included).
  if (http::hasBadValueByte(value)) {
    return fieldError(field_path,
                      "header value must not contain control characters other than HTAB "
                      "(CR, LF, NUL, DEL, ...)");
  }
  return absl::OkStatus();
}

}  // namespace portico::router
