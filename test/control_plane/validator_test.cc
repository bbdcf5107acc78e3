#include "source/control_plane/store/validator.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using test::clusterYaml;
using test::docs;
using test::listenerYaml;
using test::routeYaml;
using ::testing::HasSubstr;

std::vector<ValidationError> errorsOf(const std::string& yaml) {
  return validateResources(test::mapOf(yaml));
}

TEST(ValidatorTest, ValidSetHasNoErrors) {
  EXPECT_TRUE(
      errorsOf(docs({clusterYaml("a"), routeYaml("r", "a"), listenerYaml("l", "r", 1)})).empty());
}

TEST(ValidatorTest, RouteNamingUnknownClusterGivesFieldPath) {
  auto e = errorsOf(docs({clusterYaml("a"), routeYaml("r", "missing")}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].resource, "RouteConfiguration/r");
  EXPECT_EQ(e[0].origin, "test.yaml#2");
  EXPECT_EQ(e[0].field, "spec.virtual_hosts[0].routes[0].route.cluster");
  EXPECT_THAT(e[0].message, HasSubstr("unknown Cluster 'missing'"));
}

TEST(ValidatorTest, ClusterErrorsComeFromTheDataPlaneBuilder) {
  auto e = errorsOf(clusterYaml("a", 70000));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.load_assignment.endpoints[0].address.port");
  EXPECT_THAT(e[0].message, HasSubstr("70000 is not in 1..65535"));
  e = errorsOf("kind: Cluster\nspec: {name: a, connect_timeout: 0s}\n");
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.connect_timeout");
}

