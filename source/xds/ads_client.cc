#include "source/xds/ads_client.h"

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"

namespace portico::xds {

namespace {
constexpr char kMethod[] =
    "/portico.service.discovery.v1.AggregatedDiscoveryService/StreamAggregatedResources";
constexpr std::chrono::milliseconds kInitialBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{10000};
// Make-before-break: clusters and endpoints before the listeners and routes that use them.
constexpr const char* kSubscriptionOrder[] = {kClusterType, kEndpointType, kListenerType,
                                              kRouteType};
constexpr int kInvalidArgument = 3;
}  // namespace

AdsClient::AdsClient(event::Dispatcher& dispatcher, std::vector<network::Address> servers,
                     config::v1::Node node, ConfigApplier& applier)
    : dispatcher_(dispatcher),
      servers_(std::move(servers)),
      node_(std::move(node)),
      applier_(applier),
      backoff_(kInitialBackoff),
      rng_(std::random_device{}()) {
  for (const char* type : kSubscriptionOrder) types_[type];
}

AdsClient::~AdsClient() = default;

void AdsClient::start() {
  retry_timer_ = dispatcher_.createTimer([this] { connect(); });
  connect();
}

void AdsClient::connect() {
  if (servers_.empty()) return;
  const network::Address& server = servers_[next_server_++ % servers_.size()];
  current_server_ = server.asString();
  stream_ = std::make_unique<GrpcStream>(dispatcher_, server, kMethod, *this);
  stream_->start();
}

void AdsClient::onStreamReady() {
  PORTICO_LOG(kInfo, "xds: connected to %s", current_server_);
  // Resubscribe with what we hold: the server can skip resending unchanged types.
  bool first = true;
  for (const char* type : kSubscriptionOrder) {
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
  service::discovery::v1::DiscoveryRequest request;
  request.set_type_url(type_url);
  request.set_version_info(version);
  request.set_response_nonce(nonce);
  if (!error.empty()) {
    request.mutable_error_detail()->set_code(kInvalidArgument);
    request.mutable_error_detail()->set_message(error);
  }
  stream_->send(request);
}

void AdsClient::onMessage(absl::string_view message) {
  service::discovery::v1::DiscoveryResponse response;
  if (!response.ParseFromArray(message.data(), static_cast<int>(message.size()))) {
    PORTICO_LOG(kWarn, "xds: unparsable DiscoveryResponse (%d bytes)",
                static_cast<int>(message.size()));
    return;
  }
  backoff_ = kInitialBackoff;
  auto it = types_.find(response.type_url());
  if (it == types_.end()) {
    // A type we did not ask for: NACK it so the server sees the problem.
    sendRequest(response.type_url(), "", response.nonce(),
                absl::StrCat("unknown resource type ", response.type_url()));
    return;
  }
  TypeState& state = it->second;
  state.last_nonce = response.nonce();
  std::vector<google::protobuf::Any> resources(response.resources().begin(),
                                               response.resources().end());
  absl::Status status = applier_.applyResources(response.type_url(), resources,
                                                response.version_info());
  if (status.ok()) {
    state.accepted_version = response.version_info();
    state.last_error.clear();
    state.acks++;
    sendRequest(response.type_url(), state.accepted_version, response.nonce(), "");
  } else {
    state.last_error = std::string(status.message());
    state.last_error_time = std::chrono::system_clock::now();
    state.nacks++;
    PORTICO_LOG(kWarn, "xds: rejected %s version %s: %s", response.type_url(),
                response.version_info(), state.last_error);
    sendRequest(response.type_url(), state.accepted_version, response.nonce(), state.last_error);
  }
}

void AdsClient::onStreamClosed(int grpc_status, absl::string_view message) {
  PORTICO_LOG(kWarn, "xds: stream to %s closed (grpc-status %d: %s); keeping the last good config",
              current_server_, grpc_status, std::string(message));
  // Deleting the stream here is safe: this callback was posted, not called from inside it.
  stream_.reset();
  scheduleReconnect();
}

void AdsClient::scheduleReconnect() {
  // Full jitter between half and all of the backoff, so a fleet does not reconnect in step.
  std::uniform_int_distribution<int64_t> jitter(backoff_.count() / 2, backoff_.count());
  retry_timer_->enableTimer(std::chrono::milliseconds(jitter(rng_)));
  backoff_ = std::min(backoff_ * 2, kMaxBackoff);
}

}  // namespace portico::xds
