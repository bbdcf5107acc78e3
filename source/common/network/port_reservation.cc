#include "source/common/network/port_reservation.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::network {

namespace {

int bindSocket(const Address& address, bool reuse_addr) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  int one = 1;
  if (reuse_addr) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, address.sockAddr(), address.sockLen()) != 0) {
    const int saved = errno;
    ::close(fd);
    errno = saved;
    return -1;
  }
  return fd;
}

}  // namespace

absl::StatusOr<PortReservation> PortReservation::reserve(const Address& address) {
  // SO_REUSEPORT, as the workers' sockets: they may bind beside it. Not SO_REUSEADDR: two
  // sockets that both have it share a port while neither listens, so any server (they all
  // set it) could take the port from under a reservation that had it.
  int fd = bindSocket(address, /*reuse_addr=*/false);
  if (fd < 0 && errno == EADDRINUSE) {
    // Another program's closing connections on the port (TIME_WAIT) refuse that bind, not
    // the workers' (which set SO_REUSEADDR): never be stricter than they are. The port is
    // then held less firmly.
    fd = bindSocket(address, /*reuse_addr=*/true);
  }
  if (fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", address.asString(), ": ", strerror(errno)));
  }
  return PortReservation(fd);
}

PortReservation& PortReservation::operator=(PortReservation&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

PortReservation::~PortReservation() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace portico::network
