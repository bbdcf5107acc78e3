#include "source/control_plane/server/stream_state.h"

#include "gtest/gtest.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using test::clusterYaml;
using test::docs;
using test::listenerYaml;
using test::routeYaml;

NodeViewConstSharedPtr viewOf(const std::string& yaml) {
  config::v1::Node n;
  n.set_id("n");
  return test::snapshotOf(yaml)->viewFor(n);
}

std::vector<std::string> names(const Push& p) {
  std::vector<std::string> out;
  for (const auto& r : p.resources) out.push_back(r->name());
  return out;
}

void subscribeAll(StreamState& s, bool delta) {
  for (Kind k : kAllKinds) {
    if (delta) {
      s.deltaSubscribe(k, {}, {}, true);
    } else {
      s.setSotwNames(k, {});
    }
  }
}

void ackAll(StreamState& s, const std::vector<Push>& pushes) {
  for (const Push& p : pushes) ASSERT_EQ(s.onReply(p.kind, p.nonce, false), ReplyKind::kAck);
}

TEST(StreamStateTest, ClustersGoFirstAndRoutesWaitForTheirAck) {
  StreamState s(false);
  subscribeAll(s, false);
  auto v = viewOf(docs({clusterYaml("a"), routeYaml("r", "a"), listenerYaml("l", "r", 1)}));
  auto first = s.plan(*v, "v1");
  // Clusters and (empty) endpoints now; routes need cluster "a" ACKed, listeners need "r".
  ASSERT_EQ(first.size(), 2);
  EXPECT_EQ(first[0].kind, Kind::kCluster);
  EXPECT_EQ(first[1].kind, Kind::kClusterLoadAssignment);
  EXPECT_TRUE(s.plan(*v, "v1").empty());  // nothing while in flight
  ackAll(s, first);
  auto second = s.plan(*v, "v1");
  ASSERT_EQ(second.size(), 1);
  EXPECT_EQ(second[0].kind, Kind::kRouteConfiguration);
  ackAll(s, second);
  auto third = s.plan(*v, "v1");
  ASSERT_EQ(third.size(), 1);
  EXPECT_EQ(third[0].kind, Kind::kListener);
  ackAll(s, third);
  EXPECT_TRUE(s.plan(*v, "v1").empty());
}

TEST(StreamStateTest, RemovedClusterStaysUntilRoutesStopNamingIt) {
  StreamState s(false);
  subscribeAll(s, false);
  auto v1 = viewOf(docs({clusterYaml("old"), routeYaml("r", "old")}));
  for (int i = 0; i < 3; i++) ackAll(s, s.plan(*v1, "v1"));
  // One change: the route moves to "new" and "old" is deleted.
  auto v2 = viewOf(docs({clusterYaml("new"), routeYaml("r", "new")}));
  auto p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kCluster);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"new", "old"}));  // make before break
  ackAll(s, p);
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kRouteConfiguration);
  // Still "old" while the route naming "new" is not ACKed.
  EXPECT_TRUE(s.plan(*v2, "v2").empty());
  ackAll(s, p);
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kCluster);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"new"}));  // now the break
}

std::string endpointsYaml(const std::string& cluster, int port) {
  return "kind: ClusterLoadAssignment\nspec: {cluster_name: " + cluster +
         ", endpoints: [{address: {address: 127.0.0.1, port: " + std::to_string(port) + "}}]}\n";
}

// A stream of either protocol that holds cluster "a", its endpoints and route "r" to it.
void holdClusterAWithEndpoints(StreamState& s, bool delta) {
  subscribeAll(s, delta);
  auto v1 = viewOf(docs({clusterYaml("a"), endpointsYaml("a", 9001), routeYaml("r", "a")}));
  for (int i = 0; i < 3; i++) ackAll(s, s.plan(*v1, "v1"));
}

// Regression (reviewer): endpoints deleted from a cluster that stays were kept while a route
// named the cluster, that is for ever: connected proxies kept routing to the old endpoints.
TEST(StreamStateTest, EndpointsDeletedFromAClusterThatStaysAreWithdrawn) {
  for (bool delta : {false, true}) {
    SCOPED_TRACE(delta ? "delta" : "sotw");
    StreamState s(delta);
    holdClusterAWithEndpoints(s, delta);
    auto v2 = viewOf(docs({clusterYaml("a"), routeYaml("r", "a")}));
    auto p = s.plan(*v2, "v2");
    ASSERT_EQ(p.size(), 1);
    EXPECT_EQ(p[0].kind, Kind::kClusterLoadAssignment);
    EXPECT_TRUE(p[0].resources.empty());
    if (delta) EXPECT_EQ(p[0].removed, (std::vector<std::string>{"a"}));
  }
}

