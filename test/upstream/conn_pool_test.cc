// ConnPool and ClusterManager against a real loopback listener: reuse of idle connections,
// the per-host connection cap and its pending queue, overflow, refused connects, and the
// draining of replaced clusters (closed once idle, reaped without waiting for another update),
// and what a retry after the keep-alive race relies on (prefer_new, closedUnansweredOnReuse).

#include "source/upstream/conn_pool.h"

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "source/common/network/address.h"
#include "source/common/network/listener.h"
#include "source/common/stats/store.h"
#include "source/upstream/cluster_info.h"
#include "source/upstream/cluster_manager.h"
#include "test/common/event/dispatcher_test_util.h"

namespace portico::upstream {
namespace {

using std::chrono::milliseconds;

class RecordingPoolCallbacks : public PoolCallbacks {
 public:
  void onPoolReady(UpstreamConnection& connection) override { ready.push_back(&connection); }
  void onPoolFailure(PoolFailureReason reason) override { failures.push_back(reason); }

  std::vector<UpstreamConnection*> ready;
  std::vector<PoolFailureReason> failures;
};

// An attached stream that records how its response ends.
class RecordingStream : public UpstreamStreamCallbacks {
 public:
  void on1xxHeaders(http::ResponseHead&) override {}
  void onResponseHeaders(http::ResponseHead&, bool end_stream) override { complete = end_stream; }
  void onResponseBody(buffer::Buffer& data) override { data.clear(); }
  void onResponseComplete() override { complete = true; }
  void onResponseError(absl::string_view) override { failed = true; }
  void onUpstreamAboveWriteHighWatermark() override {}
  void onUpstreamBelowWriteLowWatermark() override {}

  bool complete = false;
  bool failed = false;
};

// A port on 127.0.0.1 that nothing listens on.
uint16_t closedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  socklen_t len = sizeof(sa);
  getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len);
  close(fd);
  return ntohs(sa.sin_port);
}

class ConnPoolTest : public event::test::DispatcherTestBase {
 protected:
  void SetUp() override {
    auto address = network::Address::parse("127.0.0.1", 0);
    ASSERT_TRUE(address.ok());
    auto listener = network::TcpListener::create(
        *dispatcher_, *address,
        [this](int fd, const network::Address&) { accepted_.push_back(fd); });
    ASSERT_TRUE(listener.ok()) << listener.status();
    listener_ = std::move(*listener);
  }
  void TearDown() override {
    for (int fd : accepted_) close(fd);
  }

  ClusterInfoConstSharedPtr clusterInfo(uint16_t port, uint32_t max_connections = 0,
                                        uint32_t max_pending = 0, uint16_t second_port = 0,
                                        uint32_t max_response_headers_kb = 0,
                                        int idle_timeout_ms = 0) {
    config::v1::Cluster config;
    config.set_name("backend");
    config.mutable_connect_timeout()->set_seconds(2);
    if (max_connections != 0) config.set_max_connections_per_host(max_connections);
    if (max_pending != 0) config.set_max_pending_requests(max_pending);
    if (max_response_headers_kb != 0) config.set_max_response_headers_kb(max_response_headers_kb);
    // -1: an explicit 0s.
    if (idle_timeout_ms != 0) {
      config.mutable_idle_timeout()->set_nanos(std::max(idle_timeout_ms, 0) * 1000000);
    }
    for (uint16_t p : {port, second_port}) {
      if (p == 0) continue;
      auto* endpoint = config.mutable_load_assignment()->add_endpoints();
      endpoint->mutable_address()->set_address("127.0.0.1");
      endpoint->mutable_address()->set_port(p);
    }
    auto info = ClusterInfo::create(config, "clusters[0]", store_);
    EXPECT_TRUE(info.ok()) << info.status();
    return *info;
  }

  // Runs the loop until `done` holds (checked every 5 ms); the watchdog fails a hang.
  void runUntil(std::function<bool()> done, milliseconds limit = milliseconds(5000)) {
    event::Timer* poll = nullptr;
    poll = &timer([&] {
      if (done()) {
        dispatcher_->exit();
      } else {
        poll->enableTimer(milliseconds(5));
      }
    });
    poll->enableTimer(milliseconds(0));
    run(limit);
    poll->disableTimer();
  }

  // The pool for the one host of cluster "backend".
  static ConnPool& backendPool(ClusterManager& manager) {
    WorkerCluster* cluster = manager.get("backend");
    return cluster->pool(cluster->hosts()[0]);
  }

