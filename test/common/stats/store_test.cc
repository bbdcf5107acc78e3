#include "source/common/stats/store.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"

namespace portico::stats {
namespace {

TEST(StoreTest, RegistrationIsIdempotentPerKind) {
  Store store;
  const StatId a = store.counter("http.rq_total");
  const StatId b = store.counter("http.rq_5xx");
  EXPECT_NE(a, kOverflowStatId);
  EXPECT_NE(a, b);
  EXPECT_EQ(store.counter("http.rq_total"), a);
  const StatId g = store.gauge("http.active");
  EXPECT_NE(g, kOverflowStatId);
  EXPECT_EQ(store.gauge("http.active"), g);
  const StatId h = store.histogram("http.rq_time", Unit::kMicroseconds);
  EXPECT_NE(h, kOverflowStatId);
  EXPECT_EQ(store.histogram("http.rq_time", Unit::kBytes), h);
  EXPECT_EQ(store.counterValue(Store::kOverflowCounterName), 0u);
}

TEST(StoreTest, NameReusedByAnotherKindGetsTheSink) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  store.counter("x");
  const StatId g = store.gauge("x");
  EXPECT_EQ(g, kOverflowStatId);
  w.gaugeAdd(g, 5);  // harmless
  EXPECT_EQ(store.gaugeValue("x"), 0);
  EXPECT_EQ(store.counterValue(Store::kOverflowCounterName), 1u);
  EXPECT_EQ(store.counter(""), kOverflowStatId);
  EXPECT_EQ(store.counterValue(Store::kOverflowCounterName), 2u);
}

TEST(StoreTest, CountersAndGaugesAreSummedAcrossWorkers) {
  Store store;
  WorkerStats& w1 = store.createWorkerStats();
  const StatId rq = store.counter("rq");  // registered after w1 exists
  const StatId active = store.gauge("active");
  WorkerStats& w2 = store.createWorkerStats();  // created after registration
  w1.inc(rq);
  w1.inc(rq, 10);
  w2.inc(rq, 100);
  w1.gaugeAdd(active, 3);
  w2.gaugeAdd(active, -5);
  EXPECT_EQ(store.counterValue("rq"), 111u);
  EXPECT_EQ(store.gaugeValue("active"), -2);
  w2.gaugeSet(active, 7);
  EXPECT_EQ(store.gaugeValue("active"), 10);
  EXPECT_EQ(store.counterValue("unknown"), 0u);
  EXPECT_EQ(store.gaugeValue("rq"), 0);  // wrong kind
  EXPECT_FALSE(store.histogramValue("rq").has_value());
}

TEST(StoreTest, HistogramsMergeAcrossWorkers) {
  Store store;
  WorkerStats& w1 = store.createWorkerStats();
  WorkerStats& w2 = store.createWorkerStats();
  const StatId h = store.histogram("rq_time", Unit::kMicroseconds);
  for (uint64_t v = 1; v <= 100000; ++v) (v % 2 ? w1 : w2).recordValue(h, v);
  std::optional<HistogramData> data = store.histogramValue("rq_time");
  ASSERT_TRUE(data.has_value());
  EXPECT_EQ(data->count(), 100000u);
  EXPECT_EQ(data->sum(), uint64_t{100000} * 100001 / 2);
  EXPECT_NEAR(data->quantile(0.5), 50000, 500);
  EXPECT_NEAR(data->quantile(0.99), 99000, 990);
}

TEST(StoreTest, ResetCountersKeepsWorkerMemoryAndOtherKinds) {
  Store store;
  WorkerStats& w1 = store.createWorkerStats();
  WorkerStats& w2 = store.createWorkerStats();
  const StatId rq = store.counter("rq");
  const StatId active = store.gauge("active");
  const StatId h = store.histogram("size", Unit::kBytes);
  w1.inc(rq, 5);
  w2.inc(rq, 2);
  w1.gaugeAdd(active, 4);
  w1.recordValue(h, 10);
  store.resetCounters();
  EXPECT_EQ(store.counterValue("rq"), 0u);
  EXPECT_EQ(w1.counterValue(rq), 5u);  // the main thread did not write worker memory
  EXPECT_EQ(store.gaugeValue("active"), 4);
  EXPECT_EQ(store.histogramValue("size")->count(), 1u);
  w2.inc(rq, 3);
  EXPECT_EQ(store.counterValue("rq"), 3u);
  EXPECT_NE(store.renderText("rq").find("rq: 3\n"), std::string::npos);
  // Prometheus counters never go down (reviewer: a drop reads as a restart there, and the
  // increase before the reset is lost): the exposition keeps counting from start.
  EXPECT_NE(store.renderPrometheus().find("\nportico_rq 10\n"), std::string::npos)
      << store.renderPrometheus();
  const StatId later = store.counter("registered_after_reset");
  w1.inc(later, 9);
  EXPECT_EQ(store.counterValue("registered_after_reset"), 9u);
}

TEST(StoreTest, OverflowReturnsSinkAndCounts) {
  // 4 counters = sink + stats.overflow + 2 user counters.
  Store store(StoreOptions{.max_counters = 4, .max_gauges = 2, .max_histograms = 2});
  WorkerStats& w = store.createWorkerStats();
  const StatId a = store.counter("a");
  const StatId b = store.counter("b");
  EXPECT_NE(a, kOverflowStatId);
  EXPECT_NE(b, kOverflowStatId);
  EXPECT_EQ(store.counter("c"), kOverflowStatId);
  EXPECT_EQ(store.counter("d"), kOverflowStatId);
  EXPECT_EQ(store.counter("a"), a);  // existing names still resolve when full
  EXPECT_NE(store.gauge("g1"), kOverflowStatId);
  EXPECT_EQ(store.gauge("g2"), kOverflowStatId);
  EXPECT_NE(store.histogram("h1", Unit::kUnspecified), kOverflowStatId);
  EXPECT_EQ(store.histogram("h2", Unit::kUnspecified), kOverflowStatId);
  // Writes to the sink are harmless and never rendered.
  w.inc(kOverflowStatId, 1000);
  w.gaugeAdd(kOverflowStatId, 1000);
  w.recordValue(kOverflowStatId, 1000);
  w.inc(a);
  EXPECT_EQ(store.counterValue(Store::kOverflowCounterName), 4u);
  EXPECT_EQ(store.renderText(),
            "a: 1\n"
            "b: 0\n"
            "g1: 0\n"
            "h1: P0(nan) P25(nan) P50(nan) P75(nan) P90(nan) P95(nan) P99(nan) P99.5(nan) P99.9(nan) "
            "P100(nan) count=0 sum=0\n"
            "stats.overflow: 4\n");
}

TEST(StoreTest, DefaultCounterLimitIsBounded) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  int refused = 0;
  StatId last = kOverflowStatId;
  for (uint32_t i = 0; i < kMaxCounters + 10; ++i) {
    const StatId id = store.counter(absl::StrCat("c.", i));
    if (id == kOverflowStatId) {
      ++refused;
    } else {
      last = id;
    }
  }
  EXPECT_EQ(refused, 12);  // the sink and stats.overflow take two of the 64k slots
  EXPECT_EQ(last, kMaxCounters - 1);
  w.inc(last);  // the last slot of the last chunk is writable
  EXPECT_EQ(store.counterValue(absl::StrCat("c.", kMaxCounters - 3)), 1u);
  EXPECT_EQ(store.counterValue(Store::kOverflowCounterName), 12u);
}

