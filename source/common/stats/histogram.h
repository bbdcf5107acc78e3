#pragma once

// Log-linear histogram buckets (HdrHistogram-like, about two significant digits) and the merged,
// read-side histogram built from them.
//
// Values below 32 get one exact bucket each. Every power-of-two range [2^k, 2^(k+1)) above is
// split into 32 equal sub-buckets, so a bucket is at most 1/32 (3.1%) of its lower bound wide and
// any estimate taken inside the right bucket is within 3.1% of the true value. Values are clamped
// to 2^36 - 1 (19 hours in microseconds, 64 GiB in bytes), which needs 1024 buckets.

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace portico::stats {

class HistogramBuckets {
 public:
  static constexpr int kSubBucketBits = 5;
  static constexpr uint64_t kSubBuckets = uint64_t{1} << kSubBucketBits;
  static constexpr int kMaxValueBits = 36;
  static constexpr uint64_t kMaxValue = (uint64_t{1} << kMaxValueBits) - 1;
  static constexpr size_t kNumBuckets = (kMaxValueBits - kSubBucketBits + 1) * kSubBuckets;

  // Bucket of `value` (clamped to kMaxValue). Branch-light: it runs on every recordValue().
  static size_t index(uint64_t value) {
    if (value > kMaxValue) value = kMaxValue;
    if (value < kSubBuckets) return static_cast<size_t>(value);
    const int shift = std::bit_width(value) - 1 - kSubBucketBits;
    return (static_cast<size_t>(shift + 1) << kSubBucketBits) +
           static_cast<size_t>((value >> shift) & (kSubBuckets - 1));
  }
  // Smallest value that falls into bucket `index`.
  static uint64_t lowerBound(size_t index);
  // Number of distinct values that fall into bucket `index`.
  static uint64_t width(size_t index);
};

// A histogram merged from all workers (main thread only). Quantiles interpolate linearly inside
// the bucket that holds the requested rank.
class HistogramData {
 public:
  HistogramData() : buckets_(HistogramBuckets::kNumBuckets, 0) {}

  // Adds `count` samples of `value` (tests, and merging from plain values).
  void record(uint64_t value, uint64_t count = 1);
  // Adds `count` samples to bucket `index` and `sum` to the sum (merging from workers).
  void addBucket(size_t index, uint64_t count) {
    buckets_[index] += count;
    count_ += count;
  }
  void addSum(uint64_t sum) { sum_ += sum; }

  // Count is the sum of the buckets, so it always equals the Prometheus +Inf bucket even when
  // merged while workers write.
  uint64_t count() const { return count_; }
  // Sum of recorded values (unclamped), in raw units.
  uint64_t sum() const { return sum_; }
  const std::vector<uint64_t>& buckets() const { return buckets_; }

  // Estimated value at quantile `q` (clamped to [0, 1]) in raw units; NaN when empty. The target
  // is the sample of 0-based rank q * (count - 1), so P0 and P100 land in the buckets of the
  // minimum and maximum; its value is interpolated inside its bucket (exact below 32).
  double quantile(double q) const;
  // Estimated number of samples <= `value` (raw units). A bucket counts when its midpoint is
  // <= value, so the error is at most the samples of one bucket straddling `value`.
  uint64_t countAtOrBelow(double value) const;

 private:
  std::vector<uint64_t> buckets_;
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace portico::stats
