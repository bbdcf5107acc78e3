#include "source/common/http/header_map.h"

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::http {
namespace {

std::vector<std::string> values(const HeaderMap& h, absl::string_view name) {
  std::vector<std::string> out;
  h.forEachValue(name, [&](const std::string& v) { out.push_back(v); });
  return out;
}

TEST(HeaderMapTest, AddLowerCasesNamesAndKeepsOrder) {
  HeaderMap h;
  h.add("X-A", "1");
  h.add("x-b", "2");
  h.add("X-a", "3");
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h.begin()->name, "x-a");
  EXPECT_EQ(values(h, "x-a"), (std::vector<std::string>{"1", "3"}));
  EXPECT_EQ(*h.get("x-a"), "1");
  EXPECT_EQ(h.get("x-missing"), nullptr);
  EXPECT_TRUE(h.contains("x-b"));
}

// Names are lower-cased a word at a time (eight bytes, four for short names, a last word
// overlapping the one before): every byte value, at every position of every length up to
// three words, must come out as the byte-wise rule says (only A-Z change).
TEST(HeaderMapTest, LowerCasingTouchesOnlyAsciiUpperCaseLettersAtAnyPosition) {
  HeaderMap empty;
  empty.add("", "v");
  EXPECT_EQ(empty.begin()->name, "");
  for (size_t length = 1; length <= 24; length++) {
    for (int b = 0; b < 256; b++) {
      for (size_t pos = 0; pos < length; pos++) {
        std::string name(length, 'Q');  // the filler itself must become 'q'
        name[pos] = static_cast<char>(b);
        std::string expected = name;
        for (char& c : expected) {
          if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        }
        HeaderMap h;
        h.add(name, "v");
        ASSERT_EQ(h.begin()->name, expected) << "byte " << b << " at " << pos << " of " << length;
      }
    }
  }
}

TEST(HeaderMapTest, SetReplacesEveryCopyWhateverTheCase) {
  HeaderMap h;
  h.add("x-a", "1");
  h.add("x-b", "2");
  h.add("X-A", "3");
  h.set("X-A", "new");
  EXPECT_EQ(values(h, "x-a"), (std::vector<std::string>{"new"}));
  EXPECT_EQ(h.size(), 2u);
}

TEST(HeaderMapTest, RemoveIsCaseInsensitiveAndCountsRemovals) {
  HeaderMap h;
  h.add("x-a", "1");
  h.add("x-ab", "2");
  h.add("x-a", "3");
  EXPECT_EQ(h.remove("X-A"), 2u);
  EXPECT_EQ(h.remove("x-a"), 0u);
  EXPECT_EQ(h.size(), 1u);
  EXPECT_EQ(*h.get("x-ab"), "2");
}

TEST(HeaderMapTest, ByteSizeCountsNamesAndValues) {
  HeaderMap h;
  h.add("ab", "cde");
  h.add("f", "");
  EXPECT_EQ(h.byteSize(), 6u);
}

TEST(HeaderMapTest, ManyHeadersSpillPastTheInlineCapacity) {
  HeaderMap h;
  for (int i = 0; i < 40; i++) h.add("x-" + std::to_string(i), std::to_string(i));
  EXPECT_EQ(h.size(), 40u);
  EXPECT_EQ(*h.get("x-39"), "39");
  h.clear();
  EXPECT_TRUE(h.empty());
}

TEST(HeaderMapTest, ClearedMapReusesEntriesWithoutKeepingOldFields) {
  HeaderMap headers;
  for (int i = 0; i < 12; i++) headers.add(absl::StrCat("X-Field-", i), std::string(40, 'v'));
  headers.clear();
  EXPECT_TRUE(headers.empty());
  EXPECT_EQ(headers.begin(), headers.end());
  EXPECT_EQ(headers.get("x-field-0"), nullptr);
  headers.add("Host", "a");
  headers.add("Accept", "*/*");
  ASSERT_EQ(headers.size(), 2u);
  EXPECT_EQ(*headers.get("host"), "a");
  EXPECT_EQ(*headers.get("accept"), "*/*");
  EXPECT_EQ(headers.byteSize(), 4u + 1 + 6 + 3);
}

TEST(HeaderMapTest, RemoveIfKeepsTheOrderOfTheRest) {
  HeaderMap headers;
  headers.add("a", "1");
  headers.add("drop", "x");
  headers.add("b", "2");
  headers.add("drop", "y");
  headers.add("c", "3");
  headers.removeIf([](const HeaderEntry& e) { return e.name == "drop"; });
  std::vector<std::string> seen;
  for (const HeaderEntry& e : headers) seen.push_back(e.name + "=" + e.value);
  EXPECT_THAT(seen, ::testing::ElementsAre("a=1", "b=2", "c=3"));
  headers.add("d", "4");  // reuses a spare
  EXPECT_EQ(*headers.get("d"), "4");
  EXPECT_EQ(headers.size(), 4u);
}

TEST(RequestHeadTest, HostIsTheHostHeaderOrEmpty) {
  RequestHead head;
  EXPECT_EQ(head.host(), "");
  head.headers.add("Host", "example.com");
  EXPECT_EQ(head.host(), "example.com");
}

}  // namespace
}  // namespace portico::http
