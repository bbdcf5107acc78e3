#pragma once

// StoreSnapshot: merged values of every stat at one moment, built by Store::snapshot() under the
// store mutex and rendered without it (text, Prometheus, admin JSON).

#include <string>
#include <vector>

#include "source/common/stats/histogram.h"
#include "source/common/stats/types.h"

namespace portico::stats {

struct CounterSnapshot {
  std::string name;
  uint64_t value;  // since the last resetCounters()
};

struct GaugeSnapshot {
  std::string name;
  int64_t value;
};

struct HistogramSnapshot {
  std::string name;
  Unit unit;
  HistogramData data;  // raw units
};

// Each vector is sorted by name. Names are unique across all three kinds.
struct StoreSnapshot {
  std::vector<CounterSnapshot> counters;
  std::vector<GaugeSnapshot> gauges;
  std::vector<HistogramSnapshot> histograms;
};

}  // namespace portico::stats
