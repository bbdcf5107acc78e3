#include "source/common/event/wakeup_moderator.h"

namespace portico::event {

void WakeupModerator::startPhase(Phase phase, MonotonicTime now) {
  phase_ = phase;
  phase_start_ = now;
  phase_events_ = 0;
}

bool WakeupModerator::afterWait(MonotonicTime now, int events) {
  const int64_t n = events > 0 ? events : 0;
  rate_window_events_ += n;
  const auto window = now - rate_window_start_;
  if (window >= kRateWindow) {
    high_rate_ = rate_window_events_ * nap_ >= kMinEventsPerNap * window;
    rate_window_start_ = now;
    rate_window_events_ = 0;
  }
  if (!high_rate_) {
    if (phase_ != Phase::kDecided) {
      // A probe cut short by a quiet spell says nothing, and a rate that keeps crossing the
      // threshold must not start one probe (and its naps) after another: the last decision
      // stands until the next check.
      phase_ = Phase::kDecided;
      next_check_ = now + kRecheck;
    }
    return false;
  }
  phase_events_ += n;
  const auto elapsed = now - phase_start_;
  switch (phase_) {
    case Phase::kProbeWithout:
      if (elapsed >= kProbeWindow) {
        rate_without_ =
            static_cast<double>(phase_events_) / std::chrono::duration<double>(elapsed).count();
        startPhase(Phase::kProbeWith, now);
      }
      break;
    case Phase::kProbeWith:
      if (elapsed >= kProbeWindow) {
        const double rate_with =
            static_cast<double>(phase_events_) / std::chrono::duration<double>(elapsed).count();
        napping_ = rate_with * 100 > rate_without_ * (100 + kMinGainPercent);
        next_check_ = now + kRecheck;
        startPhase(Phase::kDecided, now);
      }
      break;
    case Phase::kDecided:
      if (now >= next_check_) startPhase(Phase::kProbeWithout, now);
      break;
  }
  if (n == 0) return false;
  return phase_ == Phase::kProbeWith || (phase_ == Phase::kDecided && napping_);
}

}  // namespace portico::event
