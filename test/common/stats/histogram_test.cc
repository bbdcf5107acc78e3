#include "source/common/stats/histogram.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace portico::stats {
namespace {

using B = HistogramBuckets;

TEST(HistogramBucketsTest, BucketsTileTheRangeWithoutGaps) {
  ASSERT_EQ(B::kNumBuckets, 1024u);
  uint64_t expected_lower = 0;
  for (size_t i = 0; i < B::kNumBuckets; ++i) {
    const uint64_t lower = B::lowerBound(i);
    const uint64_t width = B::width(i);
    ASSERT_EQ(lower, expected_lower) << "bucket " << i;
    ASSERT_EQ(B::index(lower), i);
    ASSERT_EQ(B::index(lower + width - 1), i);
    // About two significant digits: a bucket is at most 1/32 of its lower bound wide.
    if (lower >= B::kSubBuckets) {
      ASSERT_LE(width * 32, lower) << "bucket " << i;
    }
    expected_lower = lower + width;
  }
  EXPECT_EQ(expected_lower, B::kMaxValue + 1);
}

TEST(HistogramBucketsTest, SmallValuesAreExactAndLargeValuesClamp) {
  for (uint64_t v = 0; v < 64; ++v) EXPECT_EQ(B::lowerBound(B::index(v)), v);
  EXPECT_EQ(B::index(B::kMaxValue), B::kNumBuckets - 1);
  EXPECT_EQ(B::index(B::kMaxValue + 1), B::kNumBuckets - 1);
  EXPECT_EQ(B::index(UINT64_MAX), B::kNumBuckets - 1);
  // One hour in microseconds is well inside the range.
  EXPECT_LT(B::index(3'600'000'000ULL), B::kNumBuckets - 1);
}

TEST(HistogramDataTest, EmptyHistogram) {
  HistogramData h;
  EXPECT_EQ(h.count(), 0u);
  EXPECT_EQ(h.sum(), 0u);
  EXPECT_TRUE(std::isnan(h.quantile(0.5)));
  EXPECT_EQ(h.countAtOrBelow(1e12), 0u);
}

TEST(HistogramDataTest, SmallExactValues) {
  HistogramData h;
  for (uint64_t v = 1; v <= 5; ++v) h.record(v);
  EXPECT_EQ(h.count(), 5u);
  EXPECT_EQ(h.sum(), 15u);
  EXPECT_EQ(h.quantile(0), 1);
  EXPECT_EQ(h.quantile(0.5), 3);
  EXPECT_EQ(h.quantile(1), 5);
  EXPECT_EQ(h.countAtOrBelow(3), 3u);
  EXPECT_EQ(h.countAtOrBelow(2.5), 2u);
}

TEST(HistogramDataTest, SumIsUnclampedAndCountIncludesClampedValues) {
  HistogramData h;
  h.record(B::kMaxValue * 4);
  EXPECT_EQ(h.count(), 1u);
  EXPECT_EQ(h.sum(), B::kMaxValue * 4);
  EXPECT_LE(h.quantile(1), static_cast<double>(B::kMaxValue));
}

// Compares estimated quantiles with exact ones (nearest rank; ranks are integers because
// values.size() - 1 is a multiple of 1000).
void expectAccurate(std::vector<uint64_t> values, double tolerance) {
  HistogramData h;
  for (uint64_t v : values) h.record(v);
  std::sort(values.begin(), values.end());
  ASSERT_EQ((values.size() - 1) % 1000, 0u);
  for (double q : {0.0, 0.25, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999, 1.0}) {
    const double exact = static_cast<double>(values[std::llround(q * (values.size() - 1))]);
    const double estimate = h.quantile(q);
    EXPECT_NEAR(estimate, exact, exact * tolerance + 1e-9) << "q=" << q;
  }
}

TEST(HistogramDataTest, UniformPercentilesWithinAFewPercent) {
  std::vector<uint64_t> values;
  for (uint64_t v = 0; v <= 100000; ++v) values.push_back(v);
  expectAccurate(values, 0.01);
}

TEST(HistogramDataTest, LogNormalLatenciesWithinBucketResolution) {
  std::mt19937_64 rng(42);
  // Median ~2 ms, long tail into seconds: a typical request latency in microseconds.
  std::lognormal_distribution<double> dist(std::log(2000.0), 1.5);
  std::vector<uint64_t> values;
  for (int i = 0; i <= 200000; ++i) values.push_back(static_cast<uint64_t>(dist(rng)));
  // The estimate lies in the bucket of the exact sample, whose width is <= 1/32 of its bound.
  expectAccurate(values, 1.0 / 32);
}

TEST(HistogramDataTest, MergedBucketsMatchSingleHistogram) {
  HistogramData a, b, merged;
  for (uint64_t v = 0; v < 5000; ++v) {
    (v % 2 ? a : b).record(v * 7);
    merged.record(v * 7);
  }
  HistogramData sum;
  for (const HistogramData* h : {&a, &b}) {
    for (size_t i = 0; i < h->buckets().size(); ++i) sum.addBucket(i, h->buckets()[i]);
    sum.addSum(h->sum());
  }
  EXPECT_EQ(sum.buckets(), merged.buckets());
  EXPECT_EQ(sum.sum(), merged.sum());
  EXPECT_EQ(sum.quantile(0.99), merged.quantile(0.99));
}

}  // namespace
}  // namespace portico::stats
