#include "source/upstream/load_balancer.h"

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "source/upstream/host.h"

namespace portico::upstream {
namespace {

struct HostSpec {
  uint32_t weight = 1;
  bool healthy = true;
};

class LoadBalancerTest : public ::testing::Test {
 protected:
  void setHosts(const std::vector<HostSpec>& specs) {
    hosts_.clear();
    for (size_t i = 0; i < specs.size(); i++) {
      auto host = std::make_shared<Host>();
      host->address_string = std::string(1, static_cast<char>('a' + i));
      host->weight = specs[i].weight;
      host->healthy = specs[i].healthy;
      HostState state;
      state.host = std::move(host);
      hosts_.push_back(std::move(state));
    }
  }

  // The name ("a", "b", ...) of the chosen host, or "none".
  static std::string pick(LoadBalancer& lb, uint64_t random = 0) {
    HostState* h = lb.chooseHost(random);
    return h == nullptr ? "none" : h->host->address_string;
  }

  // Round robin starts where the first pick's random number says: 0 starts at "a".
  std::string sequence(LoadBalancer& lb, int n, uint64_t first_random = 0) {
    std::string out;
    for (int i = 0; i < n; i++) out += pick(lb, i == 0 ? first_random : rng_());
    return out;
  }

  std::map<std::string, int> histogram(LoadBalancer& lb, int n) {
    std::map<std::string, int> counts;
    for (int i = 0; i < n; i++) counts[pick(lb, rng_())]++;
    return counts;
  }

  HostState& host(char name) { return hosts_.at(name - 'a'); }

  std::vector<HostState> hosts_;
  std::mt19937_64 rng_{20240101};
};

TEST_F(LoadBalancerTest, RoundRobinWithEqualWeightsRotates) {
  setHosts({{}, {}, {}});
  auto lb = createRoundRobinLb(hosts_);
  EXPECT_EQ(sequence(*lb, 9), "abcabcabc");
}

// Regression (reviewer): every worker and every new version of a cluster started at host 0,
// so a light load mostly reached the first hosts.
TEST_F(LoadBalancerTest, RoundRobinStartsAtARandomHost) {
  setHosts({{}, {}, {}});
  EXPECT_EQ(sequence(*createRoundRobinLb(hosts_), 4, 1), "bcab");
  EXPECT_EQ(sequence(*createRoundRobinLb(hosts_), 4, 5), "cabc");
  // Unequal weights: the low bits pick where ties start (b and c swap places), the high bits
  // how far into the period (7 picks) the sequence begins.
  setHosts({{5}, {1}, {1}});
  EXPECT_EQ(sequence(*createRoundRobinLb(hosts_), 14, 2), "aacabaaaacabaa");
  EXPECT_EQ(sequence(*createRoundRobinLb(hosts_), 14, 2 + (3ull << 32)), "abaaaacabaaaac");
  std::set<std::string> first_picks;
  for (int run = 0; run < 50; run++) {
    auto lb = createRoundRobinLb(hosts_);
    const std::string picks = sequence(*lb, 70, rng_());
    first_picks.insert(picks.substr(0, 1));
    // Still smooth and exact: every window of one period holds 5 a, 1 b and 1 c.
    for (size_t i = 0; i + 7 <= picks.size(); i++) {
      ASSERT_EQ(std::count(picks.begin() + i, picks.begin() + i + 7, 'a'), 5) << picks;
      ASSERT_EQ(std::count(picks.begin() + i, picks.begin() + i + 7, 'b'), 1) << picks;
    }
  }
  EXPECT_EQ(first_picks, (std::set<std::string>{"a", "b", "c"}));
}

TEST_F(LoadBalancerTest, RoundRobinWeightsOneToThreeGiveExactShares) {
  setHosts({{1}, {3}});
  auto lb = createRoundRobinLb(hosts_);
  const std::string picks = sequence(*lb, 400);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 'a'), 100);
  EXPECT_EQ(std::count(picks.begin(), picks.end(), 'b'), 300);
  // Smooth: every window of 4 consecutive picks holds exactly one "a".
  for (size_t i = 0; i + 4 <= picks.size(); i++) {
    ASSERT_EQ(std::count(picks.begin() + i, picks.begin() + i + 4, 'a'), 1) << "at " << i;
  }
}

TEST_F(LoadBalancerTest, RoundRobinInterleavesLikeNginxSmoothWeighted) {
  setHosts({{5}, {1}, {1}});
  auto lb = createRoundRobinLb(hosts_);
  EXPECT_EQ(sequence(*lb, 14), "aabacaaaabacaa");
}

