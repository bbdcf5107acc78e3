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
  return std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1000000);
}

}  // namespace portico::config
