#include "source/control_plane/store/directory_store.h"

#include <dirent.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher.h"
#include "source/control_plane/cache/snapshot_cache_impl.h"
#include "source/control_plane/controller.h"
#include "source/control_plane/store/directory_watcher.h"
#include "test/control_plane/test_resources.h"

namespace portico::control_plane {
namespace {

using test::clusterYaml;
using test::docs;
using test::routeYaml;
using ::testing::HasSubstr;

class DirectoryStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TEST_TMPDIR");
    std::string base = std::string(tmp ? tmp : "/tmp") + "/storeXXXXXX";
    dir_ = mkdtemp(base.data());
  }
  void write(const std::string& name, const std::string& text) {
    std::ofstream(dir_ + "/" + name) << text;
  }
  std::string read(const std::string& name) {
    std::ifstream in(dir_ + "/" + name);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::vector<std::string> files() {
    std::vector<std::string> out;
    DIR* d = opendir(dir_.c_str());
    while (dirent* e = readdir(d)) {
      // Every name but "." and "..", hidden ones too; not the writers' lock file.
      const std::string name = e->d_name;
      if (name != "." && name != ".." && name != ".portico-lock") out.push_back(name);
    }
    closedir(d);
    std::sort(out.begin(), out.end());
    return out;
  }
  ResourceConstSharedPtr one(const std::string& yaml) {
    auto r = parseResources(yaml, "request");
    EXPECT_TRUE(r.ok()) << r.status();
    return (*r)[0];
  }
  std::string dir_;
};

TEST_F(DirectoryStoreTest, LoadsEveryResourceFileAndSkipsOthers) {
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 81)}));
  write("r.yml", routeYaml("r", "a"));
  write("notes.txt", "not: a resource");
  write(".hidden.yaml", "garbage: [");
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->size(), 3);
  EXPECT_EQ(m->at({Kind::kCluster, "b"})->origin, "a.yaml#2");
}

TEST_F(DirectoryStoreTest, LoadErrorsNameFileDocumentAndField) {
  write("a.yaml", docs({clusterYaml("a"), routeYaml("r", "zzz")}));
  auto m = DirectoryStore(dir_).load();
  ASSERT_FALSE(m.ok());
  EXPECT_THAT(m.status().message(),
              HasSubstr("a.yaml#2: RouteConfiguration/r: "
                        "spec.virtual_hosts[0].routes[0].route.cluster: unknown Cluster 'zzz'"));
}

TEST_F(DirectoryStoreTest, ApplyWritesAtomicallyInPlaceAndRefusesInvalid) {
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 81)}));
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok());
  // Update "b" in its file, add "c" in its own file.
  auto next = store.apply(*m, {one(clusterYaml("b", 91)), one(clusterYaml("c", 92))}, {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml", "cluster-c.yaml"}));
  EXPECT_THAT(read("a.yaml"), HasSubstr("91"));
  EXPECT_EQ(next->at({Kind::kCluster, "b"})->origin, "a.yaml#2");
  EXPECT_EQ(next->at({Kind::kCluster, "c"})->origin, "cluster-c.yaml#1");
  // Invalid: nothing changes on disk.
  const std::string before = read("a.yaml");
  auto bad = store.apply(*next, {one(routeYaml("r", "missing"))}, {});
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("unknown Cluster 'missing'"));
  EXPECT_EQ(read("a.yaml"), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml", "cluster-c.yaml"}));
  // Delete: the file goes when it becomes empty; unknown names are NotFound.
  auto del = store.apply(*next, {}, {{Kind::kCluster, "c"}});
  ASSERT_TRUE(del.ok()) << del.status();
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
  EXPECT_EQ(store.apply(*del, {}, {{Kind::kCluster, "zz"}}).status().code(),
            absl::StatusCode::kNotFound);
  auto reloaded = store.load();
  ASSERT_TRUE(reloaded.ok());
  EXPECT_EQ(reloaded->size(), 2);
}

TEST_F(DirectoryStoreTest, ApplyChangesNoFileWhenOneCannotBeWritten) {
  // An apply that touches two files, where the second cannot be written (here: larger than
  // RLIMIT_FSIZE, as on a full disk), leaves the first as it was and no temporary file behind.
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 81)}));
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok());
  const std::string before = read("a.yaml");
  ASSERT_LT(before.size(), 1000u);
  std::string big_name(200, 'z');  // "cluster-zzz...yaml" sorts after "a.yaml"
  std::string many_endpoints = clusterYaml(big_name);
  for (int i = 0; i < 100; i++) {
    absl::StrAppend(&many_endpoints, "    - address: {address: 127.0.0.1, port: ", 1000 + i, "}\n");
  }
  ASSERT_GT(many_endpoints.size(), 4000u);
  auto upserts =
      std::vector<ResourceConstSharedPtr>{one(clusterYaml("b", 91)), one(many_endpoints)};

  struct rlimit old_limit;
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 2000;
  auto old_handler = signal(SIGXFSZ, SIG_IGN);  // a write past the limit fails with EFBIG
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limit), 0);
  auto next = store.apply(*m, upserts, {});
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);

  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("File too large"));
  EXPECT_EQ(read("a.yaml"), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
  // With room again the same apply writes both files.
  next = store.apply(*m, upserts, {});
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_THAT(read("a.yaml"), HasSubstr("91"));
  EXPECT_EQ(files().size(), 2u);
}

