#pragma once

// The one seam between the cache (what to serve) and the server (how streams speak the
// protocol): a stream asks for a watch and is called back with each new snapshot. Storage,
// validation and versioning evolve behind it; the protocol code only sees snapshots.

#include <functional>
#include <memory>

#include "source/control_plane/cache/snapshot.h"

namespace portico::control_plane {

// Destroying a Watch cancels it: once the destructor returns, its callback is not running and
// never runs again. A callback may destroy its own watch.
class Watch {
 public:
  virtual ~Watch() = default;
};
using WatchPtr = std::unique_ptr<Watch>;

class SnapshotCache {
 public:
  using WatchCallback = std::function<void(const SnapshotConstSharedPtr&)>;
  virtual ~SnapshotCache() = default;

  // The snapshot being served, or null before the first one. Thread-safe.
  virtual SnapshotConstSharedPtr current() const = 0;
  // `cb` runs on the publishing thread for every snapshot set after this call (not for the
  // current one: read current() after watching). Thread-safe.
  virtual WatchPtr watch(WatchCallback cb) = 0;
};

}  // namespace portico::control_plane
