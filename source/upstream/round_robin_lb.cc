// Smooth weighted round robin (as nginx): every pick adds each host's weight to its current
// score, takes the highest, and subtracts the total from it. Equal weights reduce to plain
// rotation; unequal weights interleave instead of bursting.

#include <algorithm>
#include <vector>

#include "source/upstream/load_balancer.h"

namespace portico::upstream {
namespace {

class RoundRobinLb : public LoadBalancer {
 public:
  explicit RoundRobinLb(std::vector<HostState>& hosts) : hosts_(hosts), scores_(hosts.size(), 0) {}

  HostState* chooseHost(uint64_t random) override {
    if (!started_) {
      started_ = true;
      start(random);
    }
    return pickOnce();
  }

 private:
  // Every worker, and every new version of the cluster, would otherwise begin with the same
  // host, and a light load would mostly reach it (Envoy randomizes its start for the same
  // reason). Ties (all hosts, with equal weights) go to the first host from a random index;
  // with unequal weights the sequence also begins at a random point of its period (the total
  // weight), by skipping that many picks, as long as that costs little.
  void start(uint64_t random) {
    const size_t n = hosts_.size();
    if (n == 0) return;
    start_ = random % n;
    int64_t total = 0;
    bool equal = true;
    for (const HostState& h : hosts_) {
      equal = equal && h.host->weight == hosts_[0].host->weight;
      total += h.host->weight;
    }
    if (equal) return;
    constexpr int64_t kMaxSkipWork = 1 << 16;  // host visits
    const int64_t period = std::min<int64_t>(total, kMaxSkipWork / static_cast<int64_t>(n));
    if (period <= 1) return;
    for (int64_t skip = (random >> 32) % period; skip > 0; skip--) pickOnce();
  }

  HostState* pickOnce() {
    const size_t n = hosts_.size();
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
