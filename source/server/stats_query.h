#pragma once

// The admin's choice of stats, as Envoy's /stats takes it: ?filter=<RE2 regex, found anywhere
// in the name> and ?usedonly (only stats that have counted something).

#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "source/common/stats/store.h"

namespace portico::server {

// The stats the query selects, merged. An invalid regex is InvalidArgument naming it.
// "Used" is read from the values: a non-zero counter (since start) or gauge, a histogram with
// samples; Envoy keeps a flag instead, so a gauge back at 0 is shown there and not here.
absl::StatusOr<stats::StoreSnapshot> selectStats(
    const stats::Store& store, const absl::flat_hash_map<std::string, std::string>& query,
    stats::Store::Counters counters);

}  // namespace portico::server
