#pragma once

// PortReservation: a bound, not listening socket on a listener's address, with SO_REUSEPORT as
// the workers' listening sockets have. While it lives, other programs cannot bind the port
// (unless they run as the same user and set SO_REUSEPORT too), and the workers still can: the main
// thread keeps it from the moment a configuration with a new listener is accepted until the workers
// have opened the listener, or for as long as the listener waits for its routes (Envoy binds such a
// listener at once). A bound socket that does not listen takes no connections.

#include "absl/status/statusor.h"
#include "source/common/network/address.h"

namespace portico::network {

class PortReservation {
 public:
  // Binds `address`; the error names it.
  static absl::StatusOr<PortReservation> reserve(const Address& address);

  PortReservation(PortReservation&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  PortReservation& operator=(PortReservation&& other) noexcept;
  PortReservation(const PortReservation&) = delete;
  PortReservation& operator=(const PortReservation&) = delete;
  ~PortReservation();  // frees the port

 private:
  explicit PortReservation(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace portico::network
