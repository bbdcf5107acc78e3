#pragma once

// Access log line formats: Envoy-style command strings (%RESPONSE_CODE%, %REQ(USER-AGENT)%,
// ...) compiled once into a list of pieces, or JSON lines with fixed keys.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "source/common/http/stream_info.h"

namespace portico::access_log {

class Formatter {
 public:
  virtual ~Formatter() = default;
  // Appends one line (with the trailing newline) to `out`.
  virtual void format(const http::StreamInfo& info, std::string& out) const = 0;
};

// Envoy's default format when `format` is empty.
inline constexpr char kDefaultFormat[] =
    "[%START_TIME%] \"%REQ(:METHOD)% %REQ(:PATH)% %PROTOCOL%\" %RESPONSE_CODE% "
    "%RESPONSE_CODE_DETAILS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% "
    "\"%REQ(X-FORWARDED-FOR)%\" \"%REQ(USER-AGENT)%\" \"%REQ(X-REQUEST-ID)%\" "
    "\"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\"\n";

// Refuses unknown commands, naming them.
absl::StatusOr<std::unique_ptr<Formatter>> createTextFormatter(const std::string& format);
std::unique_ptr<Formatter> createJsonFormatter();

// The formatter an access-log setting asks for: JSON lines, or text lines in `format` (the
// default format when empty). Errors name `field` (".format", ".path"): a format with json,
// json or a format without a path, an unknown command. nullptr (and no error) without a path:
// no log. The proxy and the control plane's validator both judge settings with it.
absl::StatusOr<std::unique_ptr<Formatter>> createFormatterFor(bool has_path, bool json,
                                                              const std::string& format,
                                                              const std::string& field);

}  // namespace portico::access_log
