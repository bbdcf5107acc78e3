#include "source/common/network/lingering_closer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace portico::network {

struct LingeringCloser::Socket : public event::DeferredDeletable {
  int fd = -1;
  event::FileEventPtr event;
  event::TimerPtr timer;
  ~Socket() override {
    event.reset();
    if (fd >= 0) ::close(fd);
  }
};

LingeringCloser::LingeringCloser(event::Dispatcher& dispatcher, std::chrono::milliseconds timeout,
                                 size_t max_sockets)
    : dispatcher_(dispatcher), timeout_(timeout), max_sockets_(max_sockets) {}

LingeringCloser::~LingeringCloser() = default;

void LingeringCloser::adopt(int fd) {
  if (sockets_.size() >= max_sockets_ || ::shutdown(fd, SHUT_WR) != 0) {
    ::close(fd);
    return;
  }
  auto socket = std::make_unique<Socket>();
  Socket* raw = socket.get();
  socket->fd = fd;
  socket->timer = dispatcher_.createTimer([this, raw] { finish(*raw); });
  socket->timer->enableTimer(timeout_);
  socket->event = dispatcher_.createFileEvent(fd, [this, raw](uint32_t) { onReadable(*raw); });
  sockets_[raw] = std::move(socket);
  // Bytes may already be waiting: no new edge would announce them.
  raw->event->activate(event::kRead);
}

void LingeringCloser::onReadable(Socket& socket) {
  thread_local char discard[16384];  // never read: every socket of the thread shares it
  for (int i = 0; i < 16; i++) {
    ssize_t n = ::recv(socket.fd, discard, sizeof(discard), MSG_DONTWAIT);
    if (n > 0) continue;
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    finish(socket);  // EOF: the client is done; or an error
    return;
  }
  socket.event->activate(event::kRead);  // more may wait; let other work run first
}

void LingeringCloser::finish(Socket& socket) {
  auto it = sockets_.find(&socket);
  if (it == sockets_.end()) return;
  std::unique_ptr<Socket> owned = std::move(it->second);
  sockets_.erase(it);
  owned->timer->disableTimer();
  owned->event.reset();
  ::close(owned->fd);
  owned->fd = -1;
  // The timer may be the caller: destroy after the callback unwinds.
  dispatcher_.deferredDelete(std::move(owned));
}

}  // namespace portico::network
