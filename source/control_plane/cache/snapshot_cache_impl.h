#pragma once

#include <memory>
#include <mutex>
#include <vector>

#include "source/control_plane/cache/snapshot_cache.h"

namespace portico::control_plane {

class SnapshotCacheImpl : public SnapshotCache {
 public:
  SnapshotCacheImpl();
  ~SnapshotCacheImpl() override;

  // Publishes `snapshot` (already consistent) and calls every watch, on this thread. A snapshot
  // with the version being served is not published again; returns whether it was.
  bool setSnapshot(SnapshotConstSharedPtr snapshot);
  size_t watchCount() const;

  // SnapshotCache
  SnapshotConstSharedPtr current() const override;
  WatchPtr watch(WatchCallback cb) override;

 private:
  struct WatchState;
  class WatchImpl;

  mutable std::mutex mutex_;  // current_ and watches_
  SnapshotConstSharedPtr current_;
  std::vector<std::shared_ptr<WatchState>> watches_;
  std::mutex publish_mutex_;  // one publisher at a time, in order
};

}  // namespace portico::control_plane
