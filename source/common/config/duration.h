#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/duration.pb.h"

namespace portico::config {

// Converts a Duration to milliseconds, rounding a non-zero value under 1 ms up to 1 ms.
// Refuses negative values, more than a year, and nanos of a second or more, naming `field`.
absl::StatusOr<std::chrono::milliseconds> toMilliseconds(const google::protobuf::Duration& d,
                                                         const std::string& field);

}  // namespace portico::config
