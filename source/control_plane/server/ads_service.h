#pragma once

// The AggregatedDiscoveryService on grpc++'s callback API: no thread per stream; gRPC's own
// pool (sized to the cores) runs every stream's reactions. At most `max_streams` streams are
// open at once; more are refused with RESOURCE_EXHAUSTED (a proxy retries with backoff).

#include <atomic>
#include <cstddef>

#include "portico/service/discovery/v1/discovery.grpc.pb.h"
#include "source/control_plane/cache/snapshot_cache.h"
#include "source/control_plane/server/stream_callbacks.h"
#include "source/control_plane/server/stream_slots.h"

namespace portico::control_plane {

class AdsService : public service::discovery::v1::AggregatedDiscoveryService::CallbackService {
 public:
  static constexpr size_t kDefaultMaxStreams = 10000;

  AdsService(SnapshotCache& cache, StreamCallbacks& callbacks,
             size_t max_streams = kDefaultMaxStreams)
      : cache_(cache), callbacks_(callbacks), slots_(max_streams) {}

  // AggregatedDiscoveryService::CallbackService
  grpc::ServerBidiReactor<service::discovery::v1::DiscoveryRequest,
                          service::discovery::v1::DiscoveryResponse>*
  StreamAggregatedResources(grpc::CallbackServerContext* context) override;
  grpc::ServerBidiReactor<service::discovery::v1::DeltaDiscoveryRequest,
                          service::discovery::v1::DeltaDiscoveryResponse>*
  DeltaAggregatedResources(grpc::CallbackServerContext* context) override;

  size_t openStreams() const { return slots_.open(); }

 private:
  grpc::Status refusal() const;

  SnapshotCache& cache_;
  StreamCallbacks& callbacks_;
  StreamSlots slots_;
  std::atomic<uint64_t> next_id_{1};
};

}  // namespace portico::control_plane
