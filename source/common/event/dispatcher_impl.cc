#include "source/common/event/dispatcher_impl.h"

#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "source/common/common/direct_syscalls.h"
#include "source/common/common/recycled.h"

namespace portico::event {

// Timers are re-armed far more often than they fire (idle timeouts move on every request), so
// re-arming is lazy: a later deadline only updates deadline_, and the heap entry, when it comes
// due, re-queues itself. Disabling leaves the entry to be dropped when it comes due.
class TimerImpl : public Timer, public Recycled<TimerImpl> {  // one per request (route timeout)
 public:
  TimerImpl(DispatcherImpl& dispatcher, std::function<void()> cb)
      : dispatcher_(dispatcher), cb_(std::move(cb)) {}
  ~TimerImpl() override {
    if (queued_) dispatcher_.disarmTimer(this);
  }

  void enableTimer(std::chrono::milliseconds delay) override {
    // The cached loop time is stale outside the loop (before run()); only trust it inside.
    deadline_ = dispatcher_.armingNow() + delay;
    armed_ = true;
    if (queued_ && queued_deadline_ <= deadline_) return;  // the earlier entry re-queues us
    if (queued_) dispatcher_.disarmTimer(this);
    queue();
  }
  void disableTimer() override { armed_ = false; }
  bool enabled() const override { return armed_; }

  // Called by the dispatcher after it removed our entry from its map.
  void onDue(MonotonicTime now) {
    queued_ = false;
    if (!armed_) return;
    if (deadline_ > now) {
      queue();
      return;
    }
    armed_ = false;
    cb_();
  }

 private:
  friend class DispatcherImpl;
  void queue() {
    queued_deadline_ = deadline_;
    dispatcher_.armTimer(this, deadline_);
    queued_ = true;
  }

  DispatcherImpl& dispatcher_;
  std::function<void()> cb_;
  MonotonicTime deadline_;
  MonotonicTime queued_deadline_;
  size_t heap_index_ = 0;  // maintained by the dispatcher while queued_
  bool armed_ = false;
  bool queued_ = false;
};

class FileEventImpl : public FileEvent {
 public:
  FileEventImpl(DispatcherImpl& dispatcher, int fd, std::function<void(uint32_t)> cb,
                bool write_interest)
      : dispatcher_(dispatcher), fd_(fd), cb_(std::move(cb)), write_interest_(write_interest) {
    epoll_event ev{};
    ev.events = mask();
    ev.data.ptr = this;
    if (epoll_ctl(dispatcher_.epollFd(), EPOLL_CTL_ADD, fd_, &ev) != 0) {
      if (errno != ENOSPC && errno != ENOMEM) std::abort();  // an invalid fd: a programming error
      registered_ = false;                                   // see FileEvent::registered()
      activate(kRead | kWrite | kClosed);
    }
  }

  void setWriteInterest(bool enabled) override {
    if (enabled == write_interest_ || !registered_) return;
    write_interest_ = enabled;
    epoll_event ev{};
    ev.events = mask();
    ev.data.ptr = this;
    epoll_ctl(dispatcher_.epollFd(), EPOLL_CTL_MOD, fd_, &ev);
  }
  ~FileEventImpl() override {
    if (registered_) epoll_ctl(dispatcher_.epollFd(), EPOLL_CTL_DEL, fd_, nullptr);
    if (activated_events_ != 0) dispatcher_.removeActivated(this);
  }

  void activate(uint32_t events) override {
    if (activated_events_ == 0) dispatcher_.addActivated(this);
    activated_events_ |= events;
  }

  bool registered() const override { return registered_; }
  void fire(uint32_t events) { cb_(events); }
  uint32_t takeActivated() {
    uint32_t e = activated_events_;
    activated_events_ = 0;
    return e;
  }

 private:
  DispatcherImpl& dispatcher_;
  uint32_t mask() const {
    return EPOLLIN | EPOLLRDHUP | EPOLLET | (write_interest_ ? EPOLLOUT : 0);
  }

  int fd_;
  std::function<void(uint32_t)> cb_;
  uint32_t activated_events_ = 0;
  bool write_interest_;
  bool registered_ = true;  // false if epoll refused the fd
};

DispatcherImpl::DispatcherImpl()
    : epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)),
      thread_id_(std::this_thread::get_id()),
      now_(std::chrono::steady_clock::now()) {
  if (epoll_fd_ < 0 || wake_fd_ < 0) std::abort();
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the wake fd
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &ev);
}

DispatcherImpl::~DispatcherImpl() {
  clearDeferred();
  close(wake_fd_);
  close(epoll_fd_);
}

