#pragma once

// The event loop interface: one Dispatcher per thread (main and each worker). Everything a
// connection, timer or filter does happens on its dispatcher's thread; the only thread-safe
// verb is post(). epoll is an implementation detail (dispatcher_impl.h).

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace portico::event {

using MonotonicTime = std::chrono::steady_clock::time_point;

class Timer {
 public:
  virtual ~Timer() = default;
  // (Re)arms the timer; a pending arm is replaced.
  virtual void enableTimer(std::chrono::milliseconds delay) = 0;
  virtual void disableTimer() = 0;
  virtual bool enabled() const = 0;
};
using TimerPtr = std::unique_ptr<Timer>;

// Bit set of readiness events.
enum FileReadyType : uint32_t { kRead = 1, kWrite = 2, kClosed = 4 };

// Edge-triggered readiness for one fd. The owner reads/writes until EAGAIN; when it stops early
// (e.g. paused by a watermark) it calls activate() later to get called back without a new edge.
// Write readiness is only watched on request: with it always on, every ACK that frees send
// space would wake the loop.
class FileEvent {
 public:
  virtual ~FileEvent() = default;
  // Schedules the callback with `events` on the next loop turn.
  virtual void activate(uint32_t events) = 0;
  // Starts/stops reporting kWrite (a write hit EAGAIN / the send buffer drained).
  virtual void setWriteInterest(bool enabled) = 0;
  // False if epoll refused the fd (out of watches, fs.epoll.max_user_watches, or memory, as
  // under a connection flood): nothing will ever be reported for it but one activation of
  // kRead | kWrite | kClosed, so that its owner notices and closes it.
  virtual bool registered() const = 0;
};
using FileEventPtr = std::unique_ptr<FileEvent>;

// Objects whose destruction must wait until the current callback stack has unwound.
class DeferredDeletable {
 public:
  virtual ~DeferredDeletable() = default;
};
using DeferredDeletablePtr = std::unique_ptr<DeferredDeletable>;

class Dispatcher {
 public:
  virtual ~Dispatcher() = default;

  virtual TimerPtr createTimer(std::function<void()> cb) = 0;
  // Registers fd for read edges (and write edges if `write_interest`); `cb` receives
  // FileReadyType bits.
  virtual FileEventPtr createFileEvent(int fd, std::function<void(uint32_t)> cb,
                                       bool write_interest = false) = 0;
  // Thread-safe: runs cb on this dispatcher's thread.
  virtual void post(std::function<void()> cb) = 0;
  virtual void deferredDelete(DeferredDeletablePtr object) = 0;
  // Runs cb at the end of the current loop turn (after all ready events), on this thread.
  virtual void runAtEndOfTurn(std::function<void()> cb) = 0;
  // Runs until exit() is called (an exit() that came before run() makes it return at once).
  // An exit() is consumed by the run() it stops: run() may be called again afterwards.
  virtual void run() = 0;
  // Thread-safe.
  virtual void exit() = 0;
  // Time cached once per loop turn: cheap, and consistent within one turn.
  virtual MonotonicTime now() const = 0;
  // True when called on this dispatcher's thread.
  virtual bool isThreadSafe() const = 0;
  // Before run(): at a high event rate, when that raises the rate of work, the loop waits
  // `nap` before looking for more events instead of sleeping until the next one arrives, so
  // one wake-up serves several. Zero (the default) turns it off. See WakeupModerator.
  virtual void setWakeupCoalescing(std::chrono::microseconds nap) = 0;
  // Thread-safe: whether the loop naps between its looks for events now (as of its last turn).
  virtual bool napping() const = 0;
};
using DispatcherPtr = std::unique_ptr<Dispatcher>;

DispatcherPtr createDispatcher();

}  // namespace portico::event
