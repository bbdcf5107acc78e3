#pragma once

// Recycled<T>: a base class that gives T a small per-thread cache of freed blocks of exactly
// sizeof(T), for objects made and destroyed once per request on a worker (the stream, its
// router filter, its timeout timer). Taking a block back from the cache skips malloc's bins,
// which for objects of this size (past the thread cache's small sizes) cost about as much as
// the rest of the object's setup.
//
// Memory stays bounded: at most kMaxCached blocks per thread and class; more go back to the
// heap, and a thread's cache is freed when the thread ends. A block freed on another thread
// than the one that made it joins the freeing thread's cache: blocks are plain heap memory.
// A derived class of another size bypasses the cache. Under AddressSanitizer the cache is off,
// so a use after free is still caught.

#include <cstddef>
#include <new>

namespace portico {

#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool kRecycleBlocks = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool kRecycleBlocks = false;
#else
inline constexpr bool kRecycleBlocks = true;
#endif
#else
inline constexpr bool kRecycleBlocks = true;
#endif

template <class T, size_t kMaxCached = 64>
class Recycled {
 public:
  static void* operator new(size_t size) {
    if (kRecycleBlocks && size == sizeof(T) && !closed()) {
      Cache& c = cache();
      if (c.count > 0) return c.blocks[--c.count];
    }
    return ::operator new(size);
  }

  static void operator delete(void* p, size_t size) {
    if (kRecycleBlocks && size == sizeof(T) && !closed()) {
      Cache& c = cache();
      if (c.count < kMaxCached) {
        c.blocks[c.count++] = p;
        return;
      }
    }
    ::operator delete(p);
  }

 private:
  struct Cache {
    ~Cache() {
      closed() = true;
      while (count > 0) ::operator delete(blocks[--count]);
    }
    void* blocks[kMaxCached];
    size_t count = 0;
  };
  static Cache& cache() {
    thread_local Cache c;
    return c;
  }
  // Set when this thread's cache is gone (the thread is exiting): blocks made or freed after
  // that use the heap. A plain bool, so it outlives the cache and reading it stays defined.
  static bool& closed() {
    thread_local bool c = false;
    return c;
  }
};

}  // namespace portico
