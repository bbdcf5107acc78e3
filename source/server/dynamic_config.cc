#include "source/server/dynamic_config.h"

#include <cstring>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"
#include "source/common/stats/prometheus.h"
#include "source/xds/resource_types.h"

namespace portico::server {

DynamicConfig::DynamicConfig(config::v1::Bootstrap bootstrap)
    : bootstrap_(std::move(bootstrap)),
      hold_timeout_(clusterHoldTimeout(bootstrap_).value_or(kDefaultClusterHoldTimeout)) {}

absl::StatusOr<DynamicConfig::ByName> DynamicConfig::index(
    const std::string& type_url, const std::vector<google::protobuf::Any>& resources) const {
  ByName out;
  for (size_t i = 0; i < resources.size(); i++) {
    auto name = xds::resourceName(type_url, resources[i]);
    if (!name.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("resources[", i, "]: ", name.status().message()));
    }
    if (name->empty()) {
      const char* field = type_url == xds::kEndpointType ? "cluster_name" : "name";
      return absl::InvalidArgumentError(
          absl::StrCat("resources[", i, "].", field, ": must not be empty"));
    }
    if (!out.emplace(*name, resources[i]).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("resources[", i, "].name: duplicate resource '", *name, "'"));
    }
  }
  return out;
}

config::v1::Bootstrap DynamicConfig::merge(
    const std::map<std::string, ByName>& by_type, std::vector<std::string>* warming,
    std::vector<config::v1::Listener>* warming_listeners) const {
  config::v1::Bootstrap merged = bootstrap_;
  auto* sr = merged.mutable_static_resources();
  auto find = [&](const char* type) -> const ByName* {
    auto it = by_type.find(type);
    return it == by_type.end() ? nullptr : &it->second;
  };
  const ByName* endpoints = find(xds::kEndpointType);
  if (const ByName* clusters = find(xds::kClusterType)) {
    for (const auto& [name, any] : *clusters) {
      config::v1::Cluster* c = sr->add_clusters();
      any.UnpackTo(c);
      if (endpoints != nullptr) {
        auto it = endpoints->find(name);
        if (it != endpoints->end()) it->second.UnpackTo(c->mutable_load_assignment());
      }
    }
  }
  absl::flat_hash_set<std::string> route_names;
  for (const auto& rc : sr->route_configs()) route_names.insert(rc.name());
  if (const ByName* routes = find(xds::kRouteType)) {
    for (const auto& [name, any] : *routes) {
      any.UnpackTo(sr->add_route_configs());
      route_names.insert(name);
    }
  }
  // Puts a serving listener in as it was (with its routes, if this update dropped them).
  auto keep_serving = [&](const config::v1::Listener& serving) {
    const std::string& old_routes = serving.http().route_config_name();
    if (!old_routes.empty() && !route_names.contains(old_routes)) {
      auto rc = serving_.routes.find(old_routes);
      if (rc == serving_.routes.end()) return;
      *sr->add_route_configs() = rc->second;
      route_names.insert(old_routes);
    }
    *sr->add_listeners() = serving;
  };
  if (const ByName* listeners = find(xds::kListenerType)) {
    absl::flat_hash_set<std::string> kept;  // serving listeners standing in for new ones
    for (const auto& [name, any] : *listeners) {
      config::v1::Listener l;
      any.UnpackTo(&l);
      if (l.http().route_config_name().empty() ||
          route_names.contains(l.http().route_config_name())) {
        *sr->add_listeners() = std::move(l);
        continue;
      }
      if (warming != nullptr) warming->push_back(name);
      auto serving = serving_.listeners.find(name);
      if (serving != serving_.listeners.end()) {
        // It serves now: it goes on as it was until the new version can start.
        if (warming_listeners != nullptr) warming_listeners->push_back(l);
        keep_serving(serving->second);
        continue;
      }
      // New, on the address of a serving listener this update removes (a rename, "l-v1" to
      // "l-v2"): that one goes on as it was meanwhile, so the port never closes for an update
      // that is merely incomplete. Once the new one starts, the workers hand it the socket.
      const config::v1::Listener* stand_in = nullptr;
      for (const auto& [old_name, old] : serving_.listeners) {
        if (!listeners->contains(old_name) && !kept.contains(old_name) &&
            old.address().address() == l.address().address() &&
            old.address().port() == l.address().port()) {
          stand_in = &old;
          kept.insert(old_name);
          break;
        }
      }
      if (stand_in != nullptr) {
        keep_serving(*stand_in);  // its address is bound: nothing to check for the new one
      } else if (warming_listeners != nullptr) {
        warming_listeners->push_back(l);  // new: it starts once it can
      }
    }
  }
  return merged;
}

