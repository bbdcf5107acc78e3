#include "source/server/dynamic_config.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/common/stats/store.h"
#include "source/server/config_snapshot.h"
#include "source/xds/ads_client.h"
#include "test/server/static_resources.h"

namespace portico::server {
namespace {

using config::v1::Bootstrap;
using google::protobuf::Any;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

using test::kStaticResourcesYaml;

config::v1::ClusterLoadAssignment endpoints(const std::string& cluster, uint32_t port) {
  config::v1::ClusterLoadAssignment cla;
  cla.set_cluster_name(cluster);
  auto* address = cla.add_endpoints()->mutable_address();
  address->set_address("127.0.0.1");
  address->set_port(port);
  return cla;
}

// A cluster with one inline endpoint on `port` (0: none).
config::v1::Cluster cluster(const std::string& name, uint32_t port = 0) {
  config::v1::Cluster c;
  c.set_name(name);
  if (port != 0) *c.mutable_load_assignment() = endpoints("", port);
  return c;
}

config::v1::RouteConfiguration routes(const std::string& name, const std::string& to_cluster) {
  config::v1::RouteConfiguration rc;
  rc.set_name(name);
  auto* vh = rc.add_virtual_hosts();
  vh->set_name("all");
  vh->add_domains("*");
  auto* route = vh->add_routes();
  route->mutable_match()->set_prefix("/");
  route->mutable_route()->set_cluster(to_cluster);
  return rc;
}

config::v1::Listener listener(const std::string& name, uint32_t port,
                              const std::string& route_config_name) {
  config::v1::Listener l;
  l.set_name(name);
  l.mutable_address()->set_address("127.0.0.1");
  l.mutable_address()->set_port(port);
  l.mutable_http()->set_route_config_name(route_config_name);
  return l;
}

template <class Message>
std::vector<Any> pack(const std::vector<Message>& messages) {
  std::vector<Any> out;
  for (const Message& m : messages) out.emplace_back().PackFrom(m);
  return out;
}

// The names in a merged config, in order.
std::vector<std::string> clusterNames(const Bootstrap& b) {
  return DynamicConfig::namesOf(b).clusters;
}
std::vector<std::string> routeNames(const Bootstrap& b) {
  return DynamicConfig::namesOf(b).route_configs;
}
std::vector<std::string> listenerNames(const Bootstrap& b) {
  return DynamicConfig::namesOf(b).listeners;
}

// The merged cluster `name`'s endpoint ports; fails the test if there is no such cluster.
std::vector<uint32_t> endpointPorts(const Bootstrap& b, const std::string& name) {
  for (const auto& c : b.static_resources().clusters()) {
    if (c.name() != name) continue;
    std::vector<uint32_t> ports;
    for (const auto& ep : c.load_assignment().endpoints()) ports.push_back(ep.address().port());
    return ports;
  }
  ADD_FAILURE() << "no cluster '" << name << "' in\n" << b.DebugString();
  return {};
}

class DynamicConfigTest : public ::testing::Test {
 protected:
  DynamicConfigTest() : base_(parseStatic()), dynamic_(base_) {}

  static Bootstrap parseStatic() {
    auto parsed = config::parseBootstrapYaml(kStaticResourcesYaml);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    return parsed.ok() ? *parsed : Bootstrap();
  }

  // tryApply() that must succeed, then commit(); returns the merged config.
  Bootstrap apply(const std::string& type_url, const std::vector<Any>& resources) {
    auto merged = dynamic_.tryApply(type_url, resources);
    EXPECT_TRUE(merged.ok()) << merged.status();
    if (!merged.ok()) return Bootstrap();
    dynamic_.commit();
    return *merged;
  }

