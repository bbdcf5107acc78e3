#include "source/common/config/name_checks.h"

#include "absl/strings/str_cat.h"
#include "source/common/stats/prometheus.h"

namespace portico::config {

absl::Status checkStatName(absl::string_view name, const std::string& field,
                           absl::string_view why) {
  for (char c : name) {
    if (c <= ' ' || c > '~') {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": must be visible ASCII (no spaces or control characters): ", why));
    }
  }
  return absl::OkStatus();
}

absl::Status PrometheusNames::add(const std::string& name, const std::string& field) {
  auto [it, inserted] = seen_.emplace(stats::prometheusName(name), name);
  if (inserted || it->second == name) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(field, ": '", name, "' and '", it->second,
                                                 "' have the same Prometheus name (", it->first,
                                                 "); rename one"));
}

}  // namespace portico::config
