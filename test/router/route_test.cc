// Route actions: cluster picking, rewrites, timeouts, redirects, direct responses, header ops.

#include "source/router/route.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "source/router/route_table.h"
#include "test/router/test_util.h"

namespace portico::router {
namespace {

using test::makeHeaders;
using test::makeRoutes;
using test::makeTable;

// The route of a single-route table; the table must outlive the Route.
struct OneRoute {
  explicit OneRoute(absl::string_view route_text)
      : table(makeRoutes("routes { " + std::string(route_text) + " }")) {}
  const Route& operator*() const {
    const Route* r = table->match("host", path, makeHeaders({}));
    EXPECT_NE(r, nullptr);
    return *r;
  }
  const Route* operator->() const { return &**this; }

  RouteTableSharedPtr table;
  std::string path = "/";
};

http::RequestHead request(absl::string_view host, absl::string_view path) {
  http::RequestHead head;
  head.method = "GET";
  head.path = std::string(path);
  if (!host.empty()) head.headers.add("Host", host);
  return head;
}

TEST(RouteTest, SingleCluster) {
  OneRoute r(R"(name: "r1" match { prefix: "/" } route { cluster: "backend" })");
  EXPECT_EQ(r->kind(), RouteActionKind::kCluster);
  EXPECT_EQ(r->name(), "r1");
  EXPECT_EQ(r->clusterName(0), "backend");
  EXPECT_EQ(r->clusterName(~0ull), "backend");
  EXPECT_EQ(r->rewritePath("/a?b=1"), std::nullopt);
  EXPECT_EQ(r->hostRewrite(), "");
  EXPECT_EQ(r->timeout(), std::chrono::milliseconds(15000));
}

TEST(RouteTest, WeightedClustersPickByCumulativeWeight) {
  OneRoute r(R"(match { prefix: "/" } route { weighted_clusters {
      clusters { name: "a" weight: 1 } clusters { name: "zero" weight: 0 }
      clusters { name: "b" weight: 3 } } })");
  EXPECT_EQ(r->clusterName(0), "a");
  EXPECT_EQ(r->clusterName(1), "b");
  EXPECT_EQ(r->clusterName(3), "b");
  EXPECT_EQ(r->clusterName(4), "a");  // random is reduced modulo the total weight (4)
  EXPECT_EQ(r->clusterName(~0ull), "b");
  // Over any full period of `random` values the split is exact.
  std::map<std::string, int> counts;
  for (uint64_t i = 0; i < 4000; ++i) counts[r->clusterName(i)]++;
  EXPECT_EQ(counts, (std::map<std::string, int>{{"a", 1000}, {"b", 3000}}));
}

TEST(RouteTest, WeightedClustersDistributionWithRandomInput) {
  OneRoute r(R"(match { prefix: "/" } route { weighted_clusters {
      clusters { name: "a" weight: 10 } clusters { name: "b" weight: 30 }
      clusters { name: "c" weight: 60 } } })");
  std::mt19937_64 rng(7);
  std::map<std::string, int> counts;
  constexpr int kDraws = 100000;
  for (int i = 0; i < kDraws; ++i) counts[r->clusterName(rng())]++;
  // 5 standard deviations of a binomial at these sizes is under 1 percentage point.
  EXPECT_NEAR(counts["a"], kDraws * 0.1, kDraws * 0.01);
  EXPECT_NEAR(counts["b"], kDraws * 0.3, kDraws * 0.01);
  EXPECT_NEAR(counts["c"], kDraws * 0.6, kDraws * 0.01);
}

TEST(RouteTest, PrefixRewriteKeepsRestAndQuery) {
  OneRoute r(R"(match { prefix: "/api/" } route { cluster: "c" prefix_rewrite: "/v2/" })");
  r.path = "/api/users";
  EXPECT_EQ(r->rewritePath("/api/users?x=1&y"), "/v2/users?x=1&y");
  EXPECT_EQ(r->rewritePath("/api/"), "/v2/");
  EXPECT_EQ(r->rewritePath("/other?q"), "/other?q");  // not this route's path: unchanged
}

TEST(RouteTest, TheAsteriskFormIsNotRewritten) {
  // Regression (reviewer): "OPTIONS *" through a catch-all rewrite went upstream as "/v2*".
  OneRoute r(R"(match { prefix: "" } route { cluster: "c" prefix_rewrite: "/v2" })");
  EXPECT_EQ(r->rewritePath("*"), std::nullopt);
  EXPECT_EQ(r->rewritePath("/x"), "/v2/x");
}

