#include "source/upstream/conn_pool.h"

#include <algorithm>

namespace portico::upstream {

class ConnPool::PendingRequestImpl : public PendingRequest {
 public:
  PendingRequestImpl(ConnPool& pool, PoolCallbacks& callbacks)
      : pool_(pool), callbacks_(callbacks) {}
  void cancel() override { pool_.cancelPending(this); }

  ConnPool& pool_;
  PoolCallbacks& callbacks_;
};

ConnPool::ConnPool(event::Dispatcher& dispatcher, ClusterInfoConstSharedPtr cluster,
                   HostState& host, stats::WorkerStats& stats, PoolSuccessors* successors,
                   uint32_t* cluster_pending)
    : dispatcher_(dispatcher),
      cluster_(std::move(cluster)),
      host_(host),
      stats_(stats),
      successors_(successors),
      cluster_pending_(cluster_pending != nullptr ? cluster_pending : &own_pending_) {}

void ConnPool::pendingAdded() {
  ++*cluster_pending_;
  stats_.gaugeAdd(cluster_->stats->upstream_rq_pending_active, 1);
}

void ConnPool::pendingRemoved() {
  --*cluster_pending_;
  stats_.gaugeAdd(cluster_->stats->upstream_rq_pending_active, -1);
}

// Connections still here (worker shutdown) close their sockets in their destructors, which
// raise no callbacks.
ConnPool::~ConnPool() {
  std::vector<ConnPool*>& waiting = host_.counts->waiting;
  waiting.erase(std::remove(waiting.begin(), waiting.end(), this), waiting.end());
}

void ConnPool::waitAtCap() {
  std::vector<ConnPool*>& waiting = host_.counts->waiting;
  if (std::find(waiting.begin(), waiting.end(), this) == waiting.end()) waiting.push_back(this);
}

void ConnPool::wakeCapWaiters(HostCounts& counts) {
  if (counts.waiting.empty()) return;
  // Swapped with a scratch list, so that both keep their capacity (no allocation per wake).
  thread_local std::vector<ConnPool*> waking;
  waking.swap(counts.waiting);
  for (ConnPool* pool : waking) pool->scheduleServe();  // re-listed if still at the cap
  waking.clear();
}

PendingRequest* ConnPool::newStream(PoolCallbacks& callbacks, bool prefer_new) {
  if (!idle_.empty() && !(prefer_new && belowConnectionCap())) {
    if (pending_.empty()) {
      callbacks.onPoolReady(takeIdle());
      return nullptr;
    }
    // Requests are already waiting (a connection released this turn is handed to them at its
    // end): queue behind them, or newcomers could starve them at the connection cap.
    scheduleServe();
  }
  const ClusterStats& s = *cluster_->stats;
  if (*cluster_pending_ >= cluster_->max_pending_requests) {
    stats_.inc(s.upstream_rq_pending_overflow);
    callbacks.onPoolFailure(PoolFailureReason::kOverflow);
    return nullptr;
  }
  if (belowConnectionCap() && connecting_.size() <= pending_.size() && !createConnection()) {
    if (!idle_.empty()) {
      scheduleServe();  // a retry that wanted a new connection (prefer_new) takes an idle one
    } else if (busy_.empty() && connecting_.empty()) {
      callbacks.onPoolFailure(PoolFailureReason::kConnectFailure);  // e.g. out of fds
      return nullptr;
    }
  }
  stats_.inc(s.upstream_rq_pending_total);
  pendingAdded();
  pending_.push_back(std::make_unique<PendingRequestImpl>(*this, callbacks));
  if (!belowConnectionCap()) waitAtCap();
  return pending_.back().get();
}

bool ConnPool::createConnection() {
  const ClusterStats& s = *cluster_->stats;
  stats_.inc(s.upstream_cx_total);
  auto conn =
      network::ConnectionImpl::connect(dispatcher_, host_.host->address, cluster_->buffer_limit);
  if (conn == nullptr) {
    stats_.inc(s.upstream_cx_connect_fail);
    return false;
  }
  stats_.gaugeAdd(s.upstream_cx_active, 1);
  ++host_.counts->connections;
  auto upstream = std::make_unique<UpstreamConnection>(*this, std::move(conn));
  UpstreamConnection* raw = upstream.get();
  raw->timer_ = dispatcher_.createTimer([raw] {
    raw->timed_out_ = !raw->connected_;
    raw->connection_->close(network::CloseType::kNoFlush);
  });
  raw->timer_->enableTimer(cluster_->connect_timeout);
  connecting_.push_back(std::move(upstream));
  raw->pool_list_ = &connecting_;
  raw->pool_node_ = std::prev(connecting_.end());
  return true;
}

void ConnPool::onConnected(UpstreamConnection& connection) {
  connection.timer_->disableTimer();
  if (connection.pool_list_ != &connecting_) return;
  moveConnection(connection, busy_);
  assignOrIdle(connection);
}

void ConnPool::assignOrIdle(UpstreamConnection& connection) {
  if (!pending_.empty()) {
    std::unique_ptr<PendingRequestImpl> request = std::move(pending_.front());
    pending_.pop_front();
    pendingRemoved();
    request->callbacks_.onPoolReady(connection);
    return;
  }
  park(connection);
}

void ConnPool::park(UpstreamConnection& connection) {
  // busy_ -> idle_, unless we are over the idle cap or draining.
  if (connection.pool_list_ != &busy_) return;
  connection.idle_since_ = dispatcher_.now();
  // Draining: requests still waiting here come first (release() hands them this connection
  // at the end of the turn); else it moves to the successor pool or closes.
  if (draining_ && pending_.empty()) {
    if (!handOff(connection)) connection.connection_->close(network::CloseType::kNoFlush);
    return;
  }
  const std::chrono::milliseconds timeout = idleTimeout(connection);
  if (idle_.size() >= cluster_->max_idle_connections_per_host || timeout.count() <= 0) {
    connection.connection_->close(network::CloseType::kNoFlush);
    return;
  }
  if (timeout != kNoIdleTimeout) connection.timer_->enableTimer(timeout);
  moveConnection(connection, idle_);
}

std::chrono::milliseconds ConnPool::idleTimeout(const UpstreamConnection& connection) const {
  // idle_timeout 0s: none, as Envoy's (the upstream's own close, or an announced timeout,
  // still ends it).
  std::chrono::milliseconds timeout =
      cluster_->idle_timeout.count() == 0 ? kNoIdleTimeout : cluster_->idle_timeout;
  if (std::optional<std::chrono::seconds> announced = connection.codec_.keepAliveTimeout()) {
    // Close before the server does, with a margin for timer slack and transit: 1 s, or half
    // of a shorter announced timeout (undici, Node's HTTP client, does alike).
    const std::chrono::milliseconds server = *announced;
    timeout = std::min(
        timeout, server - std::min<std::chrono::milliseconds>(std::chrono::seconds(1), server / 2));
  }
  return timeout;
}

void ConnPool::countBytes(UpstreamConnection& connection) {
  const ClusterStats& s = *cluster_->stats;
  uint64_t rx = connection.connection_->bytesRead(), tx = connection.connection_->bytesWritten();
  stats_.inc(s.upstream_cx_rx_bytes_total, rx - connection.counted_rx_bytes_);
  stats_.inc(s.upstream_cx_tx_bytes_total, tx - connection.counted_tx_bytes_);
  connection.counted_rx_bytes_ = rx;
  connection.counted_tx_bytes_ = tx;
}

void ConnPool::release(UpstreamConnection& connection, bool reusable) {
  connection.detach();
  countBytes(connection);
  connection.last_rx_bytes_ = connection.connection_->bytesRead();
  if (!reusable || !connection.connection_->isOpen()) {
    connection.connection_->close(network::CloseType::kNoFlush);
    return;
  }
  // Park it now; hand it to a waiting request only after the current callback stack (the
  // codec that completed the response) has unwound.
  park(connection);
  if (!pending_.empty()) scheduleServe();
}

void ConnPool::scheduleServe() {
  if (serve_scheduled_) return;
  serve_scheduled_ = true;
  dispatcher_.runAtEndOfTurn([this] {
    serve_scheduled_ = false;
    servePending();
  });
}

UpstreamConnection& ConnPool::takeIdle() {
  // Most recently used first: its socket buffers and the upstream's worker are warm.
  UpstreamConnection& connection = *idle_.back();
  connection.timer_->disableTimer();
  connection.sat_idle_ = true;
  moveConnection(connection, busy_);
  return connection;
}

void ConnPool::servePending() {
  while (!pending_.empty() && !idle_.empty()) {
    UpstreamConnection& connection = takeIdle();
    std::unique_ptr<PendingRequestImpl> request = std::move(pending_.front());
    pending_.pop_front();
    pendingRemoved();
    request->callbacks_.onPoolReady(connection);
  }
  // Still waiting with no idle connection (woken at the cap, or a retry queued beside one
  // taken since): open what the cap allows now.
  if (!pending_.empty() && idle_.empty()) openForPending();
  if (draining_) shedIdle();
}

void ConnPool::moveConnection(UpstreamConnection& connection, ConnectionList& to) {
  to.splice(to.end(), *connection.pool_list_, connection.pool_node_);  // the node stays valid
  connection.pool_list_ = &to;
}

void ConnPool::removeConnection(ConnectionList& list, UpstreamConnection& connection) {
  if (connection.pool_list_ != &list) return;
  // Bytes of an exchange that ended in an error (a reset mid-body) were not counted by
  // release().
  countBytes(connection);
  dispatcher_.deferredDelete(std::move(*connection.pool_node_));
  list.erase(connection.pool_node_);
  connection.pool_list_ = nullptr;
  --host_.counts->connections;
  const ClusterStats& s = *cluster_->stats;
  stats_.gaugeAdd(s.upstream_cx_active, -1);
  stats_.inc(s.upstream_cx_destroy);
}

void ConnPool::onConnectionClosed(UpstreamConnection& connection, bool connect_failed,
                                  bool timed_out) {
  for (auto* list : {&connecting_, &idle_, &busy_}) removeConnection(*list, connection);
  // The count is shared with the cluster's other versions (HostCounts): requests waiting
  // there at the cap may open one now.
  wakeCapWaiters(*host_.counts);
  if (!connect_failed) {
    openForPending();
    return;
  }
  const ClusterStats& s = *cluster_->stats;
  stats_.inc(timed_out ? s.upstream_cx_connect_timeout : s.upstream_cx_connect_fail);
  // Requests that were waiting for a new connection get the failure; those that can still be
  // served by other connections in flight keep waiting, and so do those a connection parked
  // this turn is about to serve (see release()).
  while (pending_.size() > connecting_.size() + busy_.size() + idle_.size() ||
         (pending_.size() > idle_.size() && connecting_.empty())) {
    std::unique_ptr<PendingRequestImpl> request = std::move(pending_.front());
    pending_.pop_front();
    pendingRemoved();
    request->callbacks_.onPoolFailure(timed_out ? PoolFailureReason::kTimeout
                                                : PoolFailureReason::kConnectFailure);
  }
  // Those kept for an idle connection get it now: a retry that asked for a new connection
  // (prefer_new) was queued beside an idle one, and no release will come to serve it.
  if (!pending_.empty() && !idle_.empty()) scheduleServe();
}

void ConnPool::openForPending() {
  // A connection gone while requests wait at the per-host cap (one released as not reusable,
  // or closed by the upstream): open what they need, or they wait for nothing.
  bool create_failed = false;
  while (pending_.size() > connecting_.size() && belowConnectionCap()) {
    if (!createConnection()) {
      create_failed = true;
      break;
    }
  }
  // The cap is held (by this version's connections or another's): they wait for the count
  // to drop, which wakes them.
  if (pending_.size() > connecting_.size() && !belowConnectionCap()) waitAtCap();
  // None could be opened (out of fds) and none is left here to serve them: they fail now
  // instead of waiting for nothing.
  while (create_failed && !pending_.empty() && activeConnections() == 0) {
    std::unique_ptr<PendingRequestImpl> request = std::move(pending_.front());
    pending_.pop_front();
    pendingRemoved();
    request->callbacks_.onPoolFailure(PoolFailureReason::kConnectFailure);
  }
}

void ConnPool::cancelPending(PendingRequestImpl* request) {
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const auto& p) { return p.get() == request; });
  if (it == pending_.end()) return;
  pending_.erase(it);
  pendingRemoved();
  if (draining_) shedIdle();  // a connection kept for this request is not needed here now
}