TEST_F(LoadBalancerTest, RoundRobinSkipsUnhealthyHosts) {
  setHosts({{}, {1, false}, {}});
  auto lb = createRoundRobinLb(hosts_);
  EXPECT_EQ(sequence(*lb, 6), "acacac");
}

TEST_F(LoadBalancerTest, EveryPolicyReturnsNullWhenAllHostsAreUnhealthy) {
  setHosts({{1, false}, {5, false}});
  for (auto* create : {&createRoundRobinLb, &createLeastRequestLb, &createRandomLb}) {
    auto lb = create(hosts_);
    for (int i = 0; i < 10; i++) EXPECT_EQ(lb->chooseHost(rng_()), nullptr);
  }
}

TEST_F(LoadBalancerTest, EveryPolicyReturnsNullWithoutHosts) {
  setHosts({});
  for (auto* create : {&createRoundRobinLb, &createLeastRequestLb, &createRandomLb}) {
    EXPECT_EQ(create(hosts_)->chooseHost(12345), nullptr);
  }
}

TEST_F(LoadBalancerTest, EveryPolicyPicksTheOnlyHealthyHost) {
  setHosts({{3, false}, {1}, {2, false}});
  for (auto* create : {&createRoundRobinLb, &createLeastRequestLb, &createRandomLb}) {
    auto lb = create(hosts_);
    for (int i = 0; i < 20; i++) ASSERT_EQ(pick(*lb, rng_()), "b");
  }
}

// LeastRequestLb takes its two candidates from the low and high 32 bits of `random`; with two
// equal-weight hosts, candidate = half % 2.
uint64_t candidates(uint32_t first, uint32_t second) {
  return (static_cast<uint64_t>(second) << 32) | first;
}

TEST_F(LoadBalancerTest, LeastRequestTakesTheCandidateWithFewerActiveRequests) {
  setHosts({{}, {}});
  host('a').counts->active_requests = 5;
  host('b').counts->active_requests = 1;
  auto lb = createLeastRequestLb(hosts_);
  EXPECT_EQ(pick(*lb, candidates(0, 1)), "b");
  EXPECT_EQ(pick(*lb, candidates(1, 0)), "b");
  EXPECT_EQ(pick(*lb, candidates(0, 0)), "a");  // both candidates the same host
}

TEST_F(LoadBalancerTest, LeastRequestComparesActiveRequestsPerWeight) {
  setHosts({{2}, {1}});
  host('a').counts->active_requests = 3;  // 1.5 per weight unit
  host('b').counts->active_requests = 2;  // 2 per weight unit
  auto lb = createLeastRequestLb(hosts_);
  // Weighted candidates over a total weight of 3: 0 and 1 -> a, 2 -> b.
  EXPECT_EQ(pick(*lb, candidates(0, 2)), "a");
  EXPECT_EQ(pick(*lb, candidates(2, 1)), "a");
}

TEST_F(LoadBalancerTest, LeastRequestPrefersTheLessLoadedHostOverManyPicks) {
  setHosts({{}, {}});
  host('a').counts->active_requests = 10;
  auto lb = createLeastRequestLb(hosts_);
  std::map<std::string, int> counts = histogram(*lb, 10000);
  // "a" wins only when both candidates are "a": 1/4 of the picks.
  EXPECT_NEAR(counts["a"], 2500, 250);
  EXPECT_NEAR(counts["b"], 7500, 250);
}

TEST_F(LoadBalancerTest, LeastRequestWithNoLoadFollowsTheWeights) {
  setHosts({{1}, {3}});
  auto lb = createLeastRequestLb(hosts_);
  std::map<std::string, int> counts = histogram(*lb, 40000);
  EXPECT_NEAR(counts["a"], 10000, 600);
  EXPECT_NEAR(counts["b"], 30000, 600);
}

TEST_F(LoadBalancerTest, RandomFollowsTheWeightsWithinTolerance) {
  setHosts({{1}, {2}, {7}, {5, false}});
  auto lb = createRandomLb(hosts_);
  std::map<std::string, int> counts = histogram(*lb, 100000);
  EXPECT_NEAR(counts["a"], 10000, 1000);
  EXPECT_NEAR(counts["b"], 20000, 1000);
  EXPECT_NEAR(counts["c"], 70000, 1000);
  EXPECT_EQ(counts.count("d"), 0u);
}

TEST_F(LoadBalancerTest, RandomMapsTheRandomNumberOntoWeightRanges) {
  setHosts({{1}, {2}});
  auto lb = createRandomLb(hosts_);
  EXPECT_EQ(pick(*lb, 0), "a");
  EXPECT_EQ(pick(*lb, 1), "b");
  EXPECT_EQ(pick(*lb, 2), "b");
  EXPECT_EQ(pick(*lb, 3), "a");
}

}  // namespace
}  // namespace portico::upstream
