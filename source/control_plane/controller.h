#pragma once

// Controller: the path from the store to the proxies. Loads and validates the directory,
// builds a consistent Snapshot and publishes it to the cache; applies API writes (validate,
// persist atomically, publish). A reload that fails validation keeps the snapshot being served
// and is reported (lastError(), metrics): nothing invalid is ever pushed.

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "source/control_plane/cache/snapshot_cache_impl.h"
#include "source/control_plane/store/directory_store.h"

namespace portico::control_plane {

class Controller {
 public:
  Controller(DirectoryStore& store, SnapshotCacheImpl& cache) : store_(store), cache_(cache) {}

  // Loads the directory; on success publishes it. Thread-safe.
  absl::Status reload();
  // Validates, writes and publishes. Returns the new snapshot. Thread-safe. `base`, when
  // given, receives what the write started from (the directory as loaded for it, which may
  // hold edits not published yet): what "created", "updated" and "unchanged" are judged by.
  absl::StatusOr<SnapshotConstSharedPtr> apply(const std::vector<ResourceConstSharedPtr>& upserts,
                                               const std::vector<ResourceKey>& deletes,
                                               ResourceMap* base = nullptr);
  // Validation only, against the directory as it is; `base` as for apply().
  absl::Status check(const std::vector<ResourceConstSharedPtr>& upserts,
                     const std::vector<ResourceKey>& deletes, ResourceMap* base = nullptr);

  ResourceMap resources() const;
  SnapshotConstSharedPtr current() const { return cache_.current(); }
  std::string lastError() const;
  uint64_t reloads() const { return reloads_; }
  uint64_t reloadFailures() const { return reload_failures_; }
  uint64_t applies() const { return applies_; }

 private:
  absl::Status publishLocked(ResourceMap resources);
  // The store as it is on disk now, the base of an API write (Aborted if it does not load).
  absl::StatusOr<ResourceMap> loadForWriteLocked();

  DirectoryStore& store_;
  SnapshotCacheImpl& cache_;
  mutable std::mutex mutex_;
  ResourceMap resources_;
  std::string last_error_;
  std::atomic<uint64_t> reloads_{0}, reload_failures_{0}, applies_{0};
};

}  // namespace portico::control_plane
