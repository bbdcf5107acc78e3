#include "source/common/stats/display.h"

#include <cmath>

#include "absl/strings/str_format.h"

namespace portico::stats {
namespace {

constexpr double kTimeBucketsMs[] = {0.5,   1,      5,      10,      25,     50,    100,
                                     250,   500,    1000,   2500,    5000,   10000, 30000,
                                     60000, 300000, 600000, 1800000, 3600000};
constexpr double kByteBuckets[] = {64,       256,       1024,       4096,      16384,
                                   65536,    262144,    1048576,    4194304,   16777216,
                                   67108864, 268435456, 1073741824, 4294967296};

}  // namespace

double rawPerDisplayUnit(Unit unit) { return unit == Unit::kMicroseconds ? 1000.0 : 1.0; }

absl::Span<const double> prometheusBucketBounds(Unit unit) {
  if (unit == Unit::kBytes) return kByteBuckets;
  // Envoy uses its default (time-shaped) buckets for every histogram without explicit ones.
  return kTimeBucketsMs;
}

std::string formatNumber(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (std::fabs(value) >= 1e15) return absl::StrFormat("%.17g", value);
  std::string out = absl::StrFormat("%.3f", value);
  // Trim "1.500" to "1.5" and "2.000" to "2".
  while (out.back() == '0') out.pop_back();
  if (out.back() == '.') out.pop_back();
  if (out == "-0") out = "0";
  return out;
}

}  // namespace portico::stats
