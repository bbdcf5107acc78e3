#pragma once

// Kernel pipes for splice(2), cached per thread: a large response forwarded through a pipe
// does not pay for pipe2(), fcntl() and two close() calls each time. Bounded: at most
// kMaxCached idle pipes per thread; a pipe that may still hold bytes is never reused.

#include <cstddef>
#include <cstdint>
#include <optional>

namespace portico::network {

struct Pipe {
  int read_fd = -1;
  int write_fd = -1;
  uint64_t capacity = 0;  // bytes it holds, as the kernel granted
};

class PipePool {
 public:
  // A non-blocking pipe from this thread's cache or a new one; nullopt when the process is out
  // of file descriptors or the kernel grants less than kMinCapacity (a user over its pipe
  // quota gets 2-page pipes, which would cost a splice pair per packet): the caller then
  // copies through user space as usual.
  static std::optional<Pipe> get();
  // Returns a pipe. `empty`: every byte written into it was read out; otherwise it is closed.
  static void put(Pipe pipe, bool empty);

  // Idle pipes count against the user's pipe quota (fs.pipe-user-pages-soft): keep few.
  static constexpr size_t kMaxCached = 8;
  // Asked of F_SETPIPE_SZ (the default is 64 KiB); a pipe holds at most this much of a body.
  static constexpr int kCapacity = 256 * 1024;
  static constexpr int kMinCapacity = 64 * 1024;
};

}  // namespace portico::network
