#include "source/common/http/http1/encoder.h"

#include <initializer_list>
#include <string>
#include <utility>

#include "gtest/gtest.h"
#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"

namespace portico::http::http1 {
namespace {

HeaderMap headersOf(std::initializer_list<std::pair<const char*, const char*>> fields) {
  HeaderMap h;
  for (const auto& [name, value] : fields) h.add(name, value);
  return h;
}

TEST(EncodeHeadTest, WritesStartLineFieldsExtraLinesAndTheEmptyLine) {
  const HeaderMap headers =
      headersOf({{"Host", "a.test"}, {"content-length", "3"}, {"x-empty", ""}});
  buffer::Buffer out;
  out.add("before|");
  encodeHead({"GET", " ", "/p?q", " HTTP/1.1"}, headers, {}, {"te: x\r\n", "", "y: z\r\n"}, out);
  EXPECT_EQ(out.toString(),
            "before|GET /p?q HTTP/1.1\r\nhost: a.test\r\ncontent-length: 3\r\nx-empty: \r\n"
            "te: x\r\ny: z\r\n\r\n");
}

TEST(EncodeHeadTest, LeavesOutSkippedFields) {
  const HeaderMap headers =
      headersOf({{"content-length", "3"}, {"x-a", "1"}, {"Content-Length", "3"}});
  buffer::Buffer out;
  const StatusLineStart start = statusLineStart(204);
  encodeHead({start.view(), "No Content"}, headers, "content-length", {}, out);
  EXPECT_EQ(out.toString(), "HTTP/1.1 204 No Content\r\nx-a: 1\r\n\r\n");
}

TEST(EncodeHeadTest, AHeadLargerThanASliceIsWrittenWhole) {
  HeaderMap headers;
  std::string expected = "HTTP/1.1 200 OK\r\n";
  for (int i = 0; i < 64; i++) {
    const std::string name = "x-field-" + std::to_string(i);
    const std::string value(1000, static_cast<char>('a' + i % 26));
    headers.add(name, value);
    expected += name + ": " + value + "\r\n";
  }
  expected += "connection: close\r\n\r\n";
  ASSERT_GT(expected.size(), buffer::Slice::kSize);
  buffer::Buffer out;
  encodeHead({statusLineStart(200).view(), "OK"}, headers, {}, {"connection: close\r\n"}, out);
  EXPECT_EQ(out.toString(), expected);
}

TEST(StatusLineStartTest, WritesTheStatusAndClampsOutOfRangeOnes) {
  EXPECT_EQ(statusLineStart(200).view(), "HTTP/1.1 200 ");
  EXPECT_EQ(statusLineStart(101).view(), "HTTP/1.1 101 ");
  EXPECT_EQ(statusLineStart(999).view(), "HTTP/1.1 999 ");
  EXPECT_EQ(statusLineStart(99).view(), "HTTP/1.1 502 ");
  EXPECT_EQ(statusLineStart(99).status, 502);
  EXPECT_EQ(statusLineStart(1000).view(), "HTTP/1.1 502 ");
  EXPECT_EQ(statusLineStart(404).status, 404);
}

}  // namespace
}  // namespace portico::http::http1
