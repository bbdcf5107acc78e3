#include "source/server/config_snapshot.h"

#include <dirent.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/common/stats/store.h"

namespace portico::server {
namespace {

using config::v1::Bootstrap;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// A valid bootstrap; each test breaks one thing in it.
constexpr char kBaseYaml[] = R"(
admin:
  address: {address: 127.0.0.1, port: 9901}
static_resources:
  clusters:
  - name: backend
    connect_timeout: 250ms
    load_assignment:
      endpoints:
      - address: {address: 127.0.0.1, port: 8080}
      - address: {address: "::1", port: 8081}
        load_balancing_weight: 3
  route_configs:
  - name: shared
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - match: {prefix: /}
        route: {cluster: backend}
  listeners:
  - name: ingress
    address: {address: 127.0.0.1, port: 10000}
    http:
      stat_prefix: ingress
      route_config:
        virtual_hosts:
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: /}
            route: {cluster: backend, timeout: 15s}
)";

class ConfigSnapshotTest : public ::testing::Test {
 protected:
  ConfigSnapshotTest() {
    auto parsed = config::parseBootstrapYaml(kBaseYaml);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    if (parsed.ok()) base_ = *parsed;
  }

  absl::StatusOr<ConfigSnapshotConstSharedPtr> build(const Bootstrap& bootstrap) {
    return buildConfigSnapshot(bootstrap, store_);
  }

