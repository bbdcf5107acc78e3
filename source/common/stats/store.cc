#include "source/common/stats/store.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "source/common/stats/json_format.h"
#include "source/common/stats/prometheus.h"
#include "source/common/stats/text_format.h"

namespace portico::stats {
namespace {

template <class T>
void sortByName(std::vector<T>& stats) {
  std::sort(stats.begin(), stats.end(), [](const T& a, const T& b) { return a.name < b.name; });
}

}  // namespace

Store::Store(StoreOptions options) {
  std::lock_guard<std::mutex> lock(mutex_);
  // Counters need room for the sink and "stats.overflow"; the others for the sink.
  counters_.limit = std::clamp<uint32_t>(options.max_counters, 2, kMaxCounters);
  gauges_.limit = std::clamp<uint32_t>(options.max_gauges, 1, kMaxGauges);
  histograms_.limit = std::clamp<uint32_t>(options.max_histograms, 1, kMaxHistograms);
  for (Registry* r : {&counters_, &gauges_, &histograms_}) {
    r->names.emplace_back();  // the sink, id 0
    r->units.push_back(Unit::kUnspecified);
    r->tags.emplace_back();
  }
  counter_bases_.push_back(0);
  workers_.push_back(std::unique_ptr<WorkerStats>(new WorkerStats()));
  for (StatKind kind : {StatKind::kCounter, StatKind::kGauge, StatKind::kHistogram}) {
    workers_[0]->reserve(kind, 1);
  }
  overflow_counter_ =
      registerLocked(StatKind::kCounter, kOverflowCounterName, Unit::kUnspecified, true);
  lifeline_->store = this;
}

Store::~Store() {
  std::lock_guard<std::mutex> lock(lifeline_->mutex);
  lifeline_->store = nullptr;
}

StatId Store::counter(absl::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return registerLocked(StatKind::kCounter, name, Unit::kUnspecified, true);
}

StatId Store::gauge(absl::string_view name) {
  std::lock_guard<std::mutex> lock(mutex_);
  return registerLocked(StatKind::kGauge, name, Unit::kUnspecified, true);
}

StatId Store::histogram(absl::string_view name, Unit unit) {
  std::lock_guard<std::mutex> lock(mutex_);
  return registerLocked(StatKind::kHistogram, name, unit, true);
}

Store::Registry& Store::registry(StatKind kind) {
  switch (kind) {
    case StatKind::kCounter:
      return counters_;
    case StatKind::kGauge:
      return gauges_;
    case StatKind::kHistogram:
      break;
  }
  return histograms_;
}

StatId Store::registerLocked(StatKind kind, absl::string_view name, Unit unit, bool permanent) {
  auto refuse = [this]() {
    // The store's own WorkerStats: the mutex we hold makes us its only writer.
    if (overflow_counter_ != kOverflowStatId) workers_[0]->inc(overflow_counter_);
    return kOverflowStatId;
  };
  if (name.empty()) return refuse();
  if (auto it = by_name_.find(name); it != by_name_.end()) {
    Entry& e = it->second;
    if (e.kind != kind) return refuse();
    if (permanent) {
      e.permanent = true;
    } else {
      ++e.scoped_refs;
    }
    return e.id;
  }
  Registry& r = registry(kind);
  StatId id;
  if (!r.free_ids.empty()) {
    id = r.free_ids.back();
    r.free_ids.pop_back();
    // A retired id was last written by a thread that has since let go of it (the release
    // synchronized through our mutex); start it from zero in every worker before it escapes.
    for (const auto& worker : workers_) worker->clear(kind, id);
    r.names[id] = std::string(name);
    r.units[id] = unit;
    r.tags[id] = tagForLocked(name);
    if (kind == StatKind::kCounter) counter_bases_[id] = 0;
  } else {
    if (r.names.size() >= r.limit) return refuse();
    id = static_cast<StatId>(r.names.size());
    // Allocate every worker's slot before the id escapes the mutex (see worker_stats.h).
    for (const auto& worker : workers_) worker->reserve(kind, id + 1);
    r.names.emplace_back(name);
    r.units.push_back(unit);
    r.tags.push_back(tagForLocked(name));
    if (kind == StatKind::kCounter) counter_bases_.push_back(0);
  }
  by_name_.emplace(std::string(name), Entry{kind, id, permanent ? 0u : 1u, permanent});
  return id;
}

void Store::addTaggedPrefix(const StatTagConstSharedPtr& tag) {
  std::lock_guard<std::mutex> lock(mutex_);
  TaggedPrefix& entry = tagged_prefixes_[tag->scope_prefix];
  if (entry.tag == nullptr) entry.tag = tag;
  ++entry.scopes;
}

void Store::removeTaggedPrefix(const std::string& scope_prefix) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = tagged_prefixes_.find(scope_prefix);
  if (it != tagged_prefixes_.end() && --it->second.scopes == 0) tagged_prefixes_.erase(it);
}

StatTagConstSharedPtr Store::tagForLocked(absl::string_view name) const {
  StatTagConstSharedPtr found;
  if (tagged_prefixes_.empty()) return found;
  // Every prefix ending at a '.'; the longest wins (cluster "api.v1" over cluster "api").
  for (size_t dot = name.find('.'); dot != absl::string_view::npos; dot = name.find('.', dot + 1)) {
    auto it = tagged_prefixes_.find(name.substr(0, dot + 1));
    if (it != tagged_prefixes_.end()) found = it->second.tag;
  }
  return found;
}

