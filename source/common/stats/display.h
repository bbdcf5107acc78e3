#pragma once

// How recorded values are shown: unit conversion, Prometheus bucket bounds, number formatting.

#include <string>

#include "absl/types/span.h"
#include "source/common/stats/types.h"

namespace portico::stats {

// Recorded values per displayed unit (displayed = recorded / this): microseconds are shown in
// milliseconds, as in Envoy's *_ms histograms; everything else as recorded. A divisor rather than
// a factor keeps bounds exact (0.5 ms * 1000 = 500 us, whereas 0.5 / 0.001 is not 500).
double rawPerDisplayUnit(Unit unit);

// Upper bounds (`le`) of the Prometheus buckets of a histogram, in the display unit, ascending,
// without +Inf. Time uses Envoy's default buckets (in ms); bytes use powers of four.
absl::Span<const double> prometheusBucketBounds(Unit unit);

// The quantiles a histogram summary shows (text and JSON), as Envoy's /stats shows them.
struct SummaryQuantile {
  double q;           // 0..1
  const char* label;  // "P99.9"
  double percent;     // 99.9, as Envoy's JSON lists them
};
inline constexpr SummaryQuantile kSummaryQuantiles[] = {
    {0, "P0", 0},           {0.25, "P25", 25}, {0.5, "P50", 50},  {0.75, "P75", 75},
    {0.9, "P90", 90},       {0.95, "P95", 95}, {0.99, "P99", 99}, {0.995, "P99.5", 99.5},
    {0.999, "P99.9", 99.9}, {1, "P100", 100}};

// Shortest plain decimal for a displayed value: integers without a fraction ("3600000", never
// "3.6e+06"), others with at most 3 decimals ("0.5", "1.234"), which is exact for microseconds
// shown in ms. NaN prints as "nan".
std::string formatNumber(double value);

}  // namespace portico::stats
