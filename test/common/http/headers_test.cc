#include "source/common/http/headers.h"

#include <chrono>
#include <cstdint>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/http/header_map.h"

namespace portico::http {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

HeaderMap headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  HeaderMap h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return h;
}

std::vector<std::pair<std::string, std::string>> entries(const HeaderMap& h) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const HeaderEntry& e : h) out.emplace_back(e.name, e.value);
  return out;
}

TEST(RemoveHopByHopHeadersTest, RemovesTheFixedHopByHopFieldsAndKeepsTheRest) {
  HeaderMap h = headersOf({{"Host", "a"},
                           {"Connection", "keep-alive"},
                           {"Keep-Alive", "timeout=5"},
                           {"Proxy-Connection", "keep-alive"},
                           {"TE", "trailers"},
                           {"Transfer-Encoding", "chunked"},
                           {"Upgrade", "websocket"},
                           {"Trailer", "x-checksum"},
                           {"Content-Length", "3"},
                           {"X-A", "1"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h),
              ElementsAre(Pair("host", "a"), Pair("content-length", "3"), Pair("x-a", "1")));
}

TEST(RemoveHopByHopHeadersTest, RemovesEveryCopyOfARepeatedField) {
  HeaderMap h = headersOf({{"te", "trailers"}, {"x-a", "1"}, {"TE", "gzip"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h), ElementsAre(Pair("x-a", "1")));
}

TEST(RemoveHopByHopHeadersTest, RemovesFieldsNamedInConnection) {
  HeaderMap h = headersOf({{"connection", "close, X-Secret ,x-other,,"},
                           {"x-secret", "s"},
                           {"X-Other", "o"},
                           {"x-kept", "k"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h), ElementsAre(Pair("x-kept", "k")));
}

TEST(RemoveHopByHopHeadersTest, ConnectionNamesAreCaseInsensitive) {
  HeaderMap h = headersOf({{"connection", "X-SECRET"}, {"x-secret", "s"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h), IsEmpty());
}

TEST(RemoveHopByHopHeadersTest, ConnectionCannotRemoveHost) {
  HeaderMap h = headersOf({{"host", "a"}, {"connection", "Host"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h), ElementsAre(Pair("host", "a")));
}

// Connection is a list-valued field: several Connection lines are one list (RFC 9110 5.3).
// Regression (was a bug) in removeHopByHopHeaders(): only the first Connection field's tokens are
// read (headers.get("connection")), so "Connection: keep-alive" + "Connection: x-secret" forwards
// x-secret upstream although the client marked it hop-by-hop.
TEST(RemoveHopByHopHeadersTest, FieldsNamedInEveryConnectionLineAreRemoved) {
  HeaderMap h = headersOf({{"connection", "keep-alive"},
                           {"connection", "x-secret"},
                           {"x-secret", "s"},
                           {"x-kept", "k"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h), ElementsAre(Pair("x-kept", "k")));
}

// Regression (reviewer): every field was compared with every listed token, tokens x fields
// compares (a head limit raised to a few hundred KiB made that seconds of CPU per request).
// Now one set look-up per field: 60,000 tokens and 4,000 fields take milliseconds here, the
// old code about a second.
TEST(RemoveHopByHopHeadersTest, AHugeConnectionListCostsOneLookUpPerField) {
  std::string tokens;
  for (int i = 0; i < 60000; i++) absl::StrAppend(&tokens, i == 0 ? "" : ",", "X-F", i % 5000);
  HeaderMap h;
  h.add("connection", tokens);
  for (int i = 0; i < 4000; i++) h.add(absl::StrCat("x-f", 2000 + i), "v");  // 3,000 listed
  const auto start = std::chrono::steady_clock::now();
  removeHopByHopHeaders(h);
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_EQ(h.size(), 1000u) << "x-f5000..x-f5999 are not listed";
  EXPECT_EQ(h[0].name, "x-f5000");
  EXPECT_EQ(h[999].name, "x-f5999");
  EXPECT_LT(took, std::chrono::milliseconds(500)) << std::chrono::duration<double>(took).count();
}

TEST(RemoveHopByHopHeadersTest, EndToEndOnlyHeadersAreUntouched) {
  HeaderMap h = headersOf({{"host", "a"}, {"x-b", "2"}, {"x-a", "1"}});
  removeHopByHopHeaders(h);
  EXPECT_THAT(entries(h), ElementsAre(Pair("host", "a"), Pair("x-b", "2"), Pair("x-a", "1")));
}

// Returns the values in order, then repeats the last one.
std::function<uint64_t()> sequence(std::vector<uint64_t> values) {
  auto i = std::make_shared<size_t>(0);
  return [values, i] { return values[std::min(values.size() - 1, (*i)++)]; };
}

TEST(KeepAliveTimeoutTest, ReadsTheTimeoutParameter) {
  using std::chrono::seconds;
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "timeout=5"}})), seconds(5));
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "max=100, Timeout=15"}})), seconds(15));
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", " timeout=0 ,max=1"}})), seconds(0));
}