  // A new connection from `pool`, once it is connected and accepted.
  UpstreamConnection& connectOne(ConnPool& pool, RecordingPoolCallbacks& callbacks) {
    const size_t accepted = accepted_.size();
    pool.newStream(callbacks);
    runUntil([&] { return !callbacks.ready.empty() && accepted_.size() > accepted; });
    return *callbacks.ready.at(0);
  }

  // Starts a request on `connection` as the router would, so that its codec expects a
  // response; nothing is sent (the test plays the server on an accepted socket).
  void startRequest(UpstreamConnection& connection, RecordingStream& stream) {
    http::RequestHead request;
    request.method = "GET";
    buffer::Buffer unsent;
    connection.attach(stream);
    connection.codec().encodeRequestHeaders(request, "/", http::http1::BodyFraming::kNone, unsent);
  }

  // Writes `response` on accepted socket `i` and runs until `stream` has received all of it.
  void answer(size_t i, absl::string_view response, RecordingStream& stream) {
    ASSERT_EQ(write(accepted_[i], response.data(), response.size()),
              static_cast<ssize_t>(response.size()));
    runUntil([&] { return stream.complete; });
  }

  // A busy and an idle connection in `pool` (accepted sockets 0 and 1, in some order).
  void busyAndIdle(ConnPool& pool, RecordingPoolCallbacks& busy, RecordingPoolCallbacks& idle) {
    pool.newStream(busy);
    pool.newStream(idle);
    runUntil(
        [&] { return busy.ready.size() == 1 && idle.ready.size() == 1 && accepted_.size() == 2; });
    pool.release(*idle.ready[0], true);  // parked in the idle list
  }

  // True once the peer of accepted socket `i` has closed it (EOF on read).
  bool peerClosed(size_t i) {
    char c;
    return i < accepted_.size() && recv(accepted_[i], &c, 1, MSG_DONTWAIT) == 0;
  }

  stats::Store store_;
  stats::WorkerStats& worker_stats_ = store_.createWorkerStats();
  std::unique_ptr<network::TcpListener> listener_;
  std::vector<int> accepted_;
};

TEST_F(ConnPoolTest, ReusesAnIdleConnectionAtOnce) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  WorkerCluster* cluster = manager.get("backend");
  ASSERT_NE(cluster, nullptr);
  ConnPool& pool = cluster->pool(cluster->hosts()[0]);

  RecordingPoolCallbacks first;
  EXPECT_NE(pool.newStream(first), nullptr);  // no connection yet: it waits for the connect
  runUntil([&] { return !first.ready.empty() && !accepted_.empty(); });
  ASSERT_EQ(first.ready.size(), 1u);
  pool.release(*first.ready[0], true);

  RecordingPoolCallbacks second;
  EXPECT_EQ(pool.newStream(second), nullptr);  // served from the idle list, synchronously
  ASSERT_EQ(second.ready.size(), 1u);
  EXPECT_EQ(second.ready[0], first.ready[0]);
  EXPECT_EQ(pool.activeConnections(), 1u);
  EXPECT_EQ(accepted_.size(), 1u);
  pool.release(*second.ready[0], true);
}

TEST_F(ConnPoolTest, PreferNewOpensAConnectionBelowTheCapAndTakesAnIdleOneAtIt) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/2)}});
  ConnPool& pool = backendPool(manager);

  RecordingPoolCallbacks first;
  connectOne(pool, first);
  ASSERT_EQ(first.ready.size(), 1u);
  pool.release(*first.ready[0], true);

  RecordingPoolCallbacks retry;
  EXPECT_NE(pool.newStream(retry, /*prefer_new=*/true), nullptr);  // idle one left alone
  runUntil([&] { return !retry.ready.empty(); });
  ASSERT_EQ(retry.ready.size(), 1u);
  EXPECT_NE(retry.ready[0], first.ready[0]);
  EXPECT_EQ(pool.activeConnections(), 2u);

  RecordingPoolCallbacks at_cap;  // two connections: the idle one serves at once
  EXPECT_EQ(pool.newStream(at_cap, /*prefer_new=*/true), nullptr);
  ASSERT_EQ(at_cap.ready.size(), 1u);
  EXPECT_EQ(at_cap.ready[0], first.ready[0]);
  pool.release(*retry.ready[0], true);
  pool.release(*at_cap.ready[0], true);
}