  // The error of the base bootstrap after `mutate`; fails the test if it builds.
  std::string errorAfter(const std::function<void(Bootstrap&)>& mutate) {
    Bootstrap b = base_;
    mutate(b);
    auto snapshot = build(b);
    EXPECT_FALSE(snapshot.ok()) << "accepted:\n" << b.DebugString();
    if (snapshot.ok()) return "";
    EXPECT_EQ(snapshot.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(snapshot.status().message());
  }

  config::v1::Listener& listener(Bootstrap& b, int i = 0) {
    return *b.mutable_static_resources()->mutable_listeners(i);
  }
  config::v1::Cluster& cluster(Bootstrap& b, int i = 0) {
    return *b.mutable_static_resources()->mutable_clusters(i);
  }
  config::v1::Route& inlineRoute(Bootstrap& b) {
    return *listener(b)
                .mutable_http()
                ->mutable_route_config()
                ->mutable_virtual_hosts(0)
                ->mutable_routes(0);
  }
  // Adds a copy of listener 0 on another port.
  config::v1::Listener& addListener(Bootstrap& b, const std::string& name, uint32_t port) {
    config::v1::Listener* l = b.mutable_static_resources()->add_listeners();
    *l = listener(b);
    l->set_name(name);
    l->mutable_address()->set_port(port);
    return *l;
  }

  stats::Store store_;
  Bootstrap base_;
};

TEST_F(ConfigSnapshotTest, ValidBootstrapBuilds) {
  auto snapshot = build(base_);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const ConfigSnapshot& s = **snapshot;
  ASSERT_EQ(s.listeners.size(), 1u);
  EXPECT_EQ(s.listeners[0]->name, "ingress");
  EXPECT_EQ(s.listeners[0]->address.asString(), "127.0.0.1:10000");
  ASSERT_NE(s.listeners[0]->http, nullptr);
  EXPECT_NE(s.listeners[0]->http->routes, nullptr);
  EXPECT_EQ(s.drain_timeout, std::chrono::milliseconds(10000));
  EXPECT_EQ(s.wakeup_coalescing, std::chrono::microseconds(100));
  ASSERT_TRUE(s.clusters.contains("backend"));
  const upstream::ClusterInfo& c = *s.clusters.at("backend");
  EXPECT_EQ(c.connect_timeout, std::chrono::milliseconds(250));
  ASSERT_EQ(c.hosts.size(), 2u);
  EXPECT_EQ(c.hosts[0]->address_string, "127.0.0.1:8080");
  EXPECT_EQ(c.hosts[0]->weight, 1u);
  EXPECT_EQ(c.hosts[1]->address_string, "[::1]:8081");
  EXPECT_EQ(c.hosts[1]->weight, 3u);
}

TEST_F(ConfigSnapshotTest, ListenerMayUseANamedRouteConfiguration) {
  Bootstrap b = base_;
  listener(b).mutable_http()->set_route_config_name("shared");
  auto snapshot = build(b);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_NE((*snapshot)->listeners[0]->http->routes, nullptr);
}

TEST_F(ConfigSnapshotTest, UnchangedRouteConfigurationKeepsItsTableAcrossUpdates) {
  Bootstrap b = base_;
  listener(b).mutable_http()->set_route_config_name("shared");
  auto first = build(b);
  ASSERT_TRUE(first.ok()) << first.status();
  const auto table = (*first)->listeners[0]->http->routes;

  // A cluster changes: the route table is lent, not rebuilt.
  b.mutable_static_resources()->mutable_clusters(0)->mutable_connect_timeout()->set_seconds(3);
  auto second = buildConfigSnapshot(b, store_, first->get());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ((*second)->listeners[0]->http->routes, table);

  // The route configuration changes: a new table.
  b.mutable_static_resources()->mutable_route_configs(0)->mutable_virtual_hosts(0)->add_domains(
      "extra.example.com");
  auto third = buildConfigSnapshot(b, store_, second->get());
  ASSERT_TRUE(third.ok()) << third.status();
  EXPECT_NE((*third)->listeners[0]->http->routes, table);
}

// A route table accepted before may be left naming a cluster that a later update removes (its
// requests get 503, as in Envoy); a new or changed table may not name an unknown cluster.
TEST_F(ConfigSnapshotTest, RemovingAClusterAcceptedRoutesNameIsAcceptedChangingThemIsNot) {
  Bootstrap b = base_;
  auto first = build(b);
  ASSERT_TRUE(first.ok()) << first.status();
  Bootstrap renamed = b;
  renamed.mutable_static_resources()->mutable_clusters(0)->set_name("renamed");
  renamed.mutable_static_resources()
      ->mutable_clusters(0)
      ->mutable_load_assignment()
      ->set_cluster_name("renamed");
  // Both the named table ("shared") and the listener's inline one still name "backend".
  auto second = buildConfigSnapshot(renamed, store_, first->get());
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_FALSE((*second)->clusters.contains("backend"));
  // Without an accepted config to compare with (startup, --validate): refused.
  auto fresh = build(renamed);
  ASSERT_FALSE(fresh.ok());
  EXPECT_THAT(fresh.status().message(), HasSubstr(".route.cluster: unknown cluster 'backend'"));
  // A changed table, named or inline, is checked again.
  Bootstrap named_changed = renamed;
  named_changed.mutable_static_resources()
      ->mutable_route_configs(0)
      ->mutable_virtual_hosts(0)
      ->add_domains("extra.example.com");
  auto third = buildConfigSnapshot(named_changed, store_, second->get());
  ASSERT_FALSE(third.ok());
  EXPECT_THAT(third.status().message(),
              HasSubstr("static_resources.route_configs[0].virtual_hosts[0].routes[0].route."
                        "cluster: unknown cluster"));
  Bootstrap inline_changed = renamed;
  listener(inline_changed)
      .mutable_http()
      ->mutable_route_config()
      ->mutable_virtual_hosts(0)
      ->add_domains("extra.example.com");
  auto fourth = buildConfigSnapshot(inline_changed, store_, second->get());
  ASSERT_FALSE(fourth.ok());
  EXPECT_THAT(fourth.status().message(),
              HasSubstr("listeners[0].http.route_config.virtual_hosts[0].routes[0].route.cluster: "
                        "unknown cluster"));
}

TEST_F(ConfigSnapshotTest, AControlPlaneNeedsANodeId) {
  Bootstrap b = base_;
  auto* cp = b.mutable_dynamic_resources()->add_control_plane();
  cp->set_address("127.0.0.1");
  cp->set_port(18000);
  auto refused = build(b);
  ASSERT_FALSE(refused.ok());
  EXPECT_THAT(refused.status().message(), HasSubstr("node.id: must be set"));
  b.mutable_node()->set_id("proxy-1");
  EXPECT_TRUE(build(b).ok());
}

TEST_F(ConfigSnapshotTest, ClusterHoldTimeoutIsCheckedAndDefaults) {
  EXPECT_EQ(*clusterHoldTimeout(base_), kDefaultClusterHoldTimeout);
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              b.mutable_dynamic_resources()->mutable_cluster_hold_timeout()->set_seconds(3601);
            }),
            "dynamic_resources.cluster_hold_timeout: must be at most 1h");
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                b.mutable_dynamic_resources()->mutable_cluster_hold_timeout()->set_seconds(-1);
              }),
              StartsWith("dynamic_resources.cluster_hold_timeout"));
  Bootstrap b = base_;
  b.mutable_dynamic_resources()->mutable_cluster_hold_timeout()->set_seconds(0);
  EXPECT_TRUE(build(b).ok());
  EXPECT_EQ(*clusterHoldTimeout(b), std::chrono::milliseconds(0));
}