  // The error of a tryApply() that must fail; it must not change anything.
  std::string applyError(const std::string& type_url, const std::vector<Any>& resources) {
    const auto before = dynamic_.resources();
    const std::vector<std::string> warming_before = dynamic_.warmingListeners();
    auto merged = dynamic_.tryApply(type_url, resources);
    EXPECT_FALSE(merged.ok()) << "accepted:\n" << (merged.ok() ? merged->DebugString() : "");
    EXPECT_EQ(dynamic_.warmingListeners(), warming_before);
    EXPECT_EQ(resourceNames(before), resourceNames(dynamic_.resources()));
    if (merged.ok()) return "";
    EXPECT_EQ(merged.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(merged.status().message());
  }

  // The committed config, merged: a tryApply() of the committed clusters again.
  Bootstrap current() {
    const std::vector<Any> same = currentOf(xds::kClusterType);
    auto merged = dynamic_.tryApply(xds::kClusterType, same);
    EXPECT_TRUE(merged.ok()) << merged.status();
    return merged.ok() ? *merged : Bootstrap();
  }

  // The committed resources of `type_url`, as a resource list.
  std::vector<Any> currentOf(const std::string& type_url) const {
    std::vector<Any> out;
    auto it = dynamic_.resources().find(type_url);
    if (it == dynamic_.resources().end()) return out;
    for (const auto& [name, any] : it->second) out.push_back(any);
    return out;
  }

  // The committed resource names of `type_url`.
  std::vector<std::string> committed(const std::string& type_url) const {
    auto it = dynamic_.resources().find(type_url);
    if (it == dynamic_.resources().end()) return {};
    std::vector<std::string> names;
    for (const auto& [name, any] : it->second) names.push_back(name);
    return names;
  }

  // Type and name of every committed resource; types without resources are left out.
  static std::vector<std::string> resourceNames(
      const std::map<std::string, std::map<std::string, Any>>& by_type) {
    std::vector<std::string> out;
    for (const auto& [type, by_name] : by_type) {
      for (const auto& [name, any] : by_name) out.push_back(type + "/" + name);
    }
    return out;
  }

  absl::StatusOr<ConfigSnapshotConstSharedPtr> build(const Bootstrap& merged) {
    return buildConfigSnapshot(merged, store_);
  }

  // The NACK message for a merged config that must fail buildConfigSnapshot().
  std::string snapshotError(const Bootstrap& merged) {
    auto snapshot = build(merged);
    EXPECT_FALSE(snapshot.ok()) << "accepted:\n" << merged.DebugString();
    if (snapshot.ok()) return "";
    return dynamic_.describeError(DynamicConfig::namesOf(merged), snapshot.status().message());
  }

  stats::Store store_;
  Bootstrap base_;
  DynamicConfig dynamic_;
  ConfigSnapshotConstSharedPtr previous_;
};

TEST_F(DynamicConfigTest, WithoutDynamicResourcesTheMergedConfigIsTheBootstrap) {
  auto merged = dynamic_.tryApply(xds::kClusterType, {});
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_EQ(merged->SerializeAsString(), base_.SerializeAsString());
  EXPECT_TRUE(build(*merged).ok());
}

TEST_F(DynamicConfigTest, NothingChangesBeforeCommit) {
  auto merged = dynamic_.tryApply(xds::kClusterType, pack<config::v1::Cluster>({cluster("dyn")}));
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_THAT(clusterNames(*merged), ElementsAre("static_backend", "dyn"));
  EXPECT_THAT(committed(xds::kClusterType), IsEmpty());

  merged = dynamic_.tryApply(xds::kListenerType,
                             pack<config::v1::Listener>({listener("dyn_l", 10001, "missing")}));
  ASSERT_TRUE(merged.ok()) << merged.status();
  // The uncommitted cluster set is not part of this candidate.
  EXPECT_THAT(clusterNames(*merged), ElementsAre("static_backend"));
  EXPECT_THAT(dynamic_.warmingListeners(), IsEmpty());
  EXPECT_THAT(committed(xds::kListenerType), IsEmpty());

  dynamic_.commit();  // the listeners, the last successful tryApply
  EXPECT_THAT(committed(xds::kListenerType), ElementsAre("dyn_l"));
  EXPECT_THAT(committed(xds::kClusterType), IsEmpty());
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("dyn_l"));
}

TEST_F(DynamicConfigTest, CommittedResourcesAreMergedIntoLaterCandidates) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("b"), cluster("a")}));
  EXPECT_THAT(committed(xds::kClusterType), ElementsAre("a", "b"));
  auto merged =
      dynamic_.tryApply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r", "a")}));
  ASSERT_TRUE(merged.ok()) << merged.status();
  EXPECT_THAT(clusterNames(*merged), ElementsAre("static_backend", "a", "b"));
  EXPECT_THAT(routeNames(*merged), ElementsAre("static_routes", "r"));
}

