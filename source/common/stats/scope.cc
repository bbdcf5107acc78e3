#include "source/common/stats/scope.h"

#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"

namespace portico::stats {

Scope::Scope(Store& store, std::string prefix)
    : store_(store), lifeline_(store.lifeline_), prefix_(std::move(prefix)) {}

Scope::Scope(Store& store, absl::string_view family_prefix, absl::string_view label,
             absl::string_view value)
    : Scope(store, absl::StrCat(family_prefix, value, ".")) {
  store_.addTaggedPrefix(std::make_shared<const StatTag>(
      StatTag{prefix_, std::string(family_prefix), std::string(label), std::string(value)}));
  tagged_ = true;
}

Scope::~Scope() {
  if (held_.empty() && !tagged_) return;
  std::lock_guard<std::mutex> lock(lifeline_->mutex);
  if (lifeline_->store == nullptr) return;
  if (!held_.empty()) lifeline_->store->release(held_);
  if (tagged_) lifeline_->store->removeTaggedPrefix(prefix_);
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