TEST_F(ConfigSnapshotTest, InitialFetchTimeoutIsCheckedAndDefaults) {
  EXPECT_EQ(*initialFetchTimeout(base_), kDefaultInitialFetchTimeout);
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              b.mutable_dynamic_resources()->mutable_initial_fetch_timeout()->set_seconds(3601);
            }),
            "dynamic_resources.initial_fetch_timeout: must be at most 1h");
  Bootstrap b = base_;
  b.mutable_dynamic_resources()->mutable_initial_fetch_timeout()->set_seconds(0);
  EXPECT_TRUE(build(b).ok());
  EXPECT_EQ(*initialFetchTimeout(b), std::chrono::milliseconds(0));
}

TEST_F(ConfigSnapshotTest, UnknownYamlFieldIsRefusedBeforeTheSnapshot) {
  auto parsed = config::parseBootstrapYaml(
      "static_resources:\n  listeners:\n  - name: l\n    http: {stat_prefix: s, colour: red}\n");
  ASSERT_FALSE(parsed.ok());
  EXPECT_THAT(std::string(parsed.status().message()), HasSubstr("colour"));
}

TEST_F(ConfigSnapshotTest, ListenerPortOutOfRange) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { listener(b).mutable_address()->set_port(70000); }),
            "static_resources.listeners[0].address.port: 70000 is not in 0..65535");
  // Regression (reviewer): a listener without a port validated, then every worker listened on
  // an ephemeral port of its own.
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { listener(b).mutable_address()->clear_port(); }),
            "static_resources.listeners[0].address.port: must be set");
}

TEST_F(ConfigSnapshotTest, EndpointPortOutOfRangeOrZero) {
  auto setPort = [&](uint32_t port) {
    return [&, port](Bootstrap& b) {
      cluster(b).mutable_load_assignment()->mutable_endpoints(1)->mutable_address()->set_port(port);
    };
  };
  EXPECT_EQ(errorAfter(setPort(70000)),
            "static_resources.clusters[0].load_assignment.endpoints[1].address.port: 70000 is not "
            "in 1..65535");
  EXPECT_THAT(errorAfter(setPort(0)), HasSubstr("endpoints[1].address.port: 0 is not in"));
}

TEST_F(ConfigSnapshotTest, NonNumericAddresses) {
  EXPECT_EQ(
      errorAfter([&](Bootstrap& b) { listener(b).mutable_address()->set_address("localhost"); }),
      "static_resources.listeners[0].address.address: 'localhost' is not a numeric IP "
      "address");
  EXPECT_EQ(
      errorAfter([&](Bootstrap& b) {
        cluster(b).mutable_load_assignment()->mutable_endpoints(0)->mutable_address()->set_address(
            "backend.internal");
      }),
      "static_resources.clusters[0].load_assignment.endpoints[0].address.address: "
      "'backend.internal' is not a numeric IP address");
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                b.mutable_admin()->mutable_address()->set_address("admin.local");
              }),
              HasSubstr("admin.address.address: 'admin.local'"));
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { listener(b).mutable_address()->clear_address(); }),
            "static_resources.listeners[0].address.address: must be set");
}

