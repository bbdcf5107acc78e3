#include "source/common/common/read_file.h"

#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico {
namespace {

using ::testing::HasSubstr;

std::string tmpDir() {
  const char* tmp = getenv("TEST_TMPDIR");
  return tmp != nullptr ? tmp : "/tmp";
}

TEST(ReadFileTest, ReadsAWholeFileUpToTheLimit) {
  const std::string path = tmpDir() + "/ten.txt";
  std::ofstream(path) << "0123456789";
  EXPECT_EQ(*readFileBounded(path, 10), "0123456789");
  EXPECT_THAT(std::string(readFileBounded(path, 9).status().message()),
              HasSubstr("larger than 9 bytes"));
}

TEST(ReadFileTest, ErrorsNameThePathAndTheReason) {
  EXPECT_EQ(readFileBounded(tmpDir() + "/missing", 100).status().message(),
            "cannot read '" + tmpDir() + "/missing': No such file or directory");
  EXPECT_THAT(std::string(readFileBounded(tmpDir(), 100).status().message()),
              HasSubstr("': Is a directory"));
  EXPECT_THAT(std::string(readFileBounded("", 100).status().message()), HasSubstr("no path"));
}

TEST(ReadFileTest, EndlessSourcesStopAtTheLimit) {
  EXPECT_THAT(std::string(readFileBounded("/dev/zero", 1 << 20).status().message()),
              HasSubstr("larger than 1048576 bytes"));
  EXPECT_EQ(*readFileBounded("/dev/null", 10), "");
}

}  // namespace
}  // namespace portico
