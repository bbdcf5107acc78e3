#include "source/common/common/logger.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "source/common/common/utf8.h"

namespace portico::logger {

namespace {
std::atomic<int> current_level{static_cast<int>(Level::kInfo)};
constexpr absl::string_view kNames[] = {"trace", "debug", "info", "warning", "error", "off"};
}  // namespace

Level level() { return static_cast<Level>(current_level.load(std::memory_order_relaxed)); }

void setLevel(Level l) { current_level.store(static_cast<int>(l), std::memory_order_relaxed); }

bool parseLevel(absl::string_view name, Level* out) {
  std::string n = absl::AsciiStrToLower(name);
  if (n == "warn") n = "warning";
  for (int i = 0; i < 6; i++) {
    if (n == kNames[i]) {
      *out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

absl::string_view levelName(Level l) { return kNames[static_cast<int>(l)]; }

std::string formatLine(Level l, absl::Time time, absl::string_view message) {
  std::string line =
      absl::StrCat("[", absl::FormatTime("%Y-%m-%d %H:%M:%E3S", time, absl::UTCTimeZone()), "][",
                   levelName(l), "] ");
  line.reserve(line.size() + message.size() + 1);
  constexpr char kHex[] = "0123456789abcdef";
  const auto escape = [&](unsigned char u) {
    const char escaped[] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
    line.append(escaped, sizeof(escaped));
  };
  for (size_t i = 0; i < message.size();) {
    const size_t n = utf8::sequenceLength(message, i);
    if (n == 0) {
      escape(static_cast<unsigned char>(message[i++]));  // not UTF-8: the byte, escaped
    } else if (utf8::isControl(message, i, n)) {
      for (size_t k = 0; k < n; ++k) escape(static_cast<unsigned char>(message[i + k]));
      i += n;
    } else if (message[i] == '\\') {
      line.append("\\\\");  // so an escape in the line always means one made here
      i += 1;
    } else {
      line.append(message.data() + i, n);
      i += n;
    }
  }
  line.push_back('\n');
  return line;
}

void write(Level l, absl::string_view message) {
  const std::string line = formatLine(l, absl::Now(), message);
  // One write() per line so lines from threads don't interleave.
  ssize_t rc = ::write(STDERR_FILENO, line.data(), line.size());
  (void)rc;
}

}  // namespace portico::logger