TEST_F(ConfigSnapshotTest, DuplicateCluster) {
  EXPECT_EQ(
      errorAfter([&](Bootstrap& b) { *b.mutable_static_resources()->add_clusters() = cluster(b); }),
      "static_resources.clusters[1].name: duplicate cluster 'backend'");
}

TEST_F(ConfigSnapshotTest, ClusterNameMustBeSetAndMatchTheLoadAssignment) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { cluster(b).clear_name(); }),
            "static_resources.clusters[0].name: must not be empty");
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                cluster(b).mutable_load_assignment()->set_cluster_name("other");
              }),
              HasSubstr("static_resources.clusters[0].load_assignment.cluster_name: 'other'"));
}

// Regression (reviewer): a newline in a cluster name forged lines in /stats and /clusters,
// and "api.v1" next to "api-v1" lost one of them from /stats/prometheus.
TEST_F(ConfigSnapshotTest, NamesThatBecomeStatNames) {
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                cluster(b).set_name("a\nb");
                cluster(b).mutable_load_assignment()->set_cluster_name("a\nb");
              }),
              HasSubstr("clusters[0].name: must be visible ASCII"));
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                config::v1::Cluster* c = b.mutable_static_resources()->add_clusters();
                *c = cluster(b);
                c->set_name("back-end");
                c->mutable_load_assignment()->set_cluster_name("back-end");
                cluster(b).set_name("back.end");
                cluster(b).mutable_load_assignment()->set_cluster_name("back.end");
              }),
              HasSubstr("clusters[1].name: 'back-end' and 'back.end' have the same Prometheus "
                        "name (portico_back_end)"));
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                addListener(b, "second", 10001).mutable_http()->set_stat_prefix("in gress");
              }),
              HasSubstr("listeners[1].http.stat_prefix: must be visible ASCII"));
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                addListener(b, "second", 10001).mutable_http()->set_stat_prefix("in.gress");
                addListener(b, "third", 10002).mutable_http()->set_stat_prefix("in-gress");
              }),
              HasSubstr("listeners[2].http.stat_prefix: 'in-gress' and 'in.gress' have the same "
                        "Prometheus"));
  // Regression (reviewer): with a stat_prefix the name itself went unchecked, and showed raw
  // in /listeners.
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                addListener(b, "sec\nond", 10001).mutable_http()->set_stat_prefix("second");
              }),
              HasSubstr("listeners[1].name: must be visible ASCII"));
  // Two listeners may share one stat prefix on purpose: their stats add up.
  Bootstrap shared = base_;
  addListener(shared, "second", 10001).mutable_http()->set_stat_prefix("ingress");
  EXPECT_TRUE(build(shared).ok()) << build(shared).status();
}

// Regression (reviewer): weights of 4e9 + 4e9 were accepted, and least-request's 32-bit picks
// then never reached the second host.
TEST_F(ConfigSnapshotTest, EndpointWeightsMustFitIn32Bits) {
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                auto* endpoints = cluster(b).mutable_load_assignment()->mutable_endpoints();
                for (auto& e : *endpoints) e.set_load_balancing_weight(4000000000u);
              }),
              HasSubstr("clusters[0].load_assignment.endpoints: the weights add up to "
                        "8000000000, more than 4294967295"));
}

TEST_F(ConfigSnapshotTest, DuplicateListenerName) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { addListener(b, "ingress", 10001); }),
            "static_resources.listeners[1].name: duplicate listener 'ingress'");
}

TEST_F(ConfigSnapshotTest, DuplicateListenerAddress) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { addListener(b, "second", 10000); }),
            "static_resources.listeners[1].address: 127.0.0.1:10000 is used twice");
}

