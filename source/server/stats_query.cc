#include "source/server/stats_query.h"

#include <re2/re2.h>

#include <algorithm>
#include <memory>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace portico::server {

absl::StatusOr<stats::StoreSnapshot> selectStats(
    const stats::Store& store, const absl::flat_hash_map<std::string, std::string>& query,
    stats::Store::Counters counters) {
  std::unique_ptr<RE2> filter;
  if (auto it = query.find("filter"); it != query.end() && !it->second.empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_max_mem(1 << 20);  // an admin query, not a config: bounded all the same
    filter = std::make_unique<RE2>(it->second, options);
    if (!filter->ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("filter: not a valid regex (RE2): ", filter->error()));
    }
  }
  auto keep = [&filter](const std::string& name) {
    return filter == nullptr || RE2::PartialMatch(name, *filter);
  };
  stats::StoreSnapshot snapshot = store.snapshot(keep, counters);
  if (!query.contains("usedonly")) return snapshot;
  // Used counters are judged by their count since start: one that counted before a
  // /reset_counters is still used.
  absl::flat_hash_set<std::string> used_counters;
  if (counters == stats::Store::Counters::kSinceReset) {
    for (const auto& c : store.snapshot(keep, stats::Store::Counters::kSinceStart).counters) {
      if (c.value != 0) used_counters.insert(c.name);
    }
  }
  auto unused_counter = [&](const stats::CounterSnapshot& c) {
    return counters == stats::Store::Counters::kSinceReset ? !used_counters.contains(c.name)
                                                           : c.value == 0;
  };
  auto& cs = snapshot.counters;
  cs.erase(std::remove_if(cs.begin(), cs.end(), unused_counter), cs.end());
  auto& gs = snapshot.gauges;
  gs.erase(std::remove_if(gs.begin(), gs.end(), [](const auto& g) { return g.value == 0; }),
           gs.end());
  auto& hs = snapshot.histograms;
  hs.erase(
      std::remove_if(hs.begin(), hs.end(), [](const auto& h) { return h.data.count() == 0; }),
      hs.end());
  return snapshot;
}

}  // namespace portico::server