// Fails the rename onto any "cluster-z..." file; passes the others through.
int renameFailingForClusterZ(const char* from, const char* to) {
  if (std::string(to).find("/cluster-z") != std::string::npos) {
    errno = EIO;
    return -1;
  }
  return ::rename(from, to);
}

TEST_F(DirectoryStoreTest, ARenameThatFailsPutsBackTheFilesAlreadyReplaced) {
  // Staged files are renamed in name order: a.yaml is replaced, then the rename onto
  // cluster-z....yaml fails. a.yaml gets its old text back, and no temporary file is left.
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 81)}));
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok());
  const std::string before = read("a.yaml");
  DirectoryStore::setRenameForTest(&renameFailingForClusterZ);
  auto next = store.apply(*m, {one(clusterYaml("b", 91)), one(clusterYaml("zz", 92))}, {});
  DirectoryStore::setRenameForTest(nullptr);
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("rename to "));
  EXPECT_THAT(next.status().message(), HasSubstr("cluster-zz.yaml"));
  EXPECT_EQ(read("a.yaml"), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
  // A new file renamed before the failure is removed again.
  DirectoryStore::setRenameForTest(&renameFailingForClusterZ);
  next = store.apply(*m, {one(clusterYaml("c", 93)), one(clusterYaml("zz", 92))}, {});
  DirectoryStore::setRenameForTest(nullptr);
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(read("a.yaml"), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
}

// What the directory held when apply() was about to rename onto cluster-zz.yaml: a crash
// there leaves a.yaml replaced and cluster-zz.yaml still staged.
std::string crash_copy;
std::string crash_source;
int renameCopyingBeforeClusterZ(const char* from, const char* to) {
  if (std::string(to).find("/cluster-zz") != std::string::npos) {
    std::system(("cp -a " + crash_source + "/. " + crash_copy + "/").c_str());
  }
  return ::rename(from, to);
}

// Regression (reviewer): the files of one apply were renamed one by one; a crash in between
// left a route naming a cluster still in a hidden temporary file, and `serve` refused to start
// on that directory.
TEST_F(DirectoryStoreTest, AWriteCutShortByACrashIsFinishedByRecover) {
  write("a.yaml", docs({clusterYaml("a"), routeYaml("r", "a")}));
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok()) << m.status();
  crash_source = dir_;
  crash_copy = dir_ + "-crash";
  ASSERT_EQ(mkdir(crash_copy.c_str(), 0755), 0);
  DirectoryStore::setRenameForTest(&renameCopyingBeforeClusterZ);
  auto next = store.apply(*m, {one(routeYaml("r", "zz")), one(clusterYaml("zz", 92))}, {});
  DirectoryStore::setRenameForTest(nullptr);
  ASSERT_TRUE(next.ok()) << next.status();
  // The directory as the crash left it: a.yaml names "zz", which is not in place yet.
  DirectoryStore crashed(crash_copy);
  EXPECT_FALSE(crashed.load().ok());
  // Another instance's reload finishes it too.
  const std::string other_copy = dir_ + "-other";
  ASSERT_EQ(std::system(("cp -a " + crash_copy + " " + other_copy).c_str()), 0);
  DirectoryStore other(other_copy);
  SnapshotCacheImpl cache;
  Controller controller(other, cache);
  EXPECT_TRUE(controller.reload().ok());
  EXPECT_TRUE(controller.resources().contains({Kind::kCluster, "zz"}));
  ASSERT_TRUE(crashed.recover().ok());
  auto recovered = crashed.load();
  ASSERT_TRUE(recovered.ok()) << recovered.status();
  EXPECT_TRUE(recovered->contains({Kind::kCluster, "zz"}));
  // Nothing hidden is left: no journal, no staged file (the lock file stays).
  DIR* d = opendir(crash_copy.c_str());
  std::vector<std::string> names;
  while (dirent* e = readdir(d)) names.push_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names,
            (std::vector<std::string>{".", "..", ".portico-lock", "a.yaml", "cluster-zz.yaml"}));
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml", "cluster-zz.yaml"}));
}

