#pragma once

// What is known about one request when it completes: for access logs and stats.

#include <chrono>
#include <cstdint>
#include <string>

#include "source/common/http/header_map.h"
#include "source/common/network/address.h"

namespace portico::http {

struct StreamInfo {
  std::chrono::system_clock::time_point start_time;  // set at completion, when a log wants it
  std::chrono::steady_clock::time_point start_monotonic;
  std::chrono::microseconds duration{0};
  const RequestHead* request = nullptr;    // valid until the log entry is written
  const ResponseHead* response = nullptr;  // nullptr when no response was sent
  int response_code = 0;
  std::string response_code_details;  // "via_upstream", "route_not_found", ...
  uint64_t bytes_received = 0;        // request body bytes
  uint64_t bytes_sent = 0;            // response body bytes
  std::string upstream_host;
  std::string upstream_cluster;
  std::string route_name;
  // The client's address and port; nullptr when unknown. Valid until the entry is written.
  const network::Address* downstream_address = nullptr;
};

}  // namespace portico::http
