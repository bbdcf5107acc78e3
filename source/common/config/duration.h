#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/duration.pb.h"

namespace portico::config {

// Converts a Duration to milliseconds; refuses negative values, naming `field`.
absl::StatusOr<std::chrono::milliseconds> toMilliseconds(const google::protobuf::Duration& d,
                                                         const std::string& field);

}  // namespace portico::config