TEST_F(ConnPoolTest, ClosedUnansweredOnReuseOnlyForAReusedConnectionThatGotNothing) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  ConnPool& pool = backendPool(manager);

  RecordingPoolCallbacks first;
  connectOne(pool, first);
  ASSERT_EQ(first.ready.size(), 1u);
  UpstreamConnection& connection = *first.ready[0];
  RecordingStream stream;
  startRequest(connection, stream);
  EXPECT_FALSE(connection.closedUnansweredOnReuse());  // its first request
  answer(0, "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n", stream);
  pool.release(connection, true);

  RecordingPoolCallbacks second;
  pool.newStream(second);
  ASSERT_EQ(second.ready.size(), 1u);
  ASSERT_EQ(second.ready[0], &connection);
  startRequest(connection, stream);
  EXPECT_TRUE(connection.closedUnansweredOnReuse());  // reused, nothing read for it yet
  ASSERT_EQ(write(accepted_[0], "H", 1), 1);          // one byte of a response: it was answered
  runUntil([&] {
    return connection.connection().bytesRead() > 0 && !connection.closedUnansweredOnReuse();
  });
  EXPECT_FALSE(connection.closedUnansweredOnReuse());
  pool.release(connection, false);
}

TEST_F(ConnPoolTest, ClosedUnansweredOnReuseForAConnectionParkedBeforeItsFirstRequest) {
  // Regression (reviewer): a connection opened for a request that went elsewhere sat idle
  // with no request served; when the upstream closed it as idle just as its first request
  // went out, that request was not retried.
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  ConnPool& pool = backendPool(manager);
  RecordingPoolCallbacks opened;
  connectOne(pool, opened);
  pool.release(*opened.ready[0], true);  // parked without a request
  RecordingPoolCallbacks first_request;
  pool.newStream(first_request);
  ASSERT_EQ(first_request.ready.size(), 1u);
  UpstreamConnection& connection = *first_request.ready[0];
  RecordingStream stream;
  startRequest(connection, stream);
  EXPECT_TRUE(connection.closedUnansweredOnReuse());
  pool.release(connection, false);
}

TEST_F(ConnPoolTest, QueuesBeyondTheConnectionCapAndOverflowsBeyondThePendingCap) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1,
                                          /*max_pending=*/2)}});
  ConnPool& pool = backendPool(manager);

  RecordingPoolCallbacks a, b, c;
  EXPECT_NE(pool.newStream(a), nullptr);
  EXPECT_NE(pool.newStream(b), nullptr);
  EXPECT_EQ(pool.newStream(c), nullptr);  // two already pending
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0], PoolFailureReason::kOverflow);

  runUntil([&] { return !a.ready.empty(); });
  EXPECT_TRUE(b.ready.empty());  // the only connection is busy
  EXPECT_EQ(pool.activeConnections(), 1u);
  pool.release(*a.ready[0], true);
  runUntil([&] { return !b.ready.empty(); });
  EXPECT_EQ(b.ready[0], a.ready[0]);  // handed over, not a second connection
  EXPECT_EQ(accepted_.size(), 1u);
  pool.release(*b.ready[0], true);
}

// Regression (reviewer): the pending cap was per host, so with 20 hosts 20 times as many
// requests could wait; it is the cluster's on this worker.
TEST_F(ConnPoolTest, ThePendingCapCountsEveryHostOfTheCluster) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1,
                                          /*max_pending=*/2, listener_->boundPort())}});
  WorkerCluster* cluster = manager.get("backend");
  ConnPool& first = cluster->pool(cluster->hosts()[0]);
  ConnPool& second = cluster->pool(cluster->hosts()[1]);
  RecordingPoolCallbacks a, b, c;
  EXPECT_NE(first.newStream(a), nullptr);
  EXPECT_NE(second.newStream(b), nullptr);
  EXPECT_EQ(second.newStream(c), nullptr);  // two pending in the cluster
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0], PoolFailureReason::kOverflow);
  runUntil([&] { return !a.ready.empty() && !b.ready.empty(); });
  // Served: the count is back to zero, so two may wait again.
  RecordingPoolCallbacks d, e;
  EXPECT_NE(first.newStream(d), nullptr);
  EXPECT_NE(second.newStream(e), nullptr);
  EXPECT_TRUE(d.failures.empty());
  EXPECT_TRUE(e.failures.empty());
  first.release(*a.ready[0], true);
  second.release(*b.ready[0], true);
  runUntil([&] { return !d.ready.empty() && !e.ready.empty(); });
  first.release(*d.ready[0], true);
  second.release(*e.ready[0], true);
}

