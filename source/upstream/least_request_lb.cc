// Least request, power of two choices (and plain weighted random): pick two hosts at random
// (weighted) and take the one with fewer active requests relative to its weight. Near-optimal
// spread at O(1) per pick.

#include <vector>

#include "source/upstream/load_balancer.h"

namespace portico::upstream {
namespace {

// Picks a healthy host with probability proportional to its weight.
HostState* pickWeighted(std::vector<HostState>& hosts, uint64_t r) {
  uint64_t total = 0;
  for (const HostState& h : hosts) {
    if (h.host->healthy) total += h.host->weight;
  }
  if (total == 0) return nullptr;
  uint64_t point = r % total;
  for (HostState& h : hosts) {
    if (!h.host->healthy) continue;
    if (point < h.host->weight) return &h;
    point -= h.host->weight;
  }
  return nullptr;
}

class LeastRequestLb : public LoadBalancer {
 public:
  explicit LeastRequestLb(std::vector<HostState>& hosts) : hosts_(hosts) {}

  HostState* chooseHost(uint64_t random) override {
    HostState* a = pickWeighted(hosts_, random & 0xffffffff);
    HostState* b = pickWeighted(hosts_, random >> 32);
    if (a == nullptr || b == nullptr) return a != nullptr ? a : b;
    // Compare active/weight without division: a.active * b.weight vs b.active * a.weight.
    uint64_t lhs = a->counts->active_requests * b->host->weight;
    uint64_t rhs = b->counts->active_requests * a->host->weight;
    return lhs <= rhs ? a : b;
  }

 private:
  std::vector<HostState>& hosts_;
};

class RandomLb : public LoadBalancer {
 public:
  explicit RandomLb(std::vector<HostState>& hosts) : hosts_(hosts) {}
  HostState* chooseHost(uint64_t random) override { return pickWeighted(hosts_, random); }

 private:
  std::vector<HostState>& hosts_;
};

}  // namespace

LoadBalancerPtr createLeastRequestLb(std::vector<HostState>& hosts) {
  return std::make_unique<LeastRequestLb>(hosts);
}

LoadBalancerPtr createRandomLb(std::vector<HostState>& hosts) {
  return std::make_unique<RandomLb>(hosts);
}

}  // namespace portico::upstream
