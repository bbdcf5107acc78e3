#include "source/upstream/cluster_manager.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace portico::upstream {

WorkerCluster::WorkerCluster(event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr info,
                             stats::WorkerStats& stats, PoolSuccessors* successors)
    : dispatcher_(dispatcher), info_(std::move(info)), stats_(stats), successors_(successors) {
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
    host.pool = std::make_unique<ConnPool>(dispatcher_, info_, host, stats_, successors_,
                                           &pending_requests_);
  }
  return *host.pool;
}

HostState* WorkerCluster::findHost(absl::string_view address) {
  if (by_address_.empty()) {
    for (HostState& h : hosts_) by_address_.emplace(h.host->address_string, &h);
  }
  auto it = by_address_.find(address);
  return it == by_address_.end() ? nullptr : it->second;
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
  std::vector<std::unique_ptr<WorkerCluster>> replaced;
  for (auto it = clusters_.begin(); it != clusters_.end();) {
    auto next = clusters.find(it->first);
    if (next == clusters.end() || next->second != it->second->infoPtr()) {
      replaced.push_back(std::move(it->second));
      clusters_.erase(it++);
    } else {
      ++it;
    }
  }
  for (const auto& [name, info] : clusters) {
    if (clusters_.contains(name)) continue;
    auto cluster = std::make_unique<WorkerCluster>(dispatcher_, info, stats_, this);
    // A new version counts on from its predecessor's totals (admin /clusters rq_total) and
    // shares its connection counts (max_connections_per_host).
    for (const std::unique_ptr<WorkerCluster>& old : replaced) {
      if (old->info().name != name) continue;
      absl::flat_hash_map<std::string, const HostState*> predecessors;
      absl::flat_hash_map<std::string, int> seen;
      for (const HostState& h : old->hosts()) {
        predecessors[hostKey(h.host->address_string, seen)] = &h;
      }
      seen.clear();
      for (HostState& h : cluster->hosts()) {
        auto it = predecessors.find(hostKey(h.host->address_string, seen));
        if (it == predecessors.end()) continue;
        h.total_requests = it->second->total_requests;
        h.counts = it->second->counts;
      }
    }
    clusters_[name] = std::move(cluster);
  }
  // Drained once their successors exist, so that their idle connections can move there.
  for (std::unique_ptr<WorkerCluster>& cluster : replaced) {
    cluster->drain();
    draining_.push_back(std::move(cluster));
  }
  reapDraining();
}

absl::flat_hash_map<std::string, ClusterManager::HostLoad> ClusterManager::hostLoads(
    absl::string_view cluster) const {
  absl::flat_hash_map<std::string, HostLoad> loads;
  auto add = [&](const WorkerCluster& c, bool current) {
    absl::flat_hash_map<std::string, int> seen;
    for (const HostState& h : c.hosts()) {
      HostLoad& load = loads[hostKey(h.host->address_string, seen)];
      load.rq_active += h.active_requests;
      load.cx_active += h.pool != nullptr ? h.pool->activeConnections() : 0;
      if (current) load.rq_total = h.total_requests;
    }
  };
  for (const std::unique_ptr<WorkerCluster>& c : draining_) {
    if (c->info().name == cluster) add(*c, false);
  }
  auto it = clusters_.find(cluster);
  if (it != clusters_.end()) add(*it->second, true);
  return loads;
}

std::string ClusterManager::hostKey(const std::string& address,
                                    absl::flat_hash_map<std::string, int>& seen) {
  const int n = ++seen[address];
  return n == 1 ? address : absl::StrCat(address, "#", n);
}

ConnPool* ClusterManager::successor(const ClusterInfo& replaced, const Host& host) {
  WorkerCluster* current = get(replaced.name);
  if (current == nullptr || &current->info() == &replaced) return nullptr;
  const ClusterInfo& info = current->info();
  // What a connection took from its cluster when it was made (socket buffer limit, codec
  // limits) must be what the new cluster would give it.
  if (info.buffer_limit != replaced.buffer_limit ||
      info.max_response_head_bytes != replaced.max_response_head_bytes ||
      info.max_response_headers_count != replaced.max_response_headers_count) {
    return nullptr;
  }
  HostState* state = current->findHost(host.address_string);
  return state == nullptr ? nullptr : &current->pool(*state);
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
