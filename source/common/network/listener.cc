#include "source/common/network/listener.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"

namespace portico::network {

absl::StatusOr<std::unique_ptr<TcpListener>> TcpListener::create(event::Dispatcher& dispatcher,
                                                                 const Address& address,
                                                                 AcceptCb on_accept,
                                                                 bool reuse_port) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(): ", strerror(errno)));
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, address.sockAddr(), address.sockLen()) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", address.asString(), ": ", strerror(err)));
  }
  if (listen(fd, 4096) != 0) {
    int err = errno;
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("cannot listen on ", address.asString(), ": ", strerror(err)));
  }
  auto listener =
      std::unique_ptr<TcpListener>(new TcpListener(dispatcher, fd, std::move(on_accept)));
  if (!listener->file_event_->registered()) {
    return absl::UnavailableError(
        absl::StrCat("cannot watch the socket for ", address.asString(),
                     ": epoll refused it (out of watches, fs.epoll.max_user_watches, or memory)"));
  }
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  listener->bound_port_ = Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len).port();
  return listener;
}

TcpListener::TcpListener(event::Dispatcher& dispatcher, int fd, AcceptCb on_accept)
    : dispatcher_(dispatcher), fd_(fd), on_accept_(std::move(on_accept)) {
  file_event_ = dispatcher.createFileEvent(fd_, [this](uint32_t events) {
    if (events & event::kRead) onReady();
  });
}

TcpListener::~TcpListener() { close(); }

void TcpListener::close() {
  if (fd_ < 0) return;
  file_event_.reset();
  retry_timer_.reset();
  ::close(fd_);
  fd_ = -1;
}

void TcpListener::onReady() {
  // Edge-triggered: accept until the queue is empty.
  while (fd_ >= 0) {
    sockaddr_storage ss{};
    socklen_t len = sizeof(ss);
    int fd = accept4(fd_, reinterpret_cast<sockaddr*>(&ss), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      // ECONNABORTED and the network errors accept(2) says to treat as EAGAIN-and-retry belong
      // to the one connection that failed: go on with the queue.
      if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO || errno == ENETDOWN ||
          errno == ENOPROTOOPT || errno == EHOSTDOWN || errno == ENONET || errno == EHOSTUNREACH ||
          errno == EOPNOTSUPP || errno == ENETUNREACH) {
        continue;
      }
      if (errno != EAGAIN) {
        // Out of descriptors (or memory): the rest wait in the kernel's queue. Edge-triggered,
        // no event comes for them when our own connections close and free descriptors, only
        // when yet another client connects: without a retry they would wait for that.
        // Any other error (EPERM from a security module, ...) is retried the same way rather
        // than leaving the queue until the next client arrives.
        if (accept_exhausted_++ == 0 || accept_exhausted_ % 1000 == 0) {
          PORTICO_LOG(kWarn, "accept on port %d: %s (%d times); retrying every %d ms", bound_port_,
                      strerror(errno), accept_exhausted_, kAcceptRetry.count());
        }
        if (retry_timer_ == nullptr) retry_timer_ = dispatcher_.createTimer([this] { onReady(); });
        retry_timer_->enableTimer(kAcceptRetry);
      }
      return;  // EAGAIN: the queue is empty
    }
    on_accept_(fd, Address::fromSockaddr(reinterpret_cast<sockaddr*>(&ss), len));
  }
}

}  // namespace portico::network
