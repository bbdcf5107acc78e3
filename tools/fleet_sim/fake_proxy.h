#pragma once

// FakeProxy: one discovery stream that behaves like a proxy towards the control plane. It
// subscribes to every type (wildcard), ACKs every response right away (SotW: echoes version and
// nonce; delta: echoes the nonce), counts the bytes it receives, and records when it first
// ACKs a RouteConfiguration named `marker` whose direct_response body is "round-N".
// Runs on grpc++'s callback API, so thousands share a few threads.

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "portico/service/discovery/v1/discovery.grpc.pb.h"

namespace portico::fleet_sim {

using Clock = std::chrono::steady_clock;

class FakeProxy {
 public:
  FakeProxy(std::shared_ptr<grpc::Channel> channel, std::string node_id, std::string cluster,
            bool delta, std::string marker);
  ~FakeProxy();

  void start();
  // When this proxy ACKed round `round` of the marker route (time_point{} if not yet).
  Clock::time_point roundAckedAt(int round) const;
  uint64_t bytesReceived() const { return bytes_.load(); }
  uint64_t responses() const { return responses_.load(); }
  bool failed() const { return failed_.load(); }

 private:
  class SotwReactor;
  class DeltaReactor;
  void noteRoute(const google::protobuf::Any& any);

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<service::discovery::v1::AggregatedDiscoveryService::Stub> stub_;
  std::string node_id_, cluster_, marker_;
  bool delta_;
  std::unique_ptr<SotwReactor> sotw_;
  std::unique_ptr<DeltaReactor> delta_reactor_;
  mutable std::mutex mutex_;
  std::map<int, Clock::time_point> rounds_;
  std::atomic<uint64_t> bytes_{0}, responses_{0};
  std::atomic<bool> failed_{false};
};

}  // namespace portico::fleet_sim
