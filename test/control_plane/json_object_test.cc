#include "source/control_plane/store/json_object.h"

#include "gtest/gtest.h"
#include "source/control_plane/store/json.h"

namespace portico::control_plane::json {
namespace {

TEST(JsonObjectTest, SplitsMembersKeepingRawValues) {
  auto m = splitObject(
      R"( {"kind":"Cluster", "n": 12345678901234567890, "spec":{"a":[1,{"b":"}]"}],"c":"x\"y"},)"
      R"( "t": true, "e": {}} )");
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 5);
  EXPECT_EQ((*m)[0].key, "kind");
  EXPECT_EQ((*m)[0].raw, "\"Cluster\"");
  EXPECT_EQ((*m)[1].raw, "12345678901234567890");  // exact, not a double
  EXPECT_EQ((*m)[2].raw, R"({"a":[1,{"b":"}]"}],"c":"x\"y"})");
  EXPECT_EQ((*m)[3].raw, "true");
  EXPECT_EQ((*m)[4].raw, "{}");
  EXPECT_TRUE(splitObject("{}")->empty());
}

TEST(JsonObjectTest, RefusesMalformed) {
  for (const char* bad :
       {"", "[1]", "{\"a\"}", "{\"a\":1", "{\"a\":\"x}", "{a:1}", "{\"a\":1 2}"}) {
    EXPECT_FALSE(splitObject(bad).ok()) << bad;
  }
}

TEST(JsonObjectTest, DecodesStrings) {
  EXPECT_EQ(*decodeString(R"("a\"b\\c\/\n\t")"), "a\"b\\c/\n\t");
  EXPECT_EQ(*decodeString(R"("\u00e9\ud83d\ude00")"), "\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_FALSE(decodeString("12").ok());
  EXPECT_FALSE(decodeString(R"("\u12")").ok());
  // Round trip with the writer.
  const std::string s = "tab\there \"quoted\" back\\slash \x01";
  EXPECT_EQ(*decodeString(quote(s)), s);
}

}  // namespace
}  // namespace portico::control_plane::json

namespace portico::control_plane::json {
namespace {

// Found by control_plane_rest_api_fuzz: an error message quoting a request's bytes that are not
// UTF-8 made the answer invalid JSON.
TEST(JsonQuoteTest, AnswersAreValidJsonWhateverTheyQuote) {
  EXPECT_EQ(quote("unknown kind 'a\xd9\xff'"), "\"unknown kind 'a\\u00d9\\u00ff'\"");
  EXPECT_EQ(quote("tab\t\"q\"\\ \xc3\xa9"), "\"tab\\t\\\"q\\\"\\\\ \xc3\xa9\"");
  EXPECT_EQ(quote(absl::string_view("\0", 1)), "\"\\u0000\"");
}

}  // namespace
}  // namespace portico::control_plane::json
