#include "source/common/stats/display.h"

#include <cmath>

#include "gtest/gtest.h"

namespace portico::stats {
namespace {

TEST(DisplayTest, FormatNumber) {
  EXPECT_EQ(formatNumber(0), "0");
  EXPECT_EQ(formatNumber(0.5), "0.5");
  EXPECT_EQ(formatNumber(3600000), "3600000");
  EXPECT_EQ(formatNumber(1.234), "1.234");
  EXPECT_EQ(formatNumber(1.2345678), "1.235");
  EXPECT_EQ(formatNumber(-2.5), "-2.5");
  EXPECT_EQ(formatNumber(-0.0001), "0");
  EXPECT_EQ(formatNumber(NAN), "nan");
  EXPECT_EQ(formatNumber(INFINITY), "+Inf");
}

TEST(DisplayTest, UnitsAndBuckets) {
  EXPECT_EQ(rawPerDisplayUnit(Unit::kMicroseconds), 1000.0);
  EXPECT_EQ(rawPerDisplayUnit(Unit::kBytes), 1.0);
  for (Unit unit : {Unit::kMicroseconds, Unit::kBytes, Unit::kUnspecified}) {
    auto bounds = prometheusBucketBounds(unit);
    ASSERT_FALSE(bounds.empty());
    for (size_t i = 1; i < bounds.size(); ++i) EXPECT_LT(bounds[i - 1], bounds[i]);
  }
  EXPECT_EQ(prometheusBucketBounds(Unit::kMicroseconds).front(), 0.5);
  EXPECT_EQ(prometheusBucketBounds(Unit::kMicroseconds).back(), 3600000);
  EXPECT_EQ(prometheusBucketBounds(Unit::kMicroseconds).size(), 19u);
}

}  // namespace
}  // namespace portico::stats
