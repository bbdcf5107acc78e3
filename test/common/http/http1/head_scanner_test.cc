#include "source/common/http/http1/head_scanner.h"

#include <string>

#include "absl/strings/string_view.h"
#include "gtest/gtest.h"

namespace portico::http::http1 {
namespace {

using Result = HeadScanner::Result;

struct ScanOutcome {
  Result result;
  size_t used;
  std::string error;
};

ScanOutcome scan(absl::string_view head, size_t limit = 64 * 1024) {
  HeadScanner scanner(limit);
  size_t used = 0;
  Result r = scanner.scan(head.data(), head.size(), &used);
  return {r, used, scanner.error() != nullptr ? scanner.error() : ""};
}

constexpr absl::string_view kHead = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";  // 27 bytes

TEST(HeadScannerTest, FindsTheEndOfAWellFormedHead) {
  const std::string input = std::string(kHead) + "body bytes";
  ScanOutcome out = scan(input);
  EXPECT_EQ(out.result, Result::kHeadEnd);
  EXPECT_EQ(out.used, kHead.size());
  EXPECT_EQ(out.error, "");
}

TEST(HeadScannerTest, PartialHeadNeedsMoreAndUsesEverything) {
  ScanOutcome out = scan("GET / HTTP/1.1\r\nHost: a\r\n\r");
  EXPECT_EQ(out.result, Result::kNeedMore);
  EXPECT_EQ(out.used, kHead.size() - 1);
}

TEST(HeadScannerTest, StateCarriesAcrossCallsAtEveryByteBoundary) {
  for (size_t split = 0; split <= kHead.size(); split++) {
    HeadScanner scanner(1024);
    size_t used = 0;
    Result first = scanner.scan(kHead.data(), split, &used);
    if (split == kHead.size()) {
      EXPECT_EQ(first, Result::kHeadEnd);
      continue;
    }
    EXPECT_EQ(first, Result::kNeedMore) << "split " << split;
    EXPECT_EQ(used, split);
    Result second = scanner.scan(kHead.data() + split, kHead.size() - split, &used);
    EXPECT_EQ(second, Result::kHeadEnd) << "split " << split;
    EXPECT_EQ(used, kHead.size() - split);
  }
}

TEST(HeadScannerTest, HeadWithOnlyARequestLineEnds) {
  EXPECT_EQ(scan("GET / HTTP/1.0\r\n\r\n").result, Result::kHeadEnd);
}

TEST(HeadScannerTest, LeadingEmptyLinesAreAllowed) {
  const std::string input = "\r\n\r\n" + std::string(kHead);
  ScanOutcome out = scan(input);
  EXPECT_EQ(out.result, Result::kHeadEnd);
  EXPECT_EQ(out.used, input.size());
}

TEST(HeadScannerTest, BareLfIsRefused) {
  for (absl::string_view head :
       {"GET / HTTP/1.1\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\nHost: a\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\n", "\nGET / HTTP/1.1\r\n\r\n"}) {
    ScanOutcome out = scan(head);
    EXPECT_EQ(out.result, Result::kError) << head;
    EXPECT_EQ(out.error, "bare LF in message head") << head;
  }
}

TEST(HeadScannerTest, BareCrIsRefused) {
  for (absl::string_view head :
       {"GET / HTTP/1.1\rHost: a\r\n\r\n", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"}) {
    ScanOutcome out = scan(head);
    EXPECT_EQ(out.result, Result::kError) << head;
    EXPECT_EQ(out.error, "bare CR in message head") << head;
  }
}

TEST(HeadScannerTest, ObsFoldIsRefused) {
  for (absl::string_view head :
       {"GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n"}) {
    ScanOutcome out = scan(head);
    EXPECT_EQ(out.result, Result::kError) << head;
    EXPECT_EQ(out.error, "obsolete line folding in header") << head;
  }
}

TEST(HeadScannerTest, RequestLineNeedsExactlyOneSpaceBetweenParts) {
  for (absl::string_view head :
       {"GET  / HTTP/1.1\r\n\r\n", "GET /  HTTP/1.1\r\n\r\n", " GET / HTTP/1.1\r\n\r\n"}) {
    ScanOutcome out = scan(head);
    EXPECT_EQ(out.result, Result::kError) << head;
    EXPECT_EQ(out.error, "malformed request line") << head;
  }
}

TEST(HeadScannerTest, SpacesInHeaderValuesAreFine) {
  EXPECT_EQ(scan("GET / HTTP/1.1\r\nX: a  b   c\r\n\r\n").result, Result::kHeadEnd);
}

TEST(HeadScannerTest, SizeLimitCountsEveryByteOfTheHead) {
  EXPECT_EQ(scan(kHead, kHead.size()).result, Result::kHeadEnd);
  HeadScanner scanner(kHead.size() - 1);
  size_t used = 0;
  EXPECT_EQ(scanner.scan(kHead.data(), kHead.size(), &used), Result::kError);
  EXPECT_TRUE(scanner.tooLarge());
  EXPECT_STREQ(scanner.error(), "request headers too large");
}

TEST(HeadScannerTest, SizeLimitIncludesLeadingEmptyLines) {
  const std::string input = "\r\n" + std::string(kHead);
  EXPECT_EQ(scan(input, kHead.size()).result, Result::kError);
}

TEST(HeadScannerTest, MalformedHeadIsNotTooLarge) {
  HeadScanner scanner(1024);
  size_t used = 0;
  absl::string_view bad = "GET / HTTP/1.1\nHost: a\r\n\r\n";
  EXPECT_EQ(scanner.scan(bad.data(), bad.size(), &used), Result::kError);
  EXPECT_FALSE(scanner.tooLarge());
}

TEST(HeadScannerTest, ResetAllowsTheNextHead) {
  HeadScanner scanner(kHead.size());
  size_t used = 0;
  ASSERT_EQ(scanner.scan(kHead.data(), kHead.size(), &used), Result::kHeadEnd);
  EXPECT_EQ(scanner.bytes(), kHead.size());
  scanner.reset();
  EXPECT_EQ(scanner.bytes(), 0u);
  EXPECT_EQ(scanner.scan(kHead.data(), kHead.size(), &used), Result::kHeadEnd);
  EXPECT_EQ(used, kHead.size());
}

}  // namespace
}  // namespace portico::http::http1