void ConnPool::drain() {
  draining_ = true;
  if (!pending_.empty() && !idle_.empty()) scheduleServe();  // then shedIdle()
  shedIdle();
}

void ConnPool::shedIdle() {
  // Most recently used first: each goes to the new pool's least recently used end, so the
  // oldest end up least preferred there (and are the ones closed at its idle cap).
  while (pending_.empty() && !idle_.empty()) {
    UpstreamConnection& connection = *idle_.back();
    if (!handOff(connection)) connection.connection_->close(network::CloseType::kNoFlush);
  }
}

bool ConnPool::handOff(UpstreamConnection& connection) {
  if (successors_ == nullptr) return false;
  ConnPool* to = successors_->successor(*cluster_, *host_.host);
  // Within one host's count (the usual case) a move changes nothing; into another count it
  // must fit under the cap there.
  const bool same_count = to != nullptr && to->host_.counts == host_.counts;
  if (to == nullptr || to == this || to->draining_ ||
      to->idle_.size() >= to->cluster_->max_idle_connections_per_host ||
      (!same_count && !to->belowConnectionCap())) {
    return false;
  }
  // Its idle time so far counts: updates more often than idle_timeout must not keep an
  // unused connection open for ever.
  const auto idle_for = dispatcher_.now() - connection.idle_since_;
  const std::chrono::milliseconds timeout = to->idleTimeout(connection);
  // before the counts move: the caller closes it here (kNoIdleTimeout, as nanoseconds, would
  // overflow the compare)
  if (timeout != kNoIdleTimeout && idle_for >= timeout) return false;
  if (!same_count) {
    --host_.counts->connections;
    ++to->host_.counts->connections;
    wakeCapWaiters(*host_.counts);
  }
  // At the least recently used end: takeIdle() prefers connections the new pool used itself.
  to->idle_.splice(to->idle_.begin(), *connection.pool_list_, connection.pool_node_);
  connection.pool_list_ = &to->idle_;
  connection.pool_ = to;
  stats_.gaugeAdd(cluster_->stats->upstream_cx_active, -1);
  to->stats_.gaugeAdd(to->cluster_->stats->upstream_cx_active, 1);
  if (timeout == kNoIdleTimeout) {
    connection.timer_->disableTimer();
  } else {
    connection.timer_->enableTimer(
        std::chrono::duration_cast<std::chrono::milliseconds>(timeout - idle_for));
  }
  if (!to->pending_.empty()) to->scheduleServe();
  return true;
}

}  // namespace portico::upstream
