#include "source/common/event/wakeup_moderator.h"

#include <chrono>

#include "gtest/gtest.h"

namespace portico::event {
namespace {

using std::chrono::microseconds;
using std::chrono::milliseconds;

using std::chrono::nanoseconds;

// How the loop's peers answer: a wait every `gap` finding `events`, and another pace while the
// loop naps (a closed loop runs faster when the loop naps; an open loop does not).
struct Pace {
  nanoseconds gap;
  int events;
  nanoseconds gap_napping;
  int events_napping;
};

// Synthetic time drives the moderator.
class WakeupModeratorTest : public ::testing::Test {
 protected:
  // Runs for `duration`; returns the number of waits that napped.
  int drive(milliseconds duration, const Pace& pace) {
    int naps = 0;
    const MonotonicTime end = now_ + duration;
    while (now_ < end) {
      now_ += next_naps_ ? pace.gap_napping : pace.gap;
      next_naps_ = moderator_.afterWait(now_, next_naps_ ? pace.events_napping : pace.events);
      if (next_naps_) naps++;
    }
    return naps;
  }
  // Open loop: one event every `gap`, napping or not.
  static Pace open(nanoseconds gap) { return {gap, 1, gap, 1}; }
  // Closed loop: one event every 12 us without naps (83k/s); with 100 us naps, 12 events per
  // 110 us (109k/s, +31 %).
  static Pace closed() { return {microseconds(12), 1, microseconds(110), 12}; }

  WakeupModerator moderator_{microseconds(100)};
  MonotonicTime now_{};
  bool next_naps_ = false;
};

TEST_F(WakeupModeratorTest, ALowRateNeverNaps) {
  // One event every 50 us: two per 100 us nap, under the four that make a nap worth it.
  EXPECT_EQ(drive(milliseconds(3000), open(microseconds(50))), 0);
  EXPECT_FALSE(moderator_.napping());
}

TEST_F(WakeupModeratorTest, AClosedLoopThatNapsFasterKeepsNapping) {
  const int naps = drive(milliseconds(3000), closed());
  EXPECT_TRUE(moderator_.napping());
  EXPECT_TRUE(moderator_.active());
  // Apart from the first window and the windows without naps that re-check the decision
  // (20 ms every 5 s), every wait naps.
  EXPECT_GT(naps, 3000 * 1000 / 110 * 95 / 100);
}

TEST_F(WakeupModeratorTest, AnOpenLoopStopsNappingAfterTheProbe) {
  // The same rate with or without naps (the clients set it): napping gains nothing.
  const int naps = drive(milliseconds(10000), open(microseconds(10)));
  EXPECT_FALSE(moderator_.napping());
  EXPECT_FALSE(moderator_.active());
  // Probes at 0 s, then about 5 and 10 s: three windows of 20 ms with naps.
  EXPECT_LE(naps, 3 * 20 * 1000 / 10 + 10);
  EXPECT_GT(naps, 0);
}

TEST_F(WakeupModeratorTest, AGainWithinNoiseIsNotEnough) {
  // Napping raises the rate by 8 %, under the 10 % that counts.
  drive(milliseconds(100), {microseconds(10), 1, nanoseconds(10000 * 100 / 108), 1});
  EXPECT_FALSE(moderator_.napping());
}

TEST_F(WakeupModeratorTest, AWaitThatFoundNothingIsNotFollowedByANap) {
  drive(milliseconds(100), closed());
  ASSERT_TRUE(moderator_.napping());
  now_ += microseconds(10);
  EXPECT_FALSE(moderator_.afterWait(now_, 0));
  now_ += microseconds(10);
  EXPECT_TRUE(moderator_.afterWait(now_, 1));
}

TEST_F(WakeupModeratorTest, AQuietSpellStopsNaps) {
  drive(milliseconds(100), closed());
  ASSERT_TRUE(moderator_.napping());
  // One event after 5 ms: the 1 ms window's rate is far too low.
  now_ += milliseconds(5);
  EXPECT_FALSE(moderator_.afterWait(now_, 1));
  EXPECT_FALSE(moderator_.active());
  EXPECT_EQ(drive(milliseconds(100), open(milliseconds(2))), 0);
}

TEST_F(WakeupModeratorTest, ARateAroundTheThresholdDoesNotProbeAgainAndAgain) {
  // 30 ms busy (a closed loop), 2 ms quiet, over and over: the quiet spell cuts each probe
  // short in its window with naps; the next probe waits for the next check.
  int naps = 0;
  for (int i = 0; i < 100; i++) {
    naps += drive(milliseconds(30), closed());
    naps += drive(milliseconds(2), open(milliseconds(2)));
  }
  // 3.2 s: one probe (about 10 ms of naps, ~90 naps); probing anew after each quiet spell
  // would nap in every cycle (thousands).
  EXPECT_LT(naps, 200);
  EXPECT_GT(naps, 0);
}

}  // namespace
}  // namespace portico::event
