#include "source/common/http/path_normalization.h"

#include <string>

#include "gtest/gtest.h"

namespace portico::http {
namespace {

// The target after normalisation, "400" when it is refused, "307 <location>" for a redirect.
std::string normalized(std::string target, bool normalize = true, bool merge_slashes = false,
                       EscapedSlashesAction escaped = EscapedSlashesAction::kKeepUnchanged) {
  switch (normalizePath(target, {normalize, merge_slashes, escaped})) {
    case PathNormalizationResult::kContinue:
      return target;
    case PathNormalizationResult::kMalformed:
    case PathNormalizationResult::kEscapedSlash:
      return "400";
    case PathNormalizationResult::kRedirect:
      return "307 " + normalizedPathRedirectLocation(target);
  }
  return "?";
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

TEST(PathNormalizationTest, BackslashIsASlashWhenNormalizing) {  // as browsers and Envoy read it
  EXPECT_EQ(normalized("/a/..\\admin"), "/admin");
  EXPECT_EQ(normalized("/a\\b?x=\\"), "/a/b?x=\\");
  EXPECT_EQ(normalized("/a\\b", false, true), "/a\\b");
}

TEST(PathNormalizationTest, EscapedSlashesKeptByDefault) {
  EXPECT_EQ(normalized("/a%2F..%2Fadmin", true, true), "/a%2F..%2Fadmin");
  EXPECT_EQ(normalized("/a%5cb"), "/a%5Cb");
}

TEST(PathNormalizationTest, EscapedSlashesRefused) {
  const auto reject = EscapedSlashesAction::kRejectRequest;
  EXPECT_EQ(normalized("/a%2fb", false, false, reject), "400");
  EXPECT_EQ(normalized("/a%5Cb", false, false, reject), "400");
  EXPECT_EQ(normalized("/a/b?x=%2F", false, false, reject), "/a/b?x=%2F");  // the query is not
  EXPECT_EQ(normalized("/a%252Fb", false, false, reject), "/a%252Fb");      // %25 then "2F"
}

TEST(PathNormalizationTest, EscapedSlashesDecodedThenNormalized) {
  const auto forward = EscapedSlashesAction::kUnescapeAndForward;
  EXPECT_EQ(normalized("/a%2F..%2Fadmin", true, false, forward), "/admin");
  EXPECT_EQ(normalized("/a%5c..%5Cadmin", true, false, forward), "/admin");
  EXPECT_EQ(normalized("/a%2Fb", false, false, forward), "/a/b");
  EXPECT_EQ(normalized("/x%2F%2Fy", false, true, forward), "/x/y");
  EXPECT_EQ(normalized("/a%252F%41", false, false, forward), "/a%252F%41");  // nothing decoded
  EXPECT_EQ(normalized("/a%2F%zz", true, false, forward), "400");
}

// Regression (reviewer): without normalize_path, decoding made dot segments nobody resolved:
// the route for /public took "/public%2F..%2Fadmin", and the upstream got /public/../admin,
// which it serves as /admin. A decoded path is now normalised whatever normalize_path says.
TEST(PathNormalizationTest, DecodedSlashesAreNormalizedEvenWithoutNormalizePath) {
  const auto forward = EscapedSlashesAction::kUnescapeAndForward;
  EXPECT_EQ(normalized("/public%2F..%2Fadmin", false, false, forward), "/admin");
  EXPECT_EQ(normalized("/public%5C..%5Cadmin", false, false, forward), "/admin");
  EXPECT_EQ(normalized("/a%5Cb", false, false, forward), "/a/b");
  EXPECT_EQ(normalized("/a%2F%zz", false, false, forward), "400");
  // Nothing decoded: the path is not touched (normalize_path is off).
  EXPECT_EQ(normalized("/public/../admin", false, false, forward), "/public/../admin");
}

TEST(PathNormalizationTest, EscapedSlashesRedirectToTheDecodedPath) {
  const auto redirect = EscapedSlashesAction::kUnescapeAndRedirect;
  EXPECT_EQ(normalized("/a%2F..%2Fadmin?q=%2F", true, true, redirect), "307 /admin?q=%2F");
  EXPECT_EQ(normalized("/a/b", true, true, redirect), "/a/b");   // nothing to decode
  EXPECT_EQ(normalized("/a/../b", true, true, redirect), "/b");  // normalised, not redirected
  // Never a Location another host could be read from ("//evil.example/x").
  EXPECT_EQ(normalized("/%2Fevil.example/x", false, false, redirect), "307 /evil.example/x");
  EXPECT_EQ(normalized("/%5C%5Cevil.example", false, false, redirect), "307 /evil.example");
  EXPECT_EQ(normalized("/%2F", false, false, redirect), "307 /");
}

}  // namespace
}  // namespace portico::http
