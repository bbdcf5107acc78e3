#pragma once

// Checks on names that become part of stat names (cluster names, listener stat prefixes),
// shared by the proxy's config loading and the control plane's validator, so that the control
// plane never accepts what every proxy would refuse.

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace portico::config {

// Visible ASCII only: a newline in a name would forge lines in /stats and /clusters.
// The error names `field`, and ends with `why`.
absl::Status checkStatName(absl::string_view name, const std::string& field,
                           absl::string_view why = "it names stats");

// Names seen so far, by Prometheus name. Prometheus keeps only [a-zA-Z0-9_]: two names that
// differ elsewhere ("api.v1" and "api-v1") would share their series, and one would vanish
// from the exposition.
class PrometheusNames {
 public:
  // An error naming `field` if another name seen so far has the same Prometheus name.
  absl::Status add(const std::string& name, const std::string& field);

 private:
  absl::flat_hash_map<std::string, std::string> seen_;  // Prometheus name -> name
};

}  // namespace portico::config
