// State-of-the-world protocol against the real server over loopback gRPC.

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "portico/config/v1/cluster.pb.h"
#include "source/control_plane/cache/snapshot_cache_impl.h"
#include "source/control_plane/server/ads_service.h"
#include "source/control_plane/server/fleet_registry.h"
#include "source/control_plane/server/stream_state.h"
#include "test/control_plane/ads_test_client.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using service::discovery::v1::AggregatedDiscoveryService;
using service::discovery::v1::DiscoveryRequest;
using service::discovery::v1::DiscoveryResponse;
using test::clusterYaml;
using test::docs;
using test::routeYaml;

constexpr char kClusterUrl[] = "type.googleapis.com/portico.config.v1.Cluster";
constexpr char kRouteUrl[] = "type.googleapis.com/portico.config.v1.RouteConfiguration";

class SotwProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("a"), routeYaml("r", "a")})));
    startServer(AdsService::kDefaultMaxStreams);
  }
  void startServer(size_t max_streams) {
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    service_ = std::make_unique<AdsService>(cache_, fleet_, max_streams);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(service_.get());
    b.SetMaxReceiveMessageSize(64 * 1024 * 1024);  // as portico-control serve
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    channel_ = grpc::CreateChannel("127.0.0.1:" + std::to_string(port_),
                                   grpc::InsecureChannelCredentials());
    stub_ = AggregatedDiscoveryService::NewStub(channel_);
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  std::unique_ptr<test::SotwClient> open() {
    return std::make_unique<test::SotwClient>(
        [this](grpc::ClientContext* c) { return stub_->StreamAggregatedResources(c); });
  }
  DiscoveryRequest request(const std::string& type, const std::string& version = "",
                           const std::string& nonce = "", const std::string& id = "proxy-1") {
    DiscoveryRequest r;
    r.mutable_node()->set_id(id);
    r.mutable_node()->set_cluster("edge");
    r.set_type_url(type);
    r.set_version_info(version);
    r.set_response_nonce(nonce);
    return r;
  }
  DiscoveryRequest ack(const DiscoveryResponse& resp) {
    return request(resp.type_url(), resp.version_info(), resp.nonce());
  }
  // Polls the fleet view (the server records ACKs on its threads).
  std::string ackedVersion(Kind kind, int tries = 200) {
    std::string v;
    for (int i = 0; i < tries; i++) {
      auto nodes = fleet_.nodes();
      if (!nodes.empty()) v = nodes[0].types[static_cast<int>(kind)].acked_version;
      if (!v.empty()) return v;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return v;
  }

  SnapshotCacheImpl cache_;
  FleetRegistry fleet_;
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
};

TEST_F(SotwProtocolTest, SubscribeAckAndPushOnChange) {
  auto s = open();
  ASSERT_TRUE(s->send(request(kClusterUrl)));
  auto r1 = s->next();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->type_url(), kClusterUrl);
  ASSERT_EQ(r1->resources_size(), 1);
  config::v1::Cluster c;
  ASSERT_TRUE(r1->resources(0).UnpackTo(&c));
  EXPECT_EQ(c.name(), "a");
  EXPECT_FALSE(r1->nonce().empty());
  EXPECT_FALSE(r1->version_info().empty());
  EXPECT_EQ(r1->control_plane().identifier(), "portico-control");
  ASSERT_TRUE(s->send(ack(*r1)));
  EXPECT_EQ(ackedVersion(Kind::kCluster), r1->version_info());
  EXPECT_FALSE(s->next(std::chrono::milliseconds(200)));  // nothing more until a change

  cache_.setSnapshot(
      test::snapshotOf(docs({clusterYaml("a", 81), clusterYaml("b", 82), routeYaml("r", "a")})));
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->resources_size(), 2);  // state of the world: all of them
  EXPECT_NE(r2->version_info(), r1->version_info());
  EXPECT_NE(r2->nonce(), r1->nonce());
}

TEST_F(SotwProtocolTest, TooManyResourceNamesEndTheStream) {
  auto s = open();
  DiscoveryRequest req = request(kClusterUrl);
  for (size_t i = 0; i <= kMaxNamesPerType; ++i) req.add_resource_names("n" + std::to_string(i));
  s->send(req);
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
}

// Regression (reviewer): 100,000 names of ~650 bytes fit one 64 MiB request.
TEST_F(SotwProtocolTest, ResourceNameBytesOverTheLimitEndTheStream) {
  auto s = open();
  DiscoveryRequest req = request(kClusterUrl);
  for (int i = 0; i < 17; ++i) req.add_resource_names(std::string(1024 * 1024, 'a' + i));
  s->send(req);
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("bytes in all"));
}

