#include "source/control_plane/store/resource.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "portico/config/v1/cluster.pb.h"
#include "portico/config/v1/listener.pb.h"
#include "portico/config/v1/route.pb.h"

namespace portico::control_plane {

absl::string_view kindName(Kind kind) {
  switch (kind) {
    case Kind::kCluster:
      return "Cluster";
    case Kind::kClusterLoadAssignment:
      return "ClusterLoadAssignment";
    case Kind::kListener:
      return "Listener";
    case Kind::kRouteConfiguration:
      return "RouteConfiguration";
  }
  return "";
}

absl::string_view typeUrl(Kind kind) {
  switch (kind) {
    case Kind::kCluster:
      return "type.googleapis.com/portico.config.v1.Cluster";
    case Kind::kClusterLoadAssignment:
      return "type.googleapis.com/portico.config.v1.ClusterLoadAssignment";
    case Kind::kListener:
      return "type.googleapis.com/portico.config.v1.Listener";
    case Kind::kRouteConfiguration:
      return "type.googleapis.com/portico.config.v1.RouteConfiguration";
  }
  return "";
}

absl::StatusOr<Kind> parseKind(absl::string_view text) {
  const std::string t = absl::AsciiStrToLower(text);
  if (t == "cluster" || t == "clusters") return Kind::kCluster;
  if (t == "clusterloadassignment" || t == "clusterloadassignments" || t == "cla" ||
      t == "endpoints") {
    return Kind::kClusterLoadAssignment;
  }
  if (t == "listener" || t == "listeners") return Kind::kListener;
  if (t == "routeconfiguration" || t == "routeconfigurations" || t == "route" || t == "routes") {
    return Kind::kRouteConfiguration;
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown kind '", text, "' (Cluster, ClusterLoadAssignment, Listener, RouteConfiguration)"));
}

absl::StatusOr<Kind> kindFromTypeUrl(absl::string_view type_url) {
  for (Kind k : kAllKinds) {
    if (typeUrl(k) == type_url) return k;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown type_url '", type_url, "'"));
}

std::unique_ptr<google::protobuf::Message> newMessage(Kind kind) {
  switch (kind) {
    case Kind::kCluster:
      return std::make_unique<config::v1::Cluster>();
    case Kind::kClusterLoadAssignment:
      return std::make_unique<config::v1::ClusterLoadAssignment>();
    case Kind::kListener:
      return std::make_unique<config::v1::Listener>();
    case Kind::kRouteConfiguration:
      return std::make_unique<config::v1::RouteConfiguration>();
  }
  return nullptr;
}

bool Targets::matches(const config::v1::Node& node) const {
  if (!cluster.empty() && node.cluster() != cluster) return false;
  for (const auto& [k, v] : labels) {
    auto it = node.metadata().find(k);
    if (it == node.metadata().end() || it->second != v) return false;
  }
  return true;
}

bool Targets::covers(const Targets& other) const {
  if (!cluster.empty() && cluster != other.cluster) return false;
  for (const auto& [k, v] : labels) {
    auto it = other.labels.find(k);
    if (it == other.labels.end() || it->second != v) return false;
  }
  return true;
}

bool Targets::overlaps(const Targets& other) const {
  if (!cluster.empty() && !other.cluster.empty() && cluster != other.cluster) return false;
  for (const auto& [k, v] : labels) {
    auto it = other.labels.find(k);
    if (it != other.labels.end() && it->second != v) return false;
  }
  return true;
}

std::string Targets::key() const {
  std::string out;
  if (!cluster.empty()) absl::StrAppend(&out, "cluster=", cluster);
  for (const auto& [k, v] : labels) {
    absl::StrAppend(&out, out.empty() ? "" : ",", k, "=", v);
  }
  return out;
}

std::string specName(Kind kind, const google::protobuf::Message& spec) {
  switch (kind) {
    case Kind::kCluster:
      return static_cast<const config::v1::Cluster&>(spec).name();
    case Kind::kClusterLoadAssignment:
      return static_cast<const config::v1::ClusterLoadAssignment&>(spec).cluster_name();
    case Kind::kListener:
      return static_cast<const config::v1::Listener&>(spec).name();
    case Kind::kRouteConfiguration:
      return static_cast<const config::v1::RouteConfiguration&>(spec).name();
  }
  return "";
}

std::string contentHash(absl::string_view data) {
  uint64_t h = 14695981039346656037ull;  // FNV-1a: stable across processes and builds
  for (unsigned char c : data) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return absl::StrFormat("%016x", h);
}

ResourceConstSharedPtr makeResource(Kind kind, Targets targets,
                                    std::shared_ptr<const google::protobuf::Message> spec,
                                    std::string origin) {
  auto r = std::make_shared<Resource>();
  r->kind = kind;
  r->name = specName(kind, *spec);
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    spec->SerializeToCodedStream(&out);
  }
  // Length-prefixed, so no two different target sets hash alike (key() is for reading).
  std::string content =
      absl::StrCat(bytes.size(), ":", bytes, targets.cluster.size(), ":", targets.cluster);
  for (const auto& [k, v] : targets.labels) {
    absl::StrAppend(&content, k.size(), ":", k, v.size(), ":", v);
  }
  r->version = contentHash(content);
  r->targets = std::move(targets);
  r->spec = std::move(spec);
  r->origin = std::move(origin);
  return r;
}

}  // namespace portico::control_plane