// Regression (reviewer): a released connection waits in the idle list until the end of the
// turn, and a request arriving in that turn took it ahead of those already queued; at the
// connection cap, newcomers could starve the queue until its route timeout.
TEST_F(ConnPoolTest, AReleasedConnectionGoesToTheQueueBeforeNewcomers) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  ConnPool& pool = backendPool(manager);

  RecordingPoolCallbacks a, waiting, newcomer;
  pool.newStream(a);
  pool.newStream(waiting);
  runUntil([&] { return !a.ready.empty(); });
  pool.release(*a.ready[0], true);               // parked; the queue is served at turn end
  EXPECT_NE(pool.newStream(newcomer), nullptr);  // same turn: queued, not served first
  EXPECT_TRUE(newcomer.ready.empty());
  runUntil([&] { return !waiting.ready.empty(); });
  EXPECT_EQ(waiting.ready[0], a.ready[0]);
  EXPECT_TRUE(newcomer.ready.empty());
  pool.release(*waiting.ready[0], true);
  runUntil([&] { return !newcomer.ready.empty(); });
  pool.release(*newcomer.ready[0], true);
  EXPECT_EQ(accepted_.size(), 1u);
}

TEST_F(ConnPoolTest, AConnectionClosedAtTheCapIsReplacedForWaitingRequests) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  ConnPool& pool = backendPool(manager);

  RecordingPoolCallbacks a, b, c;
  pool.newStream(a);
  pool.newStream(b);
  runUntil([&] { return !a.ready.empty(); });
  // E.g. a "connection: close" response: the only connection goes while b waits.
  pool.release(*a.ready[0], /*reusable=*/false);
  runUntil([&] { return !b.ready.empty() || !b.failures.empty(); });
  ASSERT_EQ(b.ready.size(), 1u);
  EXPECT_TRUE(b.failures.empty());
  EXPECT_EQ(accepted_.size(), 2u);  // a new connection, within the cap
  EXPECT_EQ(pool.activeConnections(), 1u);

  // Regression (reviewer): when the replacement could not be opened (out of fds), the
  // waiting request stayed queued with nothing to serve it, until its route timeout or for
  // ever. It fails now.
  pool.newStream(c);
  rlimit saved{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &saved), 0);
  rlimit no_new_fds = saved;
  no_new_fds.rlim_cur = 3;  // the fds open stay; a new socket gets EMFILE
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &no_new_fds), 0);
  pool.release(*b.ready[0], /*reusable=*/false);
  ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &saved), 0);
  runUntil([&] { return !c.ready.empty() || !c.failures.empty(); });
  ASSERT_EQ(c.failures.size(), 1u);
  EXPECT_EQ(c.failures[0], PoolFailureReason::kConnectFailure);
  EXPECT_TRUE(pool.idle());
}

TEST_F(ConnPoolTest, ARetryWhoseNewConnectionFailsTakesTheIdleOne) {
  // Regression (reviewer): the retry was queued for a new connection beside an idle one; when
  // the connect failed it was kept for the idle connection, but nothing handed it over.
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/2)}});
  ConnPool& pool = backendPool(manager);
  RecordingPoolCallbacks first;
  connectOne(pool, first);
  pool.release(*first.ready[0], true);
  listener_.reset();  // new connects are refused; the idle connection stays up

  RecordingPoolCallbacks retry;
  pool.newStream(retry, /*prefer_new=*/true);
  runUntil([&] { return !retry.ready.empty() || !retry.failures.empty(); }, milliseconds(3000));
  ASSERT_EQ(retry.ready.size(), 1u);
  EXPECT_EQ(retry.ready[0], first.ready[0]);
  EXPECT_TRUE(retry.failures.empty());
  pool.release(*retry.ready[0], true);
}

TEST_F(ConnPoolTest, RefusedConnectFailsThePendingRequest) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(closedPort())}});
  ConnPool& pool = backendPool(manager);

  RecordingPoolCallbacks callbacks;
  pool.newStream(callbacks);
  runUntil([&] { return !callbacks.failures.empty(); });
  EXPECT_EQ(callbacks.failures[0], PoolFailureReason::kConnectFailure);
  EXPECT_TRUE(callbacks.ready.empty());
  EXPECT_TRUE(pool.idle());
}

TEST_F(ConnPoolTest, AnUnusedReplacedClusterIsDroppedAtOnce) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});  // a new ClusterInfo
  EXPECT_EQ(manager.drainingCount(), 0u);
  manager.update({});
  EXPECT_EQ(manager.drainingCount(), 0u);
  EXPECT_EQ(manager.get("backend"), nullptr);
}

