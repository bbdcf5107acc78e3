#pragma once

// Decides when an event loop naps before looking for events instead of blocking until the
// next one arrives (DispatcherImpl::setWakeupCoalescing).
//
// A blocking wait that finds nothing costs a sleep, a wake-up from the CPU that sends the next
// event (an IPI; on a virtual machine, exits to the hypervisor on both cores) and a switch
// back. A busy loop pays that for nearly every event, and its peers pay their part. A short
// nap (a local timer: senders only queue their events meanwhile) lets one wake-up serve
// several events, at the price of up to one nap of latency for each.
//
// That price buys something only when the loop's peers wait for it: clients that send their
// next request when the last answer arrives, an upstream answering what it is sent (a closed
// loop). There, fewer wake-ups on both sides raise the rate of work and cut the CPU each
// request costs. When the clients set the rate (an open loop), napping adds latency and saves
// little. So, like a NIC's adaptive interrupt moderation, it measures: at a high event rate,
// every few seconds it counts events over a window without naps and a window with them, and
// naps until the next decision only if napping raised the rate clearly. Events are ready
// sockets per wait: a socket ready twice during a nap counts once, so the measure errs
// against napping (a stream of many packets on few sockets does not nap). The windows are
// short, so the other mode's cost (a slower window in a closed loop, latency in an open one)
// falls on well under 1 % of requests.

#include <chrono>
#include <cstdint>

#include "source/common/event/dispatcher.h"

namespace portico::event {

class WakeupModerator {
 public:
  // Below this many events per nap (over a 1 ms window) the loop never naps: a nap would
  // gather little, and a lone request must not wait for one.
  static constexpr int64_t kMinEventsPerNap = 4;
  static constexpr std::chrono::milliseconds kRateWindow{1};
  static constexpr std::chrono::milliseconds kProbeWindow{20};
  // Napping must raise the event rate by this much (percent) to be kept: less may be noise
  // (a closed loop gains 30 % or more).
  static constexpr int64_t kMinGainPercent = 10;
  static constexpr std::chrono::milliseconds kRecheck{5000};

  explicit WakeupModerator(std::chrono::nanoseconds nap) : nap_(nap) {}

  std::chrono::nanoseconds nap() const { return nap_; }
  // After every wait: it found `events` events (0 on a timeout) at `now`. Returns whether the
  // next wait naps first (only ever after a wait that found events).
  bool afterWait(MonotonicTime now, int events);
  // Whether the last decision was to nap (tests).
  bool napping() const { return napping_; }
  // Whether waits now nap (at a high rate, probing with naps or decided for them).
  bool active() const {
    return high_rate_ && (phase_ == Phase::kProbeWith || (phase_ == Phase::kDecided && napping_));
  }

 private:
  enum class Phase { kProbeWithout, kProbeWith, kDecided };
  void startPhase(Phase phase, MonotonicTime now);

  const std::chrono::nanoseconds nap_;
  // Rate over the current 1 ms window.
  MonotonicTime rate_window_start_{};
  int64_t rate_window_events_ = 0;
  bool high_rate_ = false;
  // The probe and its outcome.
  Phase phase_ = Phase::kDecided;  // with next_check_ passed: the first busy stretch probes
  MonotonicTime phase_start_{};
  int64_t phase_events_ = 0;
  double rate_without_ = 0;  // events per second in the window without naps
  bool napping_ = false;
  MonotonicTime next_check_{};
};

}  // namespace portico::event
