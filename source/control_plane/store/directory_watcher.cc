#include "source/control_plane/store/directory_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::control_plane {

absl::StatusOr<std::unique_ptr<DirectoryWatcher>> DirectoryWatcher::create(
    event::Dispatcher& dispatcher, const std::string& dir, std::chrono::milliseconds debounce,
    std::function<bool(absl::string_view)> is_watched, std::function<void()> on_change) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("inotify_init1: ", strerror(errno)));
  std::unique_ptr<DirectoryWatcher> w(
      new DirectoryWatcher(fd, dir, debounce, std::move(is_watched), std::move(on_change)));
  if (!w->addWatch()) {
    return absl::NotFoundError(absl::StrCat("cannot watch '", dir, "': ", strerror(errno)));
  }
  DirectoryWatcher* raw = w.get();
  w->timer_ = dispatcher.createTimer([raw] { raw->onTimer(); });
  w->file_event_ = dispatcher.createFileEvent(fd, [raw](uint32_t) { raw->onReadable(); });
  return w;
}

DirectoryWatcher::~DirectoryWatcher() {
  file_event_.reset();
  timer_.reset();
  ::close(fd_);
}

bool DirectoryWatcher::addWatch() {
  // Renames into the directory (atomic writers, the ConfigMap link swap) and close-after-write
  // (editors, cp) both count.
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                        IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  wd_ = inotify_add_watch(fd_, dir_.c_str(), mask);
  return wd_ >= 0;
}

void DirectoryWatcher::onReadable() {
  alignas(struct inotify_event) char buf[16 * 1024];
  bool relevant = false;
  bool lost = false;
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      const absl::string_view name = ev->len > 0 ? absl::string_view(ev->name) : "";
      if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
        lost = lost || ev->wd == wd_;  // the directory went (not an old watch's last word)
      } else if (ev->mask & IN_Q_OVERFLOW) {
        relevant = true;  // events were lost: reload to be sure
      } else if (is_watched_(name) || name == "..data") {
        relevant = true;
      }
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
  if (lost) {
    // A moved directory keeps its watch (on the old inode): drop it and watch the path again,
    // whatever is there by then.
    inotify_rm_watch(fd_, wd_);
    wd_ = -1;
    relevant = true;
  }
  if (!relevant) return;
  const auto now = std::chrono::steady_clock::now();
  if (!burst_) {
    burst_ = true;
    burst_start_ = now;
  }
  const auto latest = burst_start_ + kMaxDelayFactor * debounce_;
  timer_->enableTimer(std::max(
      std::chrono::milliseconds(0),
      std::min(debounce_, std::chrono::duration_cast<std::chrono::milliseconds>(latest - now))));
}

void DirectoryWatcher::onTimer() {
  if (wd_ < 0 && !addWatch()) {
    timer_->enableTimer(kRewatchInterval);  // not there (yet): try again
    return;
  }
  burst_ = false;
  on_change_();
}

}  // namespace portico::control_plane