// Regression (reviewer): whether a cluster's endpoints are kept depends on the cluster being
// in the view, but the endpoints' plan was skipped while only the cluster list had changed:
// cluster "a" re-added without endpoints left the proxy routing to a's old ones.
TEST(StreamStateTest, EndpointsOfAClusterReaddedWithoutThemAreWithdrawn) {
  for (bool delta : {false, true}) {
    SCOPED_TRACE(delta ? "delta" : "sotw");
    StreamState s(delta);
    holdClusterAWithEndpoints(s, delta);
    // "a" and its endpoints deleted, the route moved to "b": both kept while r names "a".
    auto v2 = viewOf(docs({clusterYaml("b"), routeYaml("r", "b")}));
    auto p = s.plan(*v2, "v2");
    ASSERT_EQ(p.size(), 1);
    EXPECT_EQ(p[0].kind, Kind::kCluster);
    ackAll(s, p);
    p = s.plan(*v2, "v2");
    ASSERT_EQ(p.size(), 1);
    ASSERT_EQ(p[0].kind, Kind::kRouteConfiguration);
    ASSERT_EQ(s.onReply(p[0].kind, p[0].nonce, true), ReplyKind::kNack);  // r -> b refused
    EXPECT_TRUE(s.plan(*v2, "v2").empty());
    // "a" comes back, unchanged, without endpoints: the kept endpoints must go.
    auto v3 = viewOf(docs({clusterYaml("a"), clusterYaml("b"), routeYaml("r", "b")}));
    p = s.plan(*v3, "v3");
    ASSERT_EQ(p.size(), 1);
    EXPECT_EQ(p[0].kind, Kind::kClusterLoadAssignment);
    EXPECT_TRUE(p[0].resources.empty());
    if (delta) EXPECT_EQ(p[0].removed, (std::vector<std::string>{"a"}));
  }
}

// Regression (reviewer): renaming svc.a to svc_a (one Prometheus name) kept svc.a for the
// routes beside svc_a; the proxy refused the pair, and the routes waiting for svc_a never went.
TEST(StreamStateTest, AKeptClusterGivesWayToOneWithTheSamePrometheusName) {
  StreamState s(false);
  subscribeAll(s, false);
  auto v1 = viewOf(docs({clusterYaml("svc.a"), routeYaml("r", "svc.a")}));
  for (int i = 0; i < 3; i++) ackAll(s, s.plan(*v1, "v1"));
  auto v2 = viewOf(docs({clusterYaml("svc_a"), routeYaml("r", "svc_a")}));
  auto p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kCluster);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"svc_a"}));
  ackAll(s, p);
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kRouteConfiguration);
}

TEST(StreamStateTest, NackKeepsStateAndIsNotRetriedUntilChange) {
  StreamState s(false);
  s.setSotwNames(Kind::kCluster, {});
  auto v1 = viewOf(clusterYaml("a"));
  auto p = s.plan(*v1, "v1");
  ackAll(s, p);
  const std::string acked = s.type(Kind::kCluster).acked_version;
  auto v2 = viewOf(clusterYaml("a", 81));
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(s.onReply(Kind::kCluster, "999", true), ReplyKind::kStale);
  EXPECT_EQ(s.onReply(Kind::kCluster, p[0].nonce, true), ReplyKind::kNack);
  EXPECT_EQ(s.type(Kind::kCluster).acked_version, acked);
  EXPECT_TRUE(s.plan(*v2, "v2").empty());
  auto v3 = viewOf(clusterYaml("a", 82));
  EXPECT_EQ(s.plan(*v3, "v3").size(), 1);
}