TEST_F(DynamicConfigTest, FailedTryApplyLeavesStateAsItWas) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("a", 9000)}));
  apply(xds::kListenerType, pack<config::v1::Listener>({listener("warm", 10001, "later")}));

  EXPECT_THAT(applyError(xds::kClusterType,
                         pack<config::v1::Cluster>({cluster("x", 9001), cluster("x", 9002)})),
              HasSubstr("duplicate"));
  EXPECT_THAT(applyError(xds::kListenerType, pack<config::v1::Listener>({listener("", 1, "")})),
              HasSubstr("must not be empty"));

  const Bootstrap merged = current();
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "a"));
  EXPECT_THAT(endpointPorts(merged, "a"), ElementsAre(9000u));
  EXPECT_THAT(listenerNames(merged), ElementsAre("static_ingress"));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("warm"));
}

// Regression: commit() makes only the last *successful* tryApply() current; a second commit()
// or one after a failed tryApply() used to commit an empty set and wipe the type's resources.
TEST_F(DynamicConfigTest, CommitAfterAFailedTryApplyKeepsTheCommittedSet) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("a")}));
  apply(xds::kListenerType, pack<config::v1::Listener>({listener("warm", 10001, "later")}));
  applyError(xds::kListenerType, pack<config::v1::Listener>({listener("", 1, "")}));
  dynamic_.commit();
  EXPECT_THAT(committed(xds::kListenerType), ElementsAre("warm"));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("warm"));
  dynamic_.commit();
  EXPECT_THAT(committed(xds::kListenerType), ElementsAre("warm"));
  EXPECT_THAT(committed(xds::kClusterType), ElementsAre("a"));
}

TEST_F(DynamicConfigTest, ResourceOfTheWrongTypeNamesItsIndex) {
  std::vector<Any> resources = pack<config::v1::Cluster>({cluster("a")});
  resources.emplace_back().PackFrom(listener("l", 10001, ""));
  EXPECT_EQ(applyError(xds::kClusterType, resources),
            "resources[1]: resource of type type.googleapis.com/portico.config.v1.Listener in a "
            "type.googleapis.com/portico.config.v1.Cluster response");
}

TEST_F(DynamicConfigTest, UnparsablePayloadNamesItsIndex) {
  for (const char* type :
       {xds::kClusterType, xds::kEndpointType, xds::kListenerType, xds::kRouteType}) {
    SCOPED_TRACE(type);
    // Field 1 (name, or cluster_name): "n"; then one announcing 5 bytes but carrying 2.
    constexpr char kNamed[] = {0x0a, 0x01, 'n'};
    constexpr char kTruncated[] = {0x0a, 0x05, 'a', 'b'};
    std::vector<Any> resources(2);
    resources[0].set_type_url(type);
    resources[0].set_value(std::string(kNamed, sizeof(kNamed)));
    resources[1].set_type_url(type);
    resources[1].set_value(std::string(kTruncated, sizeof(kTruncated)));
    EXPECT_EQ(applyError(type, resources), "resources[1]: unparsable resource");
  }
}

TEST_F(DynamicConfigTest, UnknownTypeUrlIsRefused) {
  std::vector<Any> resources(1);
  resources[0].set_type_url("type.googleapis.com/portico.config.v1.Secret");
  EXPECT_THAT(applyError("type.googleapis.com/portico.config.v1.Secret", resources),
              StartsWith("resources[0]: unknown resource type"));
}

TEST_F(DynamicConfigTest, EmptyNameIsRefused) {
  EXPECT_EQ(applyError(xds::kClusterType, pack<config::v1::Cluster>({cluster("a"), cluster("")})),
            "resources[1].name: must not be empty");
  EXPECT_EQ(applyError(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("", "a")})),
            "resources[0].name: must not be empty");
  // Endpoints are named by cluster_name.
  EXPECT_EQ(applyError(xds::kEndpointType, pack<config::v1::ClusterLoadAssignment>(
                                               {endpoints("a", 1), endpoints("", 2)})),
            "resources[1].cluster_name: must not be empty");
}

TEST_F(DynamicConfigTest, DuplicateNameIsRefused) {
  EXPECT_EQ(applyError(xds::kListenerType,
                       pack<config::v1::Listener>(
                           {listener("a", 1, ""), listener("b", 2, ""), listener("a", 3, "")})),
            "resources[2].name: duplicate resource 'a'");
  EXPECT_EQ(applyError(xds::kEndpointType, pack<config::v1::ClusterLoadAssignment>(
                                               {endpoints("c", 1), endpoints("c", 2)})),
            "resources[1].name: duplicate resource 'c'");
}

