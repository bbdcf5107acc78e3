#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "source/common/event/dispatcher.h"
#include "source/common/event/wakeup_moderator.h"

namespace portico::event {

class TimerImpl;

// epoll (edge-triggered) + an eventfd for post() + a heap of timers.
class DispatcherImpl : public Dispatcher {
 public:
  DispatcherImpl();
  ~DispatcherImpl() override;

  // Dispatcher
  TimerPtr createTimer(std::function<void()> cb) override;
  FileEventPtr createFileEvent(int fd, std::function<void(uint32_t)> cb,
                               bool write_interest) override;
  void post(std::function<void()> cb) override;
  void deferredDelete(DeferredDeletablePtr object) override;
  void runAtEndOfTurn(std::function<void()> cb) override;
  void run() override;
  void exit() override;
  MonotonicTime now() const override { return now_; }
  // The cached time inside a loop turn, the clock otherwise.
  MonotonicTime armingNow() const { return in_loop_ ? now_ : std::chrono::steady_clock::now(); }
  bool isThreadSafe() const override { return std::this_thread::get_id() == thread_id_; }
  void setWakeupCoalescing(std::chrono::microseconds nap) override;
  bool napping() const override { return napping_published_.load(std::memory_order_relaxed); }
  // Naps taken so far (tests).
  uint64_t naps() const { return naps_; }

  // Used by TimerImpl / FileEventImpl.
  void armTimer(TimerImpl* timer, MonotonicTime deadline);
  void disarmTimer(TimerImpl* timer);
  void addActivated(class FileEventImpl* event);
  void removeActivated(class FileEventImpl* event);
  int epollFd() const { return epoll_fd_; }

 private:
  // Returns how many timer entries came due.
  size_t runTimers();
  void runPosted();
  void runActivated();
  void clearDeferred();
  int nextTimeoutMs() const;
  // Waits for events as run() describes; returns epoll_wait's result.
  int waitForEvents(epoll_event* events, int max_events);

  int epoll_fd_;
  int wake_fd_;
  std::thread::id thread_id_;
  MonotonicTime now_;
  std::atomic<bool> exit_requested_{false};
  bool in_loop_ = false;
  // Wake-up coalescing (setWakeupCoalescing), and whether the next wait starts with a nap.
  std::optional<WakeupModerator> moderator_;
  bool nap_next_ = false;
  // moderator_->active() for other threads; stored only when it changes.
  std::atomic<bool> napping_published_{false};
  uint64_t naps_ = 0;
  // Timer queue: a binary min-heap on (deadline, seq); each timer knows its index, so arming
  // and cancelling allocate nothing. seq orders equal deadlines by arming order.
  struct TimerSlot {
    MonotonicTime deadline;
    uint64_t seq;
    TimerImpl* timer;
    bool operator<(const TimerSlot& o) const {
      return deadline < o.deadline || (deadline == o.deadline && seq < o.seq);
    }
  };
  void placeTimer(size_t i, const TimerSlot& slot);
  void siftUp(size_t i);
  void siftDown(size_t i);
  uint64_t timer_seq_ = 0;
  std::vector<TimerSlot> timer_heap_;
  std::vector<FileEventImpl*> activated_;
  std::vector<FileEventImpl*> running_;
  std::vector<DeferredDeletablePtr> deferred_;
  std::vector<std::function<void()>> end_of_turn_;
  // Emptied batches kept for their capacity: each turn swaps a queue out to run it, and
  // without these the next push would allocate again (several times per request).
  std::vector<DeferredDeletablePtr> deferred_spare_;
  std::vector<std::function<void()>> end_of_turn_spare_;
  std::mutex post_mutex_;
  std::vector<std::function<void()>> posted_ ABSL_GUARDED_BY(post_mutex_);
};

}  // namespace portico::event