TEST(StoreTest, CountersAreMergedAndSorted) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  w.inc(store.counter("zeta"), 2);
  w.inc(store.counter("alpha"), 1);
  w.inc(store.counter("mid"), 3);
  const auto counters = store.counters();
  std::vector<std::pair<std::string, uint64_t>> expected = {
      {"alpha", 1}, {"mid", 3}, {"stats.overflow", 0}, {"zeta", 2}};
  EXPECT_EQ(counters, expected);
}

TEST(StoreTest, RenderTextSortsAllKindsAndFilters) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  w.inc(store.counter("cluster.a.rq"), 3);
  w.gaugeAdd(store.gauge("cluster.a.active"), -2);
  const StatId sizes = store.histogram("cluster.a.sizes", Unit::kUnspecified);
  for (uint64_t v = 1; v <= 5; ++v) w.recordValue(sizes, v);
  w.recordValue(store.histogram("listener.rq_time", Unit::kMicroseconds), 2000);

  EXPECT_EQ(store.renderText("cluster."),
            "cluster.a.active: -2\n"
            "cluster.a.rq: 3\n"
            "cluster.a.sizes: P0(1) P25(2) P50(3) P75(4) P90(4) P95(4) P99(4) P99.5(4) P99.9(4) P100(5) "
            "count=5 sum=15\n");

  // Microsecond histograms are shown in ms.
  const std::string text = store.renderText("listener.");
  std::vector<std::string> parts = absl::StrSplit(text, ' ');
  ASSERT_EQ(parts.size(), 13u) << text;
  EXPECT_EQ(parts[0], "listener.rq_time:");
  EXPECT_EQ(parts[11], "count=1");
  EXPECT_EQ(parts[12], "sum=2\n");
  const double p50 = std::stod(parts[3].substr(4));  // "P50(x)"
  EXPECT_NEAR(p50, 2.0, 2.0 / 32);

  // Every line of the full output is "name: value" and the names are sorted.
  std::vector<std::string> lines = absl::StrSplit(store.renderText(), '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 5u);
  for (size_t i = 1; i < lines.size(); ++i) {
    EXPECT_LT(lines[i - 1].substr(0, lines[i - 1].find(": ")),
              lines[i].substr(0, lines[i].find(": ")));
  }
}

}  // namespace
}  // namespace portico::stats
