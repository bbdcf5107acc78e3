// Smooth weighted round robin (as nginx): every pick adds each host's weight to its current
// score, takes the highest, and subtracts the total from it. Equal weights reduce to plain
// rotation; unequal weights interleave instead of bursting.

#include <vector>

#include "source/upstream/load_balancer.h"

namespace portico::upstream {
namespace {

class RoundRobinLb : public LoadBalancer {
 public:
  explicit RoundRobinLb(std::vector<HostState>& hosts) : hosts_(hosts), scores_(hosts.size(), 0) {}

  HostState* chooseHost(uint64_t random) override {
    const size_t n = hosts_.size();
    // Ties (all of them, at the start) go to the first host from a random start: otherwise
    // every worker, and every new version of the cluster, would begin at host 0 and a light
    // load would mostly reach the first hosts (Envoy randomizes its start for the same reason).
    if (!started_) {
      started_ = true;
      start_ = n == 0 ? 0 : random % n;
    }
    int64_t total = 0;
    HostState* best = nullptr;
    size_t best_index = 0;
    for (size_t k = 0; k < n; k++) {
      size_t i = start_ + k;
      if (i >= n) i -= n;
      if (!hosts_[i].host->healthy) continue;
      int64_t w = hosts_[i].host->weight;
      scores_[i] += w;
      total += w;
      if (best == nullptr || scores_[i] > scores_[best_index]) {
        best = &hosts_[i];
        best_index = i;
      }
    }
    if (best != nullptr) scores_[best_index] -= total;
    return best;
  }

 private:
  std::vector<HostState>& hosts_;
  std::vector<int64_t> scores_;
  size_t start_ = 0;
  bool started_ = false;
};

}  // namespace

LoadBalancerPtr createRoundRobinLb(std::vector<HostState>& hosts) {
  return std::make_unique<RoundRobinLb>(hosts);
}

}  // namespace portico::upstream
