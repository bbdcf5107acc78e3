#include "source/common/stats/scope.h"

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"

namespace portico::stats {

Scope::Scope(Store& store, std::string prefix)
    : store_(store), lifeline_(store.lifeline_), prefix_(std::move(prefix)) {}

Scope::~Scope() {
  if (held_.empty()) return;
  std::lock_guard<std::mutex> lock(lifeline_->mutex);
  if (lifeline_->store != nullptr) lifeline_->store->release(held_);
}

StatId Scope::counter(absl::string_view name) {
  return acquire(StatKind::kCounter, name, Unit::kUnspecified);
}

StatId Scope::gauge(absl::string_view name) {
  return acquire(StatKind::kGauge, name, Unit::kUnspecified);
}

StatId Scope::histogram(absl::string_view name, Unit unit) {
  return acquire(StatKind::kHistogram, name, unit);
}

StatId Scope::acquire(StatKind kind, absl::string_view name, Unit unit) {
  StatId id;
  {
    std::lock_guard<std::mutex> lock(store_.mutex_);
    id = store_.registerLocked(kind, absl::StrCat(prefix_, name), unit, /*permanent=*/false);
  }
  if (id != kOverflowStatId) held_.push_back({kind, id});
  return id;
}

}  // namespace portico::stats
