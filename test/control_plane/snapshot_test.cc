#include "source/control_plane/cache/snapshot.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "source/control_plane/cache/snapshot_cache_impl.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using test::clusterYaml;
using test::docs;
using test::routeYaml;

config::v1::Node node(const std::string& cluster, const std::string& region = "") {
  config::v1::Node n;
  n.set_id("n");
  n.set_cluster(cluster);
  if (!region.empty()) (*n.mutable_metadata())["region"] = region;
  return n;
}

TEST(SnapshotTest, VersionsAreContentHashes) {
  auto a = test::snapshotOf(docs({clusterYaml("a"), routeYaml("r", "a")}));
  auto b = test::snapshotOf(docs({clusterYaml("a"), routeYaml("r", "a")}));
  auto c = test::snapshotOf(docs({clusterYaml("a", 81), routeYaml("r", "a")}));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(a->version(), b->version());
  EXPECT_NE(a->version(), c->version());
  auto va = a->viewFor(node("x")), vc = c->viewFor(node("x"));
  // Only the changed type gets a new version.
  EXPECT_NE(va->versions[0], vc->versions[0]);
  EXPECT_EQ(va->versions[static_cast<int>(Kind::kRouteConfiguration)],
            vc->versions[static_cast<int>(Kind::kRouteConfiguration)]);
}

TEST(SnapshotTest, ViewsFollowTargetsAndAreShared) {
  auto s = test::snapshotOf(docs({clusterYaml("all"), clusterYaml("edge", 81, "{cluster: edge}"),
                                  clusterYaml("eu", 82, "{labels: {region: eu}}")}));
  ASSERT_TRUE(s);
  EXPECT_EQ(s->viewFor(node("core"))->of(Kind::kCluster).size(), 1);
  EXPECT_EQ(s->viewFor(node("edge"))->of(Kind::kCluster).size(), 2);
  EXPECT_EQ(s->viewFor(node("edge", "eu"))->of(Kind::kCluster).size(), 3);
  EXPECT_EQ(s->viewFor(node("core", "eu"))->of(Kind::kCluster).size(), 2);
  size_t views = s->viewCountForTest();
  // Another node of an existing group reuses its view.
  EXPECT_EQ(s->viewFor(node("edge")).get(), s->viewFor(node("edge")).get());
  EXPECT_EQ(s->viewCountForTest(), views);
}

TEST(SnapshotTest, MemoizedViewsAreBounded) {
  // Ten label-targeted clusters: nodes can reach 2^10 distinct views. The memo stops at
  // kMaxCachedViews, and views past it are still right.
  std::vector<std::string> yamls{clusterYaml("all")};
  for (int i = 0; i < 10; i++) {
    yamls.push_back(
        clusterYaml(absl::StrCat("c", i), 81 + i, absl::StrCat("{labels: {l", i, ": \"on\"}}")));
  }
  auto s = test::snapshotOf(docs(yamls));
  ASSERT_TRUE(s);
  for (int bits = 0; bits < 1024; bits++) {
    config::v1::Node n = node("any");
    for (int i = 0; i < 10; i++) {
      if (bits & (1 << i)) (*n.mutable_metadata())[absl::StrCat("l", i)] = "on";
    }
    ASSERT_EQ(s->viewFor(n)->of(Kind::kCluster).size(), 1 + __builtin_popcount(bits)) << bits;
  }
  EXPECT_EQ(s->viewCountForTest(), Snapshot::kMaxCachedViews);
}

TEST(SnapshotTest, ResourcesArePackedOnce) {
  auto s = test::snapshotOf(clusterYaml("a"));
  const auto& c = s->viewFor(node("x"))->of(Kind::kCluster).at("a");
  EXPECT_EQ(c->any.type_url(), "type.googleapis.com/portico.config.v1.Cluster");
  EXPECT_EQ(c.get(), s->viewFor(node("y", "eu"))->of(Kind::kCluster).at("a").get());
}

TEST(SnapshotTest, InconsistentTargetsAreRefused) {
  // Bypass the validator: the snapshot checks again before anything is published.
  ResourceMap map =
      test::mapOf(docs({clusterYaml("a", 80, "{cluster: edge}"), routeYaml("r", "a")}));
  auto s = Snapshot::create(map);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("RouteConfiguration/r names cluster 'a'"), std::string::npos);
}

TEST(SnapshotCacheTest, WatchesSeeEveryNewVersionOnce) {
  SnapshotCacheImpl cache;
  std::vector<std::string> seen;
  WatchPtr w = cache.watch([&](const SnapshotConstSharedPtr& s) { seen.push_back(s->version()); });
  auto a = test::snapshotOf(clusterYaml("a"));
  auto b = test::snapshotOf(clusterYaml("a", 81));
  EXPECT_TRUE(cache.setSnapshot(a));
  EXPECT_FALSE(cache.setSnapshot(test::snapshotOf(clusterYaml("a"))));  // same version
  EXPECT_TRUE(cache.setSnapshot(b));
  ASSERT_EQ(seen.size(), 2);
  EXPECT_EQ(seen[1], b->version());
  EXPECT_EQ(cache.current(), b);
  w.reset();
  EXPECT_EQ(cache.watchCount(), 0);
  cache.setSnapshot(a);
  EXPECT_EQ(seen.size(), 2);
}

TEST(SnapshotCacheTest, WatchMayCancelItselfAndCancelWaitsForCallback) {
  SnapshotCacheImpl cache;
  WatchPtr self;
  int calls = 0;
  self = cache.watch([&](const SnapshotConstSharedPtr&) {
    calls++;
    self.reset();
  });
  cache.setSnapshot(test::snapshotOf(clusterYaml("a")));
  cache.setSnapshot(test::snapshotOf(clusterYaml("b")));
  EXPECT_EQ(calls, 1);

  std::atomic<bool> in_callback{false}, done{false};
  WatchPtr slow = cache.watch([&](const SnapshotConstSharedPtr&) {
    in_callback = true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    done = true;
  });
  std::thread publisher([&] { cache.setSnapshot(test::snapshotOf(clusterYaml("c"))); });
  while (!in_callback) std::this_thread::yield();
  slow.reset();  // must wait for the callback to finish
  EXPECT_TRUE(done);
  publisher.join();
}

}  // namespace
}  // namespace portico::control_plane
