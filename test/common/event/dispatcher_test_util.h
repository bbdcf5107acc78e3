#pragma once

// A fixture owning a real Dispatcher, with helpers to script a test as timed steps and to run
// the loop under a watchdog (a broken loop fails the test instead of hanging it).

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher.h"

namespace portico::event::test {

class DispatcherTestBase : public ::testing::Test {
 protected:
  // Runs the loop until something calls exit(); fails the test after `limit`.
  void run(std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    TimerPtr watchdog = dispatcher_->createTimer([this] {
      ADD_FAILURE() << "watchdog: the loop did not exit";
      dispatcher_->exit();
    });
    watchdog->enableTimer(limit);
    dispatcher_->run();
  }

  // Runs the loop until `done` holds, checked every 5 ms (the watchdog fails the test after
  // `limit`): a slow machine delays such a test instead of failing it.
  void runUntil(std::function<bool()> done,
                std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
    TimerPtr poll;
    poll = dispatcher_->createTimer([&] {
      if (done()) {
        dispatcher_->exit();
      } else {
        poll->enableTimer(std::chrono::milliseconds(5));
      }
    });
    poll->enableTimer(std::chrono::milliseconds(5));
    run(limit);
  }

  // A timer owned by the fixture (kept alive for the whole test).
  Timer& timer(std::function<void()> cb) {
    timers_.push_back(dispatcher_->createTimer(std::move(cb)));
    return *timers_.back();
  }
  void at(std::chrono::milliseconds delay, std::function<void()> cb) {
    timer(std::move(cb)).enableTimer(delay);
  }
  void exitAt(std::chrono::milliseconds delay) {
    at(delay, [this] { dispatcher_->exit(); });
  }

  DispatcherPtr dispatcher_ = createDispatcher();
  std::vector<TimerPtr> timers_;
};

}  // namespace portico::event::test
