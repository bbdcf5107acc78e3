#pragma once

// The resource types of the discovery protocol, and the name each resource carries itself
// (Cluster, Listener, RouteConfiguration: `name`; ClusterLoadAssignment: `cluster_name`).

#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"

namespace portico::xds {

inline constexpr char kClusterType[] = "type.googleapis.com/portico.config.v1.Cluster";
inline constexpr char kEndpointType[] =
    "type.googleapis.com/portico.config.v1.ClusterLoadAssignment";
inline constexpr char kListenerType[] = "type.googleapis.com/portico.config.v1.Listener";
inline constexpr char kRouteType[] = "type.googleapis.com/portico.config.v1.RouteConfiguration";

// The resource's own name, or an error if `resource` is not a `type_url` resource (another
// type, an unknown type, or bytes that do not parse).
absl::StatusOr<std::string> resourceName(const std::string& type_url,
                                         const google::protobuf::Any& resource);

}  // namespace portico::xds