TEST_F(DirectoryStoreTest, RecoverRemovesFilesStagedByAWriteThatCrashedBeforeItsJournal) {
  write("a.yaml", clusterYaml("a"));
  write(".portico-tmp-abc123", clusterYaml("b"));
  DirectoryStore store(dir_);
  ASSERT_TRUE(store.recover().ok());
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
}

// Regression (reviewer): a file edited (by hand, or by another instance) between the write's
// load and its rename was replaced by one built from the older contents: the edit was lost.
TEST_F(DirectoryStoreTest, AFileChangedSinceTheLoadIsNotOverwritten) {
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 81)}));
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok());
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 82)}));  // meanwhile
  const std::string edited = read("a.yaml");
  auto next = store.apply(*m, {one(clusterYaml("a", 91))}, {});
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(next.status().message(), HasSubstr("a.yaml changed since it was read"));
  EXPECT_EQ(read("a.yaml"), edited);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
  // A file created meanwhile where a new resource would go is not overwritten either.
  m = store.load();
  ASSERT_TRUE(m.ok());
  write("cluster-c.yaml", clusterYaml("c", 83));
  next = store.apply(*m, {one(clusterYaml("c", 84))}, {});
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("cluster-c.yaml changed since it was read"));
}

// Regression (reviewer): a file rewritten from compact YAML (as indented JSON) could grow past
// what load() accepts: written, then refused on every load, and `serve` would not restart.
TEST_F(DirectoryStoreTest, AFileThatWouldBeTooLargeIsNotWritten) {
  write("a.yaml", docs({clusterYaml("a")}));
  DirectoryStore store(dir_, /*max_file_bytes=*/read("a.yaml").size() + 100);
  auto m = store.load();
  ASSERT_TRUE(m.ok());
  const std::string before = read("a.yaml");
  auto next = store.apply(*m, {one(clusterYaml("a", 9001))}, {});  // a.yaml as JSON: larger
  ASSERT_FALSE(next.ok());
  EXPECT_EQ(next.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(next.status().message(), HasSubstr("a.yaml would be"));
  EXPECT_EQ(read("a.yaml"), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml"}));
}

TEST_F(DirectoryStoreTest, ApplyStopsBeforeChangingAnythingWhenAFileCannotBeRead) {
  // The new resource's file name is taken by a directory: nothing is renamed, a.yaml keeps
  // its text, and the error names the path.
  write("a.yaml", docs({clusterYaml("a"), clusterYaml("b", 81)}));
  ASSERT_EQ(mkdir((dir_ + "/cluster-c.yaml").c_str(), 0755), 0);
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_FALSE(m.ok());  // the directory is not a readable resource file either
  ASSERT_EQ(rmdir((dir_ + "/cluster-c.yaml").c_str()), 0);
  m = store.load();
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(mkdir((dir_ + "/cluster-c.yaml").c_str(), 0755), 0);
  const std::string before = read("a.yaml");
  auto next = store.apply(*m, {one(clusterYaml("b", 91)), one(clusterYaml("c", 92))}, {});
  ASSERT_FALSE(next.ok());
  EXPECT_THAT(next.status().message(), HasSubstr("cluster-c.yaml"));
  EXPECT_EQ(read("a.yaml"), before);
  EXPECT_EQ(files(), (std::vector<std::string>{"a.yaml", "cluster-c.yaml"}));
}

TEST_F(DirectoryStoreTest, LongNamesGetShortDistinctFileNames) {
  // A file name stops at 255 bytes; a resource name may be longer (it was a 500 from the API).
  DirectoryStore store(dir_);
  auto m = store.load();
  ASSERT_TRUE(m.ok());
  const std::string a(300, 'a'), b = std::string(299, 'a') + "b";
  auto next = store.apply(*m, {one(clusterYaml(a)), one(clusterYaml(b))}, {});
  ASSERT_TRUE(next.ok()) << next.status();
  std::vector<std::string> names = files();
  ASSERT_EQ(names.size(), 2u);
  EXPECT_NE(names[0], names[1]);
  for (const std::string& f : names) EXPECT_LT(f.size(), 140u) << f;
  auto reloaded = store.load();
  ASSERT_TRUE(reloaded.ok()) << reloaded.status();
  EXPECT_EQ(reloaded->count({Kind::kCluster, a}), 1u);
  EXPECT_EQ(reloaded->count({Kind::kCluster, b}), 1u);
}

TEST_F(DirectoryStoreTest, ReferencedResourcesCannotBeDeleted) {
  write("a.yaml", docs({clusterYaml("a"), routeYaml("r", "a")}));
  DirectoryStore store(dir_);
  auto m = store.load();
  auto del = store.apply(*m, {}, {{Kind::kCluster, "a"}});
  ASSERT_FALSE(del.ok());
  EXPECT_THAT(del.status().message(), HasSubstr("unknown Cluster 'a'"));
}

TEST_F(DirectoryStoreTest, AtomicWriteNeverShowsPartialFiles) {
  // A reader polling the file while it is rewritten sees the old or the new text, never a mix.
  const std::string a(200000, 'a'), b(300000, 'b');
  ASSERT_TRUE(DirectoryStore::writeFileAtomically(dir_ + "/f.yaml", a).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> bad{0};
  std::thread reader([&] {
    while (!stop) {
      std::string t = read("f.yaml");
      if (t != a && t != b) bad++;
    }
  });
  for (int i = 0; i < 50; i++) {
    ASSERT_TRUE(DirectoryStore::writeFileAtomically(dir_ + "/f.yaml", i % 2 ? a : b).ok());
  }
  stop = true;
  reader.join();
  EXPECT_EQ(bad, 0);
  EXPECT_EQ(files(), (std::vector<std::string>{"f.yaml"}));  // no temp files left
}

TEST_F(DirectoryStoreTest, WatcherReloadsDebouncedAndKeepsServingOnErrors) {
  write("a.yaml", clusterYaml("a"));
  DirectoryStore store(dir_);
  SnapshotCacheImpl cache;
  Controller controller(store, cache);
  ASSERT_TRUE(controller.reload().ok());
  const std::string v1 = cache.current()->version();
  event::DispatcherPtr dispatcher = event::createDispatcher();
  int reloads = 0;
  std::string v2;
  size_t count_after_first = 0;
  auto watcher = DirectoryWatcher::create(
      *dispatcher, dir_, std::chrono::milliseconds(50), DirectoryStore::isResourceFile, [&] {
        reloads++;
        (void)controller.reload();
        if (reloads == 1) {
          v2 = cache.current()->version();
          count_after_first = controller.resources().size();
          write("b.yaml", routeYaml("r", "nope"));  // a broken edit
        } else {
          dispatcher->exit();
        }
      });
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  auto guard = dispatcher->createTimer([&] { dispatcher->exit(); });
  guard->enableTimer(std::chrono::seconds(5));

  // A burst of writes is one reload.
  for (int i = 0; i < 5; i++) write("b.yaml", clusterYaml("b", 81 + i));
  dispatcher->run();
  EXPECT_EQ(reloads, 2);
  EXPECT_NE(v2, v1);
  EXPECT_EQ(count_after_first, 2);
  // The broken edit was rejected: the previous snapshot stays.
  EXPECT_EQ(cache.current()->version(), v2);
  EXPECT_THAT(controller.lastError(), HasSubstr("unknown Cluster 'nope'"));
  EXPECT_EQ(controller.reloadFailures(), 1);
}

// A Kubernetes ConfigMap volume: the files are links through "..data" to a timestamped
// directory, and an update swaps "..data" (every name it touches is hidden).
TEST_F(DirectoryStoreTest, WatcherSeesAConfigMapUpdate) {
  ASSERT_EQ(mkdir((dir_ + "/..v1").c_str(), 0755), 0);
  ASSERT_EQ(mkdir((dir_ + "/..v2").c_str(), 0755), 0);
  write("..v1/a.yaml", clusterYaml("a", 81));
  write("..v2/a.yaml", clusterYaml("a", 82));
  ASSERT_EQ(symlink("..v1", (dir_ + "/..data").c_str()), 0);
  ASSERT_EQ(symlink("..data/a.yaml", (dir_ + "/a.yaml").c_str()), 0);
  DirectoryStore store(dir_);
  SnapshotCacheImpl cache;
  Controller controller(store, cache);
  ASSERT_TRUE(controller.reload().ok());
  const std::string v1 = cache.current()->version();
  event::DispatcherPtr dispatcher = event::createDispatcher();
  auto watcher = DirectoryWatcher::create(*dispatcher, dir_, std::chrono::milliseconds(50),
                                          DirectoryStore::isResourceFile, [&] {
                                            (void)controller.reload();
                                            dispatcher->exit();
                                          });
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  auto guard = dispatcher->createTimer([&] { dispatcher->exit(); });
  guard->enableTimer(std::chrono::seconds(5));
  ASSERT_EQ(symlink("..v2", (dir_ + "/..data_tmp").c_str()), 0);
  ASSERT_EQ(rename((dir_ + "/..data_tmp").c_str(), (dir_ + "/..data").c_str()), 0);
  dispatcher->run();
  EXPECT_NE(cache.current()->version(), v1);
}

// Files the store does not read do not count; one rewritten faster than the debounce holds a
// reload back at most kMaxDelayFactor debounces.
TEST_F(DirectoryStoreTest, WatcherIgnoresOtherFilesAndBoundsTheDelay) {
  event::DispatcherPtr dispatcher = event::createDispatcher();
  int reloads = 0;
  auto started = std::chrono::steady_clock::now();
  std::chrono::milliseconds waited{0};
  auto watcher = DirectoryWatcher::create(
      *dispatcher, dir_, std::chrono::milliseconds(50), DirectoryStore::isResourceFile, [&] {
        if (reloads++ == 0) {
          waited = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - started);
        }
      });
  ASSERT_TRUE(watcher.ok()) << watcher.status();
  int writes = 0;
  event::TimerPtr writer;
  writer = dispatcher->createTimer([&] {
    // 30 ms apart: other.txt for 0.6 s (ignored), then a.yaml for 1.2 s.
    write(writes < 20 ? "other.txt" : "a.yaml", clusterYaml("a", 8000 + writes));
    if (writes == 20) started = std::chrono::steady_clock::now();
    if (++writes < 60) {
      writer->enableTimer(std::chrono::milliseconds(30));
    } else {
      dispatcher->exit();
    }
  });
  writer->enableTimer(std::chrono::milliseconds(0));
  dispatcher->run();
  ASSERT_GE(reloads, 1);
  EXPECT_GE(waited.count(), 400);   // not before the cap (and not for other.txt)
  EXPECT_LE(waited.count(), 1000);  // without it: after the last write, 1.2 s on
}

}  // namespace
}  // namespace portico::control_plane
