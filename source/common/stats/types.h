#pragma once

// Identifiers, units and hard limits shared by the stats store, the per-worker storage and the
// renderers.

#include <cstdint>

namespace portico::stats {

// Index of a stat within its kind: counters, gauges and histograms have separate id spaces.
using StatId = uint32_t;

// Id 0 of every kind is a sink that is never rendered. Registrations that cannot be honoured
// (limit reached, empty name, name already used by another kind) get it, so callers never crash
// and a default-initialized StatId is harmless to write to.
inline constexpr StatId kOverflowStatId = 0;

enum class StatKind { kCounter, kGauge, kHistogram };

// What a histogram measures. Decides how values are displayed and which Prometheus buckets are
// emitted.
enum class Unit {
  kUnspecified,
  kMicroseconds,  // recorded in us, displayed in ms (like Envoy's *_ms histograms)
  kBytes,
};

// Per-worker counter and gauge slots are allocated in chunks, so that registering a stat never
// moves slots that a worker may be writing.
inline constexpr uint32_t kSlotsPerChunk = 1024;

// Hard upper bounds on the number of stats of each kind (StoreOptions may lower them). They bound
// the memory of each worker: 64k counters = 512 KiB, 64k gauges = 512 KiB, 4096 histograms =
// 32 MiB (8 KiB each).
inline constexpr uint32_t kMaxCounters = 64 * 1024;
inline constexpr uint32_t kMaxGauges = 64 * 1024;
inline constexpr uint32_t kMaxHistograms = 4096;

}  // namespace portico::stats