namespace {

void addClusterNames(const config::v1::RouteConfiguration& rc,
                     absl::flat_hash_set<std::string>* names) {
  for (const auto& vh : rc.virtual_hosts()) {
    for (const auto& route : vh.routes()) {
      if (!route.has_route()) continue;
      const auto& action = route.route();
      if (!action.cluster().empty()) names->insert(action.cluster());
      for (const auto& weighted : action.weighted_clusters().clusters()) {
        names->insert(weighted.name());
      }
    }
  }
}

}  // namespace

void DynamicConfig::holdWithdrawnClusters(config::v1::Bootstrap* merged, Clock::time_point now,
                                          Held* held, std::vector<std::string>* expired) const {
  if (hold_timeout_.count() == 0) return;
  auto* sr = merged->mutable_static_resources();
  absl::flat_hash_set<std::string> named;
  for (const auto& rc : sr->route_configs()) addClusterNames(rc, &named);
  for (const auto& l : sr->listeners()) {
    if (l.http().has_route_config()) addClusterNames(l.http().route_config(), &named);
  }
  if (named.empty()) return;
  // Present clusters by name and by Prometheus name: a held cluster must not collide with a
  // cluster the control plane sends (a rename to `svc_a` from `svc.a` would be refused).
  absl::flat_hash_set<std::string> present;
  for (const auto& c : sr->clusters()) {
    present.insert(c.name());
    present.insert(stats::prometheusName(c.name()));
  }
  for (const auto& [name, cluster] : serving_.clusters) {
    if (!named.contains(name) || present.contains(name) ||
        present.contains(stats::prometheusName(name))) {
      continue;
    }
    auto it = held_.find(name);
    const Clock::time_point since = it != held_.end() ? it->second : now;
    if (now - since >= hold_timeout_) {
      if (expired != nullptr) expired->push_back(name);
      continue;
    }
    *sr->add_clusters() = cluster;
    (*held)[name] = since;
  }
}

DynamicConfig::Serving DynamicConfig::collectServing(const config::v1::Bootstrap& merged) const {
  Serving serving;
  const auto& sr = merged.static_resources();
  const int static_listeners = bootstrap_.static_resources().listeners_size();
  for (int i = static_listeners; i < sr.listeners_size(); i++) {
    const config::v1::Listener& l = sr.listeners(i);
    serving.listeners[l.name()] = l;
    const std::string& rc = l.http().route_config_name();
    if (rc.empty()) continue;
    for (const auto& r : sr.route_configs()) {
      if (r.name() == rc) serving.routes[rc] = r;
    }
  }
  for (int i = bootstrap_.static_resources().clusters_size(); i < sr.clusters_size(); i++) {
    serving.clusters[sr.clusters(i).name()] = sr.clusters(i);
  }
  return serving;
}

DynamicConfig::MergedNames DynamicConfig::namesOf(const config::v1::Bootstrap& merged) {
  MergedNames names;
  const auto& sr = merged.static_resources();
  for (const auto& c : sr.clusters()) names.clusters.push_back(c.name());
  for (const auto& r : sr.route_configs()) names.route_configs.push_back(r.name());
  for (const auto& l : sr.listeners()) names.listeners.push_back(l.name());
  return names;
}

std::string DynamicConfig::describeError(const MergedNames& merged, absl::string_view error) const {
  const auto& st = bootstrap_.static_resources();
  struct Kind {
    const char* field;
    const char* type;
    int static_count;
    const std::vector<std::string>* names;
  };
  const Kind kinds[] = {
      {"static_resources.clusters[", "Cluster", st.clusters_size(), &merged.clusters},
      {"static_resources.route_configs[", "RouteConfiguration", st.route_configs_size(),
       &merged.route_configs},
      {"static_resources.listeners[", "Listener", st.listeners_size(), &merged.listeners}};
  for (const Kind& k : kinds) {
    if (!absl::StartsWith(error, k.field)) continue;
    absl::string_view rest = error.substr(strlen(k.field));
    size_t close = rest.find(']');
    int index;
    if (close == absl::string_view::npos || !absl::SimpleAtoi(rest.substr(0, close), &index) ||
        index < k.static_count || index >= static_cast<int>(k.names->size())) {
      break;  // a static resource: the path is already exact
    }
    const std::string& name = (*k.names)[index];
    absl::string_view tail = rest.substr(close + 1);
    if (absl::StartsWith(tail, ".")) tail.remove_prefix(1);
    if (absl::StartsWith(tail, ": ")) return absl::StrCat(k.type, " '", name, "'", tail);
    return absl::StrCat(k.type, " '", name, "': ", tail);
  }
  return std::string(error);
}

