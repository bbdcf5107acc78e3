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

// Shortest plain decimal for a displayed value: integers without a fraction ("3600000", never
// "3.6e+06"), others with at most 3 decimals ("0.5", "1.234"), which is exact for microseconds
// shown in ms. NaN prints as "nan".
std::string formatNumber(double value);

}  // namespace portico::stats
