#pragma once

// Watches a directory with inotify on a dispatcher and calls back once things settle: editors
// and `git checkout` produce bursts of events, so a change is reported `debounce` after the last
// event of a burst, and at the latest kMaxDelayFactor x debounce after its first (a file
// rewritten more often than `debounce` does not hold reloads back for ever). Runs entirely on
// the dispatcher's thread.
//
// Events count for files `is_watched` accepts (hidden temp and swap files are not: only their
// final rename matters), and for the "..data" link a Kubernetes ConfigMap or Secret volume
// swaps on every update (all its other names are hidden). If the directory itself goes (moved
// or deleted), the watch is taken up again once the path exists again.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "source/common/event/dispatcher.h"

namespace portico::control_plane {

class DirectoryWatcher {
 public:
  static constexpr int kMaxDelayFactor = 10;
  static constexpr std::chrono::milliseconds kRewatchInterval{1000};

  static absl::StatusOr<std::unique_ptr<DirectoryWatcher>> create(
      event::Dispatcher& dispatcher, const std::string& dir, std::chrono::milliseconds debounce,
      std::function<bool(absl::string_view name)> is_watched, std::function<void()> on_change);
  ~DirectoryWatcher();

 private:
  DirectoryWatcher(int fd, std::string dir, std::chrono::milliseconds debounce,
                   std::function<bool(absl::string_view)> is_watched,
                   std::function<void()> on_change)
      : fd_(fd),
        dir_(std::move(dir)),
        debounce_(debounce),
        is_watched_(std::move(is_watched)),
        on_change_(std::move(on_change)) {}
  bool addWatch();
  void onReadable();
  void onTimer();

  int fd_;
  const std::string dir_;
  std::chrono::milliseconds debounce_;
  std::function<bool(absl::string_view)> is_watched_;
  std::function<void()> on_change_;
  event::FileEventPtr file_event_;
  event::TimerPtr timer_;
  int wd_ = -1;         // the directory's watch; -1 after it went, until watched again
  bool burst_ = false;  // a change is waiting for the burst to end
  std::chrono::steady_clock::time_point burst_start_;
};

}  // namespace portico::control_plane