TEST_F(ConnPoolTest, ReplacedClusterDrainsAndIsReapedWithoutAnotherUpdate) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  WorkerCluster* old_cluster = manager.get("backend");
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks busy, idle;
  busyAndIdle(old_pool, busy, idle);

  // Connections made with other response head limits cannot move to the new generation.
  manager.update({{"backend", clusterInfo(listener_->boundPort(), 0, 0, 0,
                                          /*max_response_headers_kb=*/90)}});
  EXPECT_NE(manager.get("backend"), old_cluster);
  EXPECT_EQ(manager.drainingCount(), 1u);
  // Draining closes the idle connection at once; the busy one is left to finish.
  runUntil([&] { return peerClosed(1); });
  EXPECT_FALSE(peerClosed(0));

  // Still draining across reap ticks while the request holds its connection.
  at(ClusterManager::kReapInterval + milliseconds(300), [this] { dispatcher_->exit(); });
  run();
  EXPECT_EQ(manager.drainingCount(), 1u);

  // The request finishes: its connection closes instead of parking, and the next reap tick
  // destroys the old cluster.
  old_pool.release(*busy.ready[0], true);
  const auto released = std::chrono::steady_clock::now();
  runUntil([&] { return manager.drainingCount() == 0; },
           ClusterManager::kReapInterval + milliseconds(2000));
  EXPECT_EQ(manager.drainingCount(), 0u);
  EXPECT_LE(std::chrono::steady_clock::now() - released,
            ClusterManager::kReapInterval + milliseconds(500));
  runUntil([&] { return peerClosed(0); });
}

TEST_F(ConnPoolTest, AnEndpointChangeKeepsTheConnectionsToHostsThatStay) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  WorkerCluster* old_cluster = manager.get("backend");
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks busy, idle;
  busyAndIdle(old_pool, busy, idle);

  // A host is added: the new generation takes over the idle connection at once.
  manager.update({{"backend", clusterInfo(listener_->boundPort(), 0, 0, closedPort())}});
  WorkerCluster* cluster = manager.get("backend");
  ASSERT_NE(cluster, old_cluster);
  HostState* host = cluster->findHost(old_cluster->hosts()[0].host->address_string);
  ASSERT_NE(host, nullptr);
  ConnPool& pool = cluster->pool(*host);
  EXPECT_EQ(pool.activeConnections(), 1u);
  EXPECT_EQ(manager.drainingCount(), 1u);  // the busy request still holds the old one
  RecordingPoolCallbacks next;
  EXPECT_EQ(pool.newStream(next), nullptr);  // served from the idle list, synchronously
  ASSERT_EQ(next.ready.size(), 1u);
  EXPECT_EQ(next.ready[0], idle.ready[0]);

  // The busy one, released on the replaced cluster, moves over too; nothing was closed.
  old_pool.release(*busy.ready[0], true);
  EXPECT_EQ(pool.activeConnections(), 2u);
  EXPECT_TRUE(old_pool.idle());
  RecordingPoolCallbacks after;
  EXPECT_EQ(pool.newStream(after), nullptr);
  ASSERT_EQ(after.ready.size(), 1u);
  EXPECT_EQ(after.ready[0], busy.ready[0]);
  EXPECT_FALSE(peerClosed(0));
  EXPECT_FALSE(peerClosed(1));
  EXPECT_EQ(accepted_.size(), 2u);
  runUntil([&] { return manager.drainingCount() == 0; },
           ClusterManager::kReapInterval + milliseconds(2000));

  // A moved connection still closes through its new pool (no use of the reaped one).
  pool.release(*next.ready[0], false);
  pool.release(*after.ready[0], true);
  EXPECT_EQ(pool.activeConnections(), 1u);
  runUntil([&] { return peerClosed(0) || peerClosed(1); });
}

// Admin /clusters: a new version of a cluster counts on from its predecessor's totals, and
// requests still in flight on the draining one are counted for their host.
TEST_F(ConnPoolTest, HostLoadsCountOnAcrossVersionsOfACluster) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  HostState& old_host = manager.get("backend")->hosts()[0];
  const std::string address = old_host.host->address_string;
  old_host.total_requests = 7;
  old_host.active_requests = 1;  // in flight on this version: it drains
  manager.update({{"backend", clusterInfo(listener_->boundPort(), 0, 0, closedPort())}});
  ASSERT_EQ(manager.drainingCount(), 1u);
  manager.get("backend")->findHost(address)->active_requests = 2;
  // Regression (reviewer): least-request compared the new version's own count, so each update
  // made a host with requests in flight look idle. It reads the count shared across versions.
  old_host.counts->active_requests = 1;
  EXPECT_EQ(manager.get("backend")->findHost(address)->counts->active_requests, 1u);
  auto loads = manager.hostLoads("backend");
  EXPECT_EQ(loads.size(), 2u);  // the added host too, with nothing yet
  EXPECT_EQ(loads[address].rq_total, 7u);
  EXPECT_EQ(loads[address].rq_active, 3u);
  EXPECT_TRUE(manager.hostLoads("other").empty());
  // An address listed twice is two hosts, each with its own numbers.
  absl::flat_hash_map<std::string, int> seen;
  EXPECT_EQ(ClusterManager::hostKey("h:1", seen), "h:1");
  EXPECT_EQ(ClusterManager::hostKey("h:2", seen), "h:2");
  EXPECT_EQ(ClusterManager::hostKey("h:1", seen), "h:1#2");
  old_host.active_requests = 0;
  manager.get("backend")->findHost(address)->active_requests = 0;
}