absl::StatusOr<config::v1::Bootstrap> DynamicConfig::tryApply(
    const std::string& type_url, const std::vector<google::protobuf::Any>& resources,
    Clock::time_point now) {
  has_pending_ = false;
  auto indexed = index(type_url, resources);
  if (!indexed.ok()) return indexed.status();
  // Swap the candidate in, merge, swap back: no copy of the other types' resources.
  const bool existed = by_type_.contains(type_url);
  ByName& slot = by_type_[type_url];
  slot.swap(*indexed);
  pending_warming_.clear();
  pending_warming_listeners_.clear();
  pending_held_.clear();
  pending_expired_.clear();
  config::v1::Bootstrap merged = merge(by_type_, &pending_warming_, &pending_warming_listeners_);
  holdWithdrawnClusters(&merged, now, &pending_held_, &pending_expired_);
  pending_serving_ = collectServing(merged);
  slot.swap(*indexed);
  if (!existed) by_type_.erase(type_url);
  pending_type_ = type_url;
  pending_ = std::move(*indexed);
  has_pending_ = true;
  return merged;
}

absl::StatusOr<ConfigSnapshotConstSharedPtr> DynamicConfig::buildSnapshot(
    const std::string& type_url, const std::vector<google::protobuf::Any>& resources,
    stats::Store& store, const ConfigSnapshot* previous, const MergedCheck& check,
    Clock::time_point now) {
  auto merged = tryApply(type_url, resources, now);
  if (!merged.ok()) return merged.status();
  if (check) {
    if (absl::Status st = check(*merged); !st.ok()) {
      has_pending_ = false;
      return st;
    }
  }
  const MergedNames names = namesOf(*merged);
  HeldClusters held;
  for (const auto& [name, since] : pending_held_) held.insert(name);
  auto snapshot =
      buildConfigSnapshot(std::move(*merged), store, previous, /*open_files=*/true, &held);
  if (!snapshot.ok()) {
    has_pending_ = false;
    return absl::InvalidArgumentError(describeError(names, snapshot.status().message()));
  }
  return snapshot;
}

absl::StatusOr<ConfigSnapshotConstSharedPtr> DynamicConfig::rebuild(stats::Store& store,
                                                                    const ConfigSnapshot* previous,
                                                                    Clock::time_point now) {
  // The committed clusters applied again: every other type merges as it is.
  std::vector<google::protobuf::Any> clusters;
  auto it = by_type_.find(xds::kClusterType);
  if (it != by_type_.end()) {
    for (const auto& [name, any] : it->second) clusters.push_back(any);
  }
  return buildSnapshot(xds::kClusterType, clusters, store, previous, nullptr, now);
}

std::vector<std::string> DynamicConfig::heldClusters() const {
  std::vector<std::string> names;
  for (const auto& [name, since] : held_) names.push_back(name);
  return names;
}

std::optional<DynamicConfig::Clock::time_point> DynamicConfig::nextHoldExpiry() const {
  std::optional<Clock::time_point> first;
  for (const auto& [name, since] : held_) {
    if (!first.has_value() || since + hold_timeout_ < *first) first = since + hold_timeout_;
  }
  return first;
}

void DynamicConfig::commit() {
  if (!has_pending_) return;  // nothing tried, or the last try failed
  has_pending_ = false;
  by_type_[pending_type_] = std::move(pending_);
  pending_.clear();
  warming_ = std::move(pending_warming_);
  warming_listeners_ = pending_warming_listeners_;
  for (const auto& [name, since] : pending_held_) {
    if (held_.contains(name)) continue;
    PORTICO_LOG(kWarn,
                "cluster '%s' was withdrawn while a route names it: held as it was until no route "
                "names it, for at most %d ms",
                name, static_cast<int>(hold_timeout_.count()));
  }
  for (const std::string& name : pending_expired_) {
    PORTICO_LOG(kWarn, "cluster '%s': its hold ran out; the routes naming it answer 503", name);
  }
  held_ = std::move(pending_held_);
  serving_ = std::move(pending_serving_);
}

}  // namespace portico::server
