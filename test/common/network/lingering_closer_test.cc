#include "source/common/network/lingering_closer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <functional>
#include <string>

#include "gtest/gtest.h"
#include "test/common/event/dispatcher_test_util.h"

namespace portico::network {
namespace {

using std::chrono::milliseconds;

class LingeringCloserTest : public event::test::DispatcherTestBase {
 protected:
  // A connected pair: ours_ goes to the closer, peer_ plays the client.
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
    ours_ = fds[0];
    peer_ = fds[1];
  }
  void TearDown() override { close(peer_); }

  // What the peer reads now: >0 bytes, 0 at EOF, -1 with errno.
  ssize_t peerRead() {
    char buf[64];
    return recv(peer_, buf, sizeof(buf), MSG_DONTWAIT);
  }

  int ours_ = -1;
  int peer_ = -1;
};

TEST_F(LingeringCloserTest, ShutsDownWritingAndDiscardsUntilThePeerCloses) {
  LingeringCloser closer(*dispatcher_, milliseconds(5000), milliseconds(60000), 16);
  const std::string early(100 * 1024, 'x');  // the peer was still sending when we closed
  ASSERT_GT(send(peer_, early.data(), 64 * 1024, 0), 0);
  closer.adopt(ours_);
  EXPECT_EQ(closer.size(), 1u);
  EXPECT_EQ(peerRead(), 0) << "the peer sees our FIN at once";
  // It may go on sending: nothing is refused while we linger.
  for (int i = 0; i < 20; i++) {
    ssize_t n = send(peer_, early.data(), early.size(), MSG_NOSIGNAL);
    if (n < 0) {
      EXPECT_EQ(errno, EAGAIN) << "send failed: " << strerror(errno);
    }
    exitAt(milliseconds(2));
    run();
  }
  EXPECT_EQ(closer.size(), 1u);
  shutdown(peer_, SHUT_WR);  // the client is done
  runUntil([&] { return closer.size() == 0; });
}

TEST_F(LingeringCloserTest, ClosesAfterTheTimeout) {
  LingeringCloser closer(*dispatcher_, milliseconds(50), milliseconds(60000), 16);
  closer.adopt(ours_);
  runUntil([&] { return closer.size() == 0; });
  // Closed: writing now fails (EPIPE), where a lingering socket would take the bytes.
  EXPECT_LT(send(peer_, "x", 1, MSG_NOSIGNAL), 0);
}

// Regression: the timeout counted from the close, so a client still uploading after an early
// 413 was reset after 2 s however steadily it sent, and could lose the 413.
TEST_F(LingeringCloserTest, APeerStillSendingKeepsItsSocketUntilTheTotalTimeout) {
  LingeringCloser closer(*dispatcher_, milliseconds(100), milliseconds(600), 16);
  closer.adopt(ours_);
  const auto start = std::chrono::steady_clock::now();
  // Send every 30 ms (well inside the 100 ms inactivity timeout) for 400 ms: still lingering.
  while (std::chrono::steady_clock::now() - start < milliseconds(400)) {
    EXPECT_EQ(send(peer_, "x", 1, MSG_NOSIGNAL), 1);
    exitAt(milliseconds(30));
    run();
  }
  EXPECT_EQ(closer.size(), 1u) << "closed although the peer kept sending";
  // Keep sending: the total timeout (600 ms) ends it all the same.
  while (closer.size() > 0 && std::chrono::steady_clock::now() - start < milliseconds(5000)) {
    send(peer_, "x", 1, MSG_NOSIGNAL);
    exitAt(milliseconds(30));
    run();
  }
  EXPECT_EQ(closer.size(), 0u);
  EXPECT_LT(std::chrono::steady_clock::now() - start, milliseconds(1500));
}

TEST_F(LingeringCloserTest, BeyondTheLimitSocketsCloseAtOnce) {
  LingeringCloser closer(*dispatcher_, milliseconds(5000), milliseconds(60000), 0);
  closer.adopt(ours_);
  EXPECT_EQ(closer.size(), 0u);
  EXPECT_EQ(peerRead(), 0);
  EXPECT_LT(send(peer_, "x", 1, MSG_NOSIGNAL), 0);
}

TEST_F(LingeringCloserTest, DestructionClosesWhatStillLingers) {
  {
    LingeringCloser closer(*dispatcher_, milliseconds(5000), milliseconds(60000), 16);
    closer.adopt(ours_);
    EXPECT_EQ(closer.size(), 1u);
  }
  EXPECT_LT(send(peer_, "x", 1, MSG_NOSIGNAL), 0);
}

}  // namespace
}  // namespace portico::network
