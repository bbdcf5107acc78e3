// Workers write while the main thread reads, registers and creates workers. Run it under
// --config=tsan as well: every cross-thread access must be race-free.

#include <atomic>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/stats/prometheus.h"
#include "source/common/stats/store.h"

namespace portico::stats {
namespace {

constexpr int kThreads = 4;
constexpr uint64_t kIterations = 100000;

TEST(ConcurrencyTest, ExactSumsWhileReading) {
  Store store;
  const StatId requests = store.counter("shared.requests");
  const StatId active = store.gauge("shared.active");
  const StatId latency = store.histogram("shared.latency", Unit::kMicroseconds);
  std::atomic<int> running{kThreads};
  std::atomic<int> reads_done{0};

  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      WorkerStats& w = store.createWorkerStats();
      // Registration from a worker thread returns the same id as on main.
      const StatId shared = store.counter("shared.requests");
      const StatId own = store.counter(absl::StrCat("worker.", t, ".requests"));
      EXPECT_EQ(shared, requests);
      for (uint64_t i = 0; i < kIterations; ++i) {
        w.inc(shared);
        w.inc(own, 2);
        w.gaugeAdd(active, 1);
        w.recordValue(latency, i % 1000);
        w.gaugeAdd(active, -1);
        if (i == kIterations / 2) {
          // Guarantee overlap: half-way through, wait until main has merged a few times.
          while (reads_done.load() < 3) std::this_thread::yield();
        }
        if (i % 10000 == 0) {
          // Registering while others write allocates new chunks in every worker.
          w.inc(store.counter(absl::StrCat("worker.", t, ".late.", i)));
        }
      }
      w.gaugeAdd(active, t);
      running.fetch_sub(1);
    });
  }

  uint64_t last = 0;
  int reads = 0;
  while (running.load() > 0 || reads == 0) {
    const uint64_t now = store.counterValue("shared.requests");
    EXPECT_GE(now, last);  // merged counters never go backwards
    last = now;
    std::optional<HistogramData> h = store.histogramValue("shared.latency");
    // EXPECT, not ASSERT: returning here would leave the workers running.
    EXPECT_TRUE(h.has_value());
    if (h) {
      EXPECT_LE(h->count(), kThreads * kIterations);
    }
    if (reads++ % 16 == 0) {
      EXPECT_FALSE(store.renderText().empty());
      EXPECT_FALSE(store.renderPrometheus().empty());
    }
    if (reads % 64 == 0) store.createWorkerStats();  // main creates workers while others write
    reads_done.fetch_add(1);
  }
  for (std::thread& t : threads) t.join();

  EXPECT_EQ(store.counterValue("shared.requests"), kThreads * kIterations);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(store.counterValue(absl::StrCat("worker.", t, ".requests")), 2 * kIterations);
    EXPECT_EQ(store.counterValue(absl::StrCat("worker.", t, ".late.", 90000)), 1u);
  }
  EXPECT_EQ(store.gaugeValue("shared.active"), 0 + 1 + 2 + 3);
  std::optional<HistogramData> h = store.histogramValue("shared.latency");
  ASSERT_TRUE(h.has_value());
  EXPECT_EQ(h->count(), kThreads * kIterations);
  EXPECT_EQ(h->sum(), kThreads * (kIterations / 1000) * (999 * 1000 / 2));
  EXPECT_NEAR(h->quantile(0.5), 500, 500.0 / 32);
}

TEST(ConcurrencyTest, ManyRegistrationsFromManyThreads) {
  Store store;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      WorkerStats& w = store.createWorkerStats();
      // All threads register the same 3000 names (crossing chunk boundaries) in the same order.
      for (int i = 0; i < 3000; ++i) w.inc(store.counter(absl::StrCat("c.", i)), i);
    });
  }
  for (std::thread& t : threads) t.join();
  for (int i = 0; i < 3000; i += 7) {
    EXPECT_EQ(store.counterValue(absl::StrCat("c.", i)), uint64_t{kThreads} * i);
  }
  EXPECT_EQ(store.counters().size(), 3001u);  // + stats.overflow
}

}  // namespace
}  // namespace portico::stats
