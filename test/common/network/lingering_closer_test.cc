#include "source/common/network/lingering_closer.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
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
  LingeringCloser closer(*dispatcher_, milliseconds(5000), 16);
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
  LingeringCloser closer(*dispatcher_, milliseconds(50), 16);
  closer.adopt(ours_);
  runUntil([&] { return closer.size() == 0; });
  // Closed: writing now fails (EPIPE), where a lingering socket would take the bytes.
  EXPECT_LT(send(peer_, "x", 1, MSG_NOSIGNAL), 0);
}

TEST_F(LingeringCloserTest, BeyondTheLimitSocketsCloseAtOnce) {
  LingeringCloser closer(*dispatcher_, milliseconds(5000), 0);
  closer.adopt(ours_);
  EXPECT_EQ(closer.size(), 0u);
  EXPECT_EQ(peerRead(), 0);
  EXPECT_LT(send(peer_, "x", 1, MSG_NOSIGNAL), 0);
}

TEST_F(LingeringCloserTest, DestructionClosesWhatStillLingers) {
  {
    LingeringCloser closer(*dispatcher_, milliseconds(5000), 16);
    closer.adopt(ours_);
    EXPECT_EQ(closer.size(), 1u);
  }
  EXPECT_LT(send(peer_, "x", 1, MSG_NOSIGNAL), 0);
}

}  // namespace
}  // namespace portico::network