// Regression (reviewer): nonces are predictable, so a client could answer responses it never
// read; each answer with a changed subscription queued one more full response, without bound.
TEST_F(SotwProtocolTest, AClientThatDoesNotReadItsResponsesIsCutOff) {
  std::vector<std::string> clusters;
  for (int i = 0; i < 4000; i++) clusters.push_back(clusterYaml("cluster-" + std::to_string(i)));
  cache_.setSnapshot(test::snapshotOf(docs(clusters)));
  // A fixed 64 KiB stream window (no BDP growth): the server's writes stall at once.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 65536);
  auto stub = AggregatedDiscoveryService::NewStub(grpc::CreateCustomChannel(
      "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  auto stream = stub->StreamAggregatedResources(&context);  // never read
  ASSERT_TRUE(stream->Write(request(kClusterUrl)));
  int sent = 0;
  for (int nonce = 1; nonce <= 300; nonce++) {
    DiscoveryRequest answer = request(kClusterUrl, "", std::to_string(nonce));
    if (nonce % 2 == 1) answer.add_resource_names("cluster-0");  // a changed subscription
    if (!stream->Write(answer)) break;
    sent++;
  }
  // The server ends the stream: the node leaves the fleet view.
  bool closed = false;
  for (int i = 0; i < 500 && !closed; i++) {
    closed = fleet_.nodes().empty();
    if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(closed) << "the stream is still open after " << sent << " answers";
  context.TryCancel();
}

TEST_F(SotwProtocolTest, NackKeepsPreviousVersionAndRecordsError) {
  auto s = open();
  s->send(request(kClusterUrl));
  auto r1 = s->next();
  ASSERT_TRUE(r1);
  s->send(ack(*r1));
  cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("a", 81), routeYaml("r", "a")})));
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  DiscoveryRequest nack = request(kClusterUrl, r1->version_info(), r2->nonce());
  nack.mutable_error_detail()->set_code(3);
  nack.mutable_error_detail()->set_message("clusters[0].connect_timeout: nope");
  s->send(nack);
  NodeStatus status;
  for (int i = 0; i < 200; i++) {
    status = fleet_.nodes().at(0);
    if (status.types[0].nacks > 0) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(status.types[0].nacks, 1);
  EXPECT_EQ(status.types[0].last_nack_error, "clusters[0].connect_timeout: nope");
  EXPECT_EQ(status.types[0].acked_version, r1->version_info());
  EXPECT_FALSE(s->next(std::chrono::milliseconds(200)));  // not retried
  // A stale nonce is ignored; the next change is pushed.
  s->send(request(kClusterUrl, r1->version_info(), "12345"));
  cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("a", 82), routeYaml("r", "a")})));
  auto r3 = s->next();
  ASSERT_TRUE(r3);
  s->send(ack(*r3));
  EXPECT_EQ(fleet_.nodes().size(), 1);
}

TEST_F(SotwProtocolTest, RoutesWaitForTheClustersTheyName) {
  auto s = open();
  s->send(request(kClusterUrl));
  s->send(request(kRouteUrl));
  auto r1 = s->next();
  ASSERT_TRUE(r1);
  EXPECT_EQ(r1->type_url(), kClusterUrl);
  EXPECT_FALSE(s->next(std::chrono::milliseconds(200)));  // routes wait for the cluster ACK
  s->send(ack(*r1));
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->type_url(), kRouteUrl);
  s->send(ack(*r2));
  // Move the route to a new cluster and delete the old one, in one change.
  cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("b"), routeYaml("r", "b")})));
  auto c = s->next();
  ASSERT_TRUE(c);
  EXPECT_EQ(c->type_url(), kClusterUrl);
  EXPECT_EQ(c->resources_size(), 2);  // "a" kept, "b" added
  s->send(ack(*c));
  auto r = s->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->type_url(), kRouteUrl);
  s->send(ack(*r));
  auto withdraw = s->next();
  ASSERT_TRUE(withdraw);
  EXPECT_EQ(withdraw->type_url(), kClusterUrl);
  ASSERT_EQ(withdraw->resources_size(), 1);  // "a" withdrawn after the route moved
  config::v1::Cluster only;
  withdraw->resources(0).UnpackTo(&only);
  EXPECT_EQ(only.name(), "b");
}

TEST_F(SotwProtocolTest, ReconnectWithCurrentVersionGetsNothingNew) {
  std::string version;
  {
    auto s = open();
    s->send(request(kClusterUrl));
    auto r = s->next();
    ASSERT_TRUE(r);
    version = r->version_info();
    s->send(ack(*r));
    EXPECT_EQ(ackedVersion(Kind::kCluster), version);
  }
  for (int i = 0; i < 200 && !fleet_.nodes().empty(); i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(fleet_.nodes().empty());  // the closed stream left the fleet view
  auto s = open();
  s->send(request(kClusterUrl, version));
  EXPECT_FALSE(s->next(std::chrono::milliseconds(300)));
  EXPECT_EQ(ackedVersion(Kind::kCluster), version);
  // Resubscribing with an old version gets the current one.
  auto s2 = open();
  s2->send(request(kClusterUrl, "old-version", "", "proxy-2"));
  auto r = s2->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->version_info(), version);
}