TEST_F(DynamicConfigTest, DynamicClustersTakeEndpointsFromTheirLoadAssignment) {
  // Endpoints first: they wait for their cluster.
  Bootstrap merged = apply(xds::kEndpointType,
                           pack<config::v1::ClusterLoadAssignment>(
                               {endpoints("with_cla", 9001), endpoints("static_backend", 9999)}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend"));

  merged = apply(xds::kClusterType,
                 pack<config::v1::Cluster>({cluster("with_cla", 9000), cluster("inline", 9100)}));
  EXPECT_THAT(endpointPorts(merged, "with_cla"), ElementsAre(9001u));  // replaces inline ones
  EXPECT_THAT(endpointPorts(merged, "inline"), ElementsAre(9100u));
  EXPECT_THAT(endpointPorts(merged, "static_backend"), ElementsAre(8080u));  // static: its own

  // New endpoints alone move the cluster.
  merged = apply(xds::kEndpointType,
                 pack<config::v1::ClusterLoadAssignment>({endpoints("with_cla", 9002)}));
  EXPECT_THAT(endpointPorts(merged, "with_cla"), ElementsAre(9002u));

  auto snapshot = build(merged);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_TRUE((*snapshot)->clusters.contains("with_cla"));
  const auto& hosts = (*snapshot)->clusters.at("with_cla")->hosts;
  ASSERT_EQ(hosts.size(), 1u);
  EXPECT_EQ(hosts[0]->address_string, "127.0.0.1:9002");

  // Without its load assignment the cluster falls back to its own endpoints.
  merged = apply(xds::kEndpointType, {});
  EXPECT_THAT(endpointPorts(merged, "with_cla"), ElementsAre(9000u));
}

TEST_F(DynamicConfigTest, ListenerWarmsUntilItsRouteConfigurationArrives) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("dyn", 9000)}));
  Bootstrap merged =
      apply(xds::kListenerType,
            pack<config::v1::Listener>({listener("warm", 10001, "dyn_routes"),
                                        listener("on_static_routes", 10002, "static_routes")}));
  EXPECT_THAT(listenerNames(merged), ElementsAre("static_ingress", "on_static_routes"));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("warm"));
  EXPECT_TRUE(build(merged).ok());

  auto candidate = dynamic_.tryApply(
      xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("dyn_routes", "dyn")}));
  ASSERT_TRUE(candidate.ok()) << candidate.status();
  EXPECT_THAT(listenerNames(*candidate), ElementsAre("static_ingress", "on_static_routes", "warm"));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("warm"));  // until commit
  dynamic_.commit();
  EXPECT_THAT(dynamic_.warmingListeners(), IsEmpty());

  auto snapshot = build(*candidate);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ((*snapshot)->listeners.size(), 3u);
  EXPECT_EQ((*snapshot)->listeners[2]->name, "warm");

  // Its RouteConfiguration gone, it warms again, and goes on serving with the routes it had
  // (reviewer: the port was closed although the listener was still wanted).
  merged = apply(xds::kRouteType, {});
  EXPECT_THAT(listenerNames(merged), ElementsAre("static_ingress", "on_static_routes", "warm"));
  EXPECT_THAT(routeNames(merged), ElementsAre("static_routes", "dyn_routes"));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("warm"));
  EXPECT_TRUE(build(merged).ok());
}

// Regression (reviewer): a listener moved to a route configuration that had not arrived yet
// (listeners are sent before routes) was left out, so its port closed until the routes came.
TEST_F(DynamicConfigTest, ChangedListenerServesAsItWasUntilItsNewRoutesArrive) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("dyn", 9000)}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "dyn")}));
  apply(xds::kListenerType, pack<config::v1::Listener>({listener("l", 10001, "r1")}));
  Bootstrap merged =
      apply(xds::kListenerType, pack<config::v1::Listener>({listener("l", 10001, "r2")}));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("l"));
  ASSERT_THAT(listenerNames(merged), ElementsAre("static_ingress", "l"));
  EXPECT_EQ(merged.static_resources().listeners(1).http().route_config_name(), "r1");
  EXPECT_TRUE(build(merged).ok());
  // r2 arrives (r1 goes): the new version takes over.
  merged = apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r2", "dyn")}));
  EXPECT_THAT(dynamic_.warmingListeners(), IsEmpty());
  ASSERT_THAT(listenerNames(merged), ElementsAre("static_ingress", "l"));
  EXPECT_EQ(merged.static_resources().listeners(1).http().route_config_name(), "r2");
  EXPECT_THAT(routeNames(merged), ElementsAre("static_routes", "r2"));
  // A listener removed is removed, warming or not.
  merged = apply(xds::kListenerType, {});
  EXPECT_THAT(listenerNames(merged), ElementsAre("static_ingress"));
}

