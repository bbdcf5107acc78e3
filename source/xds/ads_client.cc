#include "source/xds/ads_client.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"

namespace portico::xds {

namespace {
constexpr char kSotwMethod[] =
    "/portico.service.discovery.v1.AggregatedDiscoveryService/StreamAggregatedResources";
constexpr char kDeltaMethod[] =
    "/portico.service.discovery.v1.AggregatedDiscoveryService/DeltaAggregatedResources";
constexpr std::chrono::milliseconds kInitialBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
// Make-before-break: what is used before what uses it (clusters, endpoints, routes,
// listeners), so that a server that pushes in the order of subscriptions can wait for each
// dependency's ACK (a listener subscribed before routes would go out before its routes).
constexpr const char* kSubscriptionOrder[] = {kClusterType, kEndpointType, kRouteType,
                                              kListenerType};
constexpr int kInvalidArgument = 3;

// A response's own fields, echoed in our answer and kept (the version): a response with one
// longer than this is not used, since its answer could exceed what we send.
constexpr size_t kMaxEchoedFieldBytes = 4096;

// Which of `response`'s echoed fields is over kMaxEchoedFieldBytes, or "" when none is.
template <class Response>
std::string oversizedField(const Response& response, const std::string& version) {
  if (response.type_url().size() > kMaxEchoedFieldBytes) return "type_url";
  if (response.nonce().size() > kMaxEchoedFieldBytes) return "nonce";
  if (version.size() > kMaxEchoedFieldBytes) return "version";
  return "";
}
}  // namespace

std::string boundedErrorText(absl::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) cut--;
  return absl::StrCat(text.substr(0, cut), "... (", text.size() - cut, " more bytes)");
}

AdsClient::AdsClient(event::Dispatcher& dispatcher, std::vector<network::Address> servers,
                     config::v1::Node node, ConfigApplier& applier, bool delta,
                     StreamOptions stream_options, std::chrono::milliseconds initial_fetch_timeout)
    : dispatcher_(dispatcher),
      servers_(std::move(servers)),
      node_(std::move(node)),
      applier_(applier),
      backoff_(kInitialBackoff),
      rng_(std::random_device{}()),
      delta_(delta),
      stream_options_(std::move(stream_options)) {
  initial_fetch_timeout_ = initial_fetch_timeout;
  for (const char* type : kSubscriptionOrder) types_[type];
}

AdsClient::~AdsClient() = default;

void AdsClient::start() {
  retry_timer_ = dispatcher_.createTimer([this] { connect(); });
  connect();
}

void AdsClient::connect() {
  if (servers_.empty()) return;
  stream_accepted_ = false;
  stream_aborted_ = false;
  const network::Address& server = servers_[next_server_++ % servers_.size()];
  current_server_ = server.asString();
  stream_ = std::make_unique<GrpcStream>(dispatcher_, server, delta_ ? kDeltaMethod : kSotwMethod,
                                         *this, stream_options_);
  stream_->start();
}

void AdsClient::onStreamReady() {
  PORTICO_LOG(kInfo, "xds: connected to %s", current_server_);
  bool accepted_before = false;
  for (const auto& [type, state] : types_) accepted_before = accepted_before || state.acks > 0;
  if (!accepted_before && initial_fetch_timeout_.count() > 0) {
    // Past the set-up (TCP, TLS, HTTP/2 SETTINGS, which a server sends from its transport
    // threads) nothing else shows a handler that never answers.
    if (first_response_timer_ == nullptr) {
      first_response_timer_ = dispatcher_.createTimer([this] { onFirstResponseTimeout(); });
    }
    first_response_timer_->enableTimer(initial_fetch_timeout_);
  }
  // Resubscribe with what we hold: the server can skip resending unchanged types.
  bool first = true;
  for (const char* type : kSubscriptionOrder) {
    if (delta_) {
      sendDeltaRequest(type, "", "", /*initial=*/true);
      continue;
    }
    service::discovery::v1::DiscoveryRequest request;
    request.set_type_url(type);
    request.set_version_info(types_[type].accepted_version);
    if (first) {
      *request.mutable_node() = node_;
      first = false;
    }
    stream_->send(request);
  }
}

void AdsClient::sendRequest(const std::string& type_url, const std::string& version,
                            const std::string& nonce, const std::string& error) {
  if (stream_ == nullptr) return;  // responses replayed without a stream (fuzzing) need no answer
  service::discovery::v1::DiscoveryRequest request;
  request.set_type_url(type_url);
  request.set_version_info(version);
  request.set_response_nonce(nonce);
  if (!error.empty()) {
    request.mutable_error_detail()->set_code(kInvalidArgument);
    request.mutable_error_detail()->set_message(boundedErrorText(error));
  }
  noteAnswer(nonce, error);
  stream_->send(request);
}

