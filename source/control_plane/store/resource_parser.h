#pragma once

// The store's file format: YAML (or JSON, which is YAML) documents separated by `---` lines,
// each a wrapper around one resource:
//
//   kind: Cluster                      # Cluster | ClusterLoadAssignment | Listener |
//   targets: {cluster: edge,           #   RouteConfiguration
//             labels: {region: eu}}    # optional; absent = every node
//   spec: {name: backend, ...}         # the resource proto, proto3 JSON mapping
//
// Scalars follow the data plane's YAML -> JSON rules (source/common/config/yaml_to_json.h),
// so a spec reads exactly like the same object in a bootstrap file.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "source/control_plane/store/resource.h"

namespace portico::control_plane {

// Parses every document of `text`. `origin` names the source in errors and in each
// Resource's origin ("file.yaml" -> "file.yaml#1", "file.yaml#2" ...). Errors are
// InvalidArgument: "<origin>#<doc>: <field path>: <message>". Empty documents are skipped.
absl::StatusOr<std::vector<ResourceConstSharedPtr>> parseResources(const std::string& text,
                                                                   absl::string_view origin);

// Parses one document whose kind is known from elsewhere (the REST path). The document may be
// the full wrapper (its kind must then agree) or just {targets, spec}.
absl::StatusOr<ResourceConstSharedPtr> parseResourceWithKind(const std::string& text, Kind kind,
                                                             absl::string_view origin);

// The wrapper as one line of JSON (snake_case field names): {"kind":..,"targets":..,"spec":..}.
std::string resourceToJson(const Resource& resource, bool pretty = false);
// The spec alone as JSON.
std::string specToJson(const google::protobuf::Message& spec, bool pretty = false);
// Documents joined by "---\n", as written to the store's files.
std::string resourcesToFileText(const std::vector<ResourceConstSharedPtr>& resources);

}  // namespace portico::control_plane
