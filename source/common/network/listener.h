#pragma once

// A listening socket on one worker (SO_REUSEPORT: each worker has its own, the kernel spreads
// connections). Accepted fds are handed to the owner, which wraps them in a ConnectionImpl.

#include <chrono>
#include <cstdint>
#include <functional>

#include "absl/status/statusor.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/address.h"

namespace portico::network {

class TcpListener {
 public:
  using AcceptCb = std::function<void(int fd, const Address& peer)>;

  // Binds and listens; errors name the address. With `reuse_port` (SO_REUSEPORT) several
  // sockets share the address (one per worker); without, the bind fails while anything else
  // holds it, which makes a single socket (admin, REST API) an exclusive claim on its port.
  static absl::StatusOr<std::unique_ptr<TcpListener>> create(event::Dispatcher& dispatcher,
                                                             const Address& address,
                                                             AcceptCb on_accept,
                                                             bool reuse_port = true);
  ~TcpListener();

  // Stops accepting and closes the socket (the kernel refuses new connections afterwards).
  void close();
  // Accepts what waits in the kernel's queue now, before a close: closing a listening socket
  // resets the connections still queued, whose clients may have sent their request already.
  void acceptQueued() { onReady(); }
  // Hands the socket to a new owner: a listener replaced by one on the same address keeps
  // its socket, so no connection is refused or reset in between.
  void setAcceptCallback(AcceptCb on_accept) { on_accept_ = std::move(on_accept); }
  // Port actually bound (useful when the config said 0).
  uint16_t boundPort() const { return bound_port_; }
  // accept() failures for want of descriptors or memory (each starts a retry, see onReady).
  uint64_t acceptExhaustedCount() const { return accept_exhausted_; }

  // Out of descriptors, accepting is tried again after this.
  static constexpr std::chrono::milliseconds kAcceptRetry{100};

 private:
  TcpListener(event::Dispatcher& dispatcher, int fd, AcceptCb on_accept);
  void onReady();

  event::Dispatcher& dispatcher_;
  int fd_;
  uint16_t bound_port_ = 0;
  AcceptCb on_accept_;
  event::FileEventPtr file_event_;
  event::TimerPtr retry_timer_;  // created on the first exhaustion
  uint64_t accept_exhausted_ = 0;
};

}  // namespace portico::network