// Regression (reviewer): one address written two ways was two listeners; both bound it
// (SO_REUSEPORT) and shared its connections, one's routes serving the other's clients.
TEST_F(ConfigSnapshotTest, OneListenAddressWrittenTwoWays) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              addListener(b, "second", 10000).mutable_address()->set_address("::ffff:127.0.0.1");
            }),
            "static_resources.listeners[1].address: [::ffff:127.0.0.1]:10000 is also bound by "
            "static_resources.listeners[0]");
  EXPECT_EQ(
      errorAfter([&](Bootstrap& b) {
        listener(b).mutable_address()->set_address("0.0.0.0");                 // layout: not bound
        addListener(b, "second", 10000).mutable_address()->set_address("::");  // layout: not bound
      }),
      "static_resources.listeners[1].address: [::]:10000 is also bound by "
      "static_resources.listeners[0]");
  // A wildcard beside a specific address is fine (the specific one takes its connections).
  Bootstrap both = base_;
  addListener(both, "second", 10000)
      .mutable_address()
      ->set_address("0.0.0.0");  // layout: not bound
  EXPECT_TRUE(build(both).ok());
}

// Regression: a listener on the admin address was accepted; both bound (SO_REUSEPORT) and
// the kernel split connections between the proxy and the admin port.
TEST_F(ConfigSnapshotTest, ListenerOnTheAdminAddress) {
  const std::string ipv6_wildcard = "::";  // layout: not bound (validated only)
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              b.mutable_admin()->mutable_address()->set_address("127.0.0.1");
              b.mutable_admin()->mutable_address()->set_port(10000);
            }),
            "static_resources.listeners[0].address: 127.0.0.1:10000 overlaps the admin "
            "address 127.0.0.1:10000");
  // The wildcard of the same family overlaps too (IPv6 here: tests name no IPv4 wildcard).
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_address()->set_address("::1");
              b.mutable_admin()->mutable_address()->set_address(ipv6_wildcard);
              b.mutable_admin()->mutable_address()->set_port(10000);
            }),
            "static_resources.listeners[0].address: [::1]:10000 overlaps the admin address "
            "[::]:10000");
  Bootstrap other_port = base_;
  listener(other_port).mutable_address()->set_address("::1");
  other_port.mutable_admin()->mutable_address()->set_address(ipv6_wildcard);
  other_port.mutable_admin()->mutable_address()->set_port(10001);
  EXPECT_TRUE(build(other_port).ok());
  // [::] is dual-stack: it holds the IPv4 port as well.
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              b.mutable_admin()->mutable_address()->set_address(ipv6_wildcard);
              b.mutable_admin()->mutable_address()->set_port(10000);
            }),
            "static_resources.listeners[0].address: 127.0.0.1:10000 overlaps the admin address "
            "[::]:10000");
  // Regression (reviewer): an IPv4-mapped address binds the IPv4 address it maps.
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_address()->set_address("::ffff:127.0.0.1");
              b.mutable_admin()->mutable_address()->set_address("127.0.0.1");
              b.mutable_admin()->mutable_address()->set_port(10000);
            }),
            "static_resources.listeners[0].address: [::ffff:127.0.0.1]:10000 overlaps the admin "
            "address 127.0.0.1:10000");
  Bootstrap v6_loopback = base_;
  v6_loopback.mutable_admin()->mutable_address()->set_address("::1");
  v6_loopback.mutable_admin()->mutable_address()->set_port(10000);
  EXPECT_TRUE(build(v6_loopback).ok());
}

