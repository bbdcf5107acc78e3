#pragma once

// StreamSlots: a bound on the discovery streams open at once. Each stream holds a reactor, its
// subscriptions (up to kMaxNameBytesPerType per type) and its node, whether or not it ever
// sends a request; gRPC's per-connection limit does not bound a peer that opens many
// connections. Thread-safe: taken on gRPC's handler threads, given back in OnDone.

#include <atomic>
#include <cstddef>

namespace portico::control_plane {

class StreamSlots {
 public:
  explicit StreamSlots(size_t limit) : limit_(limit) {}

  // False when `limit` streams are open: the caller refuses the stream.
  bool tryTake() {
    size_t open = open_.load(std::memory_order_relaxed);
    do {
      if (open >= limit_) return false;
    } while (!open_.compare_exchange_weak(open, open + 1, std::memory_order_relaxed));
    return true;
  }
  void giveBack() { open_.fetch_sub(1, std::memory_order_relaxed); }

  size_t open() const { return open_.load(std::memory_order_relaxed); }
  size_t limit() const { return limit_; }

 private:
  const size_t limit_;
  std::atomic<size_t> open_{0};
};

}  // namespace portico::control_plane