TimerPtr DispatcherImpl::createTimer(std::function<void()> cb) {
  return std::make_unique<TimerImpl>(*this, std::move(cb));
}

FileEventPtr DispatcherImpl::createFileEvent(int fd, std::function<void(uint32_t)> cb,
                                             bool write_interest) {
  return std::make_unique<FileEventImpl>(*this, fd, std::move(cb), write_interest);
}

void DispatcherImpl::post(std::function<void()> cb) {
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    posted_.push_back(std::move(cb));
  }
  uint64_t one = 1;
  ssize_t rc = write(wake_fd_, &one, sizeof(one));
  (void)rc;  // EAGAIN means the counter is already non-zero: the loop will wake anyway.
}

void DispatcherImpl::deferredDelete(DeferredDeletablePtr object) {
  deferred_.push_back(std::move(object));
}

void DispatcherImpl::runAtEndOfTurn(std::function<void()> cb) {
  end_of_turn_.push_back(std::move(cb));
}

void DispatcherImpl::placeTimer(size_t i, const TimerSlot& slot) {
  timer_heap_[i] = slot;
  slot.timer->heap_index_ = i;
}

void DispatcherImpl::siftUp(size_t i) {
  TimerSlot slot = timer_heap_[i];
  while (i > 0) {
    size_t parent = (i - 1) / 2;
    if (!(slot < timer_heap_[parent])) break;
    placeTimer(i, timer_heap_[parent]);
    i = parent;
  }
  placeTimer(i, slot);
}

void DispatcherImpl::siftDown(size_t i) {
  TimerSlot slot = timer_heap_[i];
  const size_t n = timer_heap_.size();
  while (true) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && timer_heap_[child + 1] < timer_heap_[child]) child++;
    if (!(timer_heap_[child] < slot)) break;
    placeTimer(i, timer_heap_[child]);
    i = child;
  }
  placeTimer(i, slot);
}

void DispatcherImpl::armTimer(TimerImpl* timer, MonotonicTime deadline) {
  // Deadlines are relative to the cached time, which may lag by one turn: fine for timeouts.
  timer_heap_.push_back({deadline, ++timer_seq_, timer});
  siftUp(timer_heap_.size() - 1);
}

void DispatcherImpl::disarmTimer(TimerImpl* timer) {
  size_t i = timer->heap_index_;
  TimerSlot last = timer_heap_.back();
  timer_heap_.pop_back();
  if (i == timer_heap_.size()) return;  // it was the last slot
  placeTimer(i, last);
  if (i > 0 && last < timer_heap_[(i - 1) / 2]) {
    siftUp(i);
  } else {
    siftDown(i);
  }
}

void DispatcherImpl::addActivated(FileEventImpl* event) { activated_.push_back(event); }

void DispatcherImpl::removeActivated(FileEventImpl* event) {
  for (auto* list : {&activated_, &running_}) {
    auto it = std::find(list->begin(), list->end(), event);
    if (it != list->end()) *it = nullptr;
  }
}

int DispatcherImpl::nextTimeoutMs() const {
  if (!activated_.empty() || !end_of_turn_.empty() || !deferred_.empty()) return 0;
  if (timer_heap_.empty()) return -1;
  auto delta = timer_heap_.front().deadline - now_;
  if (delta <= std::chrono::steady_clock::duration::zero()) return 0;
  // Round up so a timer never fires early; a timer weeks away (a route timeout may be up to a
  // year) would overflow epoll_wait's int: wait at most an hour, then look again.
  const int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(delta).count() + 1;
  return static_cast<int>(std::min<int64_t>(ms, 3600 * 1000));
}

size_t DispatcherImpl::runTimers() {
  // Only entries queued before this pass: a timer re-armed with 0 ms from its own callback
  // waits for the next turn instead of starving the loop.
  const uint64_t seq_limit = timer_seq_;
  size_t due = 0;
  while (!timer_heap_.empty() && timer_heap_.front().deadline <= now_ &&
         timer_heap_.front().seq <= seq_limit) {
    TimerImpl* t = timer_heap_.front().timer;
    disarmTimer(t);
    t->onDue(now_);
    due++;
  }
  return due;
}

void DispatcherImpl::runPosted() {
  std::vector<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(post_mutex_);
    batch.swap(posted_);
  }
  for (auto& cb : batch) cb();
}

void DispatcherImpl::runActivated() {
  // Callbacks may activate more events; those run on the next turn.
  // A callback may destroy a later event of the batch: removeActivated() nulls it in running_.
  running_.swap(activated_);
  for (size_t i = 0; i < running_.size(); i++) {
    FileEventImpl* e = running_[i];
    if (e == nullptr) continue;
    uint32_t events = e->takeActivated();
    if (events != 0) e->fire(events);
  }
  running_.clear();
}