TEST(ValidatorTest, RouteTableErrorsComeFromTheRouter) {
  auto e = errorsOf(docs({clusterYaml("a"),
                          "kind: RouteConfiguration\nspec:\n  name: r\n  virtual_hosts:\n  - name: "
                          "v\n    domains: ['*']\n    routes:\n    - match: {safe_regex: '(abc'}\n"
                          "      route: {cluster: a}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_THAT(e[0].field, HasSubstr("spec.virtual_hosts[0].routes[0].match.safe_regex"));
}

// Regression (reviewer): accepted by the control plane, refused by every proxy it reached.
TEST(ValidatorTest, WhatAProxyRefusesAcrossResourcesIsRefusedHere) {
  auto e = errorsOf(docs({clusterYaml("api.v1"), clusterYaml("api-v1")}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.name");
  EXPECT_THAT(e[0].message, HasSubstr("same Prometheus name (portico_api_v1)"));
  // Never on one node: fine.
  EXPECT_TRUE(errorsOf(docs({clusterYaml("api.v1", 8080, "{cluster: edge}"),
                             clusterYaml("api-v1", 8080, "{cluster: core}")}))
                  .empty());
  e = errorsOf(docs({routeYaml("r", "", "", "hi"), listenerYaml("one", "r", 8000),
                     listenerYaml("two", "r", 8000)}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.address");
  EXPECT_THAT(e[0].message, HasSubstr("127.0.0.1:8000 is also the address of Listener 'one'"));
  e = errorsOf(docs({routeYaml("r", "", "", "hi"), listenerYaml("l.a", "r", 8000),
                     listenerYaml("l-a", "r", 8001)}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.stat_prefix");
}

TEST(ValidatorTest, NamesThatNameStatsDurationsAndLogFormats) {
  auto e = errorsOf(clusterYaml("'a b'"));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.name");
  EXPECT_THAT(e[0].message, HasSubstr("visible ASCII"));
  const std::string listener_head =
      "kind: Listener\nspec:\n  name: l\n  address: {address: 127.0.0.1, port: 1}\n  http:\n"
      "    route_config_name: r\n";
  e = errorsOf(
      docs({routeYaml("r", "", "", "hi"), listener_head + "    idle_timeout: 40000000s\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.idle_timeout");
  EXPECT_THAT(e[0].message, HasSubstr("at most one year"));
  e = errorsOf(docs({routeYaml("r", "", "", "hi"),
                     listener_head + "    access_log: {path: /dev/null, format: '%NOPE%'}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.access_log.format");
  // What the proxy refuses, the control plane refuses too (it used to publish these, and every
  // proxy NACKed them): a format with json lines, json or a format without a path.
  e = errorsOf(docs(
      {routeYaml("r", "", "", "hi"),
       listener_head + "    access_log: {path: /dev/null, json: true, format: '%PROTOCOL%'}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.access_log.format");
  e = errorsOf(
      docs({routeYaml("r", "", "", "hi"), listener_head + "    access_log: {json: true}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.access_log.path");
}

TEST(ValidatorTest, ListenerChecks) {
  auto e = errorsOf(listenerYaml("l", "nope", 10));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.route_config_name");
  e = errorsOf(docs({routeYaml("r", "", "", "hi"),
                     "kind: Listener\nspec: {name: l, address: {address: 'not-ip', port: 1}, "
                     "http: {route_config_name: r}}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.address.address");
  e = errorsOf("kind: Listener\nspec: {name: l, address: {address: 127.0.0.1, port: 1}}\n");
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http");
  // Port 0 (or none): each worker would listen on an ephemeral port of its own.
  e = errorsOf(docs({routeYaml("r", "", "", "hi"),
                     "kind: Listener\nspec: {name: l, address: {address: 127.0.0.1}, "
                     "http: {route_config_name: r}}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.address.port");
}

TEST(ValidatorTest, ListenerHttpFiltersAreCheckedByTheDataPlaneBuilder) {
  auto e = errorsOf(docs({routeYaml("r", "", "", "hi"),
                          "kind: Listener\nspec: {name: l, address: {address: 127.0.0.1, port: 1}, "
                          "http: {route_config_name: r, http_filters: [{name: gzip, compressor: "
                          "{compression_level: 12}}]}}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.http_filters[0].compressor.compression_level");
  EXPECT_THAT(e[0].message, HasSubstr("must be in 1..9 (got 12)"));
}

// Regression (reviewer): the listener's HTTP options were checked by a hand copy of the
// proxy's checks, which missed the escaped-slashes action: an unknown number was accepted, and
// every proxy then refused the whole listener update.
TEST(ValidatorTest, ListenerHttpOptionsAreCheckedByTheDataPlaneBuilder) {
  auto e = errorsOf(docs({routeYaml("r", "", "", "hi"),
                          "kind: Listener\nspec: {name: l, address: {address: 127.0.0.1, port: 1}, "
                          "http: {route_config_name: r, path_with_escaped_slashes_action: 7}}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.path_with_escaped_slashes_action");
  EXPECT_THAT(e[0].message, HasSubstr("7 is not a known action"));
  e = errorsOf(docs({routeYaml("r", "", "", "hi"),
                     "kind: Listener\nspec: {name: l, address: {address: 127.0.0.1, port: 1}, "
                     "http: {route_config_name: r, idle_timeout: -1s}}\n"}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_EQ(e[0].field, "spec.http.idle_timeout");
}

TEST(ValidatorTest, LoadAssignmentNeedsItsCluster) {
  auto e = errorsOf(
      "kind: ClusterLoadAssignment\nspec: {cluster_name: x, endpoints: [{address: {address: "
      "127.0.0.1, port: 0}}]}\n");
  ASSERT_EQ(e.size(), 2);
  EXPECT_EQ(e[0].field, "spec.endpoints[0].address.port");
  EXPECT_EQ(e[1].field, "spec.cluster_name");
}

TEST(ValidatorTest, TargetsMustCoverReferrers) {
  // The cluster only reaches edge nodes, but the route reaches every node.
  auto e = errorsOf(docs({clusterYaml("a", 80, "{cluster: edge}"), routeYaml("r", "a")}));
  ASSERT_EQ(e.size(), 1);
  EXPECT_THAT(e[0].message, HasSubstr("does not reach every node"));
  // A cluster for every node may serve a route for edge nodes.
  EXPECT_TRUE(errorsOf(docs({clusterYaml("a"), routeYaml("r", "a", "{cluster: edge}")})).empty());
  EXPECT_TRUE(errorsOf(docs({clusterYaml("a", 80, "{labels: {z: a}}"),
                             routeYaml("r", "a", "{cluster: edge, labels: {z: a, y: b}}")}))
                  .empty());
}

TEST(ValidatorTest, DuplicatesNameBothOrigins) {
  auto parsed = parseResources(docs({clusterYaml("a"), clusterYaml("a", 81)}), "d.yaml");
  ASSERT_TRUE(parsed.ok());
  auto map = buildResourceMap(*parsed);
  ASSERT_FALSE(map.ok());
  EXPECT_THAT(map.status().message(), HasSubstr("d.yaml#2"));
  EXPECT_THAT(map.status().message(), HasSubstr("also defined in d.yaml#1"));
}

TEST(ValidatorTest, ErrorStringCarriesEverything) {
  ValidationError e{"Cluster/a", "f.yaml#1", "spec.name", "bad"};
  EXPECT_EQ(e.toString(), "f.yaml#1: Cluster/a: spec.name: bad");
}

}  // namespace
}  // namespace portico::control_plane