void Store::release(const std::vector<Held>& held) {
  std::lock_guard<std::mutex> lock(mutex_);
  for (const Held& h : held) {
    Registry& r = registry(h.kind);
    auto it = by_name_.find(r.names[h.id]);
    if (it == by_name_.end() || it->second.kind != h.kind || it->second.scoped_refs == 0) continue;
    Entry& e = it->second;
    if (--e.scoped_refs == 0 && !e.permanent) {
      by_name_.erase(it);
      retireLocked(h.kind, h.id);
    }
  }
}

void Store::retireLocked(StatKind kind, StatId id) {
  Registry& r = registry(kind);
  r.names[id].clear();  // unrendered from now on (renderings skip "")
  r.tags[id].reset();
  r.free_ids.push_back(id);
}

WorkerStats& Store::createWorkerStats() {
  std::lock_guard<std::mutex> lock(mutex_);
  auto worker = std::unique_ptr<WorkerStats>(new WorkerStats());
  worker->reserve(StatKind::kCounter, static_cast<uint32_t>(counters_.names.size()));
  worker->reserve(StatKind::kGauge, static_cast<uint32_t>(gauges_.names.size()));
  worker->reserve(StatKind::kHistogram, static_cast<uint32_t>(histograms_.names.size()));
  workers_.push_back(std::move(worker));
  return *workers_.back();
}

uint64_t Store::sumCounter(StatId id) const {
  uint64_t total = 0;
  for (const auto& worker : workers_) total += worker->counterValue(id);
  return total;
}

uint64_t Store::counterSinceReset(StatId id) const {
  // Each worker's slot only grows and later loads never see older values, so the merged value
  // is at least the base taken at the last reset; the guard is only defensive.
  const uint64_t total = sumCounter(id);
  const uint64_t base = counter_bases_[id];
  return total >= base ? total - base : 0;
}

int64_t Store::sumGauge(StatId id) const {
  uint64_t total = 0;  // unsigned: wraps instead of overflowing, same bits as the signed sum
  for (const auto& worker : workers_) total += static_cast<uint64_t>(worker->gaugeValue(id));
  return static_cast<int64_t>(total);
}

HistogramData Store::sumHistogram(StatId id) const {
  HistogramData data;
  for (const auto& worker : workers_) worker->mergeHistogramInto(id, data);
  return data;
}

std::optional<Store::Entry> Store::find(absl::string_view name) const {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

uint64_t Store::counterValue(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Entry> e = find(name);
  return e && e->kind == StatKind::kCounter ? counterSinceReset(e->id) : 0;
}

int64_t Store::gaugeValue(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Entry> e = find(name);
  return e && e->kind == StatKind::kGauge ? sumGauge(e->id) : 0;
}

std::optional<HistogramData> Store::histogramValue(absl::string_view name) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::optional<Entry> e = find(name);
  if (!e || e->kind != StatKind::kHistogram) return std::nullopt;
  return sumHistogram(e->id);
}

std::vector<std::pair<std::string, uint64_t>> Store::counters() const {
  std::vector<std::pair<std::string, uint64_t>> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    out.reserve(counters_.names.size() - 1);
    for (StatId id = 1; id < counters_.names.size(); ++id) {
      if (!counters_.names[id].empty())
        out.emplace_back(counters_.names[id], counterSinceReset(id));
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

StoreSnapshot Store::snapshot(absl::string_view filter_substring, Counters counters) const {
  return snapshot(
      [filter_substring](const std::string& name) {
        return absl::StrContains(name, filter_substring);
      },
      counters);
}

StoreSnapshot Store::snapshot(const std::function<bool(const std::string&)>& keep,
                              Counters counters) const {
  StoreSnapshot s;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto matches = [&](const std::string& name) {
      return !name.empty() && keep(name);  // "": retired
    };
    for (StatId id = 1; id < counters_.names.size(); ++id) {
      if (matches(counters_.names[id])) {
        s.counters.push_back(
            {counters_.names[id],
             counters == Counters::kSinceReset ? counterSinceReset(id) : sumCounter(id),
             counters_.tags[id]});
      }
    }
    for (StatId id = 1; id < gauges_.names.size(); ++id) {
      if (matches(gauges_.names[id])) {
        s.gauges.push_back({gauges_.names[id], sumGauge(id), gauges_.tags[id]});
      }
    }
    for (StatId id = 1; id < histograms_.names.size(); ++id) {
      if (matches(histograms_.names[id])) {
        s.histograms.push_back(
            {histograms_.names[id], histograms_.units[id], sumHistogram(id), histograms_.tags[id]});
      }
    }
  }
  sortByName(s.counters);
  sortByName(s.gauges);
  sortByName(s.histograms);
  return s;
}

std::string Store::renderText(absl::string_view filter_substring) const {
  return stats::renderText(snapshot(filter_substring));
}

std::string Store::renderJson(absl::string_view filter_substring) const {
  return stats::renderJson(snapshot(filter_substring));
}

std::string Store::renderPrometheus(absl::string_view filter_substring) const {
  return stats::renderPrometheus(snapshot(filter_substring, Counters::kSinceStart));
}

void Store::resetCounters() {
  std::lock_guard<std::mutex> lock(mutex_);
  for (StatId id = 1; id < counters_.names.size(); ++id) counter_bases_[id] = sumCounter(id);
}

}  // namespace portico::stats
