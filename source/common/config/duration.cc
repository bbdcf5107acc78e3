#include "source/common/config/duration.h"

#include "absl/strings/str_cat.h"

namespace portico::config {

absl::StatusOr<std::chrono::milliseconds> toMilliseconds(const google::protobuf::Duration& d,
                                                         const std::string& field) {
  if (d.seconds() < 0 || d.nanos() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must not be negative"));
  }
  if (d.seconds() > 365LL * 24 * 3600) {
    return absl::InvalidArgumentError(absl::StrCat(field, ": must be at most one year"));
  }
  if (d.nanos() > 999999999) {
    // Binary protobuf (xDS) can carry it; JSON and YAML cannot, so /config_dump could not
    // show it either.
    return absl::InvalidArgumentError(absl::StrCat(field, ": nanos must be below one second"));
  }
  const int64_t ms = d.seconds() * 1000 + d.nanos() / 1000000;
  // A non-zero value under 1 ms counts as 1 ms: 0 means "off" for most timeouts, and 500us
  // must not turn a slowloris guard off.
  if (ms == 0 && d.nanos() > 0) return std::chrono::milliseconds(1);
  return std::chrono::milliseconds(ms);
}

}  // namespace portico::config
