#pragma once

// Snapshot: one immutable, versioned, consistent desired state, as served. Each resource is
// packed into a google.protobuf.Any once and shared by every stream that sends it. A node sees
// the resources whose targets match it (NodeView), memoized per distinct targeting outcome, so
// 1000 proxies of three node groups cost three views (up to kMaxCachedViews).

#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "portico/config/v1/core.pb.h"
#include "source/control_plane/store/resource.h"

namespace portico::control_plane {

struct CachedResource {
  ResourceConstSharedPtr resource;
  google::protobuf::Any any;
  // Clusters this resource needs on the proxy first (routes: the clusters they send to;
  // listeners: those of an inline route_config). Sorted, unique.
  std::vector<std::string> cluster_refs;
  // Listeners only: the RouteConfiguration they name, or "".
  std::string route_config_ref;

  const std::string& name() const { return resource->name; }
  const std::string& version() const { return resource->version; }
};
using CachedResourceConstSharedPtr = std::shared_ptr<const CachedResource>;
using CachedMap = std::map<std::string, CachedResourceConstSharedPtr>;

// What one node sees: per kind, the resources targeting it and a version of that set.
struct NodeView {
  std::array<CachedMap, kKindCount> resources;
  // Hash of the names and versions of resources[kind].
  std::array<std::string, kKindCount> versions;
  const CachedMap& of(Kind kind) const { return resources[static_cast<int>(kind)]; }
};
using NodeViewConstSharedPtr = std::shared_ptr<const NodeView>;

class Snapshot;
using SnapshotConstSharedPtr = std::shared_ptr<const Snapshot>;

class Snapshot {
 public:
  // Views memoized per snapshot; further targeting outcomes get a view of their own.
  static constexpr size_t kMaxCachedViews = 256;

  // Builds and checks consistency (consistent()); the input should already be validated.
  static absl::StatusOr<SnapshotConstSharedPtr> create(const ResourceMap& resources);

  // Hash over every resource version: equal stores, equal versions (on any instance).
  const std::string& version() const { return version_; }
  const ResourceMap& resources() const { return resources_; }
  // Thread-safe.
  NodeViewConstSharedPtr viewFor(const config::v1::Node& node) const;
  size_t viewCountForTest() const;

  // Every reference resolves for every node: each node's view holds the clusters its routes
  // and listeners name, and the route configurations its listeners name.
  absl::Status consistent() const;

 private:
  Snapshot() = default;
  NodeViewConstSharedPtr buildView(const std::vector<bool>& matches) const;

  std::string version_;
  ResourceMap resources_;
  std::array<CachedMap, kKindCount> all_;
  // The distinct targets in use, and for each resource the index of its targets.
  std::vector<Targets> targets_;
  absl::flat_hash_map<const CachedResource*, size_t> target_index_;
  mutable std::mutex views_mutex_;
  mutable absl::flat_hash_map<std::vector<bool>, NodeViewConstSharedPtr> views_;
};

// Hash of the names and versions in `map` ("" stays distinguishable from an empty set).
std::string setVersion(const CachedMap& map);

}  // namespace portico::control_plane
