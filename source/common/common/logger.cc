#include "source/common/common/logger.h"

#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

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
  for (char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) {
      constexpr char kHex[] = "0123456789abcdef";
      const char escaped[] = {'\\', 'x', kHex[u >> 4], kHex[u & 0xf]};
      line.append(escaped, sizeof(escaped));
    } else {
      line.push_back(c);
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