void AdsClient::noteAnswer(const std::string& nonce, const std::string& error) {
  // The reconnect backoff starts over only after a stream on which we accepted a response
  // (see onStreamClosed): a control plane that sends garbage (or config we refuse) and drops
  // the stream keeps being backed off from.
  if (!nonce.empty() && error.empty()) stream_accepted_ = true;
}

void AdsClient::sendDeltaRequest(const std::string& type_url, const std::string& nonce,
                                 const std::string& error, bool initial) {
  if (stream_ == nullptr) return;
  service::discovery::v1::DeltaDiscoveryRequest request;
  request.set_type_url(type_url);
  request.set_response_nonce(nonce);
  if (initial) {
    // Wildcard subscription; on reconnect, what we hold so unchanged resources are not resent.
    if (type_url == kClusterType) *request.mutable_node() = node_;
    for (const auto& [name, held] : types_[type_url].resources) {
      (*request.mutable_initial_resource_versions())[name] = held.first;
    }
  }
  if (!error.empty()) {
    request.mutable_error_detail()->set_code(kInvalidArgument);
    request.mutable_error_detail()->set_message(boundedErrorText(error));
  }
  noteAnswer(nonce, error);
  stream_->send(request);
}

void AdsClient::onFirstResponseTimeout() {
  if (stream_ == nullptr) return;
  const std::string error = absl::StrCat("no response within ", initial_fetch_timeout_.count(),
                                         " ms (initial_fetch_timeout); trying the next address");
  PORTICO_LOG(kWarn, "xds: %s: %s", current_server_, error);
  stream_->abort(kGrpcUnavailable, error);
}

void AdsClient::onMessage(absl::string_view message) {
  if (first_response_timer_ != nullptr) first_response_timer_->disableTimer();
  if (delta_) {
    onDeltaResponse(message);
  } else {
    onSotwResponse(message);
  }
}

absl::Status AdsClient::apply(TypeState& state, const std::string& type_url,
                              const std::vector<google::protobuf::Any>& resources,
                              const std::string& version) {
  absl::Status status = applier_.applyResources(type_url, resources, version);
  if (status.ok()) {
    state.accepted_version = version;
    state.last_error.clear();
    state.acks++;
  } else {
    reject(state, type_url, version, status.message());
  }
  return status;
}

void AdsClient::reject(TypeState& state, const std::string& type_url, const std::string& version,
                       absl::string_view error) {
  state.last_error = std::string(error);
  state.last_error_time = std::chrono::system_clock::now();
  state.nacks++;
  PORTICO_LOG(kWarn, "xds: rejected %s version %s: %s", type_url, version, state.last_error);
}

void AdsClient::abortUnparsable(absl::string_view what, size_t bytes) {
  abortStream(absl::StrCat("unparsable ", what, " (", bytes, " bytes)"));
}

void AdsClient::abortStream(const std::string& error) {
  // Neither ACK nor NACK can answer it (no nonce to echo, or one we will not echo): start the
  // stream over, as Envoy does, or the server waits for an answer to it forever.
  PORTICO_LOG(kWarn, "xds: %s", error);
  if (stream_ != nullptr) {
    stream_aborted_ = true;  // no quick reconnect into the same response
    stream_->abort(kGrpcInternal, error);
  }
}

