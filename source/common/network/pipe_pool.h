#pragma once

// Kernel pipes for splice(2), cached per thread: a large response forwarded through a pipe
// does not pay for pipe2(), fcntl() and two close() calls each time. Bounded: at most
// kMaxCached idle pipes per thread; a pipe that may still hold bytes is never reused.

#include <cstddef>
#include <optional>

namespace portico::network {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
};

class PipePool {
 public:
  // A non-blocking pipe from this thread's cache or a new one; nullopt when the process is
  // out of file descriptors (the caller then copies through user space as usual).
  static std::optional<Pipe> get();
  // Returns a pipe. `empty`: every byte written into it was read out; otherwise it is closed.
  static void put(Pipe pipe, bool empty);

  static constexpr size_t kMaxCached = 16;
  // Asked of F_SETPIPE_SZ (the default is 64 KiB); a pipe holds at most this much of a body.
  static constexpr int kCapacity = 256 * 1024;
};

}  // namespace portico::network