TEST(RouteTest, PrefixRewriteCaseInsensitive) {
  OneRoute r(R"(match { prefix: "/API" case_sensitive: false }
               route { cluster: "c" prefix_rewrite: "/v1" })");
  EXPECT_EQ(r.table->match("h", "/api/x?q=1", makeHeaders({}))->rewritePath("/api/x?q=1"),
            "/v1/x?q=1");
}

TEST(RouteTest, RewriteOfExactAndRegexRoutesReplacesWholePath) {
  auto table = makeRoutes(R"(
    routes { match { path: "/old" } route { cluster: "c" prefix_rewrite: "/new" } }
    routes { match { safe_regex: "/u/[0-9]+" } route { cluster: "c" prefix_rewrite: "/user" } })");
  EXPECT_EQ(table->match("h", "/old?a=1", makeHeaders({}))->rewritePath("/old?a=1"), "/new?a=1");
  EXPECT_EQ(table->match("h", "/u/42", makeHeaders({}))->rewritePath("/u/42"), "/user");
}

TEST(RouteTest, HostRewriteAndTimeouts) {
  auto table = makeRoutes(R"(
    routes { match { path: "/a" } route { cluster: "c" host_rewrite_literal: "up.internal"
                                          timeout { seconds: 2 nanos: 500000000 } } }
    routes { match { path: "/b" } route { cluster: "c" timeout { } } }
    routes { match { path: "/c" } route { cluster: "c" timeout { nanos: 1000 } } })");
  const Route* a = table->match("h", "/a", makeHeaders({}));
  EXPECT_EQ(a->hostRewrite(), "up.internal");
  EXPECT_EQ(a->timeout(), std::chrono::milliseconds(2500));
  EXPECT_EQ(table->match("h", "/b", makeHeaders({}))->timeout(), std::chrono::milliseconds(0));
  // Sub-millisecond rounds up rather than becoming "disabled".
  EXPECT_EQ(table->match("h", "/c", makeHeaders({}))->timeout(), std::chrono::milliseconds(1));
}

TEST(RouteTest, RedirectDefaults) {
  OneRoute r(R"(match { prefix: "/" } redirect { })");
  EXPECT_EQ(r->kind(), RouteActionKind::kRedirect);
  EXPECT_EQ(r->redirectCode(), 301u);
  EXPECT_EQ(r->redirectLocation(request("Example.com:8080", "/a/b?x=1"), false),
            "http://Example.com:8080/a/b?x=1");
  EXPECT_EQ(r->redirectLocation(request("example.com", "/a"), true), "https://example.com/a");
  // No Host (HTTP/1.0): a relative reference.
  EXPECT_EQ(r->redirectLocation(request("", "/a?b"), false), "/a?b");
  // Without a Host the Location is relative: "//evil.example/" must not name another host.
  EXPECT_EQ(r->redirectLocation(request("", "//evil.example/x?q"), false), "/evil.example/x?q");
  EXPECT_EQ(r->redirectLocation(request("", "///a"), false), "/a");
  EXPECT_EQ(r->redirectLocation(request("", "/\\\\evil.example/"), false), "/evil.example/");
  EXPECT_EQ(r->clusterName(0), "");
}

TEST(RouteTest, HttpsRedirectDropsPort80) {
  OneRoute r(R"(match { prefix: "/" } redirect { https_redirect: true response_code: 308 })");
  EXPECT_EQ(r->redirectCode(), 308u);
  EXPECT_EQ(r->redirectLocation(request("example.com:80", "/p?q=1"), false),
            "https://example.com/p?q=1");
  EXPECT_EQ(r->redirectLocation(request("example.com:8080", "/p"), false),
            "https://example.com:8080/p");
  EXPECT_EQ(r->redirectLocation(request("example.com", "/p"), false), "https://example.com/p");
}

TEST(RouteTest, HostAndPathRedirect) {
  auto table = makeRoutes(R"(
    routes { match { path: "/host" } redirect { host_redirect: "new.example.com" } }
    routes { match { path: "/path" } redirect { path_redirect: "/moved" response_code: 302 } }
    routes { match { path: "/pq" } redirect { path_redirect: "/moved?src=old" } }
    routes { match { path: "/strip" } redirect { strip_query: true path_redirect: "/s" } }
    routes { match { path: "/both" } redirect { host_redirect: "b.example:8443"
                                                path_redirect: "/x" https_redirect: true } })");
  auto location = [&](absl::string_view target) {
    const Route* r = table->match("old.example.com", target, makeHeaders({}));
    EXPECT_NE(r, nullptr) << target;
    return r->redirectLocation(request("old.example.com:80", target), false);
  };
  EXPECT_EQ(location("/host?a=1"), "http://new.example.com/host?a=1");
  EXPECT_EQ(location("/path?a=1"), "http://old.example.com:80/moved?a=1");
  EXPECT_EQ(location("/pq?a=1"), "http://old.example.com:80/moved?src=old");
  EXPECT_EQ(location("/strip?a=1"), "http://old.example.com:80/s");
  EXPECT_EQ(location("/both?a=1"), "https://b.example:8443/x?a=1");
  EXPECT_EQ(table->match("h", "/path", makeHeaders({}))->redirectCode(), 302u);
}

