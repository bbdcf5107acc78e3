#pragma once

// A load balancer picks one of a worker's hosts for a request. One interface, one small file
// per algorithm. Implementations see only healthy hosts with their weights; they never block
// and never allocate per pick.

#include <cstdint>
#include <memory>
#include <vector>

#include "source/upstream/host.h"

namespace portico::upstream {

class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  // Returns nullptr when no host can take the request. `random` is a fresh random number.
  virtual HostState* chooseHost(uint64_t random) = 0;
};
using LoadBalancerPtr = std::unique_ptr<LoadBalancer>;

// `hosts` must outlive the balancer (both belong to the same worker cluster).
LoadBalancerPtr createRoundRobinLb(std::vector<HostState>& hosts);
LoadBalancerPtr createLeastRequestLb(std::vector<HostState>& hosts);
LoadBalancerPtr createRandomLb(std::vector<HostState>& hosts);

}  // namespace portico::upstream