// Regression (reviewer): a cluster removal on the wire, then the cluster back and a route
// naming it: the route waited only for the old ACK, reached the proxy after the removal and was
// refused, then never sent again.
TEST(StreamStateTest, RoutesWaitForAClusterRemovalOnTheWire) {
  for (bool delta : {false, true}) {
    SCOPED_TRACE(delta ? "delta" : "sotw");
    StreamState s(delta);
    subscribeAll(s, delta);
    auto v1 = viewOf(docs({clusterYaml("a"), clusterYaml("b"), routeYaml("r", "b")}));
    for (int i = 0; i < 3; i++) ackAll(s, s.plan(*v1, "v1"));
    // "a" is deleted: the cluster set without it goes out.
    auto v2 = viewOf(docs({clusterYaml("b"), routeYaml("r", "b")}));
    auto removal = s.plan(*v2, "v2");
    ASSERT_EQ(removal.size(), 1);
    ASSERT_EQ(removal[0].kind, Kind::kCluster);
    // Before its ACK, "a" is back and the route names it: the route waits.
    auto v3 = viewOf(docs({clusterYaml("a"), clusterYaml("b"), routeYaml("r", "a")}));
    EXPECT_TRUE(s.plan(*v3, "v3").empty());
    ackAll(s, removal);
    auto readd = s.plan(*v3, "v3");
    ASSERT_EQ(readd.size(), 1);
    EXPECT_EQ(readd[0].kind, Kind::kCluster);
    ackAll(s, readd);
    auto route = s.plan(*v3, "v3");
    ASSERT_EQ(route.size(), 1);
    EXPECT_EQ(route[0].kind, Kind::kRouteConfiguration);
  }
}

// A route refused while a cluster it names was missing is tried again once the proxy's
// clusters change, even if the route itself did not.
TEST(StreamStateTest, ARefusedRouteIsRetriedAfterItsClustersChange) {
  StreamState s(false);
  subscribeAll(s, false);
  auto v1 = viewOf(docs({clusterYaml("a"), routeYaml("r", "a")}));
  for (int i = 0; i < 3; i++) ackAll(s, s.plan(*v1, "v1"));
  auto v2 = viewOf(docs({clusterYaml("a"), clusterYaml("b"), routeYaml("r", "b")}));
  auto clusters = s.plan(*v2, "v2");
  ASSERT_EQ(clusters.size(), 1);
  ackAll(s, clusters);
  auto route = s.plan(*v2, "v2");
  ASSERT_EQ(route.size(), 1);
  ASSERT_EQ(s.onReply(Kind::kRouteConfiguration, route[0].nonce, true), ReplyKind::kNack);
  EXPECT_TRUE(s.plan(*v2, "v2").empty());  // not retried as it is
  auto v3 = viewOf(docs({clusterYaml("a"), clusterYaml("b", 81), routeYaml("r", "b")}));
  auto changed = s.plan(*v3, "v3");
  ASSERT_EQ(changed.size(), 1);
  EXPECT_EQ(changed[0].kind, Kind::kCluster);
  ackAll(s, changed);
  auto retried = s.plan(*v3, "v3");
  ASSERT_EQ(retried.size(), 1);
  EXPECT_EQ(retried[0].kind, Kind::kRouteConfiguration);
}

TEST(StreamStateTest, SotwNamedSubscriptionsAndResume) {
  StreamState s(false);
  s.setSotwNames(Kind::kCluster, {"b"});
  auto v = viewOf(docs({clusterYaml("a"), clusterYaml("b", 81)}));
  auto p = s.plan(*v, "v");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"b"}));
  // A reconnecting proxy holding exactly this gets nothing.
  StreamState again(false);
  again.setSotwNames(Kind::kCluster, {"b"});
  again.resumeSotw(Kind::kCluster, p[0].version, *v);
  EXPECT_TRUE(again.plan(*v, "v").empty());
  StreamState stale(false);
  stale.setSotwNames(Kind::kCluster, {"b"});
  stale.resumeSotw(Kind::kCluster, "old", *v);
  EXPECT_EQ(stale.plan(*v, "v").size(), 1);
}

TEST(StreamStateTest, SotwEmptyNamesAreWildcardOnlyBeforeAnyName) {
  // Regression (reviewer): an empty list after named subscriptions meant wildcard, so a client
  // dropping its last name received every resource of the type.
  auto v = viewOf(docs({clusterYaml("a"), clusterYaml("b", 81)}));
  StreamState named(false);
  named.setSotwNames(Kind::kCluster, {"b"});
  ackAll(named, named.plan(*v, "v"));
  named.setSotwNames(Kind::kCluster, {});
  auto p = named.plan(*v, "v");
  ASSERT_EQ(p.size(), 1);
  EXPECT_TRUE(p[0].resources.empty());
  ackAll(named, p);
  // "*" is wildcard, with or without names beside it.
  named.setSotwNames(Kind::kCluster, {"*", "b"});
  p = named.plan(*v, "v");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"a", "b"}));
  // Legacy wildcard: a first request without names, and later ones without names.
  StreamState legacy(false);
  legacy.setSotwNames(Kind::kCluster, {});
  ackAll(legacy, legacy.plan(*v, "v"));
  legacy.setSotwNames(Kind::kCluster, {});
  auto v2 = viewOf(docs({clusterYaml("a", 90), clusterYaml("b", 81)}));
  p = legacy.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"a", "b"}));
}

