#pragma once

// A listener's HTTP options that need no other resource: header limits, timeouts, buffer
// limit, path handling. One function for the proxy's snapshot builder and the control plane's
// validator, so that what the control plane accepts, every proxy takes.

#include <string>

#include "absl/status/status.h"
#include "portico/config/v1/listener.pb.h"
#include "source/common/http/conn_manager_config.h"

namespace portico::server {

// Checks `hcm` and fills `out`; an error names its field under `field` ("...http").
absl::Status applyHttpOptions(const config::v1::HttpConnectionManager& hcm,
                              const std::string& field, http::HttpConnectionManagerConfig& out);

}  // namespace portico::server
