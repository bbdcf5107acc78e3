// Delta (incremental) protocol against the real server over loopback gRPC.

#include <set>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/control_plane/cache/snapshot_cache_impl.h"
#include "source/control_plane/server/ads_service.h"
#include "source/control_plane/server/fleet_registry.h"
#include "source/control_plane/server/stream_state.h"
#include "test/control_plane/ads_test_client.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using service::discovery::v1::AggregatedDiscoveryService;
using service::discovery::v1::DeltaDiscoveryRequest;
using service::discovery::v1::DeltaDiscoveryResponse;
using test::clusterYaml;
using test::docs;
using test::routeYaml;

constexpr char kClusterUrl[] = "type.googleapis.com/portico.config.v1.Cluster";

std::set<std::string> names(const DeltaDiscoveryResponse& r) {
  std::set<std::string> out;
  for (const auto& res : r.resources()) out.insert(res.name());
  return out;
}

class DeltaProtocolTest : public ::testing::Test {
 protected:
  void SetUp() override {
    cache_.setSnapshot(
        test::snapshotOf(docs({clusterYaml("a"), clusterYaml("b", 81), clusterYaml("c", 82)})));
    service_ = std::make_unique<AdsService>(cache_, fleet_);
    grpc::ServerBuilder b;
    b.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    b.RegisterService(service_.get());
    b.SetMaxReceiveMessageSize(64 * 1024 * 1024);  // as portico-control serve
    server_ = b.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = AggregatedDiscoveryService::NewStub(grpc::CreateChannel(
        "127.0.0.1:" + std::to_string(port_), grpc::InsecureChannelCredentials()));
  }
  void TearDown() override { server_->Shutdown(std::chrono::system_clock::now()); }

  std::unique_ptr<test::DeltaClient> open() {
    return std::make_unique<test::DeltaClient>(
        [this](grpc::ClientContext* c) { return stub_->DeltaAggregatedResources(c); });
  }
  DeltaDiscoveryRequest request(const std::string& nonce = "") {
    DeltaDiscoveryRequest r;
    r.mutable_node()->set_id("delta-1");
    r.set_type_url(kClusterUrl);
    r.set_response_nonce(nonce);
    return r;
  }

  SnapshotCacheImpl cache_;
  FleetRegistry fleet_;
  std::unique_ptr<AdsService> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  std::unique_ptr<AggregatedDiscoveryService::Stub> stub_;
};

TEST_F(DeltaProtocolTest, WildcardThenOnlyChangesAndRemovals) {
  auto s = open();
  s->send(request());
  auto r1 = s->next();
  ASSERT_TRUE(r1);
  EXPECT_EQ(names(*r1), (std::set<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r1->system_version_info(), cache_.current()->version());
  for (const auto& res : r1->resources()) EXPECT_FALSE(res.version().empty());
  s->send(request(r1->nonce()));
  cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("a"), clusterYaml("b", 91)})));
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(names(*r2), (std::set<std::string>{"b"}));
  ASSERT_EQ(r2->removed_resources_size(), 1);
  EXPECT_EQ(r2->removed_resources(0), "c");
  s->send(request(r2->nonce()));
  EXPECT_FALSE(s->next(std::chrono::milliseconds(200)));
}

TEST_F(DeltaProtocolTest, SubscribeAndUnsubscribeByName) {
  auto s = open();
  DeltaDiscoveryRequest req = request();
  req.add_resource_names_subscribe("a");
  s->send(req);
  auto r1 = s->next();
  ASSERT_TRUE(r1);
  EXPECT_EQ(names(*r1), (std::set<std::string>{"a"}));
  DeltaDiscoveryRequest change = request(r1->nonce());
  change.add_resource_names_subscribe("c");
  change.add_resource_names_unsubscribe("a");
  s->send(change);
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  EXPECT_EQ(names(*r2), (std::set<std::string>{"c"}));
  EXPECT_EQ(r2->removed_resources_size(), 0);
  s->send(request(r2->nonce()));
  // A change to "a" (unsubscribed) sends nothing.
  cache_.setSnapshot(
      test::snapshotOf(docs({clusterYaml("a", 1), clusterYaml("b", 81), clusterYaml("c", 82)})));
  EXPECT_FALSE(s->next(std::chrono::milliseconds(300)));
}

// Subscriptions add up across requests; a proxy that keeps naming new resources is stopped
// at kMaxNamesPerType instead of growing the server's memory.
TEST_F(DeltaProtocolTest, SubscriptionsAreBoundedAcrossRequests) {
  auto s = open();
  const size_t per_request = 20000;
  size_t sent = 0;
  bool first = true;
  while (sent <= kMaxNamesPerType) {
    DeltaDiscoveryRequest req = request();
    if (!first) req.clear_node();
    first = false;
    for (size_t i = 0; i < per_request; ++i) {
      req.add_resource_names_subscribe("n" + std::to_string(sent + i));
    }
    sent += per_request;
    if (!s->send(req)) break;  // the server already ended the stream
  }
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("more than 100000 resource names"));
}

