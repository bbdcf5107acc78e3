#include "source/router/path_index.h"

#include <random>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace portico::router {
namespace {

using KeyKind = PathIndex::KeyKind;

// Every candidate the index offers for `path`, in the order offered.
std::vector<uint32_t> candidates(const PathIndex& index, absl::string_view path) {
  std::vector<uint32_t> seen;
  EXPECT_EQ(index.findFirst(path,
                            [&](uint32_t r) {
                              seen.push_back(r);
                              return false;
                            }),
            -1);
  return seen;
}

TEST(PathIndexTest, PrefixesAlongThePathInRouteOrder) {
  PathIndex index;
  index.add("/api/v1/", KeyKind::kPrefix, false, 0);
  index.add("/", KeyKind::kPrefix, false, 1);
  index.add("/api/", KeyKind::kPrefix, false, 2);
  index.add("/other", KeyKind::kPrefix, false, 3);
  index.add("/api/v1/", KeyKind::kPrefix, false, 4);
  EXPECT_EQ(candidates(index, "/api/v1/users"), (std::vector<uint32_t>{0, 1, 2, 4}));
  EXPECT_EQ(candidates(index, "/api/v2"), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(candidates(index, "/othe"), (std::vector<uint32_t>{1}));
  EXPECT_EQ(candidates(index, "x"), (std::vector<uint32_t>{}));
}

TEST(PathIndexTest, ExactOnlyForTheWholePath) {
  PathIndex index;
  index.add("/a", KeyKind::kExact, false, 0);
  index.add("/a", KeyKind::kPrefix, false, 1);
  index.add("/ab", KeyKind::kExact, false, 2);
  EXPECT_EQ(candidates(index, "/a"), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(candidates(index, "/ab"), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(candidates(index, "/abc"), (std::vector<uint32_t>{1}));
}

TEST(PathIndexTest, SplitsEdgesWhenKeysDiverge) {
  PathIndex index;
  index.add("/abcdef", KeyKind::kPrefix, false, 0);
  index.add("/abcxyz", KeyKind::kPrefix, false, 1);
  index.add("/ab", KeyKind::kPrefix, false, 2);
  index.add("/abc", KeyKind::kExact, false, 3);
  EXPECT_EQ(candidates(index, "/abcdefg"), (std::vector<uint32_t>{0, 2}));
  EXPECT_EQ(candidates(index, "/abcxyz"), (std::vector<uint32_t>{1, 2}));
  EXPECT_EQ(candidates(index, "/abc"), (std::vector<uint32_t>{2, 3}));
  EXPECT_EQ(candidates(index, "/abcd"), (std::vector<uint32_t>{2}));
}

TEST(PathIndexTest, EmptyKeyIsAlwaysACandidate) {
  PathIndex index;
  index.add("/x", KeyKind::kPrefix, false, 0);
  index.add("", KeyKind::kPrefix, false, 1);
  index.add("", KeyKind::kExact, false, 2);
  EXPECT_EQ(candidates(index, "/x/y"), (std::vector<uint32_t>{0, 1}));
  EXPECT_EQ(candidates(index, ""), (std::vector<uint32_t>{1, 2}));
}

TEST(PathIndexTest, FoldedKeysUseTheLowerCasedPath) {
  PathIndex index;
  index.add("/api/", KeyKind::kPrefix, true, 0);
  index.add("/API/", KeyKind::kPrefix, false, 1);
  index.add("/api/x", KeyKind::kExact, true, 2);
  EXPECT_EQ(candidates(index, "/API/X"), (std::vector<uint32_t>{0, 1, 2}));
  EXPECT_EQ(candidates(index, "/api/x"), (std::vector<uint32_t>{0, 2}));
}

TEST(PathIndexTest, StopsAtTheFirstAcceptedRoute) {
  PathIndex index;
  for (uint32_t i = 0; i < 10; ++i) index.add("/", KeyKind::kPrefix, false, i);
  std::vector<uint32_t> seen;
  EXPECT_EQ(index.findFirst("/a",
                            [&](uint32_t r) {
                              seen.push_back(r);
                              return r == 3;
                            }),
            3);
  EXPECT_EQ(seen, (std::vector<uint32_t>{0, 1, 2, 3}));
}

TEST(PathIndexTest, ManyNestedPrefixes) {
  // More matching keys than the inline cursor capacity (16).
  PathIndex index;
  std::string key = "/";
  std::vector<uint32_t> expected;
  for (uint32_t i = 0; i < 40; ++i) {
    index.add(key, KeyKind::kPrefix, false, i);
    expected.push_back(i);
    key += "a";
  }
  EXPECT_EQ(candidates(index, key), expected);
}

// The index must offer exactly the routes whose key fits the path, whatever the insertion
// pattern: compare with brute force on random keys over a small alphabet (many shared prefixes).
TEST(PathIndexTest, MatchesBruteForceOnRandomKeys) {
  std::mt19937 rng(12345);
  auto randomString = [&](size_t max_len) {
    static constexpr char kAlphabet[] = "/abAB";
    std::string s(rng() % (max_len + 1), ' ');
    for (char& c : s) c = kAlphabet[rng() % 5];
    return s;
  };
  struct Entry {
    std::string key;
    KeyKind kind;
    bool folded;
  };
  for (int round = 0; round < 20; ++round) {
    PathIndex index;
    std::vector<Entry> entries;
    for (uint32_t i = 0; i < 300; ++i) {
      Entry e{randomString(6), rng() % 2 ? KeyKind::kPrefix : KeyKind::kExact, rng() % 4 == 0};
      if (e.folded) e.key = absl::AsciiStrToLower(e.key);
      index.add(e.key, e.kind, e.folded, i);
      entries.push_back(e);
    }
    for (int q = 0; q < 300; ++q) {
      const std::string path = randomString(8);
      const std::string lower = absl::AsciiStrToLower(path);
      std::vector<uint32_t> expected;
      for (uint32_t i = 0; i < entries.size(); ++i) {
        const std::string& p = entries[i].folded ? lower : path;
        const bool fits = entries[i].kind == KeyKind::kPrefix ? absl::StartsWith(p, entries[i].key)
                                                              : p == entries[i].key;
        if (fits) expected.push_back(i);
      }
      ASSERT_EQ(candidates(index, path), expected) << "round " << round << " path " << path;
    }
  }
}

}  // namespace
}  // namespace portico::router
