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
