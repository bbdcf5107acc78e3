#include "source/common/common/utf8.h"

#include <string>

#include "gtest/gtest.h"
#include "source/common/common/json_escape.h"

namespace portico {
namespace {

TEST(Utf8Test, AcceptsWellFormedText) {
  EXPECT_TRUE(utf8::isValid(""));
  EXPECT_TRUE(utf8::isValid("plain ascii"));
  EXPECT_TRUE(utf8::isValid("\xc3\xa9t\xc3\xa9"));              // été
  EXPECT_TRUE(utf8::isValid("\xe2\x82\xac"));                   // U+20AC
  EXPECT_TRUE(utf8::isValid("\xed\x9f\xbf"));                   // U+D7FF, just below surrogates
  EXPECT_TRUE(utf8::isValid("\xf0\x9f\x98\x80"));               // U+1F600
  EXPECT_TRUE(utf8::isValid("\xf4\x8f\xbf\xbf"));               // U+10FFFF
  EXPECT_TRUE(utf8::isValid(absl::string_view("nul\0ok", 6)));  // NUL is a code point
}

TEST(Utf8Test, RefusesWhatRfc3629Forbids) {
  EXPECT_FALSE(utf8::isValid("\xff"));
  EXPECT_FALSE(utf8::isValid("\x80"));              // lone continuation byte
  EXPECT_FALSE(utf8::isValid("\xc3"));              // truncated
  EXPECT_FALSE(utf8::isValid("\xe2\x82"));          // truncated
  EXPECT_FALSE(utf8::isValid("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(utf8::isValid("\xe0\x80\xaf"));      // overlong, 3 bytes
  EXPECT_FALSE(utf8::isValid("\xf0\x80\x80\xaf"));  // overlong, 4 bytes
  EXPECT_FALSE(utf8::isValid("\xed\xa0\x80"));      // U+D800, a surrogate
  EXPECT_FALSE(utf8::isValid("\xf4\x90\x80\x80"));  // U+110000
  EXPECT_FALSE(utf8::isValid("\xf5\x80\x80\x80"));
  EXPECT_FALSE(utf8::isValid("ok\xc3("));  // bad continuation
}

TEST(Utf8Test, PrintableTextHasNoControlCharacters) {
  EXPECT_TRUE(utf8::isPrintableText("zone \xc3\xa9 \xe2\x82\xac \xc2\xa0"));  // NBSP is printable
  EXPECT_FALSE(utf8::isPrintableText("tab\t"));
  EXPECT_FALSE(utf8::isPrintableText("del\x7f"));
  EXPECT_FALSE(utf8::isPrintableText("c1 \xc2\x85"));              // NEL
  EXPECT_FALSE(utf8::isPrintableText("ls \xe2\x80\xa8"));          // U+2028
  EXPECT_FALSE(utf8::isPrintableText("ps \xe2\x80\xa9"));          // U+2029
  EXPECT_TRUE(utf8::isPrintableText("\xe2\x80\xa7\xe2\x80\xaa"));  // their neighbours
  EXPECT_FALSE(utf8::isPrintableText("\xff"));
}

TEST(Utf8Test, JsonEscapingKeepsValidSequencesAndEscapesTheRest) {
  EXPECT_EQ(jsonString("\xc3\xa9"), "\"\xc3\xa9\"");
  // A surrogate and an overlong form are not UTF-8: each byte is escaped, so the JSON is valid.
  EXPECT_EQ(jsonString("\xed\xa0\x80"), "\"\\u00ed\\u00a0\\u0080\"");
  EXPECT_EQ(jsonString("\xc0\xaf"), "\"\\u00c0\\u00af\"");
  EXPECT_EQ(jsonString("a\x01"), "\"a\\u0001\"");
}

}  // namespace
}  // namespace portico
