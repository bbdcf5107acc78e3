// RouteTable::match: virtual host choice, route order, path/header/query conditions, and the
// index agreeing with a plain linear scan.

#include "source/router/route_table.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "test/router/test_util.h"

namespace portico::router {
namespace {

using test::makeHeaders;
using test::makeRoutes;
using test::makeTable;

// The matched route's name, or "none".
std::string matched(const RouteTableSharedPtr& table, absl::string_view path,
                    const http::HeaderMap& headers = http::HeaderMap(),
                    absl::string_view host = "example.com") {
  const Route* route = table->match(host, path, headers);
  EXPECT_EQ(route, table->matchLinearForTest(host, path, headers)) << path;
  return route == nullptr ? "none" : route->name();
}

TEST(RouteTableMatchTest, FirstMatchWinsInConfigOrder) {
  auto table = makeRoutes(R"(
    routes { name: "api-prefix" match { prefix: "/api" } route { cluster: "c" } }
    routes { name: "api-exact" match { path: "/api/x" } route { cluster: "c" } }
    routes { name: "all" match { prefix: "/" } route { cluster: "c" } }
    routes { name: "never" match { path: "/z" } route { cluster: "c" } })");
  EXPECT_EQ(matched(table, "/api/x"), "api-prefix");
  EXPECT_EQ(matched(table, "/apix"), "api-prefix");
  EXPECT_EQ(matched(table, "/z"), "all");
  EXPECT_EQ(matched(table, "/"), "all");
}

TEST(RouteTableMatchTest, PathsAreComparedWithoutQueryOrFragment) {
  auto table = makeRoutes(R"(
    routes { name: "exact" match { path: "/a" } route { cluster: "c" } }
    routes { name: "regex" match { safe_regex: "/r/[0-9]+" } route { cluster: "c" } }
    routes { name: "prefix" match { prefix: "/p/" } route { cluster: "c" } })");
  EXPECT_EQ(matched(table, "/a?x=1"), "exact");
  EXPECT_EQ(matched(table, "/a#frag"), "exact");
  EXPECT_EQ(matched(table, "/a/"), "none");
  EXPECT_EQ(matched(table, "/r/12?y=2"), "regex");
  EXPECT_EQ(matched(table, "/r/12x"), "none");
  EXPECT_EQ(matched(table, "/p?/"), "none");  // '?' ends the path
  EXPECT_EQ(matched(table, "/p/?q"), "prefix");
}

TEST(RouteTableMatchTest, CaseSensitivity) {
  auto table = makeRoutes(R"(
    routes { name: "cs" match { prefix: "/Api/" } route { cluster: "c" } }
    routes { name: "ci" match { prefix: "/API/" case_sensitive: false } route { cluster: "c" } }
    routes { name: "ci-exact" match { path: "/Health" case_sensitive: false }
             route { cluster: "c" } }
    routes { name: "ci-regex" match { safe_regex: "/users/[a-z]+" case_sensitive: false }
             route { cluster: "c" } })");
  EXPECT_EQ(matched(table, "/Api/x"), "cs");
  EXPECT_EQ(matched(table, "/api/x"), "ci");
  EXPECT_EQ(matched(table, "/aPI/x"), "ci");
  EXPECT_EQ(matched(table, "/HEALTH"), "ci-exact");
  EXPECT_EQ(matched(table, "/USERS/Bob"), "ci-regex");
  EXPECT_EQ(matched(table, "/USERS/B0b"), "none");
}

TEST(RouteTableMatchTest, HeaderAndQueryConditionsFallThrough) {
  auto table = makeRoutes(R"(
    routes { name: "canary" match { prefix: "/"
               headers { name: "x-canary" exact_match: "1" }
               headers { name: "x-env" prefix_match: "prod" } } route { cluster: "c" } }
    routes { name: "debug" match { prefix: "/" query_parameters { name: "debug" } }
             route { cluster: "c" } }
    routes { name: "not-bot" match { prefix: "/"
               headers { name: "user-agent" contains_match: "bot" invert_match: true } }
             route { cluster: "c" } }
    routes { name: "rest" match { prefix: "/" } route { cluster: "c" } })");
  EXPECT_EQ(matched(table, "/", makeHeaders({{"x-canary", "1"}, {"x-env", "prod-eu"}})), "canary");
  EXPECT_EQ(matched(table, "/?debug", makeHeaders({{"x-canary", "1"}, {"user-agent", "bot"}})),
            "debug");
  EXPECT_EQ(matched(table, "/?a=1&debug=0"), "debug");
  EXPECT_EQ(matched(table, "/", makeHeaders({{"user-agent", "googlebot"}})), "rest");
  EXPECT_EQ(matched(table, "/", makeHeaders({{"user-agent", "curl"}})), "not-bot");
  // Absent header: an inverted value matcher refuses it, as Envoy's.
  EXPECT_EQ(matched(table, "/"), "rest");
}

TEST(RouteTableMatchTest, VirtualHostSelectsRouteSet) {
  auto table = makeTable(R"(
    virtual_hosts { name: "api" domains: "api.example.com" domains: "api.*"
      routes { name: "api" match { prefix: "/" } route { cluster: "api" } } }
    virtual_hosts { name: "wild" domains: "*.example.com"
      routes { name: "wild" match { prefix: "/" } route { cluster: "web" } } }
    virtual_hosts { name: "empty" domains: "empty.example.org" })");
  EXPECT_EQ(matched(table, "/", {}, "API.example.com:443"), "api");
  EXPECT_EQ(matched(table, "/", {}, "api.internal"), "api");
  EXPECT_EQ(matched(table, "/", {}, "www.example.com"), "wild");
  EXPECT_EQ(matched(table, "/", {}, "empty.example.org"), "none");  // no routes
  EXPECT_EQ(matched(table, "/", {}, "other.org"), "none");          // no virtual host, no "*"
}

TEST(RouteTableMatchTest, FieldPrefixOnlyAffectsErrors) {
  auto table = RouteTable::create(
      test::parseProto<config::v1::RouteConfiguration>(
          R"(virtual_hosts { domains: "*" routes { match { prefix: "/" } route { cluster: "c" } } })"),
      "static_resources.route_configs[0]");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_NE((*table)->match("x", "/", makeHeaders({})), nullptr);
}

// The index must agree with a linear scan on configs that mix every matcher kind, with many
// shared prefixes, case-insensitive routes and conditions that fail.
TEST(RouteTableMatchTest, IndexAgreesWithLinearScanOnRandomConfigs) {
  std::mt19937 rng(2024);
  const std::vector<std::string> segments = {"a", "ab", "B", "api", "v1", "x"};
  auto randomPath = [&](int max_segments) {
    std::string p;
    const int n = rng() % (max_segments + 1);
    for (int i = 0; i < n; ++i) absl::StrAppend(&p, "/", segments[rng() % segments.size()]);
    return p.empty() ? std::string("/") : p;
  };
  for (int round = 0; round < 10; ++round) {
    std::string routes;
    for (int i = 0; i < 200; ++i) {
      std::string match;
      switch (rng() % 4) {
        case 0:
          match = absl::StrCat("prefix: \"", randomPath(2), "\"");
          break;
        case 1:
          match = absl::StrCat("path: \"", randomPath(3), "\"");
          break;
        case 2:
          match = absl::StrCat("safe_regex: \"", randomPath(2), "(/[a-z0-9]+)*\"");
          break;
        default:
          match = absl::StrCat("safe_regex: \"(/api|/ab)", rng() % 2 ? "/v1" : "", ".*\"");
          break;
      }
      if (rng() % 4 == 0) absl::StrAppend(&match, " case_sensitive: false");
      if (rng() % 5 == 0) absl::StrAppend(&match, " headers { name: \"x-h\" exact_match: \"1\" }");
      if (rng() % 5 == 0) absl::StrAppend(&match, " query_parameters { name: \"q\" }");
      absl::StrAppend(&routes, "routes { name: \"r", i, "\" match { ", match,
                      " } route { cluster: \"c\" } } ");
    }
    auto table = makeRoutes(routes);
    ASSERT_NE(table, nullptr);
    for (int q = 0; q < 500; ++q) {
      std::string path = randomPath(4);
      if (rng() % 3 == 0) path += "?q=1";
      http::HeaderMap headers;
      if (rng() % 2 == 0) headers.add("x-h", "1");
      ASSERT_EQ(table->match("h", path, headers), table->matchLinearForTest("h", path, headers))
          << "round " << round << " path " << path;
    }
  }
}

}  // namespace
}  // namespace portico::router
