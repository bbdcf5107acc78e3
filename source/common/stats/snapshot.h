#pragma once

// StoreSnapshot: merged values of every stat at one moment, built by Store::snapshot() under the
// store mutex and rendered without it (text, Prometheus, admin JSON).

#include <memory>
#include <string>
#include <vector>

#include "source/common/stats/histogram.h"
#include "source/common/stats/types.h"

namespace portico::stats {

// Where a stat name holds a config object's name ("cluster.backend.upstream_rq_total"): its
// Scope's tag, so that Prometheus gets it as a label on one family for every cluster
// (portico_cluster_upstream_rq_total{cluster_name="backend"}), as Envoy exports its stats.
struct StatTag {
  std::string scope_prefix;   // "cluster.backend."
  std::string family_prefix;  // "cluster."
  std::string label;          // "cluster_name"
  std::string value;          // "backend"
};
using StatTagConstSharedPtr = std::shared_ptr<const StatTag>;

struct CounterSnapshot {
  std::string name;
  uint64_t value;  // since the last resetCounters()
  StatTagConstSharedPtr tag = nullptr;
};

struct GaugeSnapshot {
  std::string name;
  int64_t value;
  StatTagConstSharedPtr tag = nullptr;
};

struct HistogramSnapshot {
  std::string name;
  Unit unit;
  HistogramData data;  // raw units
  StatTagConstSharedPtr tag = nullptr;
};

// Each vector is sorted by name. Names are unique across all three kinds.
struct StoreSnapshot {
  std::vector<CounterSnapshot> counters;
  std::vector<GaugeSnapshot> gauges;
  std::vector<HistogramSnapshot> histograms;
};

}  // namespace portico::stats
