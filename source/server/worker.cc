#include "source/server/worker.h"

#include <unistd.h>

#include <algorithm>
#include <future>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "source/common/access_log/access_log.h"
#include "source/common/common/logger.h"
#include "source/common/network/connection_impl.h"

namespace portico::server {

Worker::Worker(uint32_t index, stats::Store& store, const std::atomic<bool>& server_healthy)
    : index_(index),
      dispatcher_(event::createDispatcher()),
      lingering_closer_(*dispatcher_, network::LingeringCloser::kDefaultInactivityTimeout,
                        network::LingeringCloser::kDefaultTotalTimeout,
                        network::LingeringCloser::kDefaultMaxSockets),
      stats_(store.createWorkerStats()),
      cluster_manager_(*dispatcher_, stats_),
      rng_(std::random_device{}() ^ (static_cast<uint64_t>(index) << 32)),
      services_{*dispatcher_, stats_,        cluster_manager_, [this] { return rng_(); },
                draining_,    server_healthy} {}

Worker::~Worker() { stop(); }

absl::Status Worker::initialize(ConfigSnapshotConstSharedPtr snapshot) {
  dispatcher_->setWakeupCoalescing(snapshot->wakeup_coalescing);
  return reconcile(snapshot);
}

void Worker::applySnapshot(ConfigSnapshotConstSharedPtr snapshot) {
  dispatcher_->post([this, snapshot] {
    absl::Status status = reconcile(snapshot);
    if (!status.ok()) PORTICO_LOG(kError, "worker %d: %s", index_, status.message());
  });
}

absl::Status Worker::reconcile(const ConfigSnapshotConstSharedPtr& snapshot) {
  snapshot_ = snapshot;
  cluster_manager_.update(snapshot_->clusters);
  absl::flat_hash_map<std::string, ListenerConfigConstSharedPtr> wanted;
  for (const ListenerConfigConstSharedPtr& config : snapshot_->listeners) {
    wanted[config->name] = config;
  }
  // Keep, switch or retire what we have.
  std::vector<std::unique_ptr<ActiveListener>> kept;
  std::vector<std::unique_ptr<ActiveListener>> leaving;
  for (auto& active : listeners_) {
    auto it = wanted.find(active->config->name);
    if (it != wanted.end() &&
        it->second->address.asString() == active->config->address.asString()) {
      active->config = it->second;
      active->http = it->second->http;
      wanted.erase(it);
      kept.push_back(std::move(active));
    } else {
      leaving.push_back(std::move(active));
    }
  }
  listeners_ = std::move(kept);
  // Open the new ones, in config order.
  absl::Status status = absl::OkStatus();
  for (const ListenerConfigConstSharedPtr& config : snapshot_->listeners) {
    if (!wanted.contains(config->name) || listening_stopped_) continue;
    auto active = std::make_unique<ActiveListener>();
    active->config = config;
    active->http = config->http;
    ActiveListener* raw = active.get();
    auto on_accept = [this, raw](int fd, const network::Address& peer) {
      onAccept(*raw, fd, peer);
    };
    // A listener leaving this address (renamed, or replaced) hands its socket over: closing
    // it would reset the handshakes in its queue, and with one worker refuse connections.
    if (config->address.port() != 0) {
      auto same_address = [&](const std::unique_ptr<ActiveListener>& l) {
        return l->socket != nullptr && l->config->address.asString() == config->address.asString();
      };
      auto it = std::find_if(leaving.begin(), leaving.end(), same_address);
      if (it != leaving.end()) {
        active->socket = std::move((*it)->socket);
        active->socket->setAcceptCallback(std::move(on_accept));
        listeners_.push_back(std::move(active));
        continue;
      }
    }
    auto socket = network::TcpListener::create(*dispatcher_, config->address, std::move(on_accept));
    if (!socket.ok()) {
      status = absl::UnavailableError(
          absl::StrCat("listener '", config->name, "': ", socket.status().message()));
      continue;
    }
    active->socket = std::move(*socket);
    listeners_.push_back(std::move(active));
  }
  for (auto& active : leaving) retire(std::move(active));
  reapRetired();
  access_log::releaseThreadWriters();
  return status;
}

void Worker::retire(std::unique_ptr<ActiveListener> listener) {
  if (listener->socket) {
    listener->socket->acceptQueued();  // served (they drain below), not reset by the close
    listener->socket->close();
  }
  ActiveListener* retiring = listener.get();
  retired_.push_back(std::move(listener));
  // Collect first: draining an idle connection closes it at once, which erases it from
  // connections_ (onConnectionClosed) while we would still be iterating.
  std::vector<http::HttpConnection*> draining;
  for (auto& [raw, entry] : connections_) {
    if (entry.listener == retiring) draining.push_back(raw);
  }
  for (http::HttpConnection* c : draining) c->startDrain();
}

void Worker::reapRetired() {
  retired_.erase(std::remove_if(retired_.begin(), retired_.end(),
                                [](const auto& l) { return l->connections == 0; }),
                 retired_.end());
}

void Worker::start() {
  thread_ = std::thread([this] {
    dispatcher_->run();
    // Loop ended: close what is left, on this thread. Closing one connection can end another
    // (a 503 for a request waiting on an upstream connection), whose close callback erases
    // from connections_: so clear a moved-out map, not the member.
    auto connections = std::move(connections_);
    connections_.clear();
    connections.clear();
    listeners_.clear();
    retired_.clear();
    access_log::flushThreadPending();
  });
}

void Worker::onAccept(ActiveListener& listener, int fd, const network::Address& peer) {
  const ListenerConfig& config = *listener.config;
  if (draining_ || (config.max_connections > 0 && listener.connections >= config.max_connections)) {
    stats_.inc(config.http->stats->downstream_cx_overflow);
    ::close(fd);
    return;
  }
  auto connection = std::make_unique<network::ConnectionImpl>(*dispatcher_, fd, peer, false,
                                                              config.http->buffer_limit);
  connection->setLingeringCloser(&lingering_closer_);
  ActiveListener* listener_ptr = &listener;
  auto http = std::make_unique<http::HttpConnection>(
      config.http, services_, std::move(connection),
      [this, listener_ptr](http::HttpConnection& c) { onConnectionClosed(listener_ptr, c); },
      &listener.http);
  listener.connections++;
  active_connections_.fetch_add(1, std::memory_order_relaxed);
  http::HttpConnection* raw = http.get();
  connections_[raw] = ConnectionEntry{std::move(http), &listener};
}

void Worker::onConnectionClosed(ActiveListener* listener, http::HttpConnection& connection) {
  auto it = connections_.find(&connection);
  if (it == connections_.end()) return;
  dispatcher_->deferredDelete(std::move(it->second.connection));
  connections_.erase(it);
  listener->connections--;
  active_connections_.fetch_sub(1, std::memory_order_relaxed);
  if (listener->connections == 0 && !retired_.empty()) {
    // Destroy after this callback unwinds: the connection still points at the listener.
    dispatcher_->runAtEndOfTurn([this] { reapRetired(); });
  }
}

void Worker::stopListening() {
  dispatcher_->post([this] {
    listening_stopped_ = true;  // for good: a later config must not open sockets again
    for (auto& l : listeners_) {
      // The queued connections are served by the drain that follows, not reset by the close.
      l->socket->acceptQueued();
      l->socket->close();
    }
  });
}

void Worker::drain() {
  dispatcher_->post([this] {
    draining_ = true;
    std::vector<http::HttpConnection*> all;
    for (auto& [raw, entry] : connections_) all.push_back(raw);
    for (http::HttpConnection* c : all) c->startDrain();
    drain_started_.store(true, std::memory_order_release);
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  dispatcher_->exit();
  thread_.join();
}

// f refers to the caller's stack. After a timeout the caller returns, so a worker that gets
// to f later must not run it: `cancelled` (under the mutex f runs under) makes sure.
struct Worker::SyncCall {
  std::mutex mutex;
  bool cancelled = false;
  std::promise<void> done;
  std::future<void> future = done.get_future();
};

std::shared_ptr<Worker::SyncCall> Worker::postSync(const std::function<void(Worker&)>& f) {
  auto call = std::make_shared<SyncCall>();
  dispatcher_->post([this, f, call] {
    std::lock_guard<std::mutex> lock(call->mutex);
    if (call->cancelled) return;
    f(*this);
    call->done.set_value();
  });
  return call;
}

bool Worker::waitSync(SyncCall& call, std::chrono::steady_clock::time_point deadline) {
  if (call.future.wait_until(deadline) == std::future_status::ready) return true;
  std::lock_guard<std::mutex> lock(call.mutex);  // waits for an f already running
  call.cancelled = true;
  return call.future.wait_for(std::chrono::seconds(0)) == std::future_status::ready;
}

std::vector<uint32_t> Worker::runOnAll(const std::vector<std::unique_ptr<Worker>>& workers,
                                       const std::function<void(Worker&)>& f,
                                       std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::shared_ptr<SyncCall>> calls;
  for (const auto& w : workers) {
    calls.push_back(w->thread_.joinable() ? w->postSync(f) : nullptr);
  }
  std::vector<uint32_t> missing;
  for (size_t i = 0; i < workers.size(); i++) {
    if (calls[i] == nullptr) {
      f(*workers[i]);  // not started: nobody else touches it
    } else if (!waitSync(*calls[i], deadline)) {
      missing.push_back(workers[i]->index());
    }
  }
  return missing;
}

}  // namespace portico::server
