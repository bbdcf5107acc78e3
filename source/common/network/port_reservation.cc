#include "source/common/network/port_reservation.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace portico::network {

absl::StatusOr<PortReservation> PortReservation::reserve(const Address& address) {
  int fd = socket(address.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket(): ", strerror(errno)));
  PortReservation reservation(fd);
  // SO_REUSEPORT, as the workers' sockets: they may bind beside it. Not SO_REUSEADDR: two
  // sockets that both have it share a port while neither listens, so any server (they all
  // set it) could take the port from under a reservation that had it.
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
  if (bind(fd, address.sockAddr(), address.sockLen()) != 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot bind ", address.asString(), ": ", strerror(errno)));
  }
  return reservation;
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
