#pragma once

// DynamicConfig: the resources received from the control plane, per type, merged with the
// bootstrap's static resources into one Bootstrap that buildConfigSnapshot() validates.
//
// Dynamic Clusters take their endpoints from the ClusterLoadAssignment of the same name when
// there is one. A Listener whose route_config_name is not known yet is "warming" (not an
// error) until its RouteConfiguration arrives: a new listener stays out of the merged config,
// and a listener that serves already keeps serving as it was, with the route configuration it
// had, so a changed listener (or a route configuration removed under it) never closes a port
// that takes traffic. Control planes that send listeners before routes (Envoy's usual order)
// make this the common case.
//
// A dynamic cluster withdrawn while a route still names it is "held": it stays, as it was,
// while a route names it, for at most the hold timeout (dynamic_resources.cluster_hold_timeout).
// A make-before-break control plane moves routes off a cluster before it withdraws it, but
// after a reconnect it cannot know which routes the proxy holds and re-sends its state clusters
// first; the route (and listener) updates that follow release the cluster. A new or changed
// route table may not name a held cluster. When the timeout ends a hold, a route still naming
// the cluster answers 503 (cluster not found), as in Envoy.

#include <chrono>
#include <functional>
#include <map>
#include <optional>
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
  using Clock = std::chrono::steady_clock;
  // `bootstrap` must have passed buildConfigSnapshot() (its cluster_hold_timeout is valid).
  explicit DynamicConfig(config::v1::Bootstrap bootstrap);

  // Parses and checks one type's complete set (names present and unique, payload of the
  // right type). Returns the merged Bootstrap it would give; nothing changes until commit().
  absl::StatusOr<config::v1::Bootstrap> tryApply(
      const std::string& type_url, const std::vector<google::protobuf::Any>& resources,
      Clock::time_point now = Clock::now());
  // Checks a merged config before anything is built from it (the server's: new listen
  // addresses can be bound), so that a refusal there creates nothing, not even a log file.
  using MergedCheck = std::function<absl::Status(const config::v1::Bootstrap& merged)>;
  // tryApply(), `check`, then the full validation and build of the snapshot that config gives,
  // with errors renamed for the NACK by describeError(). `previous` lends unchanged parts (see
  // buildConfigSnapshot). Nothing changes until commit().
  absl::StatusOr<ConfigSnapshotConstSharedPtr> buildSnapshot(
      const std::string& type_url, const std::vector<google::protobuf::Any>& resources,
      stats::Store& store, const ConfigSnapshot* previous, const MergedCheck& check = nullptr,
      Clock::time_point now = Clock::now());
  // The committed resources built again at `now`, for holds that have run out; commit() after.
  absl::StatusOr<ConfigSnapshotConstSharedPtr> rebuild(stats::Store& store,
                                                       const ConfigSnapshot* previous,
                                                       Clock::time_point now = Clock::now());
  // Makes the last successful tryApply() current.
  void commit();

  // The withdrawn clusters kept for the routes that name them (see the top), by name.
  std::vector<std::string> heldClusters() const;
  // When the first hold runs out, if any cluster is held.
  std::optional<Clock::time_point> nextHoldExpiry() const;
  const std::vector<std::string>& warmingListeners() const { return warming_; }
  // The listeners of the last commit that wait for their routes (their ports are reserved).
  const std::vector<config::v1::Listener>& committedWarmingListeners() const {
    return warming_listeners_;
  }
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

  // When each held cluster was withdrawn, by name.
  using Held = std::map<std::string, Clock::time_point>;
  // Adds to `merged` the clusters the last commit served that it lacks and a route in it names,
  // unless their hold has run out by `now` (those go to `expired`).
  void holdWithdrawnClusters(config::v1::Bootstrap* merged, Clock::time_point now, Held* held,
                             std::vector<std::string>* expired) const;

  // What serves in `merged`: the dynamic listeners with the route configurations they use, and
  // the dynamic clusters.
  struct Serving {
    std::map<std::string, config::v1::Listener> listeners;
    std::map<std::string, config::v1::RouteConfiguration> routes;
    std::map<std::string, config::v1::Cluster> clusters;
  };
  Serving collectServing(const config::v1::Bootstrap& merged) const;

  config::v1::Bootstrap bootstrap_;
  std::chrono::milliseconds hold_timeout_;
  std::map<std::string, ByName> by_type_;
  std::vector<std::string> warming_;
  std::vector<config::v1::Listener> warming_listeners_;
  Held held_;
  // What serves since the last commit (see the top): kept for listeners that warm again and
  // for clusters withdrawn under a route.
  Serving serving_;
  // From the last tryApply(), for commit().
  std::string pending_type_;
  ByName pending_;
  std::vector<std::string> pending_warming_;
  std::vector<config::v1::Listener> pending_warming_listeners_;
  Held pending_held_;
  std::vector<std::string> pending_expired_;
  Serving pending_serving_;
  bool has_pending_ = false;
};

}  // namespace portico::server
