#include "source/common/http/path_normalization.h"

#include <string>

#include "gtest/gtest.h"

namespace portico::http {
namespace {

// The target after normalisation, or "400" when it is refused.
std::string normalized(std::string target, bool normalize = true, bool merge_slashes = false) {
  return normalizePath(target, normalize, merge_slashes) ? target : "400";
}

TEST(PathNormalizationTest, DotSegmentsAreRemoved) {  // RFC 3986 5.2.4 and 5.4
  EXPECT_EQ(normalized("/a/b/c/./../../g"), "/a/g");
  EXPECT_EQ(normalized("/x/../admin"), "/admin");
  EXPECT_EQ(normalized("/../../admin"), "/admin");  // never above the root
  EXPECT_EQ(normalized("/a/."), "/a/");
  EXPECT_EQ(normalized("/a/b/.."), "/a/");
  EXPECT_EQ(normalized("/.."), "/");
  EXPECT_EQ(normalized("/a/..b/.c"), "/a/..b/.c");  // not dot segments
}

TEST(PathNormalizationTest, UnreservedEscapesAreDecodedOthersUpperCased) {
  EXPECT_EQ(normalized("/%61dmin"), "/admin");
  EXPECT_EQ(normalized("/%2e%2E/admin"), "/admin");  // decoded, then a dot segment
  EXPECT_EQ(normalized("/a%2fb"), "/a%2Fb");         // an encoded slash stays encoded
  EXPECT_EQ(normalized("/%7e%5F%2D"), "/~_-");
  EXPECT_EQ(normalized("/caf%c3%a9"), "/caf%C3%A9");
}

TEST(PathNormalizationTest, MalformedEscapesAreRefused) {
  for (const char* target : {"/%", "/a%4", "/%zz", "/%4g/x", "/x%"}) {
    EXPECT_EQ(normalized(target), "400") << target;
  }
  EXPECT_EQ(normalized("/%zz", /*normalize=*/false, /*merge_slashes=*/true), "/%zz");
}

TEST(PathNormalizationTest, SlashesMergedOnlyWhenAsked) {
  EXPECT_EQ(normalized("//admin//x", false, true), "/admin/x");
  EXPECT_EQ(normalized("//admin//x", true, false), "//admin//x");
  EXPECT_EQ(normalized("/a//../b", true, false), "/a/b");  // the empty segment is the one removed
  EXPECT_EQ(normalized("/a//../b", true, true), "/a/b");   // dots first, as Envoy
}

TEST(PathNormalizationTest, QueryAndNonPathTargetsAreLeftAlone) {
  EXPECT_EQ(normalized("/a/../b?x=/../%zz//y", true, true), "/b?x=/../%zz//y");
  EXPECT_EQ(normalized("*"), "*");
  EXPECT_EQ(normalized("/plain/path?q"), "/plain/path?q");
}

}  // namespace
}  // namespace portico::http
