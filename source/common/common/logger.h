#pragma once

// A small leveled logger to stderr. The level is process-wide and can change at run time
// (admin /logging). Formatting happens only when the level is enabled.

#include <atomic>
#include <string>

#include "absl/strings/str_format.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace portico::logger {

enum class Level { kTrace = 0, kDebug, kInfo, kWarn, kError, kOff };

Level level();
void setLevel(Level level);
// Parses "trace|debug|info|warn|warning|error|off".
bool parseLevel(absl::string_view name, Level* out);
absl::string_view levelName(Level level);
void write(Level level, absl::string_view message);
// The line write() emits: UTC time, level, message. The message may quote a request or the
// control plane: control characters (utf8::isControl) and bytes that are not UTF-8 are escaped
// as \xNN, and a backslash as \\, so one write is one unambiguous log line.
std::string formatLine(Level level, absl::Time time, absl::string_view message);

}  // namespace portico::logger

#define PORTICO_LOG(LEVEL, ...)                                                                  \
  do {                                                                                           \
    if (::portico::logger::Level::LEVEL >= ::portico::logger::level()) {                         \
      ::portico::logger::write(::portico::logger::Level::LEVEL, ::absl::StrFormat(__VA_ARGS__)); \
    }                                                                                            \
  } while (0)
