#pragma once

// ConfigSnapshot: everything a worker needs, validated and precompiled, immutable. Built on
// the main thread from the bootstrap (and later from control-plane resources), then handed to
// each worker as a shared_ptr. Requests in flight keep the snapshot they started with.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "portico/config/v1/bootstrap.pb.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/network/address.h"
#include "source/common/stats/store.h"
#include "source/upstream/cluster_manager.h"

namespace portico::server {

struct ListenerConfig {
  std::string name;
  network::Address address;
  uint32_t max_connections = 0;  // per worker; 0 = unlimited
  http::HttpConnectionManagerConfigConstSharedPtr http;
};
using ListenerConfigConstSharedPtr = std::shared_ptr<const ListenerConfig>;

// A named route configuration's built table and the serialized config it was built from.
struct NamedRouteTable {
  std::string fingerprint;
  std::shared_ptr<const router::RouteTable> table;
};

struct ConfigSnapshot {
  config::v1::Bootstrap bootstrap;
  std::vector<ListenerConfigConstSharedPtr> listeners;
  upstream::ClusterInfoMap clusters;
  absl::flat_hash_map<std::string, NamedRouteTable> route_tables;  // route_configs by name
  std::chrono::milliseconds drain_timeout{10000};
  // Bootstrap wakeup_coalescing (workers, at start).
  static constexpr std::chrono::microseconds kDefaultWakeupCoalescing{100};
  std::chrono::microseconds wakeup_coalescing = kDefaultWakeupCoalescing;
};
using ConfigSnapshotConstSharedPtr = std::shared_ptr<const ConfigSnapshot>;

// Validates `bootstrap` and builds the snapshot. Errors name the field path, e.g.
// "static_resources.clusters[0].load_assignment.endpoints[1].address.port: 70000 is not in
// 1..65535".
// `previous`, when given, lends its ClusterInfo objects to clusters, and its route tables to
// route configurations, whose config is unchanged (a cluster or listener update does not
// rebuild a 10k-route table).
// Access-log files are opened (created) last, once every field is valid. `open_files` false
// (--validate) only checks that each could be: nothing is created.
// `held_clusters`: clusters the control plane withdrew that DynamicConfig keeps for the route
// tables accepted before; a new or changed table naming one is refused.
using HeldClusters = absl::flat_hash_set<std::string>;
absl::StatusOr<ConfigSnapshotConstSharedPtr> buildConfigSnapshot(
    config::v1::Bootstrap bootstrap, stats::Store& store, const ConfigSnapshot* previous = nullptr,
    bool open_files = true, const HeldClusters* held_clusters = nullptr);

// Files the bootstrap names that are read later, not when a snapshot is built (the control
// plane's CA file, read at each connect): checked by --validate and at startup only, so that
// an xDS update is never refused for a file moved since.
absl::Status checkBootstrapFiles(const config::v1::Bootstrap& bootstrap);

// The socket address a listener binds, however written: "127.0.0.1" and "::ffff:127.0.0.1"
// are one, and so are the two wildcards ([::] is dual-stack). Two listeners with one key
// would share the port's connections (each worker socket has SO_REUSEPORT).
std::string listenAddressKey(const network::Address& address);

// dynamic_resources.cluster_hold_timeout, checked (at most 1h), or its default.
inline constexpr std::chrono::milliseconds kDefaultClusterHoldTimeout{15000};
absl::StatusOr<std::chrono::milliseconds> clusterHoldTimeout(
    const config::v1::Bootstrap& bootstrap);

// dynamic_resources.initial_fetch_timeout, checked (at most 1h), or its default.
inline constexpr std::chrono::milliseconds kDefaultInitialFetchTimeout{15000};
absl::StatusOr<std::chrono::milliseconds> initialFetchTimeout(
    const config::v1::Bootstrap& bootstrap);

}  // namespace portico::server