TEST(StreamStateTest, DeltaSendsOnlyChangesAndRemovals) {
  StreamState s(true);
  s.deltaSubscribe(Kind::kCluster, {}, {}, true);
  auto v1 = viewOf(docs({clusterYaml("a"), clusterYaml("b", 81), clusterYaml("c", 82)}));
  auto p = s.plan(*v1, "v1");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]).size(), 3);
  ackAll(s, p);
  auto v2 = viewOf(docs({clusterYaml("a"), clusterYaml("b", 91)}));
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"b"}));
  EXPECT_EQ(p[0].removed, (std::vector<std::string>{"c"}));
  EXPECT_EQ(p[0].version, "v2");
  ackAll(s, p);
  EXPECT_TRUE(s.plan(*v2, "v2").empty());
}

TEST(StreamStateTest, DeltaSubscribeUnsubscribeAndInitialVersions) {
  auto v = viewOf(docs({clusterYaml("a"), clusterYaml("b", 81)}));
  StreamState s(true);
  s.deltaSubscribe(Kind::kCluster, {"a"}, {}, true);
  auto p = s.plan(*v, "v");
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"a"}));
  ackAll(s, p);
  s.deltaSubscribe(Kind::kCluster, {"b"}, {"a"}, false);
  p = s.plan(*v, "v");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"b"}));
  EXPECT_TRUE(p[0].removed.empty());  // unsubscribed names are not "removed"
  ackAll(s, p);

  // Reconnect: holds a current "a" and a stale "b".
  const auto& b = v->of(Kind::kCluster).at("b");
  const auto& a = v->of(Kind::kCluster).at("a");
  StreamState r(true);
  r.resumeDelta(Kind::kCluster, {{"a", a->version()}, {"b", "stale"}, {"gone", "x"}}, *v);
  r.deltaSubscribe(Kind::kCluster, {}, {}, true);
  p = r.plan(*v, "v");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"b"}));
  EXPECT_EQ(p[0].removed, (std::vector<std::string>{"gone"}));
  EXPECT_EQ(p[0].resources[0]->version(), b->version());
}

TEST(StreamStateTest, DeltaRemovesAClusterOnlyAfterRoutesMoveAway) {
  StreamState s(true);
  s.deltaSubscribe(Kind::kCluster, {}, {}, true);
  s.deltaSubscribe(Kind::kRouteConfiguration, {}, {}, true);
  auto v1 = viewOf(docs({clusterYaml("old"), routeYaml("r", "old")}));
  for (int i = 0; i < 3; i++) ackAll(s, s.plan(*v1, "v1"));
  auto v2 = viewOf(docs({clusterYaml("new"), routeYaml("r", "new")}));
  auto p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"new"}));
  EXPECT_TRUE(p[0].removed.empty());  // "old" still named by the route the proxy holds
  ackAll(s, p);
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kRouteConfiguration);
  ackAll(s, p);
  p = s.plan(*v2, "v2");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kCluster);
  EXPECT_TRUE(p[0].resources.empty());
  EXPECT_EQ(p[0].removed, (std::vector<std::string>{"old"}));
}

TEST(StreamStateTest, ListenerWaitsForItsRouteConfiguration) {
  StreamState s(false);
  subscribeAll(s, false);
  auto v = viewOf(docs({routeYaml("r", "", "", "hello"), test::listenerYaml("l", "r", 1)}));
  auto p = s.plan(*v, "v");
  for (const Push& push : p) EXPECT_NE(push.kind, Kind::kListener);
  ackAll(s, p);
  p = s.plan(*v, "v");
  ASSERT_EQ(p.size(), 1);
  EXPECT_EQ(p[0].kind, Kind::kListener);
  EXPECT_EQ(names(p[0]), (std::vector<std::string>{"l"}));
}

}  // namespace
}  // namespace portico::control_plane
