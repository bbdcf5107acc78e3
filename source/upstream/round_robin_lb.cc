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

  HostState* chooseHost(uint64_t) override {
    int64_t total = 0;
    HostState* best = nullptr;
    size_t best_index = 0;
    for (size_t i = 0; i < hosts_.size(); i++) {
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
};

}  // namespace

LoadBalancerPtr createRoundRobinLb(std::vector<HostState>& hosts) {
  return std::make_unique<RoundRobinLb>(hosts);
}

}  // namespace portico::upstream
