#pragma once

// Validation of a whole desired state before anything is served: each resource with the data
// plane's own builders (RouteTable::create, ClusterInfo::create), then references across
// resources (a route naming an unknown cluster, a listener naming an unknown route
// configuration, endpoints for an unknown cluster), honouring targets: a referenced resource
// must reach every node the referring one reaches.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "source/control_plane/store/resource.h"

namespace portico::control_plane {

struct ValidationError {
  std::string resource;  // "Cluster/backend"
  std::string origin;    // "clusters.yaml#2"
  std::string field;     // "spec.load_assignment.endpoints[0].address.port"
  std::string message;   // "70000 is not in 1..65535"
  // "clusters.yaml#2: Cluster/backend: spec.load_...port: 70000 is not in 1..65535"
  std::string toString() const;
};

// Collects resources into a map; two resources with the same kind and name are an error
// naming both origins.
absl::StatusOr<ResourceMap> buildResourceMap(const std::vector<ResourceConstSharedPtr>& list);

// Every problem found (empty: valid).
std::vector<ValidationError> validateResources(const ResourceMap& resources);

// InvalidArgument with one error per line, or Ok.
absl::Status toStatus(const std::vector<ValidationError>& errors);

}  // namespace portico::control_plane
