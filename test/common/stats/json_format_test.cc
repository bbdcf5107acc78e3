#include "source/common/stats/json_format.h"

#include <string>

#include "gtest/gtest.h"

namespace portico::stats {
namespace {

TEST(JsonFormatTest, EnvoyShapeWithSortedStatsAndHistogramQuantiles) {
  StoreSnapshot s;
  s.counters.push_back({"b.requests", 7});
  s.gauges.push_back({"a.active", -2});
  s.counters.push_back({"c.\"odd\" name", 1});  // names are escaped, not trusted
  HistogramSnapshot h{"rq_time", Unit::kMicroseconds, {}};
  h.data.record(1000);  // 1 ms
  s.histograms.push_back(h);
  s.histograms.push_back({"empty", Unit::kBytes, {}});
  const std::string one = "{\"interval\":null,\"cumulative\":1}";
  const std::string none = "{\"interval\":null,\"cumulative\":null}";
  std::string ones, nones;
  for (int i = 0; i < 10; i++) {
    ones += (i ? "," : "") + one;
    nones += (i ? "," : "") + none;
  }
  EXPECT_EQ(
      renderJson(s),
      "{\"stats\":[{\"name\":\"a.active\",\"value\":-2},{\"name\":\"b.requests\",\"value\":7},"
      "{\"name\":\"c.\\\"odd\\\" name\",\"value\":1},"
      "{\"histograms\":{\"supported_quantiles\":[0,25,50,75,90,95,99,99.5,99.9,100],"
      "\"computed_quantiles\":[{\"name\":\"rq_time\",\"values\":[" +
          ones + "]},{\"name\":\"empty\",\"values\":[" + nones + "]}]}}]}");
}

TEST(JsonFormatTest, EmptyStore) { EXPECT_EQ(renderJson(StoreSnapshot{}), "{\"stats\":[]}"); }

}  // namespace
}  // namespace portico::stats
