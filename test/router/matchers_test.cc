#include "source/router/matchers.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "source/router/path_matcher.h"
#include "test/router/test_util.h"

namespace portico::router {
namespace {

using test::makeHeaders;
using test::parseProto;

HeaderMatcher header(absl::string_view text) {
  auto m = HeaderMatcher::create(parseProto<config::v1::HeaderMatcher>(text), "h");
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

QueryParameterMatcher query(absl::string_view text) {
  auto m = QueryParameterMatcher::create(parseProto<config::v1::QueryParameterMatcher>(text), "q");
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

PathMatcher path(absl::string_view text) {
  auto m = PathMatcher::create(parseProto<config::v1::RouteMatch>(text), "m");
  EXPECT_TRUE(m.ok()) << m.status();
  return std::move(*m);
}

TEST(HeaderMatcherTest, Exact) {
  HeaderMatcher m = header(R"(name: "x-env" exact_match: "prod")");
  EXPECT_TRUE(m.matches(makeHeaders({{"x-env", "prod"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"x-env", "production"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"x-env", "Prod"}})));  // values are case-sensitive
  EXPECT_FALSE(m.matches(makeHeaders({{"x-other", "prod"}})));
  EXPECT_FALSE(m.matches(makeHeaders({})));
}

TEST(HeaderMatcherTest, NameIsLowerCased) {
  HeaderMatcher m = header(R"(name: "X-Env" exact_match: "prod")");
  EXPECT_EQ(m.name(), "x-env");
  EXPECT_TRUE(m.matches(makeHeaders({{"X-ENV", "prod"}})));
}

TEST(HeaderMatcherTest, Prefix) {
  HeaderMatcher m = header(R"(name: "x-v" prefix_match: "abc")");
  EXPECT_TRUE(m.matches(makeHeaders({{"x-v", "abc"}})));
  EXPECT_TRUE(m.matches(makeHeaders({{"x-v", "abcdef"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"x-v", "xabc"}})));
  EXPECT_FALSE(m.matches(makeHeaders({})));
}

TEST(HeaderMatcherTest, Suffix) {
  HeaderMatcher m = header(R"(name: "x-v" suffix_match: ".json")");
  EXPECT_TRUE(m.matches(makeHeaders({{"x-v", "a.json"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"x-v", "a.json.gz"}})));
  EXPECT_FALSE(m.matches(makeHeaders({})));
}

TEST(HeaderMatcherTest, Contains) {
  HeaderMatcher m = header(R"(name: "user-agent" contains_match: "curl")");
  EXPECT_TRUE(m.matches(makeHeaders({{"user-agent", "x curl/8.0"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"user-agent", "wget"}})));
  EXPECT_FALSE(m.matches(makeHeaders({})));
}

TEST(HeaderMatcherTest, RegexIsAFullMatch) {
  HeaderMatcher m = header(R"(name: "x-v" safe_regex_match: "v[0-9]+")");
  EXPECT_TRUE(m.matches(makeHeaders({{"x-v", "v12"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"x-v", "xv12"}})));
  EXPECT_FALSE(m.matches(makeHeaders({{"x-v", "v12x"}})));
  EXPECT_FALSE(m.matches(makeHeaders({})));
}

TEST(HeaderMatcherTest, Present) {
  HeaderMatcher present = header(R"(name: "x-a" present_match: true)");
  EXPECT_TRUE(present.matches(makeHeaders({{"x-a", ""}})));
  EXPECT_FALSE(present.matches(makeHeaders({{"x-b", "1"}})));
  // Envoy: present_match: false requires the header to be absent.
  HeaderMatcher absent = header(R"(name: "x-a" present_match: false)");
  EXPECT_FALSE(absent.matches(makeHeaders({{"x-a", "1"}})));
  EXPECT_TRUE(absent.matches(makeHeaders({})));
  // Only a name: present.
  HeaderMatcher name_only = header(R"(name: "x-a")");
  EXPECT_TRUE(name_only.matches(makeHeaders({{"x-a", "1"}})));
  EXPECT_FALSE(name_only.matches(makeHeaders({})));
}

// As Envoy (and gRPC's xDS client): an inverted value matcher needs the header to be there.
// Regression: an absent header matched "not prod", so configs taken from Envoy sent requests
// without the header to another route.
TEST(HeaderMatcherTest, InvertFlipsAPresentHeaderAndRefusesAnAbsentOne) {
  HeaderMatcher m = header(R"(name: "x-env" exact_match: "prod" invert_match: true)");
  EXPECT_FALSE(m.matches(makeHeaders({{"x-env", "prod"}})));
  EXPECT_TRUE(m.matches(makeHeaders({{"x-env", "dev"}})));
  EXPECT_FALSE(m.matches(makeHeaders({})));
  HeaderMatcher not_absent = header(R"(name: "x-a" present_match: false invert_match: true)");
  EXPECT_FALSE(not_absent.matches(makeHeaders({})));
  EXPECT_TRUE(not_absent.matches(makeHeaders({{"x-a", "1"}})));
  HeaderMatcher not_present = header(R"(name: "x-a" present_match: true invert_match: true)");
  EXPECT_TRUE(not_present.matches(makeHeaders({})));
  EXPECT_FALSE(not_present.matches(makeHeaders({{"x-a", "1"}})));
  HeaderMatcher not_regex = header(R"(name: "x-a" safe_regex_match: "[0-9]+" invert_match: true)");
  EXPECT_TRUE(not_regex.matches(makeHeaders({{"x-a", "abc"}})));
  EXPECT_FALSE(not_regex.matches(makeHeaders({{"x-a", "123"}})));
}

TEST(HeaderMatcherTest, RepeatedHeaderIsJoinedWithComma) {
  http::HeaderMap headers = makeHeaders({{"x-a", "1"}, {"x-b", "z"}, {"x-a", "2"}});
  EXPECT_TRUE(header(R"(name: "x-a" exact_match: "1,2")").matches(headers));
  EXPECT_FALSE(header(R"(name: "x-a" exact_match: "1")").matches(headers));
  EXPECT_TRUE(header(R"(name: "x-a" suffix_match: ",2")").matches(headers));
  // An empty first value still takes its comma: "X-A:" then "X-A: b" is ",b", not "b".
  http::HeaderMap empty_first = makeHeaders({{"x-a", ""}, {"x-a", "b"}});
  EXPECT_FALSE(header(R"(name: "x-a" exact_match: "b")").matches(empty_first));
  EXPECT_TRUE(header(R"(name: "x-a" exact_match: ",b")").matches(empty_first));
}

TEST(FindQueryParameterTest, Forms) {
  absl::string_view v;
  EXPECT_TRUE(findQueryParameter("a=1&b", "a", &v));
  EXPECT_EQ(v, "1");
  EXPECT_TRUE(findQueryParameter("a=1&b", "b", &v));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(findQueryParameter("a=1&b", "c", &v));
  EXPECT_FALSE(findQueryParameter("", "a", &v));
  EXPECT_TRUE(findQueryParameter("a=1&a=2", "a", &v));
  EXPECT_EQ(v, "1");  // first wins
  EXPECT_TRUE(findQueryParameter("&&x=3&", "x", &v));
  EXPECT_EQ(v, "3");
  EXPECT_TRUE(findQueryParameter("a=b=c", "a", &v));
  EXPECT_EQ(v, "b=c");
  EXPECT_TRUE(findQueryParameter("k=", "k", &v));
  EXPECT_EQ(v, "");
  EXPECT_FALSE(findQueryParameter("ab=1&A=2", "a", &v));  // whole, case-sensitive names
}

TEST(QueryParameterMatcherTest, Kinds) {
  QueryParameterMatcher exact = query(R"(name: "debug" exact_match: "1")");
  EXPECT_TRUE(exact.matches("x=2&debug=1"));
  EXPECT_FALSE(exact.matches("debug=10"));
  EXPECT_FALSE(exact.matches("debug"));
  EXPECT_FALSE(exact.matches(""));

  QueryParameterMatcher prefix = query(R"(name: "v" prefix_match: "2.")");
  EXPECT_TRUE(prefix.matches("v=2.1"));
  EXPECT_FALSE(prefix.matches("v=3.1"));

  QueryParameterMatcher regex = query(R"(name: "id" safe_regex_match: "[0-9]{3}")");
  EXPECT_TRUE(regex.matches("id=123"));
  EXPECT_FALSE(regex.matches("id=1234"));
  EXPECT_FALSE(regex.matches("other=123"));

  QueryParameterMatcher present = query(R"(name: "b" present_match: true)");
  EXPECT_TRUE(present.matches("a=1&b"));
  EXPECT_TRUE(present.matches("b=2"));
  EXPECT_FALSE(present.matches("a=1"));

  QueryParameterMatcher absent = query(R"(name: "b" present_match: false)");
  EXPECT_FALSE(absent.matches("a=1&b"));
  EXPECT_TRUE(absent.matches("a=1"));

  QueryParameterMatcher name_only = query(R"(name: "b")");
  EXPECT_TRUE(name_only.matches("b"));
  EXPECT_FALSE(name_only.matches("bb"));
}

TEST(PathMatcherTest, Prefix) {
  PathMatcher m = path(R"(prefix: "/api/")");
  EXPECT_TRUE(m.matches("/api/"));
  EXPECT_TRUE(m.matches("/api/users"));
  EXPECT_FALSE(m.matches("/api"));
  EXPECT_FALSE(m.matches("/API/users"));
  EXPECT_EQ(m.indexKey(), "/api/");
  EXPECT_FALSE(m.indexKeyFolded());
  EXPECT_TRUE(path(R"(prefix: "/")").matches("/anything"));
}

TEST(PathMatcherTest, PrefixCaseInsensitive) {
  PathMatcher m = path(R"(prefix: "/Api/" case_sensitive: false)");
  EXPECT_TRUE(m.matches("/API/users"));
  EXPECT_TRUE(m.matches("/api/users"));
  EXPECT_FALSE(m.matches("/apx/users"));
  EXPECT_EQ(m.indexKey(), "/api/");
  EXPECT_TRUE(m.indexKeyFolded());
  // Explicit true behaves like the default.
  EXPECT_FALSE(path(R"(prefix: "/Api/" case_sensitive: true)").matches("/api/"));
}

TEST(PathMatcherTest, Exact) {
  PathMatcher m = path(R"(path: "/health")");
  EXPECT_TRUE(m.matches("/health"));
  EXPECT_FALSE(m.matches("/health/"));
  EXPECT_FALSE(m.matches("/healt"));
  EXPECT_FALSE(m.matches("/HEALTH"));
  EXPECT_TRUE(path(R"(path: "/Health" case_sensitive: false)").matches("/hEALTH"));
}

TEST(PathMatcherTest, RegexIsAFullMatch) {
  PathMatcher m = path(R"(safe_regex: "/users/[0-9]+")");
  EXPECT_TRUE(m.matches("/users/42"));
  EXPECT_FALSE(m.matches("/users/42/x"));
  EXPECT_FALSE(m.matches("/v1/users/42"));
  EXPECT_FALSE(m.matches("/USERS/42"));
  EXPECT_EQ(m.indexKey(), "/users/");
  EXPECT_FALSE(m.indexKeyFolded());
}

TEST(PathMatcherTest, RegexCaseInsensitive) {
  PathMatcher m = path(R"(safe_regex: "/users/[a-z]+" case_sensitive: false)");
  EXPECT_TRUE(m.matches("/Users/BOB"));
  EXPECT_EQ(m.indexKey(), "/");  // "/USERS/A".."/users/z" share only "/"
}

TEST(PathMatcherTest, RegexIndexKeyIsEmptyWhenUnconstrained) {
  EXPECT_EQ(path(R"(safe_regex: ".*")").indexKey(), "");
  EXPECT_EQ(path(R"(safe_regex: "(/a|/b)/x")").indexKey(), "/");
}

TEST(PathMatcherTest, Errors) {
  auto none = PathMatcher::create(config::v1::RouteMatch(), "r.match");
  EXPECT_EQ(none.status().message(),
            "r.match: path_specifier must be set (prefix, path or safe_regex)");
  auto bad =
      PathMatcher::create(parseProto<config::v1::RouteMatch>(R"(safe_regex: "(abc")"), "r.match");
  EXPECT_EQ(bad.status().message(), "r.match.safe_regex: invalid RE2: missing ): (abc");
}

TEST(MatcherErrorsTest, HeaderAndQuery) {
  auto empty = HeaderMatcher::create(config::v1::HeaderMatcher(), "h");
  EXPECT_EQ(empty.status().message(), "h.name: header name must not be empty");
  auto bad_name =
      HeaderMatcher::create(parseProto<config::v1::HeaderMatcher>(R"(name: "x y")"), "h");
  EXPECT_EQ(bad_name.status().message(), "h.name: invalid character 0x20 in header name \"x y\"");
  auto pseudo =
      HeaderMatcher::create(parseProto<config::v1::HeaderMatcher>(R"(name: ":method")"), "h");
  EXPECT_FALSE(pseudo.ok());
  auto bad_re = HeaderMatcher::create(
      parseProto<config::v1::HeaderMatcher>(R"(name: "a" safe_regex_match: "[")"), "h");
  EXPECT_EQ(bad_re.status().message(), "h.safe_regex_match: invalid RE2: missing ]: [");
  auto q_empty = QueryParameterMatcher::create(config::v1::QueryParameterMatcher(), "q");
  EXPECT_EQ(q_empty.status().message(), "q.name: must not be empty");
  auto q_re = QueryParameterMatcher::create(
      parseProto<config::v1::QueryParameterMatcher>(R"(name: "a" safe_regex_match: "a{2,1}")"),
      "q");
  EXPECT_TRUE(absl::StartsWith(q_re.status().message(), "q.safe_regex_match: invalid RE2: "))
      << q_re.status();
}

}  // namespace
}  // namespace portico::router
