#include "source/common/network/lingering_closer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace portico::network {

struct LingeringCloser::Socket : public event::DeferredDeletable {
  int fd = -1;
  event::FileEventPtr event;
  event::TimerPtr timer;
  event::MonotonicTime deadline;  // the total timeout
  ~Socket() override {
    event.reset();
    if (fd >= 0) ::close(fd);
  }
};

LingeringCloser::LingeringCloser(event::Dispatcher& dispatcher,
                                 std::chrono::milliseconds inactivity_timeout,
                                 std::chrono::milliseconds total_timeout, size_t max_sockets)
    : dispatcher_(dispatcher),
      inactivity_timeout_(inactivity_timeout),
      total_timeout_(total_timeout),
      max_sockets_(max_sockets) {}

std::chrono::milliseconds LingeringCloser::nextDelay(const Socket& socket) const {
  auto left =
      std::chrono::duration_cast<std::chrono::milliseconds>(socket.deadline - dispatcher_.now());
  return std::max(std::chrono::milliseconds(0), std::min(inactivity_timeout_, left));
}

LingeringCloser::~LingeringCloser() = default;

void LingeringCloser::adopt(int fd) {
  if (sockets_.size() >= max_sockets_ || ::shutdown(fd, SHUT_WR) != 0) {
    ::close(fd);
    return;
  }
  auto socket = std::make_unique<Socket>();
  Socket* raw = socket.get();
  socket->fd = fd;
  socket->deadline = dispatcher_.now() + total_timeout_;
  socket->timer = dispatcher_.createTimer([this, raw] { finish(*raw); });
  socket->timer->enableTimer(nextDelay(*socket));
  socket->event = dispatcher_.createFileEvent(fd, [this, raw](uint32_t) { onReadable(*raw); });
  sockets_[raw] = std::move(socket);
  count_.store(sockets_.size(), std::memory_order_relaxed);
  // Bytes may already be waiting: no new edge would announce them.
  raw->event->activate(event::kRead);
}

void LingeringCloser::onReadable(Socket& socket) {
  if (!socket.event->registered()) {  // epoll refused it: no edge would ever come
    finish(socket);
    return;
  }
  thread_local char discard[16384];  // never read: every socket of the thread shares it
  bool got_bytes = false;
  bool drained = false;  // the socket said EAGAIN: the next edge will tell of more
  for (int i = 0; i < 16 && !drained; i++) {
    ssize_t n = ::recv(socket.fd, discard, sizeof(discard), MSG_DONTWAIT);
    if (n > 0) {
      got_bytes = true;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      drained = true;
      break;
    }
    finish(socket);  // EOF: the client is done; or an error
    return;
  }
  if (got_bytes) {
    // Still sending: the inactivity clock starts again (within the total).
    const std::chrono::milliseconds delay = nextDelay(socket);
    if (delay.count() == 0) {
      finish(socket);
      return;
    }
    socket.timer->enableTimer(delay);
  }
  // 16 reads and still going: more may wait; let other work run first.
  if (!drained) socket.event->activate(event::kRead);
}

void LingeringCloser::finish(Socket& socket) {
  auto it = sockets_.find(&socket);
  if (it == sockets_.end()) return;
  std::unique_ptr<Socket> owned = std::move(it->second);
  sockets_.erase(it);
  count_.store(sockets_.size(), std::memory_order_relaxed);
  owned->timer->disableTimer();
  owned->event.reset();
  ::close(owned->fd);
  owned->fd = -1;
  // The timer may be the caller: destroy after the callback unwinds.
  dispatcher_.deferredDelete(std::move(owned));
}

}  // namespace portico::network