TEST_F(ConfigSnapshotTest, RouteNamingAnUnknownCluster) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { inlineRoute(b).mutable_route()->set_cluster("nope"); }),
            "static_resources.listeners[0].http.route_config.virtual_hosts[0].routes[0].route."
            "cluster: unknown cluster 'nope'");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              b.mutable_static_resources()
                  ->mutable_route_configs(0)
                  ->mutable_virtual_hosts(0)
                  ->mutable_routes(0)
                  ->mutable_route()
                  ->set_cluster("nope");
            }),
            "static_resources.route_configs[0].virtual_hosts[0].routes[0].route.cluster: "
            "unknown cluster 'nope'");
  // The route and the weighted entry are named: in a table of thousands, the cluster's name
  // alone was hard to find (regression: the message stopped at the table).
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              auto* vhost =
                  b.mutable_static_resources()->mutable_route_configs(0)->mutable_virtual_hosts(0);
              *vhost->add_routes() = vhost->routes(0);
              auto* weighted =
                  vhost->mutable_routes(1)->mutable_route()->mutable_weighted_clusters();
              auto* ok = weighted->add_clusters();
              ok->set_name(vhost->routes(0).route().cluster());
              ok->set_weight(1);
              auto* typo = weighted->add_clusters();
              typo->set_name("nope");
              typo->set_weight(1);
            }),
            "static_resources.route_configs[0].virtual_hosts[0].routes[1].route.weighted_clusters."
            "clusters[1].name: unknown cluster 'nope'");
}

TEST_F(ConfigSnapshotTest, ListenerWithoutHttp) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { listener(b).clear_http(); }),
            "static_resources.listeners[0].http: must be set");
}

TEST_F(ConfigSnapshotTest, ListenerWithoutRoutes) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { listener(b).mutable_http()->clear_route_config(); }),
            "static_resources.listeners[0].http: one of route_config or route_config_name must "
            "be set");
}

TEST_F(ConfigSnapshotTest, UnknownRouteConfigName) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_http()->set_route_config_name("missing");
            }),
            "static_resources.listeners[0].http.route_config_name: unknown route configuration "
            "'missing'");
}

TEST_F(ConfigSnapshotTest, RouteConfigurationNamesMustBeUniqueAndSet) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              *b.mutable_static_resources()->add_route_configs() =
                  b.static_resources().route_configs(0);
            }),
            "static_resources.route_configs[1].name: duplicate route configuration 'shared'");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              b.mutable_static_resources()->mutable_route_configs(0)->clear_name();
            }),
            "static_resources.route_configs[0].name: must not be empty");
}

TEST_F(ConfigSnapshotTest, NegativeTimeoutsNameTheirField) {
  auto negative = [](google::protobuf::Duration* d) { d->set_seconds(-1); };
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { negative(cluster(b).mutable_connect_timeout()); }),
            "static_resources.clusters[0].connect_timeout: must not be negative");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { negative(cluster(b).mutable_idle_timeout()); }),
            "static_resources.clusters[0].idle_timeout: must not be negative");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              negative(listener(b).mutable_http()->mutable_idle_timeout());
            }),
            "static_resources.listeners[0].http.idle_timeout: must not be negative");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              negative(listener(b).mutable_http()->mutable_request_headers_timeout());
            }),
            "static_resources.listeners[0].http.request_headers_timeout: must not be negative");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { negative(b.mutable_drain_timeout()); }),
            "drain_timeout: must not be negative");
  EXPECT_EQ(errorAfter(
                [&](Bootstrap& b) { negative(inlineRoute(b).mutable_route()->mutable_timeout()); }),
            "static_resources.listeners[0].http.route_config.virtual_hosts[0].routes[0].route."
            "timeout: must be a non-negative duration");
}

TEST_F(ConfigSnapshotTest, WakeupCoalescingIsBounded) {
  for (auto [seconds, nanos] : {std::pair<int64_t, int32_t>{0, -1000}, {0, 1000001}, {1, 0}}) {
    EXPECT_EQ(errorAfter([&](Bootstrap& b) {
                b.mutable_wakeup_coalescing()->set_seconds(seconds);
                b.mutable_wakeup_coalescing()->set_nanos(nanos);
              }),
              "wakeup_coalescing: must be between 0s and 1ms");
  }
  for (auto [nanos, us] : {std::pair<int32_t, int64_t>{0, 0}, {200000, 200}, {1000000, 1000}}) {
    Bootstrap b = base_;
    b.mutable_wakeup_coalescing()->set_nanos(nanos);
    auto snapshot = build(b);
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    EXPECT_EQ((*snapshot)->wakeup_coalescing, std::chrono::microseconds(us));
  }
}

