#include "source/control_plane/cache/snapshot_cache_impl.h"

#include <algorithm>

namespace portico::control_plane {

struct SnapshotCacheImpl::WatchState {
  std::recursive_mutex mutex;  // held while the callback runs; recursive so it may cancel itself
  bool active = true;
  WatchCallback cb;
};

class SnapshotCacheImpl::WatchImpl : public Watch {
 public:
  WatchImpl(SnapshotCacheImpl& cache, std::shared_ptr<WatchState> state)
      : cache_(cache), state_(std::move(state)) {}
  ~WatchImpl() override {
    {
      std::lock_guard<std::recursive_mutex> lock(state_->mutex);  // waits for a running callback
      state_->active = false;
    }
    std::lock_guard<std::mutex> lock(cache_.mutex_);
    auto& w = cache_.watches_;
    w.erase(std::remove(w.begin(), w.end(), state_), w.end());
  }

 private:
  SnapshotCacheImpl& cache_;
  std::shared_ptr<WatchState> state_;
};

SnapshotCacheImpl::SnapshotCacheImpl() = default;
SnapshotCacheImpl::~SnapshotCacheImpl() = default;

bool SnapshotCacheImpl::setSnapshot(SnapshotConstSharedPtr snapshot) {
  std::lock_guard<std::mutex> publish(publish_mutex_);
  std::vector<std::shared_ptr<WatchState>> watches;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (current_ != nullptr && current_->version() == snapshot->version()) return false;
    current_ = snapshot;
    watches = watches_;
  }
  for (const auto& w : watches) {
    std::lock_guard<std::recursive_mutex> lock(w->mutex);
    if (w->active) w->cb(snapshot);
  }
  return true;
}

size_t SnapshotCacheImpl::watchCount() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return watches_.size();
}

SnapshotConstSharedPtr SnapshotCacheImpl::current() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return current_;
}

WatchPtr SnapshotCacheImpl::watch(WatchCallback cb) {
  auto state = std::make_shared<WatchState>();
  state->cb = std::move(cb);
  std::lock_guard<std::mutex> lock(mutex_);
  watches_.push_back(state);
  return std::make_unique<WatchImpl>(*this, std::move(state));
}

}  // namespace portico::control_plane
