#include "source/server/worker.h"

#include <unistd.h>

#include <future>

#include "absl/strings/str_cat.h"
#include "source/common/access_log/access_log.h"
#include "source/common/common/logger.h"
#include "source/common/network/connection_impl.h"

namespace portico::server {

Worker::Worker(uint32_t index, stats::Store& store)
    : index_(index),
      dispatcher_(event::createDispatcher()),
      stats_(store.createWorkerStats()),
      cluster_manager_(*dispatcher_, stats_),
      rng_(std::random_device{}() ^ (static_cast<uint64_t>(index) << 32)),
      services_{*dispatcher_, stats_, cluster_manager_, [this] { return rng_(); }, draining_} {}

Worker::~Worker() { stop(); }

absl::Status Worker::initialize(ConfigSnapshotConstSharedPtr snapshot) {
  snapshot_ = std::move(snapshot);
  cluster_manager_.update(snapshot_->clusters);
  for (const ListenerConfigConstSharedPtr& config : snapshot_->listeners) {
    auto active = std::make_unique<ActiveListener>();
    active->config = config;
    ActiveListener* raw = active.get();
    auto socket = network::TcpListener::create(
        *dispatcher_, config->address,
        [this, raw](int fd, const network::Address& peer) { onAccept(*raw, fd, peer); });
    if (!socket.ok()) {
      return absl::UnavailableError(
          absl::StrCat("listener '", config->name, "': ", socket.status().message()));
    }
    active->socket = std::move(*socket);
    listeners_.push_back(std::move(active));
  }
  return absl::OkStatus();
}

void Worker::start() {
  thread_ = std::thread([this] {
    dispatcher_->run();
    // Loop ended: close what is left, on this thread.
    connections_.clear();
    listeners_.clear();
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
  ActiveListener* listener_ptr = &listener;
  auto http = std::make_unique<http::HttpConnection>(
      config.http, services_, std::move(connection),
      [this, listener_ptr](http::HttpConnection& c) { onConnectionClosed(listener_ptr, c); });
  listener.connections++;
  active_connections_.fetch_add(1, std::memory_order_relaxed);
  connections_[http.get()] = std::move(http);
}

void Worker::onConnectionClosed(ActiveListener* listener, http::HttpConnection& connection) {
  auto it = connections_.find(&connection);
  if (it == connections_.end()) return;
  dispatcher_->deferredDelete(std::move(it->second));
  connections_.erase(it);
  // The listener may be gone (drained); only count when it still exists.
  for (auto& l : listeners_) {
    if (l.get() == listener) l->connections--;
  }
  active_connections_.fetch_sub(1, std::memory_order_relaxed);
}

void Worker::stopListening() {
  dispatcher_->post([this] {
    for (auto& l : listeners_) l->socket->close();
  });
}

void Worker::drain() {
  dispatcher_->post([this] {
    draining_ = true;
    std::vector<http::HttpConnection*> all;
    for (auto& [raw, c] : connections_) all.push_back(raw);
    for (http::HttpConnection* c : all) c->startDrain();
  });
}

void Worker::stop() {
  if (!thread_.joinable()) return;
  dispatcher_->exit();
  thread_.join();
}

bool Worker::runSync(const std::function<void(Worker&)>& f) {
  if (!thread_.joinable()) {
    f(*this);
    return true;
  }
  auto done = std::make_shared<std::promise<void>>();
  std::future<void> future = done->get_future();
  dispatcher_->post([this, f, done] {
    f(*this);
    done->set_value();
  });
  return future.wait_for(std::chrono::seconds(2)) == std::future_status::ready;
}

}  // namespace portico::server
