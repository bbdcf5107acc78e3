#include "source/common/http/field_bytes.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace portico::http {
namespace {

bool badByteByRule(unsigned char c) { return (c < 0x20 && c != '\t') || c == 0x7f; }

// hasBadValueByte() tests eight bytes at a time: each byte value, at each position of a word
// and of the byte-wise tail, alone among good bytes and after another flagged word, must give
// the byte-wise answer.
TEST(FieldBytesTest, BadValueByteAtEveryPositionOfWordsAndTail) {
  for (size_t length : {1u, 7u, 8u, 9u, 15u, 16u, 17u, 24u}) {
    for (int b = 0; b < 256; b++) {
      for (size_t pos = 0; pos < length; pos++) {
        std::string value(length, 'v');
        value[pos] = static_cast<char>(b);
        EXPECT_EQ(hasBadValueByte(value), badByteByRule(b))
            << "byte " << b << " at " << pos << " of " << length;
        // A tab (flagged by the word test, allowed) in the first word must not hide it.
        std::string with_tab = absl::StrCat("\tvvvvvvv", value);
        EXPECT_EQ(hasBadValueByte(with_tab), badByteByRule(b)) << "after a tab: byte " << b;
      }
    }
  }
  EXPECT_FALSE(hasBadValueByte(""));
  EXPECT_FALSE(hasBadValueByte("text/html; charset=\xc3\xa9\t"));  // obs-text and HTAB
}

TEST(FieldBytesTest, TokenIsTcharOnly) {
  const std::string tchars = "!#$%&'*+-.^_`|~";
  for (int b = 0; b < 256; b++) {
    const bool tchar = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') ||
                       tchars.find(static_cast<char>(b)) != std::string::npos;
    for (size_t pos = 0; pos < 12; pos++) {
      std::string name(12, 'n');
      name[pos] = static_cast<char>(b);
      EXPECT_EQ(isToken(name), tchar) << "byte " << b << " at " << pos;
    }
  }
}

}  // namespace
}  // namespace portico::http