TEST(KeepAliveTimeoutTest, NothingWithoutAValidTimeout) {
  EXPECT_EQ(keepAliveTimeout(headersOf({{"connection", "keep-alive"}})), std::nullopt);
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "max=100"}})), std::nullopt);
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "timeout="}})), std::nullopt);
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "timeout=5s"}})), std::nullopt);
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "timeout=-1"}})), std::nullopt);
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "timeout=99999999999"}})), std::nullopt);
  EXPECT_EQ(keepAliveTimeout(headersOf({{"keep-alive", "timeouts=5"}})), std::nullopt);
}

TEST(GenerateRequestIdTest, FormatsAVersion4Uuid) {
  EXPECT_EQ(generateRequestId(sequence({0x0123456789abcdefULL, 0xfedcba9876543210ULL})).view(),
            "01234567-89ab-4def-bedc-ba9876543210");
  EXPECT_EQ(generateRequestId(sequence({0})).view(), "00000000-0000-4000-8000-000000000000");
  EXPECT_EQ(generateRequestId(sequence({~0ULL})).view(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
}

TEST(GenerateRequestIdTest, RandomIdsMatchTheUuidV4PatternAndDiffer) {
  const std::regex uuid_v4("^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$");
  std::mt19937_64 rng(7);
  std::function<uint64_t()> random = [&rng] { return rng(); };
  std::set<std::string> seen;
  for (int i = 0; i < 1000; i++) {
    const std::string id(generateRequestId(random).view());
    ASSERT_TRUE(std::regex_match(id, uuid_v4)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

// generateRequestId(zeros) is this id.
constexpr const char* kZeroId = "00000000-0000-4000-8000-000000000000";

TEST(SetForwardingHeadersTest, AddsAllThreeToARequestWithoutThem) {
  HeaderMap h = headersOf({{"host", "a"}});
  setForwardingHeaders(h, "10.0.0.1", "http", sequence({0}));
  EXPECT_THAT(entries(h),
              ElementsAre(Pair("host", "a"), Pair("x-forwarded-for", "10.0.0.1"),
                          Pair("x-forwarded-proto", "http"), Pair("x-request-id", kZeroId)));
}

TEST(SetForwardingHeadersTest, EditsSingleFieldsInPlace) {
  HeaderMap h = headersOf({{"X-Forwarded-Proto", "https"},
                           {"x-forwarded-for", "192.0.2.1"},
                           {"host", "a"},
                           {"x-request-id", ""}});
  setForwardingHeaders(h, "10.0.0.1", "http", sequence({0}));
  EXPECT_THAT(entries(h), ElementsAre(Pair("x-forwarded-proto", "http"),
                                      Pair("x-forwarded-for", "192.0.2.1, 10.0.0.1"),
                                      Pair("host", "a"), Pair("x-request-id", kZeroId)));
}

TEST(SetForwardingHeadersTest, AnEmptyForwardedForIsReplaced) {
  HeaderMap h = headersOf({{"x-forwarded-for", ""}});
  setForwardingHeaders(h, "10.0.0.1", "http", sequence({0}));
  EXPECT_EQ(*h.get("x-forwarded-for"), "10.0.0.1");
}

TEST(SetForwardingHeadersTest, RepeatedFieldsBecomeOneEveryHopKept) {
  HeaderMap h = headersOf({{"x-forwarded-for", "192.0.2.1"},
                           {"x-forwarded-proto", "https"},
                           {"x-forwarded-for", ""},
                           {"x-forwarded-proto", "ftp"},
                           {"x-forwarded-for", "198.51.100.2, 192.0.2.3"},
                           {"x-request-id", ""},
                           {"x-request-id", "second"}});
  setForwardingHeaders(h, "10.0.0.1", "http", sequence({0}));
  EXPECT_THAT(entries(h),
              ElementsAre(Pair("x-forwarded-for", "192.0.2.1, 198.51.100.2, 192.0.2.3, 10.0.0.1"),
                          Pair("x-forwarded-proto", "http"), Pair("x-request-id", kZeroId)));
}

// A client's id is kept, and several become the first (which the access log shows): before,
// all were forwarded, and an upstream reading the last knew the request by another id.
TEST(SetForwardingHeadersTest, AClientRequestIdIsKeptOnce) {
  HeaderMap h = headersOf({{"x-request-id", "client-42"}, {"x-request-id", "other"}});
  setForwardingHeaders(h, "10.0.0.1", "http", sequence({0}));
  EXPECT_THAT(entries(h),
              ElementsAre(Pair("x-forwarded-for", "10.0.0.1"), Pair("x-forwarded-proto", "http"),
                          Pair("x-request-id", "client-42")));
  h = headersOf({{"x-request-id", "client-42"},
                 {"x-forwarded-for", "a"},
                 {"x-forwarded-for", "b"},
                 {"x-request-id", ""}});
  setForwardingHeaders(h, "10.0.0.1", "http", sequence({0}));
  EXPECT_THAT(entries(h),
              ElementsAre(Pair("x-forwarded-for", "a, b, 10.0.0.1"),
                          Pair("x-forwarded-proto", "http"), Pair("x-request-id", "client-42")));
}

}  // namespace
}  // namespace portico::http
