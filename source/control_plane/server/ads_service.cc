#include "source/control_plane/server/ads_service.h"

#include "source/control_plane/server/delta_stream.h"
#include "source/control_plane/server/sotw_stream.h"

namespace portico::control_plane {

grpc::ServerBidiReactor<service::discovery::v1::DiscoveryRequest,
                        service::discovery::v1::DiscoveryResponse>*
AdsService::StreamAggregatedResources(grpc::CallbackServerContext* context) {
  auto* stream =
      new SotwStream(context, cache_, callbacks_, next_id_++);  // deletes itself in OnDone
  stream->start();
  return stream;
}

grpc::ServerBidiReactor<service::discovery::v1::DeltaDiscoveryRequest,
                        service::discovery::v1::DeltaDiscoveryResponse>*
AdsService::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  auto* stream = new DeltaStream(context, cache_, callbacks_, next_id_++);
  stream->start();
  return stream;
}

}  // namespace portico::control_plane
