#pragma once

// LingeringCloser: closes accepted sockets the way nginx's lingering close does. A plain
// close() on a socket whose peer is still sending (a request body we answered early, bytes
// after a malformed request) makes the kernel answer with RST, and some client stacks then drop
// the response they have not read yet. Here writing is shut down instead (the client gets the
// response and a FIN), and whatever it still sends is read and thrown away until it closes,
// stays silent for the inactivity timeout, or the total timeout passes (nginx's
// lingering_timeout and lingering_time). One per worker thread.

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>

#include "absl/container/flat_hash_map.h"
#include "source/common/event/dispatcher.h"

namespace portico::network {

class LingeringCloser {
 public:
  LingeringCloser(event::Dispatcher& dispatcher, std::chrono::milliseconds inactivity_timeout,
                  std::chrono::milliseconds total_timeout, size_t max_sockets);
  ~LingeringCloser();  // closes every socket still lingering

  // Takes ownership of `fd` (a connected TCP socket whose output is fully sent). Beyond
  // max_sockets, or if shutdown() fails, it is closed at once.
  void adopt(int fd);
  // Sockets lingering now. Any thread may read it (a drain waits for them to finish).
  size_t size() const { return count_.load(std::memory_order_relaxed); }

  // A client still uploading keeps the socket as long as bytes keep coming (up to the total),
  // so a large upload refused early still gets to read its response.
  static constexpr std::chrono::milliseconds kDefaultInactivityTimeout{2000};
  static constexpr std::chrono::milliseconds kDefaultTotalTimeout{30000};
  static constexpr size_t kDefaultMaxSockets = 256;  // per worker; each holds a descriptor

 private:
  struct Socket;
  void onReadable(Socket& socket);
  void finish(Socket& socket);

  event::Dispatcher& dispatcher_;
  // The timer's next delay: the inactivity timeout, or less if the total ends sooner.
  std::chrono::milliseconds nextDelay(const Socket& socket) const;

  const std::chrono::milliseconds inactivity_timeout_;
  const std::chrono::milliseconds total_timeout_;
  const size_t max_sockets_;
  absl::flat_hash_map<Socket*, std::unique_ptr<Socket>> sockets_;
  std::atomic<size_t> count_{0};  // sockets_.size(), for other threads
};

}  // namespace portico::network