TEST(RouteTest, DirectResponse) {
  auto table = makeRoutes(R"(
    routes { match { path: "/a" } direct_response { status: 200 body: "ok" } }
    routes { match { path: "/b" } direct_response { status: 503 content_type: "application/json"
                                                    body: "{}" } })");
  const Route* a = table->match("h", "/a", makeHeaders({}));
  EXPECT_EQ(a->kind(), RouteActionKind::kDirectResponse);
  EXPECT_EQ(a->directStatus(), 200u);
  EXPECT_EQ(a->directBody(), "ok");
  EXPECT_EQ(a->directContentType(), "text/plain");
  const Route* b = table->match("h", "/b", makeHeaders({}));
  EXPECT_EQ(b->directStatus(), 503u);
  EXPECT_EQ(b->directContentType(), "application/json");
}

TEST(RouteTest, HeaderOpsRouteThenVirtualHostThenConfig) {
  auto table = makeTable(R"(
    request_headers_to_add { key: "x-level" value: "config" }
    request_headers_to_add { key: "x-config" value: "1" }
    request_headers_to_add { key: "x-trace" value: "config" append: true }
    request_headers_to_remove: "x-secret"
    response_headers_to_add { key: "server" value: "portico" }
    response_headers_to_remove: "x-internal"
    virtual_hosts {
      domains: "*"
      request_headers_to_add { key: "X-Level" value: "vhost" }
      request_headers_to_add { key: "x-vhost" value: "1" }
      request_headers_to_add { key: "x-trace" value: "vhost" append: true }
      response_headers_to_add { key: "server" value: "vhost" }
      routes {
        match { path: "/own" } route { cluster: "c" }
        request_headers_to_add { key: "x-level" value: "route" }
        request_headers_to_add { key: "x-trace" value: "route" append: true }
        request_headers_to_add { key: "x-secret" value: "route-may-set-it" }
        response_headers_to_remove: "server"
      }
      routes { match { prefix: "/" } route { cluster: "c" } }
    })");
  auto apply = [&](absl::string_view path) {
    http::HeaderMap headers = makeHeaders({{"x-level", "client"}, {"x-secret", "s"}});
    table->match("h", path, headers)->applyRequestHeaderOps(headers);
    std::vector<std::string> out;
    for (const auto& e : headers) out.push_back(e.name + "=" + e.value);
    return out;
  };
  EXPECT_EQ(apply("/own"), (std::vector<std::string>{
                               "x-level=route", "x-trace=route", "x-secret=route-may-set-it",
                               "x-vhost=1", "x-trace=vhost", "x-config=1", "x-trace=config"}));
  EXPECT_EQ(apply("/other"),
            (std::vector<std::string>{"x-level=vhost", "x-vhost=1", "x-trace=vhost", "x-config=1",
                                      "x-trace=config"}));

  http::HeaderMap response = makeHeaders({{"server", "upstream"}, {"x-internal", "1"}});
  table->match("h", "/other", makeHeaders({}))->applyResponseHeaderOps(response);
  ASSERT_EQ(response.size(), 1u);
  EXPECT_EQ(*response.get("server"), "vhost");
  response = makeHeaders({{"server", "upstream"}, {"x-internal", "1"}});
  table->match("h", "/own", makeHeaders({}))->applyResponseHeaderOps(response);
  EXPECT_TRUE(response.empty());  // the route removes server; config removes x-internal
}

TEST(RouteTableTest, ReferencedClustersAndName) {
  auto table = makeTable(R"(
    name: "main"
    virtual_hosts { domains: "a" routes { match { prefix: "/" } route { cluster: "z" } } }
    virtual_hosts { domains: "b"
      routes { match { prefix: "/x" } route { weighted_clusters {
        clusters { name: "y" weight: 1 } clusters { name: "z" weight: 1 } } } }
      routes { match { prefix: "/r" } redirect { } }
      routes { match { prefix: "/" } route { cluster: "a" } } })");
  EXPECT_EQ(table->name(), "main");
  EXPECT_EQ(table->referencedClusters(), (std::vector<std::string>{"a", "y", "z"}));
}

}  // namespace
}  // namespace portico::router
