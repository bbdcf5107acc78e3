#include "source/common/network/pipe_pool.h"

#include <fcntl.h>
#include <unistd.h>

#include <vector>

namespace portico::network {
namespace {

struct ThreadPipes {
  std::vector<Pipe> idle;
  ~ThreadPipes() {
    for (const Pipe& p : idle) {
      ::close(p.read_fd);
      ::close(p.write_fd);
    }
  }
};

thread_local ThreadPipes pipes;

}  // namespace

std::optional<Pipe> PipePool::get() {
  if (!pipes.idle.empty()) {
    Pipe p = pipes.idle.back();
    pipes.idle.pop_back();
    return p;
  }
  int fds[2];
  if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) != 0) return std::nullopt;
  // Best effort: over the user's pipe quota the kernel refuses to grow it (or made it tiny).
  fcntl(fds[1], F_SETPIPE_SZ, kCapacity);
  const int size = fcntl(fds[1], F_GETPIPE_SZ);
  if (size < kMinCapacity) {
    ::close(fds[0]);
    ::close(fds[1]);
    return std::nullopt;
  }
  return Pipe{fds[0], fds[1], static_cast<uint64_t>(size)};
}

void PipePool::put(Pipe pipe, bool empty) {
  if (pipe.read_fd < 0) return;
  if (empty && pipes.idle.size() < kMaxCached) {
    pipes.idle.push_back(pipe);
    return;
  }
  ::close(pipe.read_fd);
  ::close(pipe.write_fd);
}

}  // namespace portico::network
