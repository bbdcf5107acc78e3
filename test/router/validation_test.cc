// Every config error RouteTable::create reports, with its field path.

#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/router/route_table.h"
#include "test/router/test_util.h"

namespace portico::router {
namespace {

using test::createError;
using test::makeRoutes;
using test::makeTable;
using ::testing::HasSubstr;

// One virtual host "*" with a valid route first, then `route` as routes[1].
std::string routeError(absl::string_view route) {
  return createError(absl::StrCat(
      R"(virtual_hosts { domains: "*" routes { match { prefix: "/ok" } route { cluster: "c" } }
         routes { )",
      route, " } }"));
}

TEST(ValidationTest, MissingPathSpecifier) {
  EXPECT_EQ(routeError(R"(route { cluster: "c" })"),
            "virtual_hosts[0].routes[1].match: path_specifier must be set (prefix, path or "
            "safe_regex)");
  EXPECT_EQ(routeError(R"(match { case_sensitive: false } route { cluster: "c" })"),
            "virtual_hosts[0].routes[1].match: path_specifier must be set (prefix, path or "
            "safe_regex)");
}

TEST(ValidationTest, MissingAction) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" })"),
            "virtual_hosts[0].routes[1].action: must be set (route, redirect or direct_response)");
}

TEST(ValidationTest, EmptyClusterName) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { })"),
            "virtual_hosts[0].routes[1].route.cluster: must not be empty");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { cluster: "" prefix_rewrite: "/x" })"),
            "virtual_hosts[0].routes[1].route.cluster: must not be empty");
}

TEST(ValidationTest, DisabledFilterNames) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { cluster: "c" } disabled_filters: "gzip"
                          disabled_filters: "")"),
            "virtual_hosts[0].routes[1].disabled_filters[1]: must not be empty");
}

TEST(ValidationTest, WeightedClusters) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { weighted_clusters {
                clusters { name: "a" weight: 0 } clusters { name: "b" } } })"),
            "virtual_hosts[0].routes[1].route.weighted_clusters: total weight must be greater "
            "than 0");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { weighted_clusters { } })"),
            "virtual_hosts[0].routes[1].route.weighted_clusters: total weight must be greater "
            "than 0");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { weighted_clusters {
                clusters { name: "a" weight: 1 } clusters { weight: 1 } } })"),
            "virtual_hosts[0].routes[1].route.weighted_clusters.clusters[1].name: must not be "
            "empty");
}

TEST(ValidationTest, RouteActionFields) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { cluster: "c" timeout { seconds: -1 } })"),
            "virtual_hosts[0].routes[1].route.timeout: must be a non-negative duration");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { cluster: "c" prefix_rewrite: "/a b" })"),
            "virtual_hosts[0].routes[1].route.prefix_rewrite: must be printable ASCII without "
            "spaces (percent-encode other bytes)");
  EXPECT_EQ(
      routeError(R"(match { prefix: "/" } route { cluster: "c" host_rewrite_literal: "a\nb" })"),
      "virtual_hosts[0].routes[1].route.host_rewrite_literal: must be a host with an optional "
      "port (RFC 3986 authority without userinfo), e.g. \"example.com\" or \"[::1]:8080\"");
  for (const char* bad : {"a/b", "user@a", "a:http"}) {
    EXPECT_NE(routeError(absl::StrCat(R"(match { prefix: "/" } route { cluster: "c" )",
                                      "host_rewrite_literal: \"", bad, "\" }")),
              "")
        << bad;
  }
}

TEST(ValidationTest, RedirectCode) {
  for (int code : {200, 300, 304, 305, 306, 309, 400}) {
    EXPECT_EQ(
        routeError(absl::StrCat(R"(match { prefix: "/" } redirect { response_code: )", code, " }")),
        absl::StrCat("virtual_hosts[0].routes[1].redirect.response_code: must be 301, 302, "
                     "303, 307 or 308 (got ",
                     code, ")"));
  }
  for (int code : {301, 302, 303, 307, 308}) {
    auto table = RouteTable::create(test::parseProto<config::v1::RouteConfiguration>(
        absl::StrCat(R"(virtual_hosts { domains: "*" routes { match { prefix: "/" }
                        redirect { response_code: )",
                     code, " } } }")));
    EXPECT_TRUE(table.ok()) << code;
  }
}

