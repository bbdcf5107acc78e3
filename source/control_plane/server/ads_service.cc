#include "source/control_plane/server/ads_service.h"

#include "absl/strings/str_cat.h"
#include "source/control_plane/server/delta_stream.h"
#include "source/control_plane/server/sotw_stream.h"

namespace portico::control_plane {
namespace {

using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;

// A stream over the limit: ends at once with `status`, reading nothing.
template <class Request, class Response>
class RefusedStream : public grpc::ServerBidiReactor<Request, Response> {
 public:
  explicit RefusedStream(const grpc::Status& status) { this->Finish(status); }
  void OnDone() override { delete this; }
};

}  // namespace

grpc::Status AdsService::refusal() const {
  callbacks_.onStreamRefused();
  return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                      absl::StrCat("this control plane serves at most ", slots_.limit(),
                                   " discovery streams at once (--max-streams); retry later"));
}

grpc::ServerBidiReactor<DiscoveryRequest, DiscoveryResponse>* AdsService::StreamAggregatedResources(
    grpc::CallbackServerContext* context) {
  if (!slots_.tryTake()) return new RefusedStream<DiscoveryRequest, DiscoveryResponse>(refusal());
  // Deletes itself in OnDone, and gives its slot back.
  auto* stream = new SotwStream(context, cache_, callbacks_, slots_, next_id_++);
  stream->start();
  return stream;
}

grpc::ServerBidiReactor<DeltaDiscoveryRequest, DeltaDiscoveryResponse>*
AdsService::DeltaAggregatedResources(grpc::CallbackServerContext* context) {
  if (!slots_.tryTake()) {
    return new RefusedStream<DeltaDiscoveryRequest, DeltaDiscoveryResponse>(refusal());
  }
  auto* stream = new DeltaStream(context, cache_, callbacks_, slots_, next_id_++);
  stream->start();
  return stream;
}

}  // namespace portico::control_plane
