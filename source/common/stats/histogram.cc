#include "source/common/stats/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace portico::stats {

uint64_t HistogramBuckets::lowerBound(size_t index) {
  if (index < kSubBuckets) return index;
  const size_t shift = (index >> kSubBucketBits) - 1;
  return (kSubBuckets + (index & (kSubBuckets - 1))) << shift;
}

uint64_t HistogramBuckets::width(size_t index) {
  if (index < kSubBuckets) return 1;
  return uint64_t{1} << ((index >> kSubBucketBits) - 1);
}

void HistogramData::record(uint64_t value, uint64_t count) {
  addBucket(HistogramBuckets::index(value), count);
  sum_ += value * count;
}

double HistogramData::quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  q = std::clamp(q, 0.0, 1.0);
  // 0-based rank of the sample we want, e.g. the median of 5 samples is rank 2.
  const double rank = q * static_cast<double>(count_ - 1);
  uint64_t before = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const uint64_t n = buckets_[i];
    if (n == 0) continue;
    if (rank < static_cast<double>(before + n) || before + n == count_) {
      // Spread the bucket's n samples evenly over its values [lower, lower + width - 1]; a
      // width-1 bucket is exact.
      const double position = (rank - static_cast<double>(before) + 0.5) / static_cast<double>(n);
      const double lower = static_cast<double>(HistogramBuckets::lowerBound(i));
      const double span = static_cast<double>(HistogramBuckets::width(i) - 1);
      return lower + std::clamp(position, 0.0, 1.0) * span;
    }
    before += n;
  }
  return static_cast<double>(HistogramBuckets::kMaxValue);  // unreachable: count_ == sum(buckets)
}

uint64_t HistogramData::countAtOrBelow(double value) const {
  uint64_t total = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    const uint64_t midpoint =
        HistogramBuckets::lowerBound(i) + (HistogramBuckets::width(i) - 1) / 2;
    if (static_cast<double>(midpoint) > value) break;
    total += buckets_[i];
  }
  return total;
}

}  // namespace portico::stats