void AdsClient::onDeltaResponse(absl::string_view message) {
  service::discovery::v1::DeltaDiscoveryResponse response;
  if (!response.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    abortUnparsable("DeltaDiscoveryResponse", message.size());
    return;
  }
  if (std::string field = oversizedField(response, response.system_version_info());
      !field.empty()) {
    abortStream(absl::StrCat("a DeltaDiscoveryResponse whose ", field, " is over ",
                             kMaxEchoedFieldBytes, " bytes"));
    return;
  }
  auto it = types_.find(response.type_url());
  if (it == types_.end()) {
    sendDeltaRequest(
        response.type_url(), response.nonce(),
        absl::StrCat("unknown resource type ", boundedErrorText(response.type_url(), 256)), false);
    return;
  }
  TypeState& state = it->second;
  state.last_nonce = response.nonce();
  // A resource is known by the name it is sent under (removals and initial versions use it),
  // and configured under its own: they must agree, or a later removal of the sent name would
  // leave the configured one behind.
  absl::flat_hash_set<std::string> sent;
  for (int i = 0; i < response.resources_size(); i++) {
    const service::discovery::v1::Resource& r = response.resources(i);
    absl::StatusOr<std::string> own = resourceName(response.type_url(), r.resource());
    std::string error;
    // Named here, by its place in this response: apply() sees the merged set.
    if (r.name().size() > kMaxEchoedFieldBytes || r.version().size() > kMaxEchoedFieldBytes) {
      // Both are kept and sent back on every reconnect (initial_resource_versions).
      error = absl::StrCat("resources[", i, "]: its ",
                           r.name().size() > kMaxEchoedFieldBytes ? "name" : "version", " is over ",
                           kMaxEchoedFieldBytes, " bytes");
    } else if (!own.ok()) {
      error = absl::StrCat("resources[", i, "] ('", r.name(), "'): ", own.status().message());
    } else if (r.name().empty()) {
      error = absl::StrCat("resources[", i, "]: a resource must be sent under its name");
    } else if (*own != r.name()) {
      error = absl::StrCat("resources[", i, "]: sent as '", r.name(),
                           "' but the resource is named '", *own, "'");
    }
    if (error.empty() && !sent.insert(r.name()).second) {
      error = absl::StrCat("resources[", i, "]: '", r.name(), "' is sent twice");
    }
    if (!error.empty()) {
      reject(state, response.type_url(), response.system_version_info(), error);
      sendDeltaRequest(response.type_url(), response.nonce(), error, false);
      return;
    }
  }
  // Both sent and removed: which one holds is undefined (Envoy refuses it too).
  for (int i = 0; i < response.removed_resources_size(); i++) {
    if (!sent.contains(response.removed_resources(i))) continue;
    const std::string error =
        absl::StrCat("removed_resources[", i, "]: '", response.removed_resources(i),
                     "' is also among the resources sent");
    reject(state, response.type_url(), response.system_version_info(), error);
    sendDeltaRequest(response.type_url(), response.nonce(), error, false);
    return;
  }
  // The next complete set: what we hold, plus changes, minus removals. Applied as a whole so
  // validation sees references across resources; kept only if accepted.
  auto next = state.resources;
  for (const auto& r : response.resources()) next[r.name()] = {r.version(), r.resource()};
  for (const std::string& name : response.removed_resources()) next.erase(name);
  std::vector<google::protobuf::Any> resources;
  resources.reserve(next.size());
  for (const auto& [name, held] : next) resources.push_back(held.second);
  absl::Status status =
      apply(state, response.type_url(), resources, response.system_version_info());
  if (status.ok()) state.resources = std::move(next);
  sendDeltaRequest(response.type_url(), response.nonce(),
                   status.ok() ? "" : std::string(status.message()), false);
}

void AdsClient::onSotwResponse(absl::string_view message) {
  service::discovery::v1::DiscoveryResponse response;
  if (!response.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    abortUnparsable("DiscoveryResponse", message.size());
    return;
  }
  if (std::string field = oversizedField(response, response.version_info()); !field.empty()) {
    abortStream(absl::StrCat("a DiscoveryResponse whose ", field, " is over ", kMaxEchoedFieldBytes,
                             " bytes"));
    return;
  }
  auto it = types_.find(response.type_url());
  if (it == types_.end()) {
    // A type we did not ask for: NACK it so the server sees the problem.
    sendRequest(response.type_url(), "", response.nonce(),
                absl::StrCat("unknown resource type ", boundedErrorText(response.type_url(), 256)));
    return;
  }
  TypeState& state = it->second;
  state.last_nonce = response.nonce();
  std::vector<google::protobuf::Any> resources(response.resources().begin(),
                                               response.resources().end());
  absl::Status status = apply(state, response.type_url(), resources, response.version_info());
  // ACK echoes the new version; NACK echoes the nonce with the version we keep.
  sendRequest(response.type_url(), state.accepted_version, response.nonce(),
              status.ok() ? "" : std::string(status.message()));
}

void AdsClient::onStreamClosed(int grpc_status, absl::string_view message) {
  PORTICO_LOG(kWarn, "xds: stream to %s closed (grpc-status %d: %s); keeping the last good config",
              current_server_, grpc_status, std::string(message));
  // Deleting the stream here is safe: this callback was posted, not called from inside it.
  // A stream we ended ourselves (a bad frame or message, requests the server does not take)
  // earns no quick reconnect either: the server would likely send the same again.
  if (first_response_timer_ != nullptr) first_response_timer_->disableTimer();
  const bool ended_locally = stream_ != nullptr && stream_->endedLocally();
  stream_.reset();
  if (stream_accepted_ && !stream_aborted_ && !ended_locally) backoff_ = kInitialBackoff;
  scheduleReconnect();
}

void AdsClient::scheduleReconnect() {
  // Full jitter between half and all of the backoff, so a fleet does not reconnect in step.
  std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
  retry_timer_->enableTimer(std::chrono::milliseconds(jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

}  // namespace portico::xds
