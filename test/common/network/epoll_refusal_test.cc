// What happens when epoll refuses a socket (ENOSPC: fs.epoll.max_user_watches reached; or
// ENOMEM): the listener, the connections and the lingering closer each give it up cleanly,
// without a crash or a socket left that no event would ever serve.
//
// This binary defines epoll_ctl itself, so the dispatcher's calls come here: the definition
// in the executable comes before libc's for every library it loads.

#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <memory>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/network/connection_impl.h"
#include "source/common/network/lingering_closer.h"
#include "source/common/network/listener.h"
#include "test/common/event/dispatcher_test_util.h"
#include "test/common/network/recording_callbacks.h"

namespace {
std::atomic<int> adds_to_refuse{0};
std::atomic<int> adds_refused{0};
}  // namespace

extern "C" int epoll_ctl(int epfd, int op, int fd, struct epoll_event* event) __THROW {
  if (op == EPOLL_CTL_ADD && adds_to_refuse.load() > 0) {
    adds_to_refuse--;
    adds_refused++;
    errno = ENOSPC;
    return -1;
  }
  return static_cast<int>(syscall(SYS_epoll_ctl, epfd, op, fd, event));
}

namespace portico::network {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using test::RecordingCallbacks;

class EpollRefusalTest : public event::test::DispatcherTestBase {
 protected:
  void SetUp() override { adds_refused = 0; }
  void TearDown() override { adds_to_refuse = 0; }
  // Refuses the next `n` registrations.
  void refuseNext(int n) { adds_to_refuse = n; }
};

TEST_F(EpollRefusalTest, AListenerEpollRefusesIsAnErrorNamingTheCause) {
  const auto address = Address::parse("127.0.0.1", 0);
  ASSERT_TRUE(address.ok());
  refuseNext(1);
  auto listener =
      TcpListener::create(*dispatcher_, *address, [](int fd, const Address&) { ::close(fd); });
  ASSERT_FALSE(listener.ok());
  EXPECT_EQ(adds_refused.load(), 1);
  EXPECT_THAT(listener.status().message(), HasSubstr("epoll refused it"));
  // Once epoll takes sockets again, so does the listener.
  EXPECT_TRUE(TcpListener::create(*dispatcher_, *address, [](int fd, const Address&) {
                ::close(fd);
              }).ok());
}

TEST_F(EpollRefusalTest, AConnectionEpollRefusesIsClosedAtOnce) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  refuseNext(1);
  RecordingCallbacks callbacks;
  auto connection = std::make_unique<ConnectionImpl>(*dispatcher_, fds[0], Address(),
                                                     /*connecting=*/false, 1024 * 1024);
  connection->setCallbacks(callbacks);
  EXPECT_EQ(adds_refused.load(), 1);
  runUntil([&] { return !callbacks.events.empty(); });
  EXPECT_THAT(callbacks.events, ElementsAre(ConnectionEvent::kRemoteClose));
  EXPECT_FALSE(connection->isOpen());
  // Its socket is closed: the peer reads end-of-file.
  char c;
  EXPECT_EQ(::read(fds[1], &c, 1), 0);
  ::close(fds[1]);
}

TEST_F(EpollRefusalTest, AnUpstreamConnectEpollRefusesFailsLikeARefusedConnect) {
  const auto address = Address::parse("127.0.0.1", 0);
  ASSERT_TRUE(address.ok());
  auto listener =
      TcpListener::create(*dispatcher_, *address, [](int fd, const Address&) { ::close(fd); });
  ASSERT_TRUE(listener.ok());
  const auto target = Address::parse("127.0.0.1", (*listener)->boundPort());
  ASSERT_TRUE(target.ok());
  refuseNext(1);
  RecordingCallbacks callbacks;
  auto connection = ConnectionImpl::connect(*dispatcher_, *target, 1024 * 1024);
  ASSERT_NE(connection, nullptr);
  connection->setCallbacks(callbacks);
  EXPECT_EQ(adds_refused.load(), 1);
  runUntil([&] { return !callbacks.events.empty(); });
  EXPECT_THAT(callbacks.events, ElementsAre(ConnectionEvent::kRemoteClose));
  EXPECT_FALSE(connection->isOpen());
}

TEST_F(EpollRefusalTest, TheLingeringCloserClosesASocketEpollRefuses) {
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  LingeringCloser closer(*dispatcher_, milliseconds(5000), milliseconds(60000), 16);
  refuseNext(1);
  closer.adopt(fds[0]);
  EXPECT_EQ(adds_refused.load(), 1);
  runUntil([&] { return closer.size() == 0; });
  char c;
  EXPECT_EQ(::read(fds[1], &c, 1), 0);
  ::close(fds[1]);
}

}  // namespace
}  // namespace portico::network
