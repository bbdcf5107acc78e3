#pragma once

// The control plane's unit of desired state: one typed resource (a config proto), its name, the
// group of nodes it targets and a content version. Value types only; no I/O.

#include <map>
#include <memory>
#include <string>

#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "portico/config/v1/core.pb.h"

namespace portico::control_plane {

// In push order: clusters and their endpoints before the listeners and routes that use them.
enum class Kind {
  kCluster = 0,
  kClusterLoadAssignment = 1,
  kListener = 2,
  kRouteConfiguration = 3
};
inline constexpr int kKindCount = 4;
inline constexpr Kind kAllKinds[kKindCount] = {Kind::kCluster, Kind::kClusterLoadAssignment,
                                               Kind::kListener, Kind::kRouteConfiguration};

// "Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration".
absl::string_view kindName(Kind kind);
// "type.googleapis.com/portico.config.v1.Cluster", ...
absl::string_view typeUrl(Kind kind);
// Accepts the kind name in any case, plurals ("clusters") and short forms ("cla", "routes").
absl::StatusOr<Kind> parseKind(absl::string_view text);
absl::StatusOr<Kind> kindFromTypeUrl(absl::string_view type_url);
// A new, empty message of the kind's proto type.
std::unique_ptr<google::protobuf::Message> newMessage(Kind kind);

// Which nodes a resource is for. Empty: every node. Otherwise a node matches when its
// node.cluster equals `cluster` (if set) and its node.metadata has every label in `labels`.
struct Targets {
  std::string cluster;
  absl::btree_map<std::string, std::string> labels;

  bool empty() const { return cluster.empty() && labels.empty(); }
  bool matches(const config::v1::Node& node) const;
  // True when every node that `other` matches is also matched by this (used to check that a
  // route's clusters reach every node the route reaches).
  bool covers(const Targets& other) const;
  // True when some node could match both (one proxy would get both resources).
  bool overlaps(const Targets& other) const;
  // Stable text form, e.g. "cluster=edge,region=eu" ("" when empty).
  std::string key() const;
  bool operator==(const Targets& o) const { return cluster == o.cluster && labels == o.labels; }
};

struct Resource {
  Kind kind = Kind::kCluster;
  std::string name;
  Targets targets;
  std::shared_ptr<const google::protobuf::Message> spec;
  // Hash of the deterministic serialization of spec and targets: equal content, equal version,
  // on every control-plane instance serving the same store.
  std::string version;
  // Where it came from: "file.yaml#2" (document index) or "api".
  std::string origin;
};
using ResourceConstSharedPtr = std::shared_ptr<const Resource>;

// Key (kind, name). Names are unique per kind across the whole store.
using ResourceKey = std::pair<Kind, std::string>;
using ResourceMap = std::map<ResourceKey, ResourceConstSharedPtr>;

// The name a resource's spec declares (Cluster.name, ClusterLoadAssignment.cluster_name, ...).
std::string specName(Kind kind, const google::protobuf::Message& spec);
// Builds a Resource, computing name and version. `spec` must be of the kind's type.
ResourceConstSharedPtr makeResource(Kind kind, Targets targets,
                                    std::shared_ptr<const google::protobuf::Message> spec,
                                    std::string origin);
// 16 hex digits of a 64-bit hash of `data`.
std::string contentHash(absl::string_view data);

}  // namespace portico::control_plane
