#pragma once

// Store: the registry of stat names and the owner of every thread's WorkerStats.
//
// Created on the main thread. Registration and reads take one mutex; they are rare (config load,
// admin requests) and never on a worker's request path. Workers write only to their own
// WorkerStats; reads merge all of them while they keep writing, with relaxed loads.
//
// Names are unique across kinds. Registration is idempotent: the same name of the same kind
// always returns the same id, from any thread. The number of stats of each kind is capped
// (StoreOptions) so memory stays bounded; past the cap, registration returns kOverflowStatId, a
// sink that is never rendered, and the counter "stats.overflow" counts the refusal.
//
// Stats registered here directly are permanent. Stats registered through a Scope (scope.h) live
// as long as some Scope holds them: then the name leaves every rendering and its id is reused,
// so config churn (clusters renamed, listeners replaced) neither shows stale series nor fills
// the caps.

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/string_view.h"
#include "source/common/stats/histogram.h"
#include "source/common/stats/snapshot.h"
#include "source/common/stats/types.h"
#include "source/common/stats/worker_stats.h"

namespace portico::stats {

struct StoreOptions {
  // Each is clamped to the hard limit of its kind (types.h) and includes the sink id 0.
  uint32_t max_counters = kMaxCounters;
  uint32_t max_gauges = 16 * 1024;
  uint32_t max_histograms = 1024;
};

class Scope;

class Store {
 public:
  // Counts registrations that got kOverflowStatId (limit reached, empty name, or a name already
  // registered as another kind).
  static constexpr absl::string_view kOverflowCounterName = "stats.overflow";

  explicit Store(StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Permanent registration: thread-safe and idempotent. A histogram registered again with
  // another unit keeps its first unit.
  StatId counter(absl::string_view name);
  StatId gauge(absl::string_view name);
  StatId histogram(absl::string_view name, Unit unit);

  // A new per-thread stats block, valid as long as the Store. Thread-safe; call it once per
  // thread and write to the result from that thread only.
  WorkerStats& createWorkerStats();

  // Reads (any thread, typically main) while workers keep writing. Unknown names read as 0 /
  // nullopt.
  uint64_t counterValue(absl::string_view name) const;
  int64_t gaugeValue(absl::string_view name) const;
  std::optional<HistogramData> histogramValue(absl::string_view name) const;
  // Merged counters, sorted by name.
  std::vector<std::pair<std::string, uint64_t>> counters() const;
  // Counters as read since the last /reset_counters (admin text and JSON), or as they grew
  // since start (Prometheus: a counter that drops reads as a restart and loses the increase).
  enum class Counters { kSinceReset, kSinceStart };
  // Merged values of every stat whose name contains `filter_substring`.
  StoreSnapshot snapshot(absl::string_view filter_substring = "",
                         Counters counters = Counters::kSinceReset) const;
  // Merged values of every stat `keep` accepts (called with the store locked: keep it cheap).
  StoreSnapshot snapshot(const std::function<bool(const std::string&)>& keep,
                         Counters counters) const;
  // Envoy /stats-like text (see text_format.h) and Prometheus exposition (see prometheus.h).
  std::string renderText(absl::string_view filter_substring = "") const;
  // Envoy's /stats?format=json shape (see json_format.h).
  std::string renderJson(absl::string_view filter_substring = "") const;
  std::string renderPrometheus(absl::string_view filter_substring = "") const;

  // Admin /reset_counters: counters read as 0 afterwards. Worker memory is never written by
  // another thread; instead each counter remembers the merged value at reset as its base.
  void resetCounters();

 private:
  friend class Scope;
  // Lets a Scope that outlives its Store (a config object freed late on shutdown) release
  // nothing instead of touching freed memory.
  struct Lifeline {
    std::mutex mutex;
    Store* store = nullptr;
  };
  struct Held {
    StatKind kind;
    StatId id;
  };

  struct Entry {
    StatKind kind;
    StatId id;
    uint32_t scoped_refs = 0;  // Scopes holding it
    bool permanent = false;    // registered on the Store directly: never retired
  };
  // Per-kind registry: names[id] and units[id] (used by histograms). Index 0 is the sink.
  struct Registry {
    uint32_t limit = 0;
    std::vector<std::string> names;  // "" for the sink and for retired ids
    std::vector<Unit> units;
    std::vector<StatTagConstSharedPtr> tags;  // from the Scope that registered the name
    std::vector<StatId> free_ids;             // retired, reused before the registry grows
  };

  StatId registerLocked(StatKind kind, absl::string_view name, Unit unit, bool permanent);
  // Tagged Scopes (Scope's tagged constructor) make their prefix's names tagged, those of
  // nested scopes too ("http.ingress.gzip."), for as long as one of them lives.
  void addTaggedPrefix(const StatTagConstSharedPtr& tag);
  void removeTaggedPrefix(const std::string& scope_prefix);
  // The tag of the longest tagged prefix of `name`, if any.
  StatTagConstSharedPtr tagForLocked(absl::string_view name) const;
  // Scope side: the last release of a scoped name retires it.
  void release(const std::vector<Held>& held);
  void retireLocked(StatKind kind, StatId id);
  // The helpers below require mutex_.
  Registry& registry(StatKind kind);
  // Merged values, before the reset base for counters.
  uint64_t sumCounter(StatId id) const;
  uint64_t counterSinceReset(StatId id) const;
  int64_t sumGauge(StatId id) const;
  HistogramData sumHistogram(StatId id) const;
  std::optional<Entry> find(absl::string_view name) const;

  // std::mutex rather than absl::Mutex: Debian's libabsl is not built with TSan annotations, so
  // TSan could not see absl::Mutex ordering and would report false races; pthread-based
  // std::mutex is intercepted. Everything below is guarded by it.
  mutable std::mutex mutex_;
  absl::flat_hash_map<std::string, Entry> by_name_;
  struct TaggedPrefix {
    StatTagConstSharedPtr tag;
    uint32_t scopes = 0;
  };
  absl::flat_hash_map<std::string, TaggedPrefix> tagged_prefixes_;  // by scope_prefix
  Registry counters_;
  Registry gauges_;
  Registry histograms_;
  // resetCounters() bases, indexed by counter id.
  std::vector<uint64_t> counter_bases_;
  // workers_[0] belongs to the store itself: it is written only with mutex_ held (the mutex
  // serializes its writers) and holds "stats.overflow".
  std::vector<std::unique_ptr<WorkerStats>> workers_;
  StatId overflow_counter_ = kOverflowStatId;
  std::shared_ptr<Lifeline> lifeline_ = std::make_shared<Lifeline>();
};

}  // namespace portico::stats
