#include "source/upstream/cluster_manager.h"

#include <algorithm>

namespace portico::upstream {

WorkerCluster::WorkerCluster(event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr info,
                             stats::WorkerStats& stats)
    : dispatcher_(dispatcher), info_(std::move(info)), stats_(stats) {
  hosts_.reserve(info_->hosts.size());
  for (const HostConstSharedPtr& h : info_->hosts) {
    HostState& state = hosts_.emplace_back();
    state.host = h;
  }
  switch (info_->lb_policy) {
    case config::v1::Cluster::LEAST_REQUEST:
      lb_ = createLeastRequestLb(hosts_);
      break;
    case config::v1::Cluster::RANDOM:
      lb_ = createRandomLb(hosts_);
      break;
    default:
      lb_ = createRoundRobinLb(hosts_);
      break;
  }
}

ConnPool& WorkerCluster::pool(HostState& host) {
  if (host.pool == nullptr) {
    host.pool = std::make_unique<ConnPool>(dispatcher_, info_, host, stats_);
  }
  return *host.pool;
}

bool WorkerCluster::idle() const {
  return std::all_of(hosts_.begin(), hosts_.end(), [](const HostState& h) {
    return h.active_requests == 0 && (h.pool == nullptr || h.pool->idle());
  });
}

void WorkerCluster::drain() {
  for (HostState& h : hosts_) {
    if (h.pool != nullptr) h.pool->drain();
  }
}

WorkerCluster* ClusterManager::get(absl::string_view name) {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second.get();
}

void ClusterManager::update(const ClusterInfoMap& clusters) {
  for (auto it = clusters_.begin(); it != clusters_.end();) {
    auto next = clusters.find(it->first);
    if (next == clusters.end() || next->second != it->second->infoPtr()) {
      it->second->drain();
      draining_.push_back(std::move(it->second));
      clusters_.erase(it++);
    } else {
      ++it;
    }
  }
  for (const auto& [name, info] : clusters) {
    if (!clusters_.contains(name)) {
      clusters_[name] = std::make_unique<WorkerCluster>(dispatcher_, info, stats_);
    }
  }
  reapDraining();
}

void ClusterManager::reapDraining() {
  draining_.erase(
      std::remove_if(draining_.begin(), draining_.end(), [](const auto& c) { return c->idle(); }),
      draining_.end());
  if (draining_.empty()) {
    if (reap_timer_ != nullptr) reap_timer_->disableTimer();
    return;
  }
  if (reap_timer_ == nullptr) reap_timer_ = dispatcher_.createTimer([this] { reapDraining(); });
  if (!reap_timer_->enabled()) reap_timer_->enableTimer(kReapInterval);
}

}  // namespace portico::upstream