// Regression (reviewer): each version of a cluster counted only its own connections, so every
// endpoint update during long requests let the host get max_connections_per_host more.
TEST_F(ConnPoolTest, TheConnectionCapCountsTheConnectionsOfEveryVersion) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  RecordingPoolCallbacks a;
  ConnPool& old_pool = backendPool(manager);  // stays alive while it drains
  UpstreamConnection& busy = connectOne(old_pool, a);
  // A new version (another endpoint added) while the only allowed connection is busy.
  manager.update({{"backend", clusterInfo(listener_->boundPort(), 1, 0, closedPort())}});
  WorkerCluster* current = manager.get("backend");
  ConnPool& pool = current->pool(*current->findHost(busy.connection().remoteAddress().asString()));
  RecordingPoolCallbacks b;
  EXPECT_NE(pool.newStream(b), nullptr);  // waits: the old version's connection counts
  const auto until = std::chrono::steady_clock::now() + milliseconds(100);
  runUntil([&] { return std::chrono::steady_clock::now() >= until; });
  EXPECT_EQ(accepted_.size(), 1u);
  EXPECT_EQ(pool.activeConnections(), 0u);
  // Released closed (not reusable): the new version may open one now, and does.
  old_pool.release(busy, /*reusable=*/false);
  runUntil([&] { return !b.ready.empty() || !b.failures.empty(); });
  ASSERT_EQ(b.ready.size(), 1u);
  EXPECT_EQ(accepted_.size(), 2u);
  pool.release(*b.ready[0], true);
}

// Regression (reviewer): a request waiting at the cap in the new version was woken only
// through PoolSuccessors, which a change of codec limits turns off: the old version's
// connection closed (it cannot move) and the request waited for its route timeout.
TEST_F(ConnPoolTest, ARequestAtTheCapIsWokenWhenAnOldVersionsConnectionCloses) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  const uint16_t port = listener_->boundPort();
  manager.update({{"backend", clusterInfo(port, /*max_connections=*/1)}});
  RecordingPoolCallbacks a;
  ConnPool& old_pool = backendPool(manager);
  UpstreamConnection& busy = connectOne(old_pool, a);
  // Only the response head limit changes: the connection cannot move to the new version.
  manager.update({{"backend", clusterInfo(port, 1, 0, 0, /*max_response_headers_kb=*/32)}});
  ConnPool& pool = backendPool(manager);
  RecordingPoolCallbacks b;
  EXPECT_NE(pool.newStream(b), nullptr);      // at the cap
  old_pool.release(busy, /*reusable=*/true);  // closed, not handed over
  runUntil([&] { return !b.ready.empty() || !b.failures.empty(); }, milliseconds(2000));
  ASSERT_EQ(b.ready.size(), 1u);
  EXPECT_EQ(accepted_.size(), 2u);
  pool.release(*b.ready[0], false);
}

// Regression (reviewer): requests at the cap in the new version failed with 503 as soon as a
// connection of the old version closed and another old-version request took the slot: the
// new pool had no connection of its own and gave up.
TEST_F(ConnPoolTest, ARequestAtTheCapHeldByAnotherVersionWaitsInsteadOfFailing) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  const uint16_t port = listener_->boundPort();
  manager.update({{"backend", clusterInfo(port, /*max_connections=*/1)}});
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks first, second;
  UpstreamConnection& busy = connectOne(old_pool, first);
  EXPECT_NE(old_pool.newStream(second), nullptr);  // queued at the cap in the old version
  manager.update({{"backend", clusterInfo(port, /*max_connections=*/1)}});
  ConnPool& pool = backendPool(manager);
  RecordingPoolCallbacks third;
  EXPECT_NE(pool.newStream(third), nullptr);   // queued at the cap in the new version
  old_pool.release(busy, /*reusable=*/false);  // the old version opens one for `second`
  runUntil([&] { return !second.ready.empty() || !second.failures.empty(); });
  ASSERT_EQ(second.ready.size(), 1u);
  EXPECT_TRUE(third.failures.empty());
  EXPECT_TRUE(third.ready.empty());
  old_pool.release(*second.ready[0], /*reusable=*/true);  // moves to the new version
  runUntil([&] { return !third.ready.empty() || !third.failures.empty(); });
  ASSERT_EQ(third.ready.size(), 1u);
  EXPECT_EQ(third.ready[0], second.ready[0]);
  pool.release(*third.ready[0], false);
}

