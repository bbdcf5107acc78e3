// Micro-benchmarks of the stats hot path (WorkerStats::inc, gaugeAdd, recordValue) and of the
// main-thread merge (Prometheus rendering). Run:
//   bazel run -c opt //tools/bench:stats_bench

#include <atomic>
#include <cmath>
#include <random>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "source/common/stats/store.h"

namespace portico::stats {
namespace {

// One store for the threaded benchmarks; each benchmark thread gets its own WorkerStats once.
Store& sharedStore() {
  static Store* store = new Store();
  return *store;
}

WorkerStats& threadWorker() {
  thread_local WorkerStats* worker = &sharedStore().createWorkerStats();
  return *worker;
}

void BM_CounterInc(benchmark::State& state) {
  const StatId id = sharedStore().counter("bench.inc");
  WorkerStats& w = threadWorker();
  for (auto _ : state) w.inc(id);
}
BENCHMARK(BM_CounterInc)->Threads(1)->Threads(2);

// Baseline the design avoids: one shared atomic counter with fetch_add (a locked RMW, and the
// cache line bounces between cores as soon as two threads write).
void BM_SharedAtomicFetchAdd(benchmark::State& state) {
  static std::atomic<uint64_t> shared{0};
  for (auto _ : state) shared.fetch_add(1, std::memory_order_relaxed);
}
BENCHMARK(BM_SharedAtomicFetchAdd)->Threads(1)->Threads(2);

// Many counters spread over several chunks, as a request touching various stats would.
void BM_CounterIncSpread(benchmark::State& state) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  std::vector<StatId> ids;
  for (int i = 0; i < 4096; ++i) ids.push_back(store.counter(absl::StrCat("c.", i)));
  size_t i = 0;
  for (auto _ : state) {
    w.inc(ids[i]);
    i = (i + 1) & 4095;
  }
}
BENCHMARK(BM_CounterIncSpread);

void BM_GaugeAdd(benchmark::State& state) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  const StatId id = store.gauge("bench.gauge");
  int64_t delta = 1;
  for (auto _ : state) {
    w.gaugeAdd(id, delta);
    delta = -delta;
  }
}
BENCHMARK(BM_GaugeAdd);

void BM_RecordValue(benchmark::State& state) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  const StatId id = store.histogram("bench.latency", Unit::kMicroseconds);
  // Latency-like values (median 2 ms, long tail), precomputed so the RNG is not measured.
  std::mt19937_64 rng(1);
  std::lognormal_distribution<double> dist(std::log(2000.0), 1.5);
  std::vector<uint64_t> values(4096);
  for (uint64_t& v : values) v = static_cast<uint64_t>(dist(rng));
  size_t i = 0;
  for (auto _ : state) {
    w.recordValue(id, values[i]);
    i = (i + 1) & 4095;
  }
}
BENCHMARK(BM_RecordValue);

// Main-thread cost of a scrape: counters x workers merged, histograms merged and bucketed.
void BM_RenderPrometheus(benchmark::State& state) {
  Store store;
  const int counters = static_cast<int>(state.range(0));
  const int histograms = static_cast<int>(state.range(1));
  std::vector<WorkerStats*> workers;
  for (int i = 0; i < 4; ++i) workers.push_back(&store.createWorkerStats());
  for (int i = 0; i < counters; ++i) {
    const StatId id = store.counter(absl::StrCat("cluster.c", i % 50, ".upstream_rq_", i));
    for (WorkerStats* w : workers) w->inc(id, i);
  }
  for (int i = 0; i < histograms; ++i) {
    const StatId id =
        store.histogram(absl::StrCat("cluster.c", i, ".rq_time"), Unit::kMicroseconds);
    for (WorkerStats* w : workers) {
      for (uint64_t v = 1; v < 100000; v *= 3) w->recordValue(id, v);
    }
  }
  size_t bytes = 0;
  for (auto _ : state) {
    std::string out = store.renderPrometheus();
    bytes = out.size();
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(bytes);
}
BENCHMARK(BM_RenderPrometheus)->Args({1000, 50})->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace portico::stats
