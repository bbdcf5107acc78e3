#include "source/control_plane/server/delta_stream.h"

#include "absl/strings/str_cat.h"

namespace portico::control_plane {

grpc::Status DeltaStream::handleRequest(
    const service::discovery::v1::DeltaDiscoveryRequest& request) {
  auto kind = kindFromTypeUrl(request.type_url());
  if (!kind.ok()) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, std::string(kind.status().message()));
  }
  TypeState& t = state().type(*kind);
  if (!request.response_nonce().empty()) {
    const bool nack = request.has_error_detail();
    const std::string acked_before = t.acked_version;
    const std::string sent = t.pending_version;
    switch (state().onReply(*kind, request.response_nonce(), nack)) {
      case ReplyKind::kAck:
        callbacks().onAck(id(), *kind, sent);
        break;
      case ReplyKind::kNack:
        callbacks().onNack(id(), *kind, acked_before, request.error_detail().message());
        break;
      case ReplyKind::kStale:
        break;
    }
  }
  const bool first = !t.subscribed;
  // What the proxy says it holds becomes state kept for the stream's life (each entry can be
  // a removal to send): bounded as the subscriptions are, not only by the message size.
  if (first && static_cast<size_t>(request.initial_resource_versions_size()) > kMaxNamesPerType) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("more than ", kMaxNamesPerType,
                                     " initial_resource_versions for ", request.type_url()));
  }
  if (first) {
    size_t bytes = 0;
    for (const auto& [name, version] : request.initial_resource_versions()) {
      bytes += name.size() + version.size();
    }
    if (bytes > kMaxNameBytesPerType) {
      return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                          absl::StrCat("initial_resource_versions for ", request.type_url(),
                                       " over ", kMaxNameBytesPerType, " bytes in all"));
    }
  }
  if (first && view() != nullptr && !request.initial_resource_versions().empty()) {
    std::map<std::string, std::string> versions(request.initial_resource_versions().begin(),
                                                request.initial_resource_versions().end());
    state().resumeDelta(*kind, versions, *view());
  }
  state().deltaSubscribe(
      *kind, {request.resource_names_subscribe().begin(), request.resource_names_subscribe().end()},
      {request.resource_names_unsubscribe().begin(), request.resource_names_unsubscribe().end()},
      first);
  // Subscriptions add up across requests: the total is bounded, not one request (which the
  // gRPC message size already bounds).
  if (t.names.size() > kMaxNamesPerType) {
    return grpc::Status(
        grpc::StatusCode::RESOURCE_EXHAUSTED,
        absl::StrCat("more than ", kMaxNamesPerType, " resource names for ", request.type_url()));
  }
  if (t.names_bytes > kMaxNameBytesPerType) {
    return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                        absl::StrCat("resource names for ", request.type_url(), " over ",
                                     kMaxNameBytesPerType, " bytes in all"));
  }
  return grpc::Status::OK;
}

void DeltaStream::fillResponse(const Push& push,
                               service::discovery::v1::DeltaDiscoveryResponse& out) {
  out.set_system_version_info(push.version);
  out.set_type_url(std::string(typeUrl(push.kind)));
  out.set_nonce(push.nonce);
  for (const auto& r : push.resources) {
    auto* res = out.add_resources();
    res->set_name(r->name());
    res->set_version(r->version());
    *res->mutable_resource() = r->any;
  }
  for (const auto& name : push.removed) out.add_removed_resources(name);
}

}  // namespace portico::control_plane