TEST_F(ConfigSnapshotTest, NegativeTimeoutWrittenInYaml) {
  std::string yaml = kBaseYaml;
  yaml.replace(yaml.find("connect_timeout: 250ms"), 22, "connect_timeout: -1s");
  auto parsed = config::parseBootstrapYaml(yaml);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  auto snapshot = build(*parsed);
  ASSERT_FALSE(snapshot.ok());
  EXPECT_EQ(snapshot.status().message(),
            "static_resources.clusters[0].connect_timeout: must not be negative");
}

TEST_F(ConfigSnapshotTest, UnknownEnumNumbersAreRefused) {
  // Regression (reviewer): protobuf keeps unknown numbers ("lb_policy: 7" in YAML), and each
  // fell back quietly: round robin, an unhealthy host, escaped slashes kept.
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              cluster(b).set_lb_policy(static_cast<config::v1::Cluster::LbPolicy>(7));
            }),
            "static_resources.clusters[0].lb_policy: 7 is not a known policy");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              cluster(b).mutable_load_assignment()->mutable_endpoints(0)->set_health_status(
                  static_cast<config::v1::LbEndpoint::HealthStatus>(9));
            }),
            "static_resources.clusters[0].load_assignment.endpoints[0].health_status: 9 is not a "
            "known status");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_http()->set_path_with_escaped_slashes_action(
                  static_cast<config::v1::HttpConnectionManager::PathWithEscapedSlashesAction>(5));
            }),
            "static_resources.listeners[0].http.path_with_escaped_slashes_action: 5 is not a "
            "known action");
}

TEST_F(ConfigSnapshotTest, ZeroConnectTimeoutIsRefused) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { cluster(b).mutable_connect_timeout()->Clear(); }),
            "static_resources.clusters[0].connect_timeout: must be > 0");
  // Under 1 ms rounds up to 1 ms rather than down to 0.
  Bootstrap b = base_;
  cluster(b).mutable_connect_timeout()->set_seconds(0);
  cluster(b).mutable_connect_timeout()->set_nanos(100);
  EXPECT_TRUE(build(b).ok());
}

TEST_F(ConfigSnapshotTest, ResponseHeadLimitIsBounded) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { cluster(b).set_max_response_headers_kb(8193); }),
            "static_resources.clusters[0].max_response_headers_kb: must be at most 8192");
}

TEST_F(ConfigSnapshotTest, BadRegexIsReportedByTheRouterWithItsPath) {
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                inlineRoute(b).mutable_match()->set_safe_regex("/(unclosed");
              }),
              HasSubstr("static_resources.listeners[0].http.route_config.virtual_hosts[0]."
                        "routes[0].match.safe_regex: invalid RE2"));
}

TEST_F(ConfigSnapshotTest, BadAccessLogFormatCommand) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              auto* log = listener(b).mutable_http()->mutable_access_log();
              log->set_path("/dev/null");
              log->set_format("[%START_TIME%] %NOT_A_COMMAND%");
            }),
            "static_resources.listeners[0].http.access_log.format: unknown access log command "
            "%NOT_A_COMMAND%");
  // Regression (reviewer): both were ignored without a word.
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_http()->mutable_access_log()->set_format("%BOGUS%");
            }),
            "static_resources.listeners[0].http.access_log.path: must be set when json or format "
            "is");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              auto* log = listener(b).mutable_http()->mutable_access_log();
              log->set_path("/dev/null");
              log->set_json(true);
              log->set_format("%PROTOCOL%");
            }),
            "static_resources.listeners[0].http.access_log.format: is for text lines; json lines "
            "have a fixed set of fields");
}

