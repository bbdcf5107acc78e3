#pragma once

// Scope: the stats of one config object (a cluster, a listener's HTTP settings, a filter), alive
// as long as that object.
//
// Names registered through a Scope are reference counted in the Store. When the last Scope
// holding a name is destroyed, the stat leaves /stats and Prometheus and its id is reused for the
// next new name. A config update that keeps a cluster builds the new object (registering the
// same names again) before the old one goes, so its stats carry on; a removed cluster's stats
// go once its last request and pooled connection have let go of it; a build that is refused
// (NACK) leaves nothing behind. Envoy's stats scopes do the same.
//
// Ids from a Scope must be written only through objects that keep the Scope alive. The Scope
// may outlive the Store (it then releases nothing).

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "source/common/stats/store.h"

namespace portico::stats {

class Scope {
 public:
  // Every name registered through this Scope is `prefix` + name.
  Scope(Store& store, std::string prefix);
  // The same, for the stats of one named config object: `prefix` is `family_prefix` + value
  // + ".", and Prometheus gets value as the label `label` (see StatTag), for this Scope's
  // names and those of any Scope whose prefix begins with this one's.
  Scope(Store& store, absl::string_view family_prefix, absl::string_view label,
        absl::string_view value);
  ~Scope();
  Scope(const Scope&) = delete;
  Scope& operator=(const Scope&) = delete;

  StatId counter(absl::string_view name);
  StatId gauge(absl::string_view name);
  StatId histogram(absl::string_view name, Unit unit);

  const std::string& prefix() const { return prefix_; }

 private:
  StatId acquire(StatKind kind, absl::string_view name, Unit unit);

  Store& store_;
  std::shared_ptr<Store::Lifeline> lifeline_;
  std::string prefix_;
  bool tagged_ = false;
  std::vector<Store::Held> held_;
};

}  // namespace portico::stats
