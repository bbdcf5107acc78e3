#pragma once

// State-of-the-world stream: every response carries all resources of its type for the proxy,
// versioned by the hash of their names and versions. A request whose response_nonce is the
// nonce in flight ACKs it (version_info echoed) or NACKs it (error_detail set, previous
// version_info); other nonces are stale and ignored. A first request of a type subscribes to it
// (resource_names, empty = all); a non-empty version_info on it is the version the proxy
// already holds after a reconnect, and nothing is resent when it is current.

#include "portico/service/discovery/v1/discovery.grpc.pb.h"
#include "source/control_plane/server/ads_stream.h"

namespace portico::control_plane {

class SotwStream : public AdsStream<service::discovery::v1::DiscoveryRequest,
                                    service::discovery::v1::DiscoveryResponse> {
 public:
  SotwStream(grpc::CallbackServerContext* context, SnapshotCache& cache, StreamCallbacks& callbacks,
             StreamSlots& slots, uint64_t id)
      : AdsStream(context, cache, callbacks, slots, id, /*delta=*/false) {}

 protected:
  grpc::Status handleRequest(const service::discovery::v1::DiscoveryRequest& request) override;
  void fillResponse(const Push& push, service::discovery::v1::DiscoveryResponse& out) override;
};

}  // namespace portico::control_plane
