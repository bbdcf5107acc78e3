#pragma once

// The AggregatedDiscoveryService on grpc++'s callback API: no thread per stream; gRPC's own
// pool (sized to the cores) runs every stream's reactions.

#include <atomic>

#include "portico/service/discovery/v1/discovery.grpc.pb.h"
#include "source/control_plane/cache/snapshot_cache.h"
#include "source/control_plane/server/stream_callbacks.h"

namespace portico::control_plane {

class AdsService : public service::discovery::v1::AggregatedDiscoveryService::CallbackService {
 public:
  AdsService(SnapshotCache& cache, StreamCallbacks& callbacks)
      : cache_(cache), callbacks_(callbacks) {}

  // AggregatedDiscoveryService::CallbackService
  grpc::ServerBidiReactor<service::discovery::v1::DiscoveryRequest,
                          service::discovery::v1::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<service::discovery::v1::DeltaDiscoveryRequest,
                          service::discovery::v1::DeltaDiscoveryResponse>*
  DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

 private:
  SnapshotCache& cache_;
  StreamCallbacks& callbacks_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace portico::control_plane
