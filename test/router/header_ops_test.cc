#include "source/router/header_ops.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "test/router/test_util.h"

namespace portico::router {
namespace {

using ::testing::HasSubstr;

using test::makeHeaders;
using test::parseProto;

// Ops of one level, from a text VirtualHost holding only header fields.
HeaderOpList ops(absl::string_view text) {
  auto vh = parseProto<config::v1::VirtualHost>(text);
  auto list =
      buildHeaderOps(vh.request_headers_to_add(), vh.request_headers_to_remove(), "vh", "request_");
  EXPECT_TRUE(list.ok()) << list.status();
  return list.ok() ? *list : HeaderOpList();
}

// Levels, most specific first, chained as a route table chains them.
HeaderOpLevelSharedPtr levels(std::vector<HeaderOpList> most_specific_first) {
  HeaderOpLevelSharedPtr chain;
  for (auto it = most_specific_first.rbegin(); it != most_specific_first.rend(); ++it) {
    chain = layerHeaderOps(std::move(*it), chain);
  }
  return chain;
}

std::string opsError(absl::string_view text) {
  auto vh = parseProto<config::v1::VirtualHost>(text);
  auto list = buildHeaderOps(vh.response_headers_to_add(), vh.response_headers_to_remove(), "vh",
                             "response_");
  EXPECT_FALSE(list.ok());
  return list.ok() ? "" : std::string(list.status().message());
}

std::vector<std::string> lines(const http::HeaderMap& headers) {
  std::vector<std::string> out;
  for (const http::HeaderEntry& e : headers) out.push_back(e.name + ": " + e.value);
  return out;
}

TEST(HeaderOpsTest, BuildLowerCasesNamesAndRemovesBeforeAdding) {
  HeaderOpList list = ops(R"(
    request_headers_to_add { key: "X-Set" value: "1" }
    request_headers_to_add { key: "x-app" value: "2" append: true }
    request_headers_to_remove: "X-Gone")");
  ASSERT_EQ(list.size(), 3u);
  EXPECT_EQ(list[0].kind, HeaderOp::Kind::kRemove);
  EXPECT_EQ(list[0].name, "x-gone");
  EXPECT_EQ(list[1].kind, HeaderOp::Kind::kSet);
  EXPECT_EQ(list[1].name, "x-set");
  EXPECT_EQ(list[2].kind, HeaderOp::Kind::kAppend);
}

TEST(HeaderOpsTest, ApplySetAppendRemove) {
  http::HeaderMap headers = makeHeaders({{"x-set", "old"},
                                         {"x-set", "old2"},
                                         {"x-app", "a"},
                                         {"x-gone", "1"},
                                         {"keep", "k"},
                                         {"x-gone", "2"}});
  applyHeaderOps(ops(R"(
    request_headers_to_add { key: "x-set" value: "new" }
    request_headers_to_add { key: "x-app" value: "b" append: true }
    request_headers_to_remove: "x-gone")"),
                 headers);
  EXPECT_EQ(lines(headers),
            (std::vector<std::string>{"x-app: a", "keep: k", "x-set: new", "x-app: b"}));
}

TEST(HeaderOpsTest, MoreSpecificSetWins) {
  HeaderOpList route = ops(R"(request_headers_to_add { key: "x-v" value: "route" })");
  HeaderOpList vhost = ops(R"(request_headers_to_add { key: "x-v" value: "vhost" }
                              request_headers_to_add { key: "x-w" value: "vhost" })");
  HeaderOpList config = ops(R"(request_headers_to_add { key: "x-v" value: "config" }
                               request_headers_to_add { key: "x-w" value: "config" }
                               request_headers_to_add { key: "x-z" value: "config" })");
  http::HeaderMap headers = makeHeaders({{"x-v", "client"}});
  applyHeaderOps(levels({route, vhost, config}).get(), headers);
  EXPECT_EQ(lines(headers), (std::vector<std::string>{"x-v: route", "x-w: vhost", "x-z: config"}));
}

TEST(HeaderOpsTest, MoreSpecificRemoveWins) {
  HeaderOpList route = ops(R"(request_headers_to_remove: "x-v")");
  HeaderOpList config = ops(R"(request_headers_to_add { key: "x-v" value: "config" }
                               request_headers_to_add { key: "x-v" value: "more" append: true })");
  http::HeaderMap headers = makeHeaders({{"x-v", "client"}});
  applyHeaderOps(levels({route, config}).get(), headers);
  EXPECT_TRUE(headers.empty());
}

TEST(HeaderOpsTest, LessSpecificRemoveDoesNotUndoMoreSpecificSet) {
  HeaderOpList route = ops(R"(request_headers_to_add { key: "x-v" value: "route" })");
  HeaderOpList config = ops(R"(request_headers_to_remove: "x-v")");
  http::HeaderMap headers;
  applyHeaderOps(levels({route, config}).get(), headers);
  EXPECT_EQ(lines(headers), (std::vector<std::string>{"x-v: route"}));
}

TEST(HeaderOpsTest, AppendsAccumulateMostSpecificFirst) {
  HeaderOpList route = ops(R"(request_headers_to_add { key: "x-t" value: "r" append: true })");
  HeaderOpList vhost = ops(R"(request_headers_to_add { key: "x-t" value: "v" append: true })");
  HeaderOpList config = ops(R"(request_headers_to_add { key: "x-t" value: "c" append: true })");
  http::HeaderMap headers = makeHeaders({{"x-t", "client"}});
  applyHeaderOps(levels({route, vhost, config}).get(), headers);
  EXPECT_EQ(lines(headers),
            (std::vector<std::string>{"x-t: client", "x-t: r", "x-t: v", "x-t: c"}));
}

TEST(HeaderOpsTest, AppendDoesNotOwnTheName) {
  // A route append leaves the name to less specific levels, whose set replaces every line.
  HeaderOpList route = ops(R"(request_headers_to_add { key: "x-t" value: "r" append: true })");
  HeaderOpList config = ops(R"(request_headers_to_add { key: "x-t" value: "c" })");
  http::HeaderMap headers;
  applyHeaderOps(levels({route, config}).get(), headers);
  EXPECT_EQ(lines(headers), (std::vector<std::string>{"x-t: c"}));
}

TEST(HeaderOpsTest, LevelsAreSharedNotCopied) {
  // Regression (reviewer): each route with ops of its own held a copy of every inherited op,
  // N x M entries. Now a level is one object, shared.
  HeaderOpLevelSharedPtr config =
      levels({ops(R"(request_headers_to_add { key: "x-c" value: "c" })")});
  HeaderOpLevelSharedPtr a =
      layerHeaderOps(ops(R"(request_headers_to_add { key: "x-a" value: "a" })"), config);
  HeaderOpLevelSharedPtr b =
      layerHeaderOps(ops(R"(request_headers_to_add { key: "x-c" value: "b" })"), config);
  EXPECT_EQ(a->less_specific.get(), config.get());
  EXPECT_EQ(b->less_specific.get(), config.get());
  EXPECT_EQ(layerHeaderOps({}, config).get(), config.get());  // a level without ops adds none
  http::HeaderMap headers;
  applyHeaderOps(b.get(), headers);
  EXPECT_EQ(lines(headers), (std::vector<std::string>{"x-c: b"}));
  applyHeaderOps(nullptr, headers);  // no ops anywhere
  EXPECT_EQ(lines(headers), (std::vector<std::string>{"x-c: b"}));
}

TEST(HeaderOpsTest, AtMostAThousandPerLevel) {
  std::string text;
  for (int i = 0; i < 1001; i++)
    absl::StrAppend(&text, "response_headers_to_remove: \"x-", i, "\" ");
  EXPECT_EQ(opsError(text),
            "vh: 1001 entries in response_headers_to_add and response_headers_to_remove; at most "
            "1000 per level");
}

TEST(HeaderOpsTest, Errors) {
  EXPECT_EQ(opsError(R"(response_headers_to_add { key: "ok" } response_headers_to_add { })"),
            "vh.response_headers_to_add[1].key: header name must not be empty");
  EXPECT_EQ(opsError(R"(response_headers_to_add { key: "bad name" })"),
            "vh.response_headers_to_add[0].key: invalid character 0x20 in header name "
            "\"bad name\"");
  EXPECT_EQ(opsError(R"(response_headers_to_add { key: "x-a" value: "a\r\nx-evil: 1" })"),
            "vh.response_headers_to_add[0].value: header value must not contain control "
            "characters other than HTAB (CR, LF, NUL, DEL, ...)");
  // Any control byte but HTAB: a strict client (ours) would refuse every response carrying it.
  for (const char* bad : {"a\\x7fb", "a\\001b", "a\\033[31m"}) {
    EXPECT_THAT(
        opsError(absl::StrCat(R"(response_headers_to_add { key: "x-a" value: ")", bad, R"(" })")),
        HasSubstr("must not contain control characters"))
        << bad;
  }
  EXPECT_EQ(opsError(R"(response_headers_to_add { key: "x-a" value: "tab\tok \xc3\xa9" }
                        response_headers_to_add { })"),
            "vh.response_headers_to_add[1].key: header name must not be empty");
  EXPECT_EQ(opsError(R"(response_headers_to_remove: "ok" response_headers_to_remove: "a:b")"),
            "vh.response_headers_to_remove[1]: invalid character 0x3a in header name \"a:b\"");
  EXPECT_EQ(opsError(R"(response_headers_to_remove: "")"),
            "vh.response_headers_to_remove[0]: header name must not be empty");
  // A route editing body framing would desynchronise the peer (request smuggling upstream).
  EXPECT_EQ(opsError(R"(response_headers_to_add { key: "Content-Length" value: "0" })"),
            "vh.response_headers_to_add[0].key: header \"content-length\" frames the message "
            "body; routes cannot add, set or remove it");
  EXPECT_EQ(
      opsError(
          R"(response_headers_to_remove: "x-a" response_headers_to_remove: "transfer-encoding")"),
      "vh.response_headers_to_remove[1]: header \"transfer-encoding\" frames the message "
      "body; routes cannot add, set or remove it");
}

// Regression (reviewer): ops could add "connection: close" (the upstream then closed after
// every response) or "upgrade" (answered 101, which the proxy turns into 502).
TEST(HeaderOpsTest, OpsCannotAddHopByHopHeaders) {
  for (const char* name : {"connection", "Upgrade", "keep-alive", "te", "proxy-connection",
                           "trailer"}) {
    EXPECT_THAT(opsError(absl::StrCat(R"(response_headers_to_add { key: ")", name,
                                      R"(" value: "close" })")),
                ::testing::HasSubstr("is hop-by-hop (it describes one connection); routes "
                                     "cannot add or set it"))
        << name;
  }
  auto vh = parseProto<config::v1::VirtualHost>(R"(response_headers_to_remove: "upgrade")");
  EXPECT_TRUE(buildHeaderOps(vh.response_headers_to_add(), vh.response_headers_to_remove(), "vh",
                             "response_")
                  .ok());  // removing one is harmless
}

// Regression: request ops could remove Host (an HTTP/1.0 request then went upstream as
// HTTP/1.1 without one), append a second Host, or set one that is not an authority.
TEST(HeaderOpsTest, RequestOpsCannotTouchHost) {
  auto requestError = [](absl::string_view text) {
    auto vh = parseProto<config::v1::VirtualHost>(text);
    auto list = buildHeaderOps(vh.request_headers_to_add(), vh.request_headers_to_remove(), "vh",
                               "request_");
    return list.ok() ? std::string() : std::string(list.status().message());
  };
  EXPECT_EQ(requestError(R"(request_headers_to_remove: "Host")"),
            "vh.request_headers_to_remove[0]: request header ops cannot change \"host\"; use the "
            "route's host_rewrite_literal");
  EXPECT_EQ(requestError(R"(request_headers_to_add { key: "host" value: "a" append: true })"),
            "vh.request_headers_to_add[0].key: request header ops cannot change \"host\"; use "
            "the route's host_rewrite_literal");
  EXPECT_NE(requestError(R"(request_headers_to_add { key: "host" value: "a/b" })"), "");
  // A response has no Host to protect.
  auto vh = parseProto<config::v1::VirtualHost>(R"(response_headers_to_add { key: "host" })");
  EXPECT_TRUE(buildHeaderOps(vh.response_headers_to_add(), vh.response_headers_to_remove(), "vh",
                             "response_")
                  .ok());
}

}  // namespace
}  // namespace portico::router
