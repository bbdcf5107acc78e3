#pragma once

// Numeric IPv4/IPv6 socket addresses. Names are never resolved on the data plane.

#include <netinet/in.h>
#include <sys/socket.h>

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace portico::network {

class Address {
 public:
  Address() = default;
  // Parses "127.0.0.1" / "::1" and a port; refuses names and out-of-range ports.
  static absl::StatusOr<Address> parse(absl::string_view ip, uint32_t port);
  static Address fromSockaddr(const sockaddr* sa, socklen_t len);

  const sockaddr* sockAddr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  socklen_t sockLen() const { return len_; }
  int family() const { return storage_.ss_family; }
  // "127.0.0.1:8080" or "[::1]:8080".
  std::string asString() const;
  // "127.0.0.1" or "::1".
  std::string ip() const;
  uint16_t port() const;

 private:
  sockaddr_storage storage_{};
  socklen_t len_ = 0;
};

}  // namespace portico::network
