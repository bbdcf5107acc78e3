#pragma once

// Envoy /stats-like plain text: one "name: value" line per stat, all kinds sorted by name.

#include <string>

#include "source/common/stats/snapshot.h"

namespace portico::stats {

// "name: P0(x) P25(x) P50(x) P75(x) P90(x) P95(x) P99(x) P99.5(x) P99.9(x) P100(x) count=N
// sum=S", values
// and sum in the display unit (ms for microsecond histograms); "nan" percentiles when empty.
std::string formatHistogramSummary(const HistogramData& data, Unit unit);

std::string renderText(const StoreSnapshot& snapshot);

}  // namespace portico::stats