TEST_F(ConnPoolTest, ConnectionsToARemovedHostClose) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks idle;
  connectOne(old_pool, idle);
  old_pool.release(*idle.ready[0], true);

  manager.update({{"backend", clusterInfo(closedPort())}});
  EXPECT_EQ(manager.drainingCount(), 0u);
  runUntil([&] { return peerClosed(0); });
}

TEST_F(ConnPoolTest, RequestsWaitingOnAReplacedPoolAreServedBeforeItsConnectionsMove) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks busy, waiting;
  old_pool.newStream(busy);
  old_pool.newStream(waiting);  // at the cap: waits for busy's connection
  runUntil([&] { return busy.ready.size() == 1; });
  ASSERT_TRUE(waiting.ready.empty());

  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  old_pool.release(*busy.ready[0], true);
  runUntil([&] { return !waiting.ready.empty() || !waiting.failures.empty(); });
  ASSERT_EQ(waiting.ready.size(), 1u);
  EXPECT_EQ(waiting.ready[0], busy.ready[0]);

  // Nobody waits any more: the connection moves on when released.
  old_pool.release(*waiting.ready[0], true);
  WorkerCluster* cluster = manager.get("backend");
  EXPECT_EQ(cluster->pool(cluster->hosts()[0]).activeConnections(), 1u);
  EXPECT_TRUE(old_pool.idle());
  EXPECT_EQ(accepted_.size(), 1u);
}

TEST_F(ConnPoolTest, AConnectionTooOldToHandOffLeavesTheHostCountsRight) {
  // Regression (reviewer): with the same address listed twice, the second host's connection
  // moves into the first host's count. When the new version's shorter idle_timeout had
  // already passed, the counts moved and then the connection closed in its old pool: the new
  // host kept a phantom connection for ever, which at max_connections_per_host: 1 left its
  // requests waiting.
  ClusterManager manager(*dispatcher_, worker_stats_);
  const uint16_t port = listener_->boundPort();
  manager.update({{"backend", clusterInfo(port, 1, 0, port, 0, /*idle_ms=*/600)}});
  ConnPool& old_second = manager.get("backend")->pool(manager.get("backend")->hosts()[1]);
  RecordingPoolCallbacks first;
  connectOne(old_second, first);
  old_second.release(*first.ready[0], true);

  at(milliseconds(300), [this] { dispatcher_->exit(); });
  run();
  manager.update({{"backend", clusterInfo(port, 1, 0, port, 0, /*idle_ms=*/200)}});
  runUntil([&] { return peerClosed(0); });  // too old for the new version: closed
  WorkerCluster* cluster = manager.get("backend");
  for (size_t i = 0; i < 2; i++) {
    EXPECT_EQ(cluster->hosts()[i].counts->connections, 0u) << "host " << i;
    RecordingPoolCallbacks next;
    cluster->pool(cluster->hosts()[i]).newStream(next);
    runUntil([&] { return !next.ready.empty() || !next.failures.empty(); });
    ASSERT_EQ(next.ready.size(), 1u) << "host " << i;
    cluster->pool(cluster->hosts()[i]).release(*next.ready[0], false);
  }
}

TEST_F(ConnPoolTest, AHandedOffConnectionKeepsItsIdleAge) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  auto info = [&] { return clusterInfo(listener_->boundPort(), 0, 0, 0, 0, /*idle_ms=*/600); };
  manager.update({{"backend", info()}});
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks first;
  connectOne(old_pool, first);
  old_pool.release(*first.ready[0], true);
  const auto parked = std::chrono::steady_clock::now();

  at(milliseconds(400), [this] { dispatcher_->exit(); });
  run();
  manager.update({{"backend", info()}});  // handed off after 400 ms of its 600
  WorkerCluster* cluster = manager.get("backend");
  EXPECT_EQ(cluster->pool(cluster->hosts()[0]).activeConnections(), 1u);
  runUntil([&] { return peerClosed(0); });
  const auto closed_after = std::chrono::steady_clock::now() - parked;
  EXPECT_GE(closed_after, milliseconds(550));
  EXPECT_LT(closed_after, milliseconds(900));  // not a fresh 600 ms after the update
}

