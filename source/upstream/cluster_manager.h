#pragma once

// ClusterManager: one worker's view of the clusters: per-host state (active requests,
// connection pools) and a load balancer per cluster. Built from immutable ClusterInfo
// snapshots; an update keeps the pools of clusters whose ClusterInfo did not change.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/worker_stats.h"
#include "source/upstream/cluster_info.h"
#include "source/upstream/conn_pool.h"
#include "source/upstream/load_balancer.h"

namespace portico::upstream {

using ClusterInfoMap = absl::flat_hash_map<std::string, ClusterInfoConstSharedPtr>;

class WorkerCluster {
 public:
  WorkerCluster(event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr info,
                stats::WorkerStats& stats, PoolSuccessors* successors = nullptr);

  const ClusterInfo& info() const { return *info_; }
  const ClusterInfoConstSharedPtr& infoPtr() const { return info_; }
  HostState* chooseHost(uint64_t random) { return lb_->chooseHost(random); }
  ConnPool& pool(HostState& host);
  std::vector<HostState>& hosts() { return hosts_; }
  const std::vector<HostState>& hosts() const { return hosts_; }
  // The host with this address ("127.0.0.1:8080"), or nullptr.
  HostState* findHost(absl::string_view address);
  // True when no connection or request is left (safe to destroy after a removal).
  bool idle() const;
  void drain();

 private:
  event::Dispatcher& dispatcher_;
  ClusterInfoConstSharedPtr info_;
  stats::WorkerStats& stats_;
  PoolSuccessors* successors_;
  // Requests waiting in any of the hosts' pools (max_pending_requests); before hosts_, which
  // hold pools pointing at it.
  uint32_t pending_requests_ = 0;
  std::vector<HostState> hosts_;  // never resized after construction: LB holds a reference
  LoadBalancerPtr lb_;
  // Built on the first findHost() (only a cluster update asks).
  absl::flat_hash_map<absl::string_view, HostState*> by_address_;
};

class ClusterManager : public PoolSuccessors {
 public:
  ClusterManager(event::Dispatcher& dispatcher, stats::WorkerStats& stats)
      : dispatcher_(dispatcher), stats_(stats) {}

  WorkerCluster* get(absl::string_view name);
  // Applies a new set of clusters. Replaced or removed clusters drain: they keep serving the
  // requests that hold them and are destroyed once idle (checked every kReapInterval, so a
  // replaced generation is not kept until the next update). A replaced cluster's connections
  // to hosts that stay move to the new generation rather than close (see successor()).
  void update(const ClusterInfoMap& clusters);
  // Replaced or removed clusters still finishing their requests.
  size_t drainingCount() const { return draining_.size(); }

  // PoolSuccessors: the current cluster of the same name, if its connections are made alike
  // (buffer limit, response head limits), and the host there with the same address.
  ConnPool* successor(const ClusterInfo& replaced, const Host& host) override;

  static constexpr std::chrono::milliseconds kReapInterval{1000};
  // Calls f(WorkerCluster&) for each live cluster (admin /clusters).
  template <class F>
  void forEach(F f) {
    for (auto& [name, cluster] : clusters_) f(*cluster);
  }

  // One host's load on this worker (admin /clusters), by hostKey(): requests and connections
  // of the current version of the cluster and of those draining; total requests since the
  // start (a new version takes over its predecessor's count).
  struct HostLoad {
    uint64_t rq_active = 0;
    uint64_t rq_total = 0;
    uint64_t cx_active = 0;
  };
  absl::flat_hash_map<std::string, HostLoad> hostLoads(absl::string_view cluster) const;
  // A host's key across versions of its cluster: its address, and "#2", "#3"... for the same
  // address listed again in one cluster. `seen` counts the addresses of the cluster so far.
  static std::string hostKey(const std::string& address,
                             absl::flat_hash_map<std::string, int>& seen);

 private:
  void reapDraining();

  event::Dispatcher& dispatcher_;
  stats::WorkerStats& stats_;
  absl::flat_hash_map<std::string, std::unique_ptr<WorkerCluster>> clusters_;
  std::vector<std::unique_ptr<WorkerCluster>> draining_;
  event::TimerPtr reap_timer_;  // armed only while draining_ is not empty
};

}  // namespace portico::upstream
