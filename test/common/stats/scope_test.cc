#include "source/common/stats/scope.h"

#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace portico::stats {
namespace {

TEST(ScopeTest, NamesCarryThePrefixAndAreSharedBetweenScopes) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  auto old_config = std::make_unique<Scope>(store, "cluster.api.");
  const StatId rq = old_config->counter("upstream_rq_total");
  w.inc(rq, 5);
  // A config update builds the new object before the old one goes: same name, same id.
  auto new_config = std::make_unique<Scope>(store, "cluster.api.");
  EXPECT_EQ(new_config->counter("upstream_rq_total"), rq);
  old_config.reset();
  w.inc(rq, 2);
  EXPECT_EQ(store.counterValue("cluster.api.upstream_rq_total"), 7u);
  new_config.reset();
  EXPECT_EQ(store.counterValue("cluster.api.upstream_rq_total"), 0u);
}

TEST(ScopeTest, TheLastScopeTakesItsStatsOutOfEveryRendering) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  store.counter("server.permanent");
  {
    Scope scope(store, "cluster.", "cluster_name", "gone");
    w.inc(scope.counter("upstream_rq_total"));
    w.gaugeAdd(scope.gauge("upstream_cx_active"), 1);
    w.recordValue(scope.histogram("upstream_rq_time", Unit::kMicroseconds), 100);
    EXPECT_TRUE(absl::StrContains(store.renderText(), "cluster.gone.upstream_rq_total: 1"));
    EXPECT_TRUE(absl::StrContains(store.renderPrometheus(), "cluster_name=\"gone\""));
  }
  EXPECT_FALSE(absl::StrContains(store.renderText(), "cluster.gone"));
  EXPECT_FALSE(absl::StrContains(store.renderJson(), "cluster.gone"));
  EXPECT_FALSE(absl::StrContains(store.renderPrometheus(), "gone"));
  for (const auto& [name, value] : store.counters()) EXPECT_FALSE(name.empty());
  EXPECT_FALSE(store.histogramValue("cluster.gone.upstream_rq_time").has_value());
  EXPECT_TRUE(absl::StrContains(store.renderText(), "server.permanent: 0"));
}

TEST(ScopeTest, ChurnReusesIdsFromZeroAndNeverFillsTheCaps) {
  // Before scopes, every cluster name ever seen kept its stats: renaming clusters filled the
  // histogram cap and later clusters' latencies went to the overflow sink.
  Store store(StoreOptions{.max_counters = 8, .max_gauges = 4, .max_histograms = 4});
  WorkerStats& w = store.createWorkerStats();
  Store::Counters since_start = Store::Counters::kSinceStart;
  for (int i = 0; i < 200; ++i) {
    Scope scope(store, absl::StrCat("cluster.c", i, "."));
    const StatId rq = scope.counter("rq");
    const StatId active = scope.gauge("active");
    const StatId time = scope.histogram("time", Unit::kMicroseconds);
    ASSERT_NE(rq, kOverflowStatId) << i;
    ASSERT_NE(active, kOverflowStatId) << i;
    ASSERT_NE(time, kOverflowStatId) << i;
    if (i % 3 == 0) store.resetCounters();
    // A reused id starts from zero, whatever its last owner left (a gauge not back to 0, a
    // counter's reset base).
    EXPECT_EQ(store.counterValue(absl::StrCat("cluster.c", i, ".rq")), 0u) << i;
    EXPECT_EQ(store.gaugeValue(absl::StrCat("cluster.c", i, ".active")), 0) << i;
    EXPECT_EQ(store.histogramValue(absl::StrCat("cluster.c", i, ".time"))->count(), 0u) << i;
    w.inc(rq, 3);
    w.gaugeAdd(active, 2);
    w.recordValue(time, 10);
    StoreSnapshot s = store.snapshot("cluster.", since_start);
    ASSERT_EQ(s.counters.size(), 1u);
    EXPECT_EQ(s.counters[0].value, 3u);
  }
  EXPECT_EQ(store.counterValue(Store::kOverflowCounterName), 0u);
}

TEST(ScopeTest, APermanentNameOutlivesItsScopes) {
  Store store;
  store.counter("shared.total");
  { Scope(store, "shared.").counter("total"); }
  EXPECT_TRUE(absl::StrContains(store.renderText(), "shared.total: 0"));
  // And the other order: permanent registration of a name a Scope holds pins it.
  {
    Scope scope(store, "later.");
    scope.counter("total");
    store.counter("later.total");
  }
  EXPECT_TRUE(absl::StrContains(store.renderText(), "later.total: 0"));
}

TEST(ScopeTest, ANameOfAnotherKindIsRefusedAndNotHeld) {
  Store store;
  store.gauge("x.y");
  {
    Scope scope(store, "x.");
    EXPECT_EQ(scope.counter("y"), kOverflowStatId);
  }
  EXPECT_TRUE(absl::StrContains(store.renderText(), "x.y: 0"));  // the gauge stays
}

TEST(ScopeTest, AScopeMayOutliveItsStore) {
  auto store = std::make_unique<Store>();
  auto scope = std::make_unique<Scope>(*store, "late.");
  scope->counter("c");
  store.reset();
  scope.reset();  // releases nothing; under ASan, a use after free would fail here
}

TEST(ScopeTest, WorkersWriteWhileScopesComeAndGo) {
  // Under TSan: registration, release and reuse on one thread while another writes ids of a
  // Scope that stays; the reads merge both.
  Store store;
  Scope kept(store, "kept.");
  const StatId rq = kept.counter("rq");
  WorkerStats* w = &store.createWorkerStats();
  std::thread writer([w, rq] {
    for (int i = 0; i < 100000; ++i) w->inc(rq);
  });
  for (int i = 0; i < 2000; ++i) {
    Scope churn(store, absl::StrCat("churn", i % 7, "."));
    churn.counter("a");
    churn.histogram("b", Unit::kBytes);
    (void)store.renderText("churn");
  }
  writer.join();
  EXPECT_EQ(store.counterValue("kept.rq"), 100000u);
}

}  // namespace
}  // namespace portico::stats