TEST_F(ConnPoolTest, ARequestCancelledOnAReplacedPoolLetsTheConnectionKeptForItMoveOn) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks busy, waiting;
  old_pool.newStream(busy);
  PendingRequest* handle = old_pool.newStream(waiting);
  ASSERT_NE(handle, nullptr);
  runUntil([&] { return busy.ready.size() == 1; });

  manager.update({{"backend", clusterInfo(listener_->boundPort(), /*max_connections=*/1)}});
  old_pool.release(*busy.ready[0], true);  // kept for `waiting`; its serve is scheduled
  handle->cancel();                        // the client went away in the same turn
  WorkerCluster* cluster = manager.get("backend");
  EXPECT_EQ(cluster->pool(cluster->hosts()[0]).activeConnections(), 1u);  // moved on at once
  // The scheduled serve still refers to the old pool: it must not count as idle (a reap
  // would free it under that callback).
  EXPECT_FALSE(old_pool.idle());
  runUntil([&] { return old_pool.idle(); });
  EXPECT_TRUE(waiting.ready.empty());
  EXPECT_EQ(accepted_.size(), 1u);
}

// idle_timeout 0s is no idle timeout, as Envoy's. Regression (reviewer): it closed every
// connection when released, so each request opened a new one.
TEST_F(ConnPoolTest, IdleTimeoutZeroKeepsIdleConnections) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort(), 0, 0, 0, 0, /*idle_ms=*/-1)}});
  ConnPool& pool = backendPool(manager);
  RecordingPoolCallbacks first;
  connectOne(pool, first);
  pool.release(*first.ready[0], true);
  at(milliseconds(200), [this] { dispatcher_->exit(); });
  run();
  EXPECT_FALSE(peerClosed(0));
  RecordingPoolCallbacks second;
  EXPECT_EQ(pool.newStream(second), nullptr);  // the idle one, at once
  ASSERT_EQ(second.ready.size(), 1u);
  EXPECT_EQ(second.ready[0], first.ready[0]);
  EXPECT_EQ(accepted_.size(), 1u);
  pool.release(*second.ready[0], true);
}

// Regression (reviewer): with no idle timeout the hand-off compared the idle time with
// milliseconds::max() as nanoseconds, which overflowed, and every update closed the pool's
// idle connections instead of moving them on.
TEST_F(ConnPoolTest, AnUpdateHandsOnIdleConnectionsWithoutAnIdleTimeout) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  auto info = [&] { return clusterInfo(listener_->boundPort(), 0, 0, 0, 0, /*idle_ms=*/-1); };
  manager.update({{"backend", info()}});
  ConnPool& old_pool = backendPool(manager);
  RecordingPoolCallbacks first;
  connectOne(old_pool, first);
  old_pool.release(*first.ready[0], true);
  manager.update({{"backend", info()}});
  WorkerCluster* cluster = manager.get("backend");
  EXPECT_EQ(cluster->pool(cluster->hosts()[0]).activeConnections(), 1u);
  at(milliseconds(100), [this] { dispatcher_->exit(); });
  run();
  EXPECT_FALSE(peerClosed(0));
  EXPECT_EQ(accepted_.size(), 1u);
}

TEST_F(ConnPoolTest, AnIdleConnectionClosesBeforeTheTimeoutItsServerAnnounced) {
  ClusterManager manager(*dispatcher_, worker_stats_);
  manager.update({{"backend", clusterInfo(listener_->boundPort())}});  // idle_timeout 60 s
  ConnPool& pool = backendPool(manager);
  RecordingPoolCallbacks first;
  connectOne(pool, first);
  UpstreamConnection& connection = *first.ready[0];
  RecordingStream stream;
  startRequest(connection, stream);
  answer(0, "HTTP/1.1 200 OK\r\nkeep-alive: timeout=1, max=100\r\ncontent-length: 0\r\n\r\n",
         stream);
  pool.release(connection, true);
  const auto parked = std::chrono::steady_clock::now();

  // The server closes after 1 s idle; we close first, with half of that as the margin.
  runUntil([&] { return peerClosed(0); });
  const auto closed_after = std::chrono::steady_clock::now() - parked;
  EXPECT_GE(closed_after, milliseconds(450));
  EXPECT_LT(closed_after, milliseconds(900));
  EXPECT_EQ(pool.activeConnections(), 0u);
}

}  // namespace

}  // namespace portico::upstream