// Regression (reviewer): a listener renamed on its address ("l-v1" to "l-v2", as control
// planes that version their names do) with routes not sent yet left no listener on the address
// until the routes came: its port refused connections meanwhile.
TEST_F(DynamicConfigTest, ARenamedListenerWaitingForItsRoutesKeepsTheOldOneServing) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("dyn", 9000)}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "dyn")}));
  apply(xds::kListenerType, pack<config::v1::Listener>({listener("l-v1", 10001, "r1")}));
  Bootstrap merged =
      apply(xds::kListenerType, pack<config::v1::Listener>({listener("l-v2", 10001, "r2")}));
  EXPECT_THAT(dynamic_.warmingListeners(), ElementsAre("l-v2"));
  EXPECT_THAT(dynamic_.pendingWarmingListeners(), IsEmpty());  // its address is held
  ASSERT_THAT(listenerNames(merged), ElementsAre("static_ingress", "l-v1"));
  EXPECT_EQ(merged.static_resources().listeners(1).http().route_config_name(), "r1");
  EXPECT_TRUE(build(merged).ok());
  merged = apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r2", "dyn")}));
  EXPECT_THAT(dynamic_.warmingListeners(), IsEmpty());
  ASSERT_THAT(listenerNames(merged), ElementsAre("static_ingress", "l-v2"));
  // On another address it is a new listener, and the old one goes at once.
  merged = apply(xds::kListenerType, pack<config::v1::Listener>({listener("l-v3", 10002, "r3")}));
  EXPECT_THAT(listenerNames(merged), ElementsAre("static_ingress"));
}

// After a reconnect a control plane re-sends its state clusters first: a cluster withdrawn
// under a route stays, as it was, until the updates that follow move the routes off it.
TEST_F(DynamicConfigTest, WithdrawnClusterIsHeldWhileARouteNamesIt) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("old", 9000), cluster("new")}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "old")}));
  apply(xds::kListenerType, pack<config::v1::Listener>({listener("l", 10001, "r1")}));
  EXPECT_THAT(dynamic_.heldClusters(), IsEmpty());
  EXPECT_FALSE(dynamic_.nextHoldExpiry().has_value());

  Bootstrap merged = apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("new")}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "new", "old"));
  EXPECT_THAT(endpointPorts(merged, "old"), ElementsAre(9000));
  EXPECT_THAT(dynamic_.heldClusters(), ElementsAre("old"));
  EXPECT_TRUE(dynamic_.nextHoldExpiry().has_value());
  EXPECT_TRUE(build(merged).ok());
  // Held through the updates that follow in the proxy's order: endpoints, then routes. The
  // new routes (r2) are not used yet: the listener still names r1, which stays with it.
  merged =
      apply(xds::kEndpointType, pack<config::v1::ClusterLoadAssignment>({endpoints("new", 9001)}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "new", "old"));
  merged = apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r2", "new")}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "new", "old"));
  EXPECT_THAT(routeNames(merged), ElementsAre("static_routes", "r2", "r1"));
  EXPECT_THAT(dynamic_.heldClusters(), ElementsAre("old"));

  // The listener moves to r2: nothing names "old" any more and it goes.
  merged = apply(xds::kListenerType, pack<config::v1::Listener>({listener("l", 10001, "r2")}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "new"));
  EXPECT_THAT(dynamic_.heldClusters(), IsEmpty());
  EXPECT_FALSE(dynamic_.nextHoldExpiry().has_value());
  EXPECT_THAT(endpointPorts(merged, "new"), ElementsAre(9001));
}

