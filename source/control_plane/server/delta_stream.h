#pragma once

// Incremental (delta) stream: responses carry only new and changed resources (each with its
// own version) and the names removed; subscriptions change with resource_names_subscribe /
// _unsubscribe ("*" or a first request without names = wildcard). On reconnect the proxy
// lists what it holds in initial_resource_versions and only differences are sent. ACK = a
// request echoing the nonce; NACK = the same with error_detail.

#include "portico/service/discovery/v1/discovery.grpc.pb.h"
#include "source/control_plane/server/ads_stream.h"

namespace portico::control_plane {

class DeltaStream : public AdsStream<service::discovery::v1::DeltaDiscoveryRequest,
                                     service::discovery::v1::DeltaDiscoveryResponse> {
 public:
  DeltaStream(grpc::CallbackServerContext* context, SnapshotCache& cache,
              StreamCallbacks& callbacks, StreamSlots& slots, uint64_t id)
      : AdsStream(context, cache, callbacks, slots, id, /*delta=*/true) {}

 protected:
  grpc::Status handleRequest(const service::discovery::v1::DeltaDiscoveryRequest& request) override;
  void fillResponse(const Push& push, service::discovery::v1::DeltaDiscoveryResponse& out) override;
};

}  // namespace portico::control_plane
