#pragma once

// Watches a directory with inotify on a dispatcher and calls back once things settle: editors
// and `git checkout` produce bursts of events, so a change is reported `debounce` after the last
// event of a burst. Runs entirely on the dispatcher's thread.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "source/common/event/dispatcher.h"

namespace portico::control_plane {

class DirectoryWatcher {
 public:
  static absl::StatusOr<std::unique_ptr<DirectoryWatcher>> create(
      event::Dispatcher& dispatcher, const std::string& dir, std::chrono::milliseconds debounce,
      std::function<void()> on_change);
  ~DirectoryWatcher();

 private:
  DirectoryWatcher(int fd, std::chrono::milliseconds debounce, std::function<void()> on_change)
      : fd_(fd), debounce_(debounce), on_change_(std::move(on_change)) {}
  void onReadable();

  int fd_;
  std::chrono::milliseconds debounce_;
  std::function<void()> on_change_;
  event::FileEventPtr file_event_;
  event::TimerPtr timer_;
};

}  // namespace portico::control_plane