TEST_F(DynamicConfigTest, AHoldEndsAfterTheHoldTimeout) {
  const auto t0 = DynamicConfig::Clock::now();
  auto at = [&](int ms) { return t0 + std::chrono::milliseconds(ms); };
  // Built and committed at t0 + ms, as the server does.
  auto commitAt = [&](const std::string& type, const std::vector<Any>& resources, int ms) {
    auto snapshot =
        dynamic_.buildSnapshot(type, resources, store_, previous_.get(), nullptr, at(ms));
    EXPECT_TRUE(snapshot.ok()) << snapshot.status();
    if (!snapshot.ok()) return;
    dynamic_.commit();
    previous_ = *snapshot;
  };
  commitAt(xds::kClusterType, pack<config::v1::Cluster>({cluster("old", 9000)}), 0);
  commitAt(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "old")}), 0);
  commitAt(xds::kClusterType, {}, 1000);
  EXPECT_THAT(dynamic_.heldClusters(), ElementsAre("old"));
  ASSERT_TRUE(dynamic_.nextHoldExpiry().has_value());
  EXPECT_EQ(*dynamic_.nextHoldExpiry(), at(1000) + kDefaultClusterHoldTimeout);
  // An unchanged route update does not end it, nor restart its clock.
  commitAt(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "old")}), 5000);
  EXPECT_TRUE(previous_->clusters.contains("old"));
  EXPECT_EQ(*dynamic_.nextHoldExpiry(), at(1000) + kDefaultClusterHoldTimeout);
  // Not yet at the end.
  auto snapshot = dynamic_.rebuild(store_, previous_.get(), at(999) + kDefaultClusterHoldTimeout);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_TRUE((*snapshot)->clusters.contains("old"));
  // The timeout passes: the rebuild drops it, and the route answers 503 from then on.
  snapshot = dynamic_.rebuild(store_, previous_.get(), at(1000) + kDefaultClusterHoldTimeout);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  dynamic_.commit();
  previous_ = *snapshot;
  EXPECT_FALSE(previous_->clusters.contains("old"));
  EXPECT_TRUE(previous_->route_tables.contains("r1"));
  EXPECT_THAT(dynamic_.heldClusters(), IsEmpty());
  EXPECT_FALSE(dynamic_.nextHoldExpiry().has_value());
  // It does not come back with the next cluster update.
  commitAt(xds::kClusterType, pack<config::v1::Cluster>({cluster("other")}), 20000);
  EXPECT_FALSE(previous_->clusters.contains("old"));
  EXPECT_THAT(dynamic_.heldClusters(), IsEmpty());
}

TEST_F(DynamicConfigTest, AZeroHoldTimeoutHoldsNothing) {
  Bootstrap base = base_;
  base.mutable_dynamic_resources()->mutable_cluster_hold_timeout()->set_seconds(0);
  DynamicConfig dynamic(base);
  auto apply_to = [&](const std::string& type, const std::vector<Any>& resources) {
    auto merged = dynamic.tryApply(type, resources);
    EXPECT_TRUE(merged.ok()) << merged.status();
    dynamic.commit();
    return merged.ok() ? *merged : Bootstrap();
  };
  apply_to(xds::kClusterType, pack<config::v1::Cluster>({cluster("old", 9000)}));
  apply_to(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "old")}));
  EXPECT_THAT(clusterNames(apply_to(xds::kClusterType, {})), ElementsAre("static_backend"));
  EXPECT_THAT(dynamic.heldClusters(), IsEmpty());
}

TEST_F(DynamicConfigTest, OnlyClustersARouteNamesAreHeldAndASentVersionReplacesTheHeldOne) {
  config::v1::Listener inline_routes = listener("l", 10001, "");
  *inline_routes.mutable_http()->mutable_route_config() = routes("inline", "b");
  apply(xds::kClusterType,
        pack<config::v1::Cluster>({cluster("a", 9000), cluster("b", 9001), cluster("c", 9002)}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "a")}));
  apply(xds::kListenerType, pack<config::v1::Listener>({inline_routes}));
  // c: no route names it, it goes. a: named by r1. b: named by the listener's own routes.
  Bootstrap merged = apply(xds::kClusterType, {});
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "a", "b"));
  EXPECT_THAT(dynamic_.heldClusters(), ElementsAre("a", "b"));
  // a comes back in a new version: that version is used, and it is no longer held.
  merged = apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("a", 9100)}));
  EXPECT_THAT(endpointPorts(merged, "a"), ElementsAre(9100));
  EXPECT_THAT(dynamic_.heldClusters(), ElementsAre("b"));
}

// A rename to a name with the same Prometheus form (svc.a -> svc_a) must not be refused for a
// collision with the held old name: the old one is not held.
TEST_F(DynamicConfigTest, AHeldClusterGivesWayToOneWithTheSamePrometheusName) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("svc.a", 9000)}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "svc.a")}));
  Bootstrap merged = apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("svc_a", 9001)}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "svc_a"));
  EXPECT_THAT(dynamic_.heldClusters(), IsEmpty());
}