TEST_F(ConfigSnapshotTest, UnopenableAccessLogPath) {
  EXPECT_THAT(
      errorAfter([&](Bootstrap& b) {
        listener(b).mutable_http()->mutable_access_log()->set_path("/nonexistent-dir/access.log");
      }),
      HasSubstr("static_resources.listeners[0].http.access_log.path: "));
}

// A temporary directory, removed with what is left in it (one level).
class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/portico-snapshot-XXXXXX";
    path_ = mkdtemp(tmpl) != nullptr ? tmpl : "";
  }
  ~TempDir() {
    if (path_.empty()) return;
    if (DIR* d = opendir(path_.c_str())) {
      while (dirent* e = readdir(d)) {
        if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") {
          unlink((path_ + "/" + e->d_name).c_str());
        }
      }
      closedir(d);
    }
    rmdir(path_.c_str());
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

TEST_F(ConfigSnapshotTest, ARefusedConfigurationCreatesNoAccessLogFile) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string log = dir.path() + "/access.log";
  // Refused for a later listener's field, and for a later listener's access log path.
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_http()->mutable_access_log()->set_path(log);
              addListener(b, "second", 10001).mutable_http()->set_max_request_headers_kb(9000);
            }),
            "static_resources.listeners[1].http.max_request_headers_kb: must be at most 8192");
  EXPECT_THAT(errorAfter([&](Bootstrap& b) {
                listener(b).mutable_http()->mutable_access_log()->set_path(log);
                addListener(b, "second", 10001)
                    .mutable_http()
                    ->mutable_access_log()
                    ->set_path(dir.path() + "/missing/access.log");
              }),
              HasSubstr("static_resources.listeners[1].http.access_log.path: cannot open access "
                        "log '" +
                        dir.path() + "/missing/access.log': No such file or directory"));
  EXPECT_FALSE(exists(log));
  // Accepted: now it is created.
  Bootstrap b = base_;
  listener(b).mutable_http()->mutable_access_log()->set_path(log);
  ASSERT_TRUE(build(b).ok());
  EXPECT_TRUE(exists(log));
}

TEST_F(ConfigSnapshotTest, ValidatingChecksAccessLogPathsWithoutCreatingFiles) {
  TempDir dir;
  ASSERT_FALSE(dir.path().empty());
  const std::string log = dir.path() + "/access.log";
  Bootstrap b = base_;
  listener(b).mutable_http()->mutable_access_log()->set_path(log);
  EXPECT_TRUE(buildConfigSnapshot(b, store_, nullptr, /*open_files=*/false).ok());
  EXPECT_FALSE(exists(log));
  listener(b).mutable_http()->mutable_access_log()->set_path(dir.path());
  auto refused = buildConfigSnapshot(b, store_, nullptr, /*open_files=*/false);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().message(),
            "static_resources.listeners[0].http.access_log.path: cannot open access log '" +
                dir.path() + "': Is a directory");
  listener(b).mutable_http()->mutable_access_log()->set_path("/nonexistent-dir/access.log");
  EXPECT_FALSE(buildConfigSnapshot(b, store_, nullptr, /*open_files=*/false).ok());
}

TEST_F(ConfigSnapshotTest, HttpLimitsAreBounded) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_http()->set_max_request_headers_kb(8193);
            }),
            "static_resources.listeners[0].http.max_request_headers_kb: must be at most 8192");
  EXPECT_EQ(errorAfter([&](Bootstrap& b) {
              listener(b).mutable_http()->set_per_connection_buffer_limit_bytes(1024);
            }),
            "static_resources.listeners[0].http.per_connection_buffer_limit_bytes: must be at "
            "least 16384");
}

TEST_F(ConfigSnapshotTest, ListenerNameMustBeSet) {
  EXPECT_EQ(errorAfter([&](Bootstrap& b) { listener(b).clear_name(); }),
            "static_resources.listeners[0].name: must not be empty");
}

}  // namespace
}  // namespace portico::server