TEST(ValidationTest, RedirectFields) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" } redirect { path_redirect: "relative" })"),
            "virtual_hosts[0].routes[1].redirect.path_redirect: must start with '/'");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } redirect { path_redirect: "/a\r\n" })"),
            "virtual_hosts[0].routes[1].redirect.path_redirect: must be printable ASCII without "
            "spaces (percent-encode other bytes)");
  // Regression (reviewer): a '#' let the request's query end up inside the fragment.
  EXPECT_EQ(routeError(R"(match { prefix: "/" } redirect { path_redirect: "/docs#install" })"),
            "virtual_hosts[0].routes[1].redirect.path_redirect: must not contain '#'");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } redirect { host_redirect: "a b" })"),
            "virtual_hosts[0].routes[1].redirect.host_redirect: must be a host with an optional "
            "port (RFC 3986 authority without userinfo), e.g. \"example.com\" or \"[::1]:8080\"");
  EXPECT_NE(routeError(R"(match { prefix: "/" } redirect { host_redirect: "evil.example/x?" })"),
            "");
}

TEST(ValidationTest, DirectResponseStatus) {
  for (int status : {0, 99, 100, 103, 199, 600, 1000}) {
    EXPECT_EQ(routeError(absl::StrCat(R"(match { prefix: "/" } direct_response { status: )", status,
                                      " }")),
              absl::StrCat("virtual_hosts[0].routes[1].direct_response.status: must be in [200, "
                           "599] (got ",
                           status, ")"));
  }
  EXPECT_EQ(routeError(R"(match { prefix: "/" } direct_response { status: 200
                          content_type: "text/html\r\nx: y" })"),
            "virtual_hosts[0].routes[1].direct_response.content_type: header value must not "
            "contain control characters other than HTAB (CR, LF, NUL, DEL, ...)");
}

TEST(ValidationTest, DirectResponseBodyBounded) {
  const std::string big(4097, 'x');
  EXPECT_EQ(routeError(absl::StrCat(
                R"(match { prefix: "/" } direct_response { status: 200 body: ")", big, "\" }")),
            "virtual_hosts[0].routes[1].direct_response.body: is 4097 bytes, more than 4096 "
            "(max_direct_response_body_size_bytes)");
  EXPECT_NE(makeRoutes(absl::StrCat(R"(routes { match { prefix: "/" } direct_response {
                                    status: 200 body: ")",
                                    std::string(4096, 'x'), "\" } }")),
            nullptr);
  // The route configuration may raise (or lower) the bound.
  EXPECT_NE(makeTable(absl::StrCat(R"(max_direct_response_body_size_bytes: 8192
                                   virtual_hosts { domains: "*" routes { match { prefix: "/" }
                                   direct_response { status: 200 body: ")",
                                   big, "\" } } }")),
            nullptr);
  EXPECT_EQ(createError(R"(max_direct_response_body_size_bytes: 1
                           virtual_hosts { domains: "*" routes { match { prefix: "/" }
                           direct_response { status: 200 body: "ab" } } })"),
            "virtual_hosts[0].routes[0].direct_response.body: is 2 bytes, more than 1 "
            "(max_direct_response_body_size_bytes)");
}

TEST(ValidationTest, PrefixRewriteMustStartATarget) {
  auto rewrite = [](const char* value) {
    return routeError(absl::StrCat(
        R"(match { prefix: "/api/" } route { cluster: "c" prefix_rewrite: ")", value, "\" }"));
  };
  EXPECT_EQ(rewrite("v2/"), "virtual_hosts[0].routes[1].route.prefix_rewrite: must start with '/'");
  EXPECT_EQ(rewrite("/n?a=1"),
            "virtual_hosts[0].routes[1].route.prefix_rewrite: must not contain '?' or '#'");
  EXPECT_EQ(rewrite("/n#f"),
            "virtual_hosts[0].routes[1].route.prefix_rewrite: must not contain '?' or '#'");
  // Regression (reviewer): raw UTF-8 and a broken escape went into the upstream request line.
  EXPECT_EQ(rewrite("/caf\xc3\xa9"),
            "virtual_hosts[0].routes[1].route.prefix_rewrite: must be printable ASCII without "
            "spaces (percent-encode other bytes)");
  EXPECT_EQ(rewrite("/a%zz"),
            "virtual_hosts[0].routes[1].route.prefix_rewrite: '%' must start an escape of two "
            "hex digits");
  EXPECT_EQ(rewrite("/a%4"),
            "virtual_hosts[0].routes[1].route.prefix_rewrite: '%' must start an escape of two "
            "hex digits");
  EXPECT_NE(
      makeRoutes(
          R"(routes { match { prefix: "/api/" } route { cluster: "c" prefix_rewrite: "/v2/" } })"),
      nullptr);
  EXPECT_NE(makeRoutes(R"(routes { match { prefix: "/api/" }
                                    route { cluster: "c" prefix_rewrite: "/caf%C3%A9" } })"),
            nullptr);
}

