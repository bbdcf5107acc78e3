#include "source/common/http/local_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/common/network/address.h"
#include "test/common/event/dispatcher_test_util.h"

namespace portico::http {
namespace {

using std::chrono::milliseconds;

// A client socket, read without blocking (the server runs on the test's loop). What arrives
// accumulates in received(); closed() tells whether the server closed (EOF or reset).
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
  void poll() {
    char buf[4096];
    while (!closed_) {
      ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n > 0) {
        received_.append(buf, n);
        continue;
      }
      closed_ = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      return;
    }
  }
  const std::string& received() const { return received_; }
  bool closed() const { return closed_; }

 private:
  int fd_;
  std::string received_;
  bool closed_ = false;
};

class LocalServerTest : public event::test::DispatcherTestBase {
 protected:
  void start(LocalServerLimits limits) {
    server_ = std::make_unique<LocalServer>(
        *dispatcher_,
        [](const LocalRequest& r) {
          if (r.path == "/big") return LocalResponse{200, "text/plain", std::string(16 << 20, 'x')};
          return LocalResponse{200, "text/plain", r.path};
        },
        limits);
    auto address = network::Address::parse("127.0.0.1", 0);
    ASSERT_TRUE(address.ok());
    ASSERT_TRUE(server_->start(*address).ok());
  }
  // Runs the loop until the server has closed `client`; returns what it sent.
  std::string untilClosed(RawClient& client) {
    runUntil([&] {
      client.poll();
      return client.closed();
    });
    return client.received();
  }
  // Runs the loop until what `client` received ends with `suffix` (or the server closed).
  void untilReceivedEndsWith(RawClient& client, absl::string_view suffix) {
    runUntil([&] {
      client.poll();
      return absl::EndsWith(client.received(), suffix) || client.closed();
    });
  }
  std::unique_ptr<LocalServer> server_;
};

// Regression: admin and control-plane connections had no timeouts, so idle or slow clients
// held descriptors forever (30 s of a half-sent request line got no answer and no close).
TEST_F(LocalServerTest, IdleConnectionIsClosed) {
  start({.request_timeout = milliseconds(5000), .idle_timeout = milliseconds(100)});
  RawClient client(server_->port());
  const auto started = std::chrono::steady_clock::now();
  EXPECT_EQ(untilClosed(client), "");
  EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(90));
  EXPECT_EQ(server_->connectionCount(), 0u);
  EXPECT_EQ(server_->timeoutCount(), 1u);
}

TEST_F(LocalServerTest, SlowRequestGets408AndIsClosed) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("GET /ready HTTP/1.1\r\nHost: a\r\n");  // the head never ends
  const std::string reply = untilClosed(client);
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408 ")) << reply;
  EXPECT_EQ(server_->timeoutCount(), 1u);
}

TEST_F(LocalServerTest, SlowBodyGets408) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\nabc");
  const std::string reply = untilClosed(client);
  EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 408 ")) << reply;
}

// A keep-alive connection between requests is idle, not slow: the request clock stops with
// each answered request and starts again at the next one's first byte.
TEST_F(LocalServerTest, KeepAliveConnectionOutlivesTheRequestTimeout) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("GET /one HTTP/1.1\r\nHost: a\r\n\r\n");
  untilReceivedEndsWith(client, "/one");
  exitAt(milliseconds(300));  // three request timeouts
  run();
  client.poll();
  EXPECT_FALSE(client.closed());
  client.send("GET /two HTTP/1.1\r\nHost: a\r\n\r\n");
  untilReceivedEndsWith(client, "/two");
  EXPECT_TRUE(absl::StartsWith(client.received(), "HTTP/1.1 200 ")) << client.received();
  EXPECT_FALSE(client.closed());
  EXPECT_EQ(server_->timeoutCount(), 0u);
}

// Regression: an empty line after a request (some clients send CRLF after a body; RFC 9112
// 2.2 lets a server ignore it) started the request clock, and 408 came for a request nobody
// had started, where the client could take it as the answer to its next one.
TEST_F(LocalServerTest, EmptyLineAfterARequestIsNotARequest) {
  start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
  RawClient client(server_->port());
  client.send("POST /one HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\nab\r\n");
  untilReceivedEndsWith(client, "/one");
  exitAt(milliseconds(300));  // three request timeouts
  run();
  client.poll();
  EXPECT_FALSE(client.closed()) << client.received();
  EXPECT_EQ(server_->timeoutCount(), 0u);
  // More than one empty line is not ignored: that client is timed as usual.
  client.send("\r\n\r\n");
  EXPECT_TRUE(absl::StrContains(untilClosed(client), "HTTP/1.1 408 "));
}

// A second request read together with the first must arrive whole in time too, whether its
// head (which the codec then holds) or its body is missing.
TEST_F(LocalServerTest, PipelinedPartialRequestIsTimed) {
  for (const char* second : {"POST /two HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab",
                             "GET /two HTTP/1.1\r\nX: "}) {
    SCOPED_TRACE(second);
    start({.request_timeout = milliseconds(100), .idle_timeout = milliseconds(5000)});
    RawClient client(server_->port());
    client.send(absl::StrCat("GET /one HTTP/1.1\r\nHost: a\r\n\r\n", second));
    const std::string reply = untilClosed(client);
    EXPECT_TRUE(absl::StrContains(reply, "/oneHTTP/1.1 408 ")) << reply;
  }
}

TEST_F(LocalServerTest, ConnectionsBeyondTheLimitAreClosed) {
  start({.max_connections = 2});
  RawClient a(server_->port()), b(server_->port()), c(server_->port());
  untilClosed(c);
  a.poll();
  EXPECT_FALSE(a.closed());
  EXPECT_EQ(server_->connectionCount(), 2u);
  EXPECT_EQ(server_->overflowCount(), 1u);
}

// Regression (reviewer): each connection's buffered responses were bounded, but not their sum:
// 1024 connections each holding a /stats nobody reads grew memory by gigabytes.
TEST_F(LocalServerTest, ResponsesUnreadOverAllConnectionsAreBounded) {
  start({.max_buffered_bytes = 1 << 20});
  RawClient hoarder(server_->port());
  hoarder.send("GET /big HTTP/1.1\r\nHost: x\r\n\r\n");  // and does not read
  runUntil([&] { return server_->bufferedBytes() > (1u << 20); });
  RawClient other(server_->port());
  other.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
  untilReceivedEndsWith(other, "retry later\"}\n");
  EXPECT_TRUE(absl::StartsWith(other.received(), "HTTP/1.1 503")) << other.received();
  EXPECT_NE(other.received().find("retry-after: 1"), std::string::npos);
  // Once the hoarder reads its answer, requests are served again.
  runUntil([&] {
    hoarder.poll();
    return hoarder.received().size() >= (16u << 20) || hoarder.closed();
  });
  other.send("GET /small HTTP/1.1\r\nHost: x\r\n\r\n");
  untilReceivedEndsWith(other, "/small");
  EXPECT_NE(other.received().find("HTTP/1.1 200"), std::string::npos);
}

}  // namespace
}  // namespace portico::http
