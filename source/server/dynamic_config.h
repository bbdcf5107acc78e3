#pragma once

// DynamicConfig: the resources received from the control plane, per type, merged with the
// bootstrap's static resources into one Bootstrap that buildConfigSnapshot() validates.
//
// Dynamic Clusters take their endpoints from the ClusterLoadAssignment of the same name when
// there is one. A Listener whose route_config_name is not known yet is "warming" (not an
// error) until its RouteConfiguration arrives: a new listener stays out of the merged config,
// and a listener that serves already keeps serving as it was, with the route configuration it
// had, so a changed listener (or a route configuration removed under it) never closes a port
// that takes traffic. Listeners are sent before routes, so this is the usual order of updates.
//
// A dynamic cluster withdrawn while a route still names it is "held": it stays, as it was, until
// the next route update. A control plane that is make-before-break moves routes off a cluster
// before it withdraws it, but after a reconnect it cannot know which routes the proxy holds and
// sends its state clusters first; without the hold those routes answered 503 for one round trip.
// A route update ends every hold: a route the control plane still points at a withdrawn cluster
// then answers 503 (cluster not found), as in Envoy.

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "portico/config/v1/bootstrap.pb.h"
#include "source/common/stats/store.h"
#include "source/server/config_snapshot.h"

namespace portico::server {

class DynamicConfig {
 public:
  explicit DynamicConfig(config::v1::Bootstrap bootstrap) : bootstrap_(std::move(bootstrap)) {}

  // Parses and checks one type's complete set (names present and unique, payload of the
  // right type). Returns the merged Bootstrap it would give; nothing changes until commit().
  absl::StatusOr<config::v1::Bootstrap> tryApply(
      const std::string& type_url, const std::vector<google::protobuf::Any>& resources);
  // tryApply(), then the full validation and build of the snapshot that config gives, with
  // errors renamed for the NACK by describeError(). `previous` lends unchanged parts (see
  // buildConfigSnapshot). Nothing changes until commit().
  absl::StatusOr<ConfigSnapshotConstSharedPtr> buildSnapshot(
      const std::string& type_url, const std::vector<google::protobuf::Any>& resources,
      stats::Store& store, const ConfigSnapshot* previous);
  // Makes the last successful tryApply() current.
  void commit();

  const std::vector<std::string>& warmingListeners() const { return warming_; }
  // The withdrawn clusters kept for the routes that name them (see the top), by name.
  const std::vector<std::string>& heldClusters() const { return held_; }
  // The listeners the last tryApply() left warming (not in its merged config), for the
  // server to check their addresses can be bound while the update can still be refused.
  const std::vector<config::v1::Listener>& pendingWarmingListeners() const {
    return pending_warming_listeners_;
  }
  // The resource names of a merged config, by position: enough to explain its errors.
  struct MergedNames {
    std::vector<std::string> clusters, route_configs, listeners;
  };
  static MergedNames namesOf(const config::v1::Bootstrap& merged);
  // Rewrites an error about the merged config ("static_resources.route_configs[3]...") so it
  // names the dynamic resource ("RouteConfiguration 'r1': ...") for the NACK.
  std::string describeError(const MergedNames& merged, absl::string_view error) const;
  // For /config_dump: every dynamic resource, by type and name.
  const std::map<std::string, std::map<std::string, google::protobuf::Any>>& resources() const {
    return by_type_;
  }

 private:
  using ByName = std::map<std::string, google::protobuf::Any>;
  absl::StatusOr<ByName> index(const std::string& type_url,
                               const std::vector<google::protobuf::Any>& resources) const;
  config::v1::Bootstrap merge(const std::map<std::string, ByName>& by_type,
                              std::vector<std::string>* warming,
                              std::vector<config::v1::Listener>* warming_listeners) const;

  // Adds to `merged` the clusters the last commit served that it lacks and a route in it names.
  void holdWithdrawnClusters(config::v1::Bootstrap* merged, std::vector<std::string>* held) const;

  // What serves in `merged`: the dynamic listeners with the route configurations they use, and
  // the dynamic clusters.
  struct Serving {
    std::map<std::string, config::v1::Listener> listeners;
    std::map<std::string, config::v1::RouteConfiguration> routes;
    std::map<std::string, config::v1::Cluster> clusters;
  };
  Serving collectServing(const config::v1::Bootstrap& merged) const;

  config::v1::Bootstrap bootstrap_;
  std::map<std::string, ByName> by_type_;
  std::vector<std::string> warming_;
  std::vector<std::string> held_;
  // What serves since the last commit (see the top): kept for listeners that warm again and
  // for clusters withdrawn under a route.
  Serving serving_;
  // From the last tryApply(), for commit().
  std::string pending_type_;
  ByName pending_;
  std::vector<std::string> pending_warming_;
  std::vector<config::v1::Listener> pending_warming_listeners_;
  std::vector<std::string> pending_held_;
  Serving pending_serving_;
  bool has_pending_ = false;
};

}  // namespace portico::server