TEST(ValidationTest, RouteTimeoutAtMostOneYear) {
  EXPECT_EQ(routeError(
                R"(match { prefix: "/" } route { cluster: "c" timeout { seconds: 10000000000 } })"),
            "virtual_hosts[0].routes[1].route.timeout: must be at most one year (0 disables)");
  EXPECT_NE(
      makeRoutes(
          R"(routes { match { prefix: "/" } route { cluster: "c" timeout { seconds: 31536000 } } })"),
      nullptr);
}

TEST(ValidationTest, RegexProgramSizeIsBounded) {
  // Regression (reviewer): a short pattern can compile to a huge program, and each route has
  // its own; thousands of them (YAML aliases) exhausted memory.
  EXPECT_THAT(routeError(R"(match { safe_regex: "/\\pL{300}" } route { cluster: "c" })"),
              HasSubstr("virtual_hosts[0].routes[1].match.safe_regex: "));
  EXPECT_THAT(
      routeError(R"(match { safe_regex: "/[a-z]{1000}/[0-9]{1000}" } route { cluster: "c" })"),
      HasSubstr("is over the limit of 1000"));
  EXPECT_NE(makeRoutes(R"(routes { match { safe_regex: "/api/v[0-9]+/users/[a-z0-9-]{1,64}" }
                                  route { cluster: "c" } })"),
            nullptr);
}

TEST(ValidationTest, InvalidRegexNamesItsField) {
  EXPECT_EQ(createError(R"(
      virtual_hosts { domains: "a" }
      virtual_hosts { domains: "b"
        routes { match { prefix: "/0" } route { cluster: "c" } }
        routes { match { prefix: "/1" } route { cluster: "c" } }
        routes { match { prefix: "/2" } route { cluster: "c" } }
        routes { match { safe_regex: "(abc" } route { cluster: "c" } } })"),
            "virtual_hosts[1].routes[3].match.safe_regex: invalid RE2: missing ): (abc");
  EXPECT_EQ(routeError(R"pb(match {
                              prefix: "/"
                              headers { name: "a" }
                              headers { name: "x" safe_regex_match: "a)" }
                            }
                            route { cluster: "c" })pb"),
            "virtual_hosts[0].routes[1].match.headers[1].safe_regex_match: invalid RE2: "
            "unexpected ): a)");
  EXPECT_EQ(routeError(R"(match { prefix: "/" query_parameters { name: "x"
                          safe_regex_match: "*" } } route { cluster: "c" })"),
            "virtual_hosts[0].routes[1].match.query_parameters[0].safe_regex_match: invalid RE2: "
            "no argument for repetition operator: *");
}

