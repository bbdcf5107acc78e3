#include "source/control_plane/controller.h"

#include "absl/strings/str_cat.h"

namespace portico::control_plane {

absl::Status Controller::publishLocked(ResourceMap resources) {
  auto snapshot = Snapshot::create(resources);
  if (!snapshot.ok()) return snapshot.status();
  resources_ = std::move(resources);
  cache_.setSnapshot(*snapshot);
  return absl::OkStatus();
}

absl::Status Controller::reload() {
  std::lock_guard<std::mutex> lock(mutex_);
  reloads_++;
  // A write another instance was making when it crashed is finished first (and one it is
  // making now is waited for): a load in between would see some of its files.
  absl::Status recovered = store_.recover();
  auto loaded = recovered.ok() ? store_.load() : absl::StatusOr<ResourceMap>(recovered);
  absl::Status st = loaded.ok() ? publishLocked(std::move(*loaded)) : loaded.status();
  if (!st.ok()) {
    reload_failures_++;
    last_error_ = std::string(st.message());
  } else {
    last_error_.clear();
  }
  return st;
}

absl::StatusOr<ResourceMap> Controller::loadForWriteLocked() {
  // What is on disk, not the last load: an edit by hand since (still in the watcher's
  // debounce) must not be overwritten by a file rewritten from older contents, and one that
  // does not load must be fixed (or reverted) before the API writes next to it.
  absl::Status recovered = store_.recover();
  auto on_disk = recovered.ok() ? store_.load() : absl::StatusOr<ResourceMap>(recovered);
  if (!on_disk.ok()) {
    return absl::AbortedError(absl::StrCat(
        "the store directory does not load as it is now; fix or revert the edit first:\n",
        on_disk.status().message()));
  }
  return on_disk;
}

absl::StatusOr<SnapshotConstSharedPtr> Controller::apply(
    const std::vector<ResourceConstSharedPtr>& upserts, const std::vector<ResourceKey>& deletes,
    ResourceMap* base) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto current = loadForWriteLocked();
  if (!current.ok()) return current.status();
  if (base != nullptr) *base = *current;
  // Check consistency (targets) before touching the disk.
  auto next = store_.preview(*current, upserts, deletes);
  if (!next.ok()) return next.status();
  auto check = Snapshot::create(*next);
  if (!check.ok()) return absl::InvalidArgumentError(check.status().message());
  auto written = store_.apply(*current, upserts, deletes);
  if (!written.ok()) return written.status();
  // The store reads the directory back, with any edit made by hand since the load above. When
  // that does not validate, the change is on disk all the same: say so (409), rather than a
  // 400 that reads as "nothing changed".
  absl::Status st = publishLocked(std::move(*written));
  if (!st.ok()) {
    last_error_ = std::string(st.message());
    return absl::AbortedError(absl::StrCat(
        "the change was written, but the directory, with an edit made meanwhile, does not "
        "validate; the previous snapshot is still served until it does:\n",
        st.message()));
  }
  applies_++;
  return cache_.current();
}

absl::Status Controller::check(const std::vector<ResourceConstSharedPtr>& upserts,
                               const std::vector<ResourceKey>& deletes, ResourceMap* base) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto current = loadForWriteLocked();
  if (!current.ok()) return current.status();
  if (base != nullptr) *base = *current;
  auto next = store_.preview(*current, upserts, deletes);
  if (!next.ok()) return next.status();
  auto snapshot = Snapshot::create(*next);
  if (!snapshot.ok()) return absl::InvalidArgumentError(snapshot.status().message());
  return absl::OkStatus();
}

ResourceMap Controller::resources() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return resources_;
}

std::string Controller::lastError() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_error_;
}

}  // namespace portico::control_plane
