#include "tools/fleet_sim/fake_proxy.h"

#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "portico/config/v1/route.pb.h"

namespace portico::fleet_sim {
using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;

namespace detail {

constexpr const char* kTypes[] = {
    "type.googleapis.com/portico.config.v1.Cluster",
    "type.googleapis.com/portico.config.v1.ClusterLoadAssignment",
    "type.googleapis.com/portico.config.v1.RouteConfiguration",
    "type.googleapis.com/portico.config.v1.Listener",
};
constexpr char kRouteType[] = "type.googleapis.com/portico.config.v1.RouteConfiguration";

// Writes one request at a time (gRPC allows one outstanding write), queueing the rest.
template <class Req, class Resp>
class Base : public grpc::ClientBidiReactor<Req, Resp> {
 public:
  void send(Req req) {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.push_back(std::move(req));
    if (!writing_) {
      writing_ = true;
      this->StartWrite(&queue_.front());
    }
  }
  void OnWriteDone(bool ok) override {
    std::lock_guard<std::mutex> lock(mutex_);
    queue_.pop_front();
    if (!ok || queue_.empty()) {
      writing_ = false;
      return;
    }
    this->StartWrite(&queue_.front());
  }

 protected:
  grpc::ClientContext context_;
  Resp response_;

 private:
  std::mutex mutex_;
  std::deque<Req> queue_;
  bool writing_ = false;
};

}  // namespace detail

using detail::Base;
using detail::kRouteType;
using detail::kTypes;

class FakeProxy::SotwReactor : public Base<DiscoveryRequest, DiscoveryResponse> {
 public:
  explicit SotwReactor(FakeProxy& p) : proxy_(p) {}
  void start() {
    proxy_.stub_->async()->StreamAggregatedResources(&context_, this);
    this->StartRead(&response_);
    this->StartCall();
    for (const char* type : kTypes) send(request(type, "", ""));
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      proxy_.failed_ = true;
      return;
    }
    proxy_.bytes_ += response_.ByteSizeLong();
    proxy_.responses_++;
    DiscoveryRequest ack =
        request(response_.type_url(), response_.version_info(), response_.nonce());
    if (response_.type_url() == kRouteType) {
      for (const auto& any : response_.resources()) proxy_.noteRoute(any);
    }
    send(std::move(ack));
    this->StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override { done_ = true; }
  void cancel() { context_.TryCancel(); }
  std::atomic<bool> done_{false};

 private:
  DiscoveryRequest request(const std::string& type, const std::string& version,
                           const std::string& nonce) {
    DiscoveryRequest r;
    r.mutable_node()->set_id(proxy_.node_id_);
    r.mutable_node()->set_cluster(proxy_.cluster_);
    r.set_type_url(type);
    r.set_version_info(version);
    r.set_response_nonce(nonce);
    return r;
  }
  FakeProxy& proxy_;
};

class FakeProxy::DeltaReactor : public Base<DeltaDiscoveryRequest, DeltaDiscoveryResponse> {
 public:
  explicit DeltaReactor(FakeProxy& p) : proxy_(p) {}
  void start() {
    proxy_.stub_->async()->DeltaAggregatedResources(&context_, this);
    this->StartRead(&response_);
    this->StartCall();
    for (const char* type : kTypes) send(request(type, ""));
  }
  void OnReadDone(bool ok) override {
    if (!ok) {
      proxy_.failed_ = true;
      return;
    }
    proxy_.bytes_ += response_.ByteSizeLong();
    proxy_.responses_++;
    DeltaDiscoveryRequest ack = request(response_.type_url(), response_.nonce());
    if (response_.type_url() == kRouteType) {
      for (const auto& r : response_.resources()) proxy_.noteRoute(r.resource());
    }
    send(std::move(ack));
    this->StartRead(&response_);
  }
  void OnDone(const grpc::Status&) override { done_ = true; }
  void cancel() { context_.TryCancel(); }
  std::atomic<bool> done_{false};

 private:
  DeltaDiscoveryRequest request(const std::string& type, const std::string& nonce) {
    DeltaDiscoveryRequest r;
    r.mutable_node()->set_id(proxy_.node_id_);
    r.mutable_node()->set_cluster(proxy_.cluster_);
    r.set_type_url(type);
    r.set_response_nonce(nonce);
    return r;
  }
  FakeProxy& proxy_;
};

FakeProxy::FakeProxy(std::shared_ptr<grpc::Channel> channel, std::string node_id,
                     std::string cluster, bool delta, std::string marker)
    : channel_(std::move(channel)),
      stub_(service::discovery::v1::AggregatedDiscoveryService::NewStub(channel_)),
      node_id_(std::move(node_id)),
      cluster_(std::move(cluster)),
      marker_(std::move(marker)),
      delta_(delta) {}

FakeProxy::~FakeProxy() {
  auto wait = [](auto& r) {
    if (!r) return;
    r->cancel();
    for (int i = 0; i < 500 && !r->done_; i++) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  wait(sotw_);
  wait(delta_reactor_);
}

void FakeProxy::start() {
  if (delta_) {
    delta_reactor_ = std::make_unique<DeltaReactor>(*this);
    delta_reactor_->start();
  } else {
    sotw_ = std::make_unique<SotwReactor>(*this);
    sotw_->start();
  }
}

void FakeProxy::noteRoute(const google::protobuf::Any& any) {
  config::v1::RouteConfiguration rc;
  if (!any.UnpackTo(&rc) || rc.name() != marker_) return;
  if (rc.virtual_hosts_size() == 0 || rc.virtual_hosts(0).routes_size() == 0) return;
  absl::string_view body = rc.virtual_hosts(0).routes(0).direct_response().body();
  int round = 0;
  if (!absl::ConsumePrefix(&body, "round-") || !absl::SimpleAtoi(body, &round)) return;
  std::lock_guard<std::mutex> lock(mutex_);
  rounds_.emplace(round, Clock::now());  // the ACK is queued right after this
}

Clock::time_point FakeProxy::roundAckedAt(int round) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = rounds_.find(round);
  return it == rounds_.end() ? Clock::time_point{} : it->second;
}

}  // namespace portico::fleet_sim