// Regression (reviewer): the count was bounded, not the bytes: a few long names per request
// grew the server's memory request after request.
TEST_F(DeltaProtocolTest, SubscribedNameBytesAreBoundedAcrossRequests) {
  auto s = open();
  const std::string long_name(1024 * 1024, 'n');
  bool first = true;
  for (int i = 0; i < 20; ++i) {  // 20 MiB of names, 16 MiB allowed
    DeltaDiscoveryRequest req = request();
    if (!first) req.clear_node();
    first = false;
    req.add_resource_names_subscribe(long_name + std::to_string(i));
    if (!s->send(req)) break;
  }
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("bytes in all"));
}

// Regression (reviewer): initial_resource_versions was taken whole (each entry kept as held,
// and a removal built for each absent one): one 64 MiB request grew to gigabytes.
TEST_F(DeltaProtocolTest, InitialResourceVersionsAreBounded) {
  auto s = open();
  DeltaDiscoveryRequest req = request();
  for (size_t i = 0; i <= kMaxNamesPerType; ++i) {
    (*req.mutable_initial_resource_versions())["n" + std::to_string(i)] = "1";
  }
  s->send(req);
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_THAT(st.error_message(),
              ::testing::HasSubstr("more than 100000 initial_resource_versions"));
}

TEST_F(DeltaProtocolTest, InitialResourceVersionBytesAreBounded) {
  auto s = open();
  DeltaDiscoveryRequest req = request();
  const std::string long_version(1024 * 1024, 'v');
  for (int i = 0; i < 17; ++i) {  // 17 MiB, 16 MiB allowed
    (*req.mutable_initial_resource_versions())["n" + std::to_string(i)] = long_version;
  }
  s->send(req);
  grpc::Status st = s->close();
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_THAT(st.error_message(), ::testing::HasSubstr("bytes in all"));
}

TEST_F(DeltaProtocolTest, ReconnectWithInitialResourceVersions) {
  std::map<std::string, std::string> held;
  {
    auto s = open();
    s->send(request());
    auto r = s->next();
    ASSERT_TRUE(r);
    for (const auto& res : r->resources()) held[res.name()] = res.version();
    s->send(request(r->nonce()));
  }
  // While away: "b" changes, "c" goes.
  cache_.setSnapshot(test::snapshotOf(docs({clusterYaml("a"), clusterYaml("b", 99)})));
  auto s = open();
  DeltaDiscoveryRequest again = request();
  for (const auto& [name, version] : held)
    (*again.mutable_initial_resource_versions())[name] = version;
  s->send(again);
  auto r = s->next();
  ASSERT_TRUE(r);
  EXPECT_EQ(names(*r), (std::set<std::string>{"b"}));  // "a" unchanged: not resent
  ASSERT_EQ(r->removed_resources_size(), 1);
  EXPECT_EQ(r->removed_resources(0), "c");
}

TEST_F(DeltaProtocolTest, NackIsRecordedAndStateKept) {
  auto s = open();
  s->send(request());
  auto r1 = s->next();
  ASSERT_TRUE(r1);
  s->send(request(r1->nonce()));
  cache_.setSnapshot(
      test::snapshotOf(docs({clusterYaml("a", 5), clusterYaml("b", 81), clusterYaml("c", 82)})));
  auto r2 = s->next();
  ASSERT_TRUE(r2);
  DeltaDiscoveryRequest nack = request(r2->nonce());
  nack.mutable_error_detail()->set_message("bad a");
  s->send(nack);
  NodeStatus st;
  for (int i = 0; i < 200; i++) {
    st = fleet_.nodes().at(0);
    if (st.types[0].nacks) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(st.delta);
  EXPECT_EQ(st.types[0].last_nack_error, "bad a");
  EXPECT_EQ(st.types[0].acked_version, r1->system_version_info());
  EXPECT_FALSE(s->next(std::chrono::milliseconds(200)));
  // Going back to what the proxy holds needs no push; a new change is sent as a diff against
  // what the proxy ACKed (not what it rejected).
  cache_.setSnapshot(
      test::snapshotOf(docs({clusterYaml("a", 6), clusterYaml("b", 81), clusterYaml("c", 82)})));
  auto r3 = s->next();
  ASSERT_TRUE(r3);
  EXPECT_EQ(names(*r3), (std::set<std::string>{"a"}));
}

}  // namespace
}  // namespace portico::control_plane
