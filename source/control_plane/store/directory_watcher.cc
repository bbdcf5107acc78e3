#include "source/control_plane/store/directory_watcher.h"

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::control_plane {

absl::StatusOr<std::unique_ptr<DirectoryWatcher>> DirectoryWatcher::create(
    event::Dispatcher& dispatcher, const std::string& dir, std::chrono::milliseconds debounce,
    std::function<void()> on_change) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("inotify_init1: ", strerror(errno)));
  // Renames into the directory (atomic writers) and close-after-write (editors, cp) both count.
  const uint32_t mask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE |
                        IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF;
  if (inotify_add_watch(fd, dir.c_str(), mask) < 0) {
    int err = errno;
    ::close(fd);
    return absl::NotFoundError(absl::StrCat("cannot watch '", dir, "': ", strerror(err)));
  }
  std::unique_ptr<DirectoryWatcher> w(new DirectoryWatcher(fd, debounce, std::move(on_change)));
  DirectoryWatcher* raw = w.get();
  w->timer_ = dispatcher.createTimer([raw] { raw->on_change_(); });
  w->file_event_ = dispatcher.createFileEvent(fd, [raw](uint32_t) { raw->onReadable(); });
  return w;
}

DirectoryWatcher::~DirectoryWatcher() {
  file_event_.reset();
  timer_.reset();
  ::close(fd_);
}

void DirectoryWatcher::onReadable() {
  alignas(struct inotify_event) char buf[16 * 1024];
  bool relevant = false;
  while (true) {
    ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n <= 0) break;
    for (char* p = buf; p < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(p);
      // Our own temp files (".portico-tmp-*") and editor swap files are hidden: only their
      // final rename matters.
      if (ev->len == 0 || ev->name[0] != '.') relevant = true;
      p += sizeof(struct inotify_event) + ev->len;
    }
  }
  if (relevant) timer_->enableTimer(debounce_);
}

}  // namespace portico::control_plane
