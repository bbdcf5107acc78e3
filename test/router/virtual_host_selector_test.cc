#include "source/router/virtual_host_selector.h"

#include <string>

#include "gtest/gtest.h"
#include "test/router/test_util.h"

namespace portico::router {
namespace {

using test::parseProto;

// One virtual host per entry of `domain_lists`, each a text list of `domains: "..."`.
VirtualHostSelector selector(std::initializer_list<absl::string_view> domain_lists) {
  std::string text;
  for (absl::string_view domains : domain_lists) {
    text += "virtual_hosts { " + std::string(domains) + " } ";
  }
  auto config = parseProto<config::v1::RouteConfiguration>(text);
  auto s = VirtualHostSelector::create(config.virtual_hosts(), "");
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(*s);
}

std::string error(absl::string_view text) {
  auto config = parseProto<config::v1::RouteConfiguration>(text);
  auto s = VirtualHostSelector::create(config.virtual_hosts(), "rc");
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : std::string(s.status().message());
}

TEST(StripPortTest, Forms) {
  EXPECT_EQ(stripPort("example.com"), "example.com");
  EXPECT_EQ(stripPort("example.com:8080"), "example.com");
  EXPECT_EQ(stripPort("example.com:"), "example.com");
  EXPECT_EQ(stripPort("example.com:80a"), "example.com:80a");
  EXPECT_EQ(stripPort("[::1]:8080"), "[::1]");
  EXPECT_EQ(stripPort("[::1]"), "[::1]");
  EXPECT_EQ(stripPort("::1"), "::1");
  EXPECT_EQ(stripPort(""), "");
}

TEST(VirtualHostSelectorTest, ExactIgnoresCaseAndPort) {
  VirtualHostSelector s = selector({R"(domains: "a.example.com")", R"(domains: "B.example.com")"});
  EXPECT_EQ(s.select("a.example.com"), 0);
  EXPECT_EQ(s.select("A.Example.COM"), 0);
  EXPECT_EQ(s.select("a.example.com:8080"), 0);
  EXPECT_EQ(s.select("b.example.com"), 1);
  EXPECT_EQ(s.select("c.example.com"), -1);
  EXPECT_EQ(s.select(""), -1);
}

TEST(VirtualHostSelectorTest, ExactWithPortIsTriedFirst) {
  VirtualHostSelector s = selector({R"(domains: "example.com")", R"(domains: "example.com:8080")"});
  EXPECT_EQ(s.select("example.com:8080"), 1);
  EXPECT_EQ(s.select("EXAMPLE.com:8080"), 1);
  EXPECT_EQ(s.select("example.com:9090"), 0);
  EXPECT_EQ(s.select("example.com"), 0);
}

TEST(VirtualHostSelectorTest, Ipv6Literal) {
  VirtualHostSelector s = selector({R"(domains: "[::1]")"});
  EXPECT_EQ(s.select("[::1]:8080"), 0);
  EXPECT_EQ(s.select("[::1]"), 0);
}

TEST(VirtualHostSelectorTest, PrecedenceExactSuffixPrefixAny) {
  VirtualHostSelector s = selector({
      R"(domains: "*")",                 // 0
      R"(domains: "api.*")",             // 1
      R"(domains: "*.example.com")",     // 2
      R"(domains: "api.example.com")",   // 3
      R"(domains: "*.api.example.com")"  // 4
  });
  EXPECT_EQ(s.select("api.example.com"), 3);     // exact beats every wildcard
  EXPECT_EQ(s.select("v1.api.example.com"), 4);  // longest suffix
  EXPECT_EQ(s.select("www.example.com"), 2);
  EXPECT_EQ(s.select("api.example.org"), 1);  // prefix after suffix
  EXPECT_EQ(s.select("API.other:443"), 1);
  EXPECT_EQ(s.select("other.org"), 0);  // "*" last
  EXPECT_EQ(s.select(""), 0);
}

TEST(VirtualHostSelectorTest, SuffixBeatsPrefixEvenWhenShorter) {
  VirtualHostSelector s = selector({R"(domains: "foo.example.*")", R"(domains: "*.com")"});
  EXPECT_EQ(s.select("foo.example.com"), 1);
}

TEST(VirtualHostSelectorTest, LongestPrefixWins) {
  VirtualHostSelector s = selector({R"(domains: "api.*")", R"(domains: "api.v2.*")"});
  EXPECT_EQ(s.select("api.v2.example.com"), 1);
  EXPECT_EQ(s.select("api.v3.example.com"), 0);
}

TEST(VirtualHostSelectorTest, WildcardMustMatchAtLeastOneCharacter) {
  VirtualHostSelector s = selector({R"(domains: "*.example.com" domains: "www.*")"});
  EXPECT_EQ(s.select("example.com"), -1);
  EXPECT_EQ(s.select(".example.com"), -1);
  EXPECT_EQ(s.select("a.example.com"), 0);
  EXPECT_EQ(s.select("www."), -1);
  EXPECT_EQ(s.select("www.a"), 0);
}

TEST(VirtualHostSelectorTest, SuffixWildcardWithoutDot) {
  VirtualHostSelector s = selector({R"(domains: "*-bar.foo.com")"});
  EXPECT_EQ(s.select("baz-bar.foo.com"), 0);
  EXPECT_EQ(s.select("baz.foo.com"), -1);
}

TEST(VirtualHostSelectorTest, WildcardsIgnoreThePort) {
  VirtualHostSelector s = selector({R"(domains: "*.example.com")", R"(domains: "api.*")"});
  EXPECT_EQ(s.select("a.example.com:8443"), 0);
  EXPECT_EQ(s.select("api.internal:8080"), 1);
}

TEST(VirtualHostSelectorTest, LongHostUsesHeapBuffer) {
  std::string host(600, 'a');
  host += ".example.com";
  VirtualHostSelector s = selector({R"(domains: "*.EXAMPLE.com")"});
  for (char& c : host) c = c == 'a' ? 'A' : c;
  EXPECT_EQ(s.select(host), 0);
}

TEST(VirtualHostSelectorTest, Errors) {
  EXPECT_EQ(error(R"(virtual_hosts { domains: "a" } virtual_hosts { name: "x" })"),
            "rc.virtual_hosts[1].domains: must not be empty");
  EXPECT_EQ(error(R"(virtual_hosts { domains: "a" domains: "" })"),
            "rc.virtual_hosts[0].domains[1]: must not be empty");
  EXPECT_EQ(error(R"(virtual_hosts { domains: "a.com" }
                     virtual_hosts { domains: "b.com" domains: "A.com" })"),
            "rc.virtual_hosts[1].domains[1]: duplicate domain \"A.com\" (also in "
            "rc.virtual_hosts[0].domains[0])");
  EXPECT_EQ(error(R"(virtual_hosts { domains: "*" domains: "*" })"),
            "rc.virtual_hosts[0].domains[1]: duplicate domain \"*\" (also in "
            "rc.virtual_hosts[0].domains[0])");
  EXPECT_EQ(error(R"(virtual_hosts { domains: "a.*.com" })"),
            "rc.virtual_hosts[0].domains[0]: '*' is only allowed once, as the first or last "
            "character");
  EXPECT_EQ(error(R"(virtual_hosts { domains: "*.a.*" })"),
            "rc.virtual_hosts[0].domains[0]: '*' is only allowed once, as the first or last "
            "character");
  EXPECT_EQ(error(R"(virtual_hosts { domains: "*.a.com:80" })"),
            "rc.virtual_hosts[0].domains[0]: a wildcard domain must not contain a port");
  // Regression (reviewer): a prefix wildcard with a port was accepted and never matched (the
  // port is off the Host before wildcards are tried).
  EXPECT_EQ(error(R"(virtual_hosts { domains: "example.com:*" })"),
            "rc.virtual_hosts[0].domains[0]: a wildcard domain must not contain a port");
}

}  // namespace
}  // namespace portico::router
