#include "source/common/common/recycled.h"

#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace portico {
namespace {

struct Base : Recycled<Base, 4> {
  virtual ~Base() = default;
  char payload[200] = {};
};

struct Larger : Base {
  char more[100] = {};
};

TEST(RecycledTest, AFreedBlockIsTakenBackByTheNextObject) {
  if (!kRecycleBlocks) GTEST_SKIP() << "the cache is off under AddressSanitizer";
  void* first = new Base;
  delete static_cast<Base*>(first);
  auto second = std::make_unique<Base>();
  EXPECT_EQ(second.get(), first);
}

TEST(RecycledTest, ObjectsAreFreshlyConstructedInARecycledBlock) {
  auto a = std::make_unique<Base>();
  a->payload[0] = 'x';
  a.reset();
  auto b = std::make_unique<Base>();
  EXPECT_EQ(b->payload[0], 0);
}

TEST(RecycledTest, ADerivedClassOfAnotherSizeBypassesTheCache) {
  if (!kRecycleBlocks) GTEST_SKIP() << "the cache is off under AddressSanitizer";
  std::unique_ptr<Base> larger = std::make_unique<Larger>();
  void* block = larger.get();
  larger.reset();  // sized delete with sizeof(Larger): back to the heap, not to Base's cache
  auto base = std::make_unique<Base>();
  void* base_block = base.get();
  base.reset();
  auto again = std::make_unique<Base>();
  EXPECT_EQ(again.get(), base_block);  // Base's own block came back
  (void)block;
}

TEST(RecycledTest, TheCacheKeepsAtMostItsCapacity) {
  if (!kRecycleBlocks) GTEST_SKIP() << "the cache is off under AddressSanitizer";
  std::vector<std::unique_ptr<Base>> live;
  for (int i = 0; i < 10; i++) live.push_back(std::make_unique<Base>());
  std::vector<void*> freed;
  for (auto& p : live) freed.push_back(p.get());
  live.clear();  // frees in order: the first 4 are cached, the other 6 go to the heap
  // The cache hands back its 4 blocks, last in first out: the 4th, 3rd, 2nd and 1st freed.
  for (int i = 3; i >= 0; i--) {
    live.push_back(std::make_unique<Base>());
    EXPECT_EQ(live.back().get(), freed[i]);
  }
}

TEST(RecycledTest, EachThreadHasItsOwnCacheAndFreesItAtExit) {
  if (!kRecycleBlocks) GTEST_SKIP() << "the cache is off under AddressSanitizer";
  auto here = std::make_unique<Base>();
  void* here_block = here.get();
  here.reset();  // cached in this thread
  void* there_block = nullptr;
  std::thread([&] {
    auto obj = std::make_unique<Base>();
    there_block = obj.get();  // not this thread's cached block
  }).join();
  EXPECT_NE(there_block, here_block);
  auto again = std::make_unique<Base>();
  EXPECT_EQ(again.get(), here_block);
}

}  // namespace
}  // namespace portico
