#include "source/control_plane/server/sotw_stream.h"

#include "absl/strings/str_cat.h"

namespace portico::control_plane {

grpc::Status SotwStream::handleRequest(const service::discovery::v1::DiscoveryRequest& request) {
  auto kind = kindFromTypeUrl(request.type_url());
  if (!kind.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(kind.status().message()));
  }
  if (static_cast<size_t>(request.resource_names_size()) > kMaxNamesPerType) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("more than ", kMaxNamesPerType, " resource names for ", request.type_url()));
  }
  TypeState& t = state().type(*kind);
  if (!request.response_nonce().empty()) {
    const bool nack = request.has_error_detail();
    switch (state().onReply(*kind, request.response_nonce(), nack)) {
      // The fleet view records what the server knows the proxy holds (the version it sent and
      // saw ACKed), not the version_info a client claims.
      case ReplyKind::kAck:
        callbacks().onAck(id(), *kind, t.acked_version);
        break;
      case ReplyKind::kNack:
        callbacks().onNack(id(), *kind, t.acked_version, request.error_detail().message());
        break;
      case ReplyKind::kStale:
        break;
    }
  }
  const bool first = !t.subscribed;
  state().setSotwNames(*kind, {request.resource_names().begin(), request.resource_names().end()});
  if (t.names_bytes > kMaxNameBytesPerType) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("resource names for ", request.type_url(), " over ",
                                     kMaxNameBytesPerType, " bytes in all"));
  }
  if (first && request.response_nonce().empty() && view() != nullptr) {
    state().resumeSotw(*kind, request.version_info(), *view());
    if (t.ever_sent) callbacks().onAck(id(), *kind, request.version_info());
  }
  return grpc::Status::OK;
}

void SotwStream::fillResponse(const Push& push, service::discovery::v1::DiscoveryResponse& out) {
  out.set_version_info(push.version);
  out.set_type_url(std::string(typeUrl(push.kind)));
  out.set_nonce(push.nonce);
  for (const auto& r : push.resources) *out.add_resources() = r->any;
}

}  // namespace portico::control_plane
