#pragma once

// Worker: one thread, one event loop. Owns its listen sockets (SO_REUSEPORT), its downstream
// connections, and its ClusterManager (pools, LB state). The main thread talks to it only by
// posting closures: new config snapshots, drain, stop. A connection never leaves its worker.

#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/conn_manager_impl.h"
#include "source/common/network/lingering_closer.h"
#include "source/common/network/listener.h"
#include "source/common/stats/store.h"
#include "source/server/config_snapshot.h"
#include "source/upstream/cluster_manager.h"

namespace portico::server {

class Worker {
 public:
  // `server_healthy` is the server's health state (admin /healthcheck/fail, draining).
  Worker(uint32_t index, stats::Store& store, const std::atomic<bool>& server_healthy);
  ~Worker();

  // Main thread, before start(): binds this worker's listen sockets for `snapshot` and takes
  // its wake-up coalescing.
  absl::Status initialize(ConfigSnapshotConstSharedPtr snapshot);
  // Main thread, any time after start(): applies a new snapshot on the worker. Clusters are
  // updated first, then listeners: kept ones switch config for their next requests, removed
  // or moved ones stop accepting and drain their connections.
  void applySnapshot(ConfigSnapshotConstSharedPtr snapshot);
  // Runs `f` on the worker's thread after what was posted to it before (a snapshot applied).
  void runAfterPending(std::function<void()> f) { dispatcher_->post(std::move(f)); }
  void start();
  // Main thread: closes the listen sockets (new connections are refused by the kernel).
  void stopListening();
  // Main thread: drain - idle connections close now, busy ones after their response.
  void drain();
  // Main thread: stops the loop and joins the thread; open connections are closed.
  void stop();
  // Admin reads: runs f on every worker's thread at once and waits for all, up to `timeout`
  // in total. f runs concurrently on different workers: it must write only to the part of
  // the result that belongs to its worker (index()). A worker that has not answered by then
  // never runs f (f may refer to the caller's stack). Returns the indexes of those workers.
  static std::vector<uint32_t> runOnAll(const std::vector<std::unique_ptr<Worker>>& workers,
                                        const std::function<void(Worker&)>& f,
                                        std::chrono::milliseconds timeout);

  // Read by the main thread.
  uint64_t activeConnections() const { return active_connections_.load(std::memory_order_relaxed); }
  // The posted stopListening() and drain() have run (in that order): the connections the
  // listeners' queues held are among activeConnections(). Until then a count of 0 says nothing.
  bool drainStarted() const { return drain_started_.load(std::memory_order_acquire); }
  // Closed connections whose last response is out but whose client still sends (a lingering
  // close): a drain waits for them too, or the exit would reset them with that response unread.
  size_t lingeringSockets() const { return lingering_closer_.size(); }
  upstream::ClusterManager& clusterManager() { return cluster_manager_; }
  uint32_t index() const { return index_; }
  // Any thread: whether this worker's loop naps between looks for events now.
  bool napping() const { return dispatcher_->napping(); }

 private:
  struct SyncCall;
  std::shared_ptr<SyncCall> postSync(const std::function<void(Worker&)>& f);
  // False if the call had not run by `deadline`; it is then cancelled.
  static bool waitSync(SyncCall& call, std::chrono::steady_clock::time_point deadline);

  struct ActiveListener {
    ListenerConfigConstSharedPtr config;
    // The slot connections read their per-request config from (see HttpConnection).
    http::HttpConnectionManagerConfigConstSharedPtr http;
    std::unique_ptr<network::TcpListener> socket;
    uint64_t connections = 0;
  };
  struct ConnectionEntry {
    std::unique_ptr<http::HttpConnection> connection;
    ActiveListener* listener;
  };

  absl::Status reconcile(const ConfigSnapshotConstSharedPtr& snapshot);
  void retire(std::unique_ptr<ActiveListener> listener);
  void reapRetired();
  void onAccept(ActiveListener& listener, int fd, const network::Address& peer);
  void onConnectionClosed(ActiveListener* listener, http::HttpConnection& connection);

  uint32_t index_;
  event::DispatcherPtr dispatcher_;
  // Downstream sockets closed gracefully finish here; destroyed before the dispatcher.
  network::LingeringCloser lingering_closer_;
  stats::WorkerStats& stats_;
  upstream::ClusterManager cluster_manager_;
  std::mt19937_64 rng_;
  bool draining_ = false;
  bool listening_stopped_ = false;  // stopListening() (drain_listeners, shutdown) is final
  http::WorkerServices services_;
  ConfigSnapshotConstSharedPtr snapshot_;
  std::vector<std::unique_ptr<ActiveListener>> listeners_;
  // Removed or moved listeners, kept until their last connection is gone.
  std::vector<std::unique_ptr<ActiveListener>> retired_;
  absl::flat_hash_map<http::HttpConnection*, ConnectionEntry> connections_;
  std::atomic<uint64_t> active_connections_{0};
  std::atomic<bool> drain_started_{false};
  std::thread thread_;
};

}  // namespace portico::server
