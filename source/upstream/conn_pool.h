#pragma once

// ConnPool: one worker's HTTP/1.1 connections to one host. Hands out an idle keep-alive
// connection when it has one, opens a new one below max_connections_per_host, and otherwise
// queues the request (bounded by max_pending_requests, counted over the cluster's pools on this
// worker; overflow fails at once).
// A connection serves one request at a time and returns to the idle list only when both the
// request and the response finished cleanly and the upstream allowed keep-alive.

#include <chrono>
#include <list>
#include <memory>

#include "source/common/event/dispatcher.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/worker_stats.h"
#include "source/upstream/cluster_info.h"
#include "source/upstream/upstream_connection.h"

namespace portico::upstream {

enum class PoolFailureReason { kConnectFailure, kTimeout, kOverflow };

class PoolCallbacks {
 public:
  virtual ~PoolCallbacks() = default;
  virtual void onPoolReady(UpstreamConnection& connection) = 0;
  virtual void onPoolFailure(PoolFailureReason reason) = 0;
};

class ConnPool;

// Finds where a connection of a replaced cluster can go on serving: the pool for the same host
// in the cluster that replaced it, if that cluster opens its connections the same way
// (ClusterManager). An endpoint change then keeps the connections to the hosts that stay.
class PoolSuccessors {
 public:
  virtual ~PoolSuccessors() = default;
  virtual ConnPool* successor(const ClusterInfo& replaced, const Host& host) = 0;
};

// Returned by newStream() while the request waits; cancel() withdraws it.
class PendingRequest {
 public:
  virtual ~PendingRequest() = default;
  virtual void cancel() = 0;
};

class ConnPool {
 public:
  // `cluster_pending`: the count of waiting requests shared by the cluster's pools on this
  // worker (nullptr: this pool's own).
  ConnPool(event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr cluster, HostState& host,
           stats::WorkerStats& stats, PoolSuccessors* successors = nullptr,
           uint32_t* cluster_pending = nullptr);
  ~ConnPool();

  // Calls callbacks.onPoolReady() at once (idle connection) and returns nullptr, or returns a
  // handle and calls back later, or calls onPoolFailure(kOverflow) at once and returns nullptr.
  // `prefer_new`: open a connection rather than take an idle one while below the connection
  // cap (a retry after an idle connection turned out closed: its idle peers may be too).
  PendingRequest* newStream(PoolCallbacks& callbacks, bool prefer_new = false);
  // The stream is done with `connection`; reuse it if `reusable`, else close it.
  void release(UpstreamConnection& connection, bool reusable);
  // The cluster was replaced or removed: idle connections move to the successor pool (see
  // PoolSuccessors) or close; busy ones finish their request, then do the same.
  void drain();
  // Nothing left that needs the pool: no connection, no waiting request, no serve scheduled
  // (a draining cluster is destroyed once all its pools are idle).
  bool idle() const {
    return busy_.empty() && connecting_.empty() && idle_.empty() && pending_.empty() &&
           !serve_scheduled_;
  }
  size_t activeConnections() const { return busy_.size() + connecting_.size() + idle_.size(); }
  // Below max_connections_per_host, counting every version of the cluster (HostState).
  bool belowConnectionCap() const {
    return host_.counts->connections < cluster_->max_connections_per_host;
  }

 private:
  class PendingRequestImpl;
  friend class UpstreamConnection;

  // Returns false if no socket could be created.
  bool createConnection();
  // Opens connections for waiting requests below the cap; fails them if none could be opened
  // and none is left to serve them. At the cap they wait (waitAtCap()).
  void openForPending();
  // Requests wait here at the cap: woken (servePending()) when the host's count drops.
  void waitAtCap();
  // The host's count dropped: the pools waiting at its cap get a turn (at the end of this one).
  static void wakeCapWaiters(HostCounts& counts);
  // A request joined or left pending_.
  void pendingAdded();
  void pendingRemoved();
  void onConnected(UpstreamConnection& connection);
  void onConnectionClosed(UpstreamConnection& connection, bool connect_failed, bool timed_out);
  void assignOrIdle(UpstreamConnection& connection);
  void park(UpstreamConnection& connection);
  // How long `connection` may stay idle: the cluster's idle_timeout, or less when the server
  // announced a shorter one (Keep-Alive: timeout=N): closing first avoids the keep-alive race.
  // Zero (an announced timeout=0 or 1) closes it when released, even with requests queued:
  // they get a new connection (onConnectionClosed). kNoIdleTimeout: idle_timeout 0s and
  // nothing announced.
  static constexpr std::chrono::milliseconds kNoIdleTimeout = std::chrono::milliseconds::max();
  std::chrono::milliseconds idleTimeout(const UpstreamConnection& connection) const;
  // Draining: moves an idle or just released connection into the successor pool's idle list.
  bool handOff(UpstreamConnection& connection);
  // Draining with no request waiting: idle connections are handed off or closed.
  void shedIdle();
  // idle_ -> busy_, most recently used first.
  UpstreamConnection& takeIdle();
  void servePending();
  void scheduleServe();  // servePending() at the end of this turn (once)
  using ConnectionList = std::list<std::unique_ptr<UpstreamConnection>>;
  // Moves `connection` to the end of `to` (O(1), nothing allocated).
  static void moveConnection(UpstreamConnection& connection, ConnectionList& to);
  // Adds the bytes moved since the last count to the cluster's byte counters.
  void countBytes(UpstreamConnection& connection);
  void removeConnection(ConnectionList& list, UpstreamConnection& connection);
  void cancelPending(PendingRequestImpl* request);

  event::Dispatcher& dispatcher_;
  ClusterInfoConstSharedPtr cluster_;
  HostState& host_;
  stats::WorkerStats& stats_;
  PoolSuccessors* successors_;
  uint32_t own_pending_ = 0;
  uint32_t* const cluster_pending_;  // own_pending_ or the cluster's count
  std::list<std::unique_ptr<UpstreamConnection>> connecting_;
  std::list<std::unique_ptr<UpstreamConnection>> idle_;
  std::list<std::unique_ptr<UpstreamConnection>> busy_;
  std::list<std::unique_ptr<PendingRequestImpl>> pending_;
  bool draining_ = false;
  bool serve_scheduled_ = false;
};

}  // namespace portico::upstream
