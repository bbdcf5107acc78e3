#pragma once

// WorkerStats: the stats of one thread (HAProxy-style per-thread counters).
//
// Only the owner thread writes, so the hot path is a relaxed load plus a relaxed store on a slot
// the thread already has in cache: no locked read-modify-write, no lock, no sharing between
// workers. Slots are std::atomic only so that the main thread can read them while workers write
// without a data race (relaxed loads compile to plain moves).
//
// Storage is a fixed array of chunk pointers (counters, gauges) or per-histogram pointers. The
// Store allocates the memory of every worker when a stat is registered, under its mutex, so a
// worker never sees a reallocation. Contract: a StatId must reach the writing thread through
// something that synchronizes (registering it on that thread, a mutex, a posted callback, thread
// start); then the pointer the store published is visible to it.

#include <array>
#include <atomic>
#include <cassert>
#include <cstdint>

#include "source/common/stats/histogram.h"
#include "source/common/stats/types.h"

namespace portico::stats {

class Store;

class WorkerStats {
 public:
  ~WorkerStats();
  WorkerStats(const WorkerStats&) = delete;
  WorkerStats& operator=(const WorkerStats&) = delete;

  // Hot path: owner thread only.
  void inc(StatId counter, uint64_t n = 1) { bump(slot(counter_chunks_, counter), n); }
  // Gauges are summed across workers; wrap-around unsigned arithmetic gives the right signed
  // total (two's complement) and avoids signed overflow.
  void gaugeAdd(StatId gauge, int64_t delta) {
    bump(slot(gauge_chunks_, gauge), static_cast<uint64_t>(delta));
  }
  // For gauges that only one thread (typically main) writes; sets this worker's share.
  void gaugeSet(StatId gauge, int64_t value) {
    slot(gauge_chunks_, gauge).store(static_cast<uint64_t>(value), std::memory_order_relaxed);
  }
  // Records one sample, e.g. a latency in microseconds or a size in bytes.
  void recordValue(StatId histogram, uint64_t value) {
    assert(histogram < kMaxHistograms);
    HistogramCells* cells = histograms_[histogram].load(std::memory_order_relaxed);
    assert(cells != nullptr);
    bump(cells->sum, value);
    bump(cells->buckets[HistogramBuckets::index(value)], 1);
  }

  // Read side, any thread (the Store calls these under its mutex). Values are this worker's share.
  uint64_t counterValue(StatId counter) const { return load(counter_chunks_, counter); }
  int64_t gaugeValue(StatId gauge) const {
    return static_cast<int64_t>(load(gauge_chunks_, gauge));
  }
  void mergeHistogramInto(StatId histogram, HistogramData& out) const;

 private:
  friend class Store;

  // Cache-line aligned so that chunks of different workers never share a line.
  struct alignas(64) Chunk {
    std::array<std::atomic<uint64_t>, kSlotsPerChunk> slots;
  };
  struct alignas(64) HistogramCells {
    std::atomic<uint64_t> sum;
    std::array<std::atomic<uint64_t>, HistogramBuckets::kNumBuckets> buckets;
  };
  static constexpr uint32_t kCounterChunks = kMaxCounters / kSlotsPerChunk;
  static constexpr uint32_t kGaugeChunks = kMaxGauges / kSlotsPerChunk;
  template <size_t N>
  using ChunkArray = std::array<std::atomic<Chunk*>, N>;

  WorkerStats() = default;

  // Allocation (Store only, under its mutex): makes ids [0, count) of `kind` writable.
  void reserve(StatKind kind, uint32_t count);
  // Zeroes a retired id before the Store hands it out again (Store only, under its mutex; no
  // thread writes the id meanwhile).
  void clear(StatKind kind, StatId id);

  static void bump(std::atomic<uint64_t>& slot, uint64_t n) {
    slot.store(slot.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  template <size_t N>
  static std::atomic<uint64_t>& slot(const ChunkArray<N>& chunks, StatId id) {
    assert(id / kSlotsPerChunk < N);
    Chunk* chunk = chunks[id / kSlotsPerChunk].load(std::memory_order_relaxed);
    assert(chunk != nullptr);
    return chunk->slots[id % kSlotsPerChunk];
  }
  template <size_t N>
  static uint64_t load(const ChunkArray<N>& chunks, StatId id) {
    return slot(chunks, id).load(std::memory_order_relaxed);
  }

  ChunkArray<kCounterChunks> counter_chunks_{};
  ChunkArray<kGaugeChunks> gauge_chunks_{};
  std::array<std::atomic<HistogramCells*>, kMaxHistograms> histograms_{};
};

}  // namespace portico::stats
