#include "source/xds/resource_types.h"

#include "absl/strings/str_cat.h"
#include "portico/config/v1/cluster.pb.h"
#include "portico/config/v1/listener.pb.h"
#include "portico/config/v1/route.pb.h"

namespace portico::xds {

absl::StatusOr<std::string> resourceName(const std::string& type_url,
                                         const google::protobuf::Any& resource) {
  if (resource.type_url() != type_url) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource of type ", resource.type_url(), " in a ", type_url, " response"));
  }
  auto unpack = [&](auto& message) -> bool { return resource.UnpackTo(&message); };
  if (type_url == kClusterType) {
    config::v1::Cluster m;
    if (unpack(m)) return m.name();
  } else if (type_url == kListenerType) {
    config::v1::Listener m;
    if (unpack(m)) return m.name();
  } else if (type_url == kRouteType) {
    config::v1::RouteConfiguration m;
    if (unpack(m)) return m.name();
  } else if (type_url == kEndpointType) {
    config::v1::ClusterLoadAssignment m;
    if (unpack(m)) return m.cluster_name();
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown resource type ", type_url));
  }
  return absl::InvalidArgumentError("unparsable resource");
}

}  // namespace portico::xds
