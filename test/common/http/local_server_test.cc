#include "source/common/http/local_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "source/common/network/address.h"
#include "test/common/event/dispatcher_test_util.h"

namespace portico::http {
namespace {

using std::chrono::milliseconds;

// A blocking client socket, read without blocking (the server runs on the test's loop).
class RawClient {
 public:
  explicit RawClient(uint16_t port) : fd_(socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  }
  ~RawClient() { close(fd_); }
  void send(absl::string_view data) {
    EXPECT_EQ(::send(fd_, data.data(), data.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(data.size()));
  }
  // What has arrived so far; `closed` tells whether the server closed (EOF or reset).
  std::string read(bool* closed) {
    std::string out;
    char buf[4096];
    *closed = false;
    while (true) {
      ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        out.append(buf, n);
        continue;
      }
      *closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      return out;
    }
  }

 private:
  int fd_;
};

class LocalServerTest : public event::test::DispatcherTestBase {
 protected:
  void start(LocalServerLimits limits) {
    server_ = std::make_unique<LocalServer>(
        *dispatcher_,
        [](const LocalRequest& r) { return LocalResponse{200, "text/plain", r.path}; }, limits);
    auto address = network::Address::parse("127.0.0.1", 0);
    ASSERT_TRUE(address.ok());
    ASSERT_TRUE(server_->start(*address).ok());
  }
  std::unique_ptr<LocalServer> server_;
};

// Regression: admin and control-plane connections had no timeouts, so idle or slow clients
// held descriptors forever (30 s of a half-sent request line got no answer and no close).
TEST_F(LocalServerTest, IdleConnectionIsClosed) {
  start({.request_timeout = milliseconds(5000), .idle_timeout = milliseconds(100)});
  RawClient client(server_->port());
  bool closed = false;
  at(milliseconds(50), [&] { EXPECT_EQ(server_->connectionCount(), 1u); });
  at(milliseconds(400), [&] {
    client.read(&closed);
    dispatcher_->exit();
  });
  run();
  EXPECT_TRUE(closed);
  EXPECT_EQ(server_->connectionCount(), 0u);
  EXPECT_EQ(server_->timeoutCount(), 1u);
}

TEST_F(LocalServerTest, SlowRequestGets408AndIsClosed) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("GET /ready HTTP/1.1\r\nHost: a\r\n");  // the head never ends
  bool closed = false;
  std::string reply;
  at(milliseconds(400), [&] {
    reply = client.read(&closed);
    dispatcher_->exit();
  });
  run();
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408 ")) << reply;
  EXPECT_TRUE(closed);
}

TEST_F(LocalServerTest, SlowBodyGets408) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  bool closed = false;
  std::string reply;
  at(milliseconds(400), [&] {
    reply = client.read(&closed);
    dispatcher_->exit();
  });
  run();
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408 ")) << reply;
  EXPECT_TRUE(closed);
}

// A keep-alive connection between requests is idle, not slow: the request clock stops with
// each answered request and starts again at the next one's first byte.
TEST_F(LocalServerTest, KeepAliveConnectionOutlivesTheRequestTimeout) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
  bool closed = false;
  std::string first, second;
  at(milliseconds(300), [&] {
    first = client.read(&closed);
    EXPECT_FALSE(closed);
    client.send("GET /two HTTP/1.1\r\nHost: a\r\n\r\n");
  });
  at(milliseconds(500), [&] {
    second = client.read(&closed);
    dispatcher_->exit();
  });
  run();
  EXPECT_TRUE(absl::StartsWith(first, "HTTP/1.1 200 ")) << first;
  EXPECT_TRUE(absl::EndsWith(first, "/one")) << first;
  EXPECT_TRUE(absl::EndsWith(second, "/two")) << second;
  EXPECT_FALSE(closed);
}

// A second request read together with the first must arrive whole in time too.
TEST_F(LocalServerTest, PipelinedPartialRequestIsTimed) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\nPOST /two HTTP/1.1\r\nHost: a\r\n"
              "Content-Length: 5\r\n\r\nab");
  bool closed = false;
  std::string reply;
  at(milliseconds(400), [&] {
    reply = client.read(&closed);
    dispatcher_->exit();
  });
  run();
  EXPECT_TRUE(absl::StrContains(reply, "/oneHTTP/1.1 408 ")) << reply;
  EXPECT_TRUE(closed);
}

TEST_F(LocalServerTest, ConnectionsBeyondTheLimitAreClosed) {
  start({.max_connections = 2});
  RawClient a(server_->port()), b(server_->port()), c(server_->port());
  bool closed_a = true, closed_c = false;
  at(milliseconds(200), [&] {
    a.read(&closed_a);
    c.read(&closed_c);
    dispatcher_->exit();
  });
  run();
  EXPECT_FALSE(closed_a);
  EXPECT_TRUE(closed_c);
  EXPECT_EQ(server_->connectionCount(), 2u);
  EXPECT_EQ(server_->overflowCount(), 1u);
}

}  // namespace
}  // namespace portico::http
