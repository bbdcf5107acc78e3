#pragma once

// The socket and epoll calls of the request path, made through syscall(2) instead of their
// libc wrappers. The wrappers are thread cancellation points: in a multi-threaded process each
// call enables and disables asynchronous cancellation around the system call, two atomic
// compare-and-swaps per call (four calls and more per proxied request). No Portico thread is
// ever cancelled, so those are pure cost. Same arguments, results and errno as the wrappers.
// Sanitizer builds keep the wrappers, which the sanitizers intercept (ASan checks the buffers,
// TSan sees the calls).

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>

namespace portico::sys {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define PORTICO_LIBC_SOCKET_CALLS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) || \
    __has_feature(memory_sanitizer)
#define PORTICO_LIBC_SOCKET_CALLS 1
#endif
#endif

#ifdef PORTICO_LIBC_SOCKET_CALLS
inline ssize_t recv(int fd, void* buf, size_t len, int flags) {
  return ::recv(fd, buf, len, flags);
}
inline ssize_t send(int fd, const void* buf, size_t len, int flags) {
  return ::send(fd, buf, len, flags);
}
inline ssize_t recvmsg(int fd, msghdr* msg, int flags) { return ::recvmsg(fd, msg, flags); }
inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) { return ::sendmsg(fd, msg, flags); }
inline int epollWait(int epfd, epoll_event* events, int max_events, int timeout_ms) {
  return ::epoll_wait(epfd, events, max_events, timeout_ms);
}
#else
inline ssize_t recv(int fd, void* buf, size_t len, int flags) {
  return syscall(SYS_recvfrom, fd, buf, len, flags, nullptr, nullptr);
}

inline ssize_t send(int fd, const void* buf, size_t len, int flags) {
  return syscall(SYS_sendto, fd, buf, len, flags, nullptr, 0);
}

inline ssize_t recvmsg(int fd, msghdr* msg, int flags) {
  return syscall(SYS_recvmsg, fd, msg, flags);
}

inline ssize_t sendmsg(int fd, const msghdr* msg, int flags) {
  return syscall(SYS_sendmsg, fd, msg, flags);
}

// epoll_pwait with no signal mask is epoll_wait (and the only form some architectures have).
inline int epollWait(int epfd, epoll_event* events, int max_events, int timeout_ms) {
  return static_cast<int>(
      syscall(SYS_epoll_pwait, epfd, events, max_events, timeout_ms, nullptr, 0));
}
#endif

}  // namespace portico::sys
