#include "source/common/common/logger.h"

#include "gtest/gtest.h"

namespace portico::logger {
namespace {

const absl::Time kTime = absl::FromUnixMillis(1704164645678);  // 2024-01-02 03:04:05.678 UTC

TEST(LoggerTest, LineHasTimeLevelAndMessage) {
  EXPECT_EQ(formatLine(Level::kWarn, kTime, "xds: rejected"),
            "[2024-01-02 03:04:05.678][warning] xds: rejected\n");
}

TEST(LoggerTest, ControlCharactersCannotStartAnotherLine) {
  // A version string from the control plane that tries to forge a second log line.
  EXPECT_EQ(formatLine(Level::kInfo, kTime, "version 1\n[2024-01-02][error] forged\r\x1b[31m\x7f"),
            "[2024-01-02 03:04:05.678][info] version 1\\x0a[2024-01-02][error] forged"
            "\\x0d\\x1b[31m\\x7f\n");
}

TEST(LoggerTest, TabsAndNulAreEscapedAndUtf8IsKept) {
  EXPECT_EQ(formatLine(Level::kError, kTime, absl::string_view("a\tb\0c \xc3\xa9", 8)),
            "[2024-01-02 03:04:05.678][error] a\\x09b\\x00c \xc3\xa9\n");
}

TEST(LoggerTest, BackslashesInvalidBytesAndUnicodeControlsAreEscaped) {
  // A literal "\x0a" in the message must not read like an escaped newline.
  EXPECT_EQ(formatLine(Level::kInfo, kTime, "path C:\\x0a"),
            "[2024-01-02 03:04:05.678][info] path C:\\\\x0a\n");
  EXPECT_EQ(formatLine(Level::kInfo, kTime, "bad \xff\xc3( ok \xc3\xa9"),
            "[2024-01-02 03:04:05.678][info] bad \\xff\\xc3( ok \xc3\xa9\n");
  // C1 CSI (U+009B) and the line separator U+2028.
  EXPECT_EQ(formatLine(Level::kInfo, kTime,
                       "a\xc2\x9b"
                       "31mb\xe2\x80\xa8"
                       "c"),
            "[2024-01-02 03:04:05.678][info] a\\xc2\\x9b31mb\\xe2\\x80\\xa8c\n");
}

TEST(LoggerTest, LevelNamesParse) {
  Level l;
  ASSERT_TRUE(parseLevel("WARN", &l));
  EXPECT_EQ(l, Level::kWarn);
  ASSERT_TRUE(parseLevel("off", &l));
  EXPECT_EQ(l, Level::kOff);
  EXPECT_FALSE(parseLevel("verbose", &l));
}

}  // namespace
}  // namespace portico::logger