TEST_F(SotwProtocolTest, NamedSubscriptionAndBadRequests) {
  cache_.setSnapshot(
      test::snapshotOf(docs({clusterYaml("a"), clusterYaml("b", 81), routeYaml("r", "a")})));
  auto s = open();
  DiscoveryRequest req = request(kClusterUrl);
  req.add_resource_names("b");
  s->send(req);
  auto r = s->next();
  ASSERT_TRUE(r);
  ASSERT_EQ(r->resources_size(), 1);
  // Adding a name in the next request (with the ACK) sends the new set.
  DiscoveryRequest more = ack(*r);
  more.add_resource_names("b");
  more.add_resource_names("a");
  s->send(more);
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(r2->resources_size(), 2);

  auto bad = open();
  DiscoveryRequest nonode;
  nonode.set_type_url(kClusterUrl);
  bad->send(nonode);
  EXPECT_FALSE(bad->next(std::chrono::milliseconds(500)));
  EXPECT_EQ(bad->close().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto bad2 = open();
  bad2->send(request("type.googleapis.com/envoy.Cluster"));
  EXPECT_FALSE(bad2->next(std::chrono::milliseconds(500)));
  EXPECT_EQ(bad2->close().error_code(), grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_F(SotwProtocolTest, ManyStreamsAllGetTheChange) {
  std::vector<std::unique_ptr<test::SotwClient>> streams;
  for (int i = 0; i < 50; i++) {
    streams.push_back(open());
    streams.back()->send(request(kClusterUrl, "", "", "p" + std::to_string(i)));
  }
  for (auto& s : streams) {
    auto r = s->next();
    ASSERT_TRUE(r);
    s->send(ack(*r));
  }
  cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("a", 99), routeYaml("r", "a")})));
  for (auto& s : streams) {
    auto r = s->next();
    ASSERT_TRUE(r);
    config::v1::Cluster c;
    r->resources(0).UnpackTo(&c);
    EXPECT_EQ(c.load_assignment().endpoints(0).address().port(), 99);
  }
  EXPECT_EQ(fleet_.connectedCount(), 50);
}

// Regression (reviewer): nothing bounded the streams open at once; each holds a reactor, its
// subscriptions and its node, whether or not it ever sends a request.
TEST_F(SotwProtocolTest, StreamsOverTheLimitAreRefusedAndTheirSlotsComeBack) {
  startServer(2);
  auto a = open();
  ASSERT_TRUE(a->send(request(kClusterUrl, "", "", "proxy-a")));
  ASSERT_TRUE(a->next());
  auto silent = open();  // never sends a request, and still holds a slot
  // gRPC may run the two handlers in either order: the next is refused only once this one has
  // its slot.
  for (int i = 0; i < 500 && service_->openStreams() < 2; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ASSERT_EQ(service_->openStreams(), 2u);
  auto refused = open();
  grpc::Status st = refused->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("at most 2 discovery streams"));
  EXPECT_THAT(fleet_.toPrometheus(),
              ::testing::HasSubstr("portico_control_streams_refused_total 1\n"));

  EXPECT_TRUE(a->close().ok());
  for (int i = 0; i < 200 && service_->openStreams() > 1; i++) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(service_->openStreams(), 1u);
  auto b = open();
  ASSERT_TRUE(b->send(request(kClusterUrl, "", "", "proxy-b")));
  EXPECT_TRUE(b->next());
}

// Regression (reviewer): a node was kept as sent, bounded only by the 64 MiB message.
TEST_F(SotwProtocolTest, AnOversizedNodeEndsTheStream) {
  auto s = open();
  DiscoveryRequest req = request(kClusterUrl);
  (*req.mutable_node()->mutable_metadata())["big"] = std::string(300 * 1024, 'x');
  s->send(req);
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("at most 262144"));
  EXPECT_EQ(fleet_.connectedCount(), 0u);
}

// Regression (reviewer): a node id of up to 256 KiB labelled every per-node series on
// /metrics and was copied on each scrape.
TEST_F(SotwProtocolTest, ALongNodeIdOrClusterEndsTheStream) {
  for (bool cluster : {false, true}) {
    auto s = open();
    DiscoveryRequest req = request(kClusterUrl);
    const std::string long_name(1025, 'n');
    if (cluster) {
      req.mutable_node()->set_cluster(long_name);
    } else {
      req.mutable_node()->set_id(long_name);
    }
    s->send(req);
    grpc::Status st = s->close();
    EXPECT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
    EXPECT_THAT(st.error_message(),
                ::testing::HasSubstr(cluster ? "node.cluster is 1025 bytes; at most 1024"
                                             : "node.id is 1025 bytes; at most 1024"));
  }
  EXPECT_EQ(fleet_.connectedCount(), 0u);
}

}  // namespace
}  // namespace portico::control_plane