// The hold serves the tables that named the cluster before; a new or changed one may not name
// it (the control plane withdrew it), in a route update or in a listener's own routes.
TEST_F(DynamicConfigTest, ANewOrChangedRouteTableNamingAHeldClusterIsRefused) {
  auto applied = [&](const std::string& type, const std::vector<Any>& resources) {
    auto snapshot = dynamic_.buildSnapshot(type, resources, store_, previous_.get());
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    dynamic_.commit();
    previous_ = *snapshot;
  };
  applied(xds::kClusterType, pack<config::v1::Cluster>({cluster("old", 9000), cluster("new")}));
  applied(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "old")}));
  applied(xds::kClusterType, pack<config::v1::Cluster>({cluster("new")}));
  ASSERT_THAT(dynamic_.heldClusters(), ElementsAre("old"));

  config::v1::RouteConfiguration changed = routes("r1", "old");
  changed.mutable_virtual_hosts(0)->add_domains("example.com");
  auto refused = dynamic_.buildSnapshot(
      xds::kRouteType, pack<config::v1::RouteConfiguration>({changed}), store_, previous_.get());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("RouteConfiguration 'r1': virtual_hosts[0].routes[0].route.cluster: names "
                        "cluster 'old', which the control plane withdrew"));
  config::v1::Listener inline_routes = listener("l", 10001, "");
  *inline_routes.mutable_http()->mutable_route_config() = routes("inline", "old");
  refused = dynamic_.buildSnapshot(xds::kListenerType, pack<config::v1::Listener>({inline_routes}),
                                   store_, previous_.get());
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()),
              HasSubstr("which the control plane withdrew"));
  // The unchanged table is still served by the held cluster.
  applied(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r1", "old")}));
  EXPECT_TRUE(previous_->clusters.contains("old"));
}

TEST_F(DynamicConfigTest, EmptySetRemovesThatTypeOnly) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("a"), cluster("b")}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r", "a")}));
  Bootstrap merged = apply(xds::kRouteType, {});
  EXPECT_THAT(committed(xds::kRouteType), IsEmpty());
  EXPECT_THAT(routeNames(merged), ElementsAre("static_routes"));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "a", "b"));

  merged = apply(xds::kClusterType, {});
  EXPECT_THAT(committed(xds::kClusterType), IsEmpty());
  EXPECT_EQ(merged.SerializeAsString(), base_.SerializeAsString());
}

TEST_F(DynamicConfigTest, StaticResourcesAreAlwaysKeptFirst) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("a", 9000)}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("r", "a")}));
  const Bootstrap merged =
      apply(xds::kListenerType, pack<config::v1::Listener>({listener("l", 10001, "r")}));
  EXPECT_THAT(clusterNames(merged), ElementsAre("static_backend", "a"));
  EXPECT_THAT(routeNames(merged), ElementsAre("static_routes", "r"));
  EXPECT_THAT(listenerNames(merged), ElementsAre("static_ingress", "l"));
  const auto& sr = merged.static_resources();
  const auto& st = base_.static_resources();
  EXPECT_EQ(sr.clusters(0).SerializeAsString(), st.clusters(0).SerializeAsString());
  EXPECT_EQ(sr.route_configs(0).SerializeAsString(), st.route_configs(0).SerializeAsString());
  EXPECT_EQ(sr.listeners(0).SerializeAsString(), st.listeners(0).SerializeAsString());

  auto snapshot = build(merged);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ((*snapshot)->listeners.size(), 2u);
  EXPECT_EQ((*snapshot)->listeners[0]->name, "static_ingress");
  EXPECT_EQ((*snapshot)->listeners[1]->name, "l");
  EXPECT_EQ((*snapshot)->listeners[1]->address.asString(), "127.0.0.1:10001");
  EXPECT_TRUE((*snapshot)->clusters.contains("static_backend"));
  EXPECT_TRUE((*snapshot)->clusters.contains("a"));
}

