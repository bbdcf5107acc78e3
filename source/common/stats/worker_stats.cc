#include "source/common/stats/worker_stats.h"

namespace portico::stats {
namespace {

// Value-initialization zeroes the atomics. The release store pairs with nothing on the hot path
// (ids reach workers through synchronization, see the header); it keeps readers that race with
// registration from seeing a pointer before the zeroed memory.
template <class T>
void allocate(std::atomic<T*>& ptr) {
  if (ptr.load(std::memory_order_relaxed) == nullptr) {
    ptr.store(new T(), std::memory_order_release);
  }
}

}  // namespace

WorkerStats::~WorkerStats() {
  for (auto& c : counter_chunks_) delete c.load(std::memory_order_relaxed);
  for (auto& c : gauge_chunks_) delete c.load(std::memory_order_relaxed);
  for (auto& h : histograms_) delete h.load(std::memory_order_relaxed);
}

void WorkerStats::reserve(StatKind kind, uint32_t count) {
  const uint32_t chunks = (count + kSlotsPerChunk - 1) / kSlotsPerChunk;
  switch (kind) {
    case StatKind::kCounter:
      for (uint32_t i = 0; i < chunks && i < kCounterChunks; ++i) allocate(counter_chunks_[i]);
      break;
    case StatKind::kGauge:
      for (uint32_t i = 0; i < chunks && i < kGaugeChunks; ++i) allocate(gauge_chunks_[i]);
      break;
    case StatKind::kHistogram:
      for (uint32_t i = 0; i < count && i < kMaxHistograms; ++i) allocate(histograms_[i]);
      break;
  }
}

void WorkerStats::clear(StatKind kind, StatId id) {
  switch (kind) {
    case StatKind::kCounter:
      slot(counter_chunks_, id).store(0, std::memory_order_relaxed);
      return;
    case StatKind::kGauge:
      slot(gauge_chunks_, id).store(0, std::memory_order_relaxed);
      return;
    case StatKind::kHistogram:
      break;
  }
  HistogramCells* cells = histograms_[id].load(std::memory_order_relaxed);
  if (cells == nullptr) return;
  cells->sum.store(0, std::memory_order_relaxed);
  for (auto& bucket : cells->buckets) bucket.store(0, std::memory_order_relaxed);
}

void WorkerStats::mergeHistogramInto(StatId histogram, HistogramData& out) const {
  const HistogramCells* cells = histograms_[histogram].load(std::memory_order_acquire);
  if (cells == nullptr) return;
  for (size_t i = 0; i < cells->buckets.size(); ++i) {
    const uint64_t n = cells->buckets[i].load(std::memory_order_relaxed);
    if (n != 0) out.addBucket(i, n);
  }
  out.addSum(cells->sum.load(std::memory_order_relaxed));
}

}  // namespace portico::stats