TEST(ValidationTest, MatcherNames) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" headers { exact_match: "1" } }
                          route { cluster: "c" })"),
            "virtual_hosts[0].routes[1].match.headers[0].name: header name must not be empty");
  EXPECT_EQ(routeError(R"pb(match {
                              prefix: "/"
                              headers { name: "x(y)" }
                            }
                            route { cluster: "c" })pb"),
            "virtual_hosts[0].routes[1].match.headers[0].name: invalid character 0x28 in header "
            "name \"x(y)\"");
  EXPECT_EQ(routeError(R"(match { prefix: "/" query_parameters { exact_match: "1" } }
                          route { cluster: "c" })"),
            "virtual_hosts[0].routes[1].match.query_parameters[0].name: must not be empty");
}

TEST(ValidationTest, HeaderOpNamesAtEveryLevel) {
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { cluster: "c" }
                          request_headers_to_add { key: "" value: "v" })"),
            "virtual_hosts[0].routes[1].request_headers_to_add[0].key: header name must not be "
            "empty");
  EXPECT_EQ(routeError(R"(match { prefix: "/" } route { cluster: "c" }
                          response_headers_to_remove: "ok" response_headers_to_remove: "a b")"),
            "virtual_hosts[0].routes[1].response_headers_to_remove[1]: invalid character 0x20 in "
            "header name \"a b\"");
  EXPECT_EQ(createError(R"(virtual_hosts { domains: "*"
                             response_headers_to_add { key: "x:y" value: "v" } })"),
            "virtual_hosts[0].response_headers_to_add[0].key: invalid character 0x3a in header "
            "name \"x:y\"");
  EXPECT_EQ(createError(R"(request_headers_to_remove: "" virtual_hosts { domains: "*" })"),
            "request_headers_to_remove[0]: header name must not be empty");
  EXPECT_EQ(createError(R"(request_headers_to_add { key: "x" value: "a\nb" }
                           virtual_hosts { domains: "*" })"),
            "request_headers_to_add[0].value: header value must not contain control characters "
            "other than HTAB (CR, LF, NUL, DEL, ...)");
}

TEST(ValidationTest, UpperCaseHeaderOpNamesAreLowerCased) {
  auto table = test::makeTable(R"(
    request_headers_to_add { key: "X-Global" value: "1" }
    virtual_hosts { domains: "*" routes { match { prefix: "/" } route { cluster: "c" }
      request_headers_to_remove: "X-Remove-Me" } })");
  ASSERT_NE(table, nullptr);
  http::HeaderMap headers = test::makeHeaders({{"x-remove-me", "1"}});
  table->match("h", "/", headers)->applyRequestHeaderOps(headers);
  ASSERT_EQ(headers.size(), 1u);
  EXPECT_EQ(headers.begin()->name, "x-global");
}

TEST(ValidationTest, DomainErrors) {
  EXPECT_EQ(createError(R"(virtual_hosts { domains: "a.com" } virtual_hosts { domains: "A.COM" })"),
            "virtual_hosts[1].domains[0]: duplicate domain \"A.COM\" (also in "
            "virtual_hosts[0].domains[0])");
  EXPECT_EQ(createError(R"(virtual_hosts { name: "no-domains" })"),
            "virtual_hosts[0].domains: must not be empty");
}

TEST(ValidationTest, FieldPrefixIsPrepended) {
  EXPECT_EQ(createError(R"(virtual_hosts { domains: "*" routes { match { prefix: "/" } } })",
                        "static_resources.route_configs[0]"),
            "static_resources.route_configs[0].virtual_hosts[0].routes[0].action: must be set "
            "(route, redirect or direct_response)");
  EXPECT_EQ(createError(R"(virtual_hosts { domains: "*" } virtual_hosts { domains: "*" })",
                        "static_resources.route_configs[2]"),
            "static_resources.route_configs[2].virtual_hosts[1].domains[0]: duplicate domain "
            "\"*\" (also in static_resources.route_configs[2].virtual_hosts[0].domains[0])");
  EXPECT_EQ(createError(R"(response_headers_to_remove: "" virtual_hosts { domains: "*" })", "rc"),
            "rc.response_headers_to_remove[0]: header name must not be empty");
}

}  // namespace
}  // namespace portico::router