TEST_F(DynamicConfigTest, DescribeErrorNamesDynamicResources) {
  const Bootstrap merged =
      apply(xds::kRouteType,
            pack<config::v1::RouteConfiguration>({routes("r2", "x"), routes("r1", "x")}));
  ASSERT_THAT(routeNames(merged), ElementsAre("static_routes", "r1", "r2"));
  const DynamicConfig::MergedNames names = DynamicConfig::namesOf(merged);
  EXPECT_EQ(dynamic_.describeError(names,
                                   "static_resources.route_configs[2].virtual_hosts[0]"
                                   ".domains[0]: must not be empty"),
            "RouteConfiguration 'r2': virtual_hosts[0].domains[0]: must not be empty");
  EXPECT_EQ(dynamic_.describeError(names,
                                   "static_resources.route_configs[1]: route names "
                                   "unknown cluster 'x'"),
            "RouteConfiguration 'r1': route names unknown cluster 'x'");
  // Static resources keep their exact path; so do indexes beyond the merged config.
  for (const char* error : {"static_resources.route_configs[0].name: duplicate",
                            "static_resources.route_configs[3]: out of range",
                            "static_resources.clusters[0].connect_timeout: must be > 0",
                            "static_resources.listeners[0].address: 1.2.3.4:1 is used twice",
                            "drain_timeout: must be > 0"}) {
    EXPECT_EQ(dynamic_.describeError(names, error), error);
  }
}

TEST_F(DynamicConfigTest, DescribeErrorNamesDynamicClustersAndListeners) {
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("c")}));
  const Bootstrap merged =
      apply(xds::kListenerType, pack<config::v1::Listener>({listener("l", 10001, "")}));
  const DynamicConfig::MergedNames names = DynamicConfig::namesOf(merged);
  EXPECT_EQ(dynamic_.describeError(names, "static_resources.clusters[1].connect_timeout: bad"),
            "Cluster 'c': connect_timeout: bad");
  EXPECT_EQ(dynamic_.describeError(names, "static_resources.listeners[1].http: must be set"),
            "Listener 'l': http: must be set");
}

TEST_F(DynamicConfigTest, SnapshotErrorsOfMergedConfigsNameTheDynamicResource) {
  Bootstrap merged =
      apply(xds::kRouteType, pack<config::v1::RouteConfiguration>({routes("dyn_r", "nope")}));
  EXPECT_EQ(snapshotError(merged),
            "RouteConfiguration 'dyn_r': virtual_hosts[0].routes[0].route.cluster: unknown "
            "cluster 'nope'");

  merged = apply(xds::kRouteType, {});
  merged = apply(xds::kEndpointType,
                 pack<config::v1::ClusterLoadAssignment>({endpoints("dyn_c", 70000)}));
  merged = apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("dyn_c", 9000)}));
  EXPECT_EQ(snapshotError(merged),
            "Cluster 'dyn_c': load_assignment.endpoints[0].address.port: 70000 is not in 1..65535");

  merged = apply(xds::kEndpointType, {});
  merged = apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("static_backend")}));
  EXPECT_EQ(snapshotError(merged),
            "Cluster 'static_backend': name: duplicate cluster "
            "'static_backend'");

  merged = apply(xds::kClusterType, {});
  merged = apply(xds::kListenerType,
                 pack<config::v1::Listener>({listener("dup_port", 10000, "static_routes")}));
  EXPECT_EQ(snapshotError(merged), "Listener 'dup_port': address: 127.0.0.1:10000 is used twice");
}

TEST_F(DynamicConfigTest, CompleteDynamicConfigBuilds) {
  apply(xds::kEndpointType, pack<config::v1::ClusterLoadAssignment>({endpoints("api", 9001)}));
  apply(xds::kClusterType, pack<config::v1::Cluster>({cluster("api"), cluster("web", 9002)}));
  apply(xds::kRouteType, pack<config::v1::RouteConfiguration>(
                             {routes("api_routes", "api"), routes("web_routes", "web")}));
  const Bootstrap merged = apply(
      xds::kListenerType, pack<config::v1::Listener>({listener("api_l", 10001, "api_routes"),
                                                      listener("web_l", 10002, "web_routes")}));
  EXPECT_THAT(dynamic_.warmingListeners(), IsEmpty());
  auto snapshot = build(merged);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  ASSERT_EQ((*snapshot)->listeners.size(), 3u);
  EXPECT_EQ((*snapshot)->clusters.size(), 3u);
  ASSERT_TRUE((*snapshot)->clusters.contains("api"));
  ASSERT_EQ((*snapshot)->clusters.at("api")->hosts.size(), 1u);
  EXPECT_EQ((*snapshot)->clusters.at("api")->hosts[0]->address_string, "127.0.0.1:9001");
}

}  // namespace
}  // namespace portico::server