void DispatcherImpl::clearDeferred() {
  while (!deferred_.empty()) {
    // Taken out of the member first: a destructor may defer more (into deferred_) or, in
    // principle, clear again (which then finds an empty spare).
    std::vector<DeferredDeletablePtr> batch = std::move(deferred_spare_);
    batch.swap(deferred_);
    batch.clear();
    deferred_spare_ = std::move(batch);
  }
}

void DispatcherImpl::setWakeupCoalescing(std::chrono::microseconds nap) {
  if (nap.count() > 0) {
    moderator_.emplace(nap);
  } else {
    moderator_.reset();
  }
}

int DispatcherImpl::waitForEvents(epoll_event* events, int max_events) {
  const int timeout = nextTimeoutMs();
  if (!nap_next_ || timeout == 0) return sys::epollWait(epoll_fd_, events, max_events, timeout);
  // A nap is a local timer: the peers that send in the meantime only queue their events (no
  // cross-CPU wake-up), and the next look finds several. If it finds none, the rate has
  // dropped: block as usual. Timeouts are whole milliseconds, longer than any nap.
  naps_++;
  const timespec nap{0, static_cast<long>(moderator_->nap().count())};
  clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, nullptr);
  const int n = sys::epollWait(epoll_fd_, events, max_events, 0);
  return n != 0 ? n : sys::epollWait(epoll_fd_, events, max_events, timeout);
}

void DispatcherImpl::run() {
  thread_id_ = std::this_thread::get_id();
  constexpr int kMaxEvents = 256;
  epoll_event events[kMaxEvents];
  // The next wait's timeout is computed from the time read after the last wait, as libevent
  // does, after a quiet turn (at most 16 events and 16 due timers, no posted work): a timer
  // then fires late by at most that turn's length, which is microseconds unless one event did
  // long work (a long pipelined batch, a large compression). After any other turn the clock is
  // read again. A timer never fires early: due timers are judged by the time read after the
  // wait. This saves a clock read per turn, most of a read per request on a busy worker.
  // Wake-up coalescing: see WakeupModerator.
  if (moderator_.has_value()) {
    // The default slack (50 us) would stretch every nap by up to that much.
    prctl(PR_SET_TIMERSLACK, 1000UL, 0, 0, 0);
  }
  nap_next_ = false;
  bool now_is_recent = false;
  while (!exit_requested_.load(std::memory_order_relaxed)) {
    in_loop_ = false;
    if (!now_is_recent) now_ = std::chrono::steady_clock::now();
    int n = waitForEvents(events, kMaxEvents);
    now_ = std::chrono::steady_clock::now();
    in_loop_ = true;
    if (n < 0 && errno != EINTR) std::abort();
    if (moderator_.has_value()) {
      nap_next_ = moderator_->afterWait(now_, n);
      const bool active = moderator_->active();
      if (active != napping_published_.load(std::memory_order_relaxed)) {
        napping_published_.store(active, std::memory_order_relaxed);
      }
    }
    bool woken = false;
    for (int i = 0; i < n; i++) {
      if (events[i].data.ptr == nullptr) {
        woken = true;
        continue;
      }
      uint32_t ready = 0;
      if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP)) ready |= kRead;
      if (events[i].events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) ready |= kWrite;
      if (events[i].events & (EPOLLRDHUP | EPOLLHUP)) ready |= kClosed;
      static_cast<FileEventImpl*>(events[i].data.ptr)->activate(ready);
    }
    // Posted work runs only after every ready fd was moved to the activated list: a posted
    // closure may destroy a file event, which removeActivated() can then take out, whereas a
    // raw pointer still waiting in `events` would dangle.
    if (woken) {
      uint64_t v;
      while (read(wake_fd_, &v, sizeof(v)) > 0) {
      }
      runPosted();
    }
    runActivated();
    const size_t timers_due = runTimers();
    constexpr int kQuietTurnEvents = 16;
    now_is_recent = n <= kQuietTurnEvents && !woken && timers_due <= kQuietTurnEvents;
    while (!end_of_turn_.empty()) {
      std::vector<std::function<void()>> batch = std::move(end_of_turn_spare_);
      batch.swap(end_of_turn_);
      for (auto& cb : batch) cb();
      batch.clear();
      end_of_turn_spare_ = std::move(batch);
    }
    clearDeferred();
  }
  in_loop_ = false;
  runPosted();
  clearDeferred();
  exit_requested_.store(false);
}

void DispatcherImpl::exit() {
  exit_requested_.store(true);
  post([] {});
}

DispatcherPtr createDispatcher() { return std::make_unique<DispatcherImpl>(); }

}  // namespace portico::event
