#pragma once

// Buffer: a queue of fixed-size slices (16 KiB) used for socket I/O.
//
// Invariants:
// - Data lives in slices; each slice holds [start_, end_) of live bytes; a slice is never empty
//   except the tail slice, which may have free room after end_ for the next read.
// - Slices come from and go back to a per-thread free list, so steady-state I/O allocates
//   nothing. A Buffer must be used on one thread at a time.
// - move() moves whole slices (no copy) when the source's head is a whole slice.
// - length() is O(1).
// Watermarks are not a Buffer concern: the owner of a connection checks length() against its
// limits after each add/drain (see network/connection_impl.h).

#include <sys/uio.h>

#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace portico::buffer {

class Slice {
 public:
  static constexpr size_t kSize = 16 * 1024;

  uint8_t* data() { return storage_.get() + start_; }
  const uint8_t* data() const { return storage_.get() + start_; }
  size_t length() const { return end_ - start_; }
  size_t freeRoom() const { return kSize - end_; }
  uint8_t* freeStart() { return storage_.get() + end_; }
  void commit(size_t n) { end_ += n; }
  void drain(size_t n) { start_ += n; }
  void reset() { start_ = end_ = 0; }

 private:
  friend class SlicePool;
  Slice() : storage_(new uint8_t[kSize]) {}
  std::unique_ptr<uint8_t[]> storage_;
  size_t start_ = 0;
  size_t end_ = 0;
};

struct SliceDeleter {
  void operator()(Slice* s) const;
};
using SlicePtr = std::unique_ptr<Slice, SliceDeleter>;

// Per-thread free list of slices, bounded so an idle thread gives memory back.
class SlicePool {
 public:
  static SlicePtr get();
  static void put(Slice* s);
  // Enough for the slices in flight on a busy worker; more would only pin idle memory.
  static constexpr size_t kMaxCached = 512;  // 8 MiB per thread at most, only after a busy spell
};

class Buffer {
 public:
  Buffer() = default;
  // A moved-from Buffer is empty and usable (a defaulted move would leave its length behind).
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept {
    if (this == &other) return *this;
    slices_ = std::move(other.slices_);
    length_ = std::exchange(other.length_, 0);
    last_read_capacity_ = std::exchange(other.last_read_capacity_, 0);
    last_read_filled_ = std::exchange(other.last_read_filled_, false);
    last_read_large_ = std::exchange(other.last_read_large_, false);
    other.slices_.clear();
    return *this;
  }

  size_t length() const { return length_; }
  bool empty() const { return length_ == 0; }

  void add(const void* data, size_t n);
  void add(absl::string_view s) { add(s.data(), s.size()); }
  // Appends the pieces back to back (e.g. one header line: name, ": ", value, CRLF), in one
  // contiguous run when they fit in a slice.
  void addPieces(std::initializer_list<absl::string_view> pieces);
  // Moves all of `other` to the end of this buffer, copying only partial slices.
  void move(Buffer& other);
  // Moves the first n bytes of `other`.
  void move(Buffer& other, size_t n);
  void drain(size_t n);
  void clear() { drain(length_); }

  // Copies out the first n bytes (n <= length()). For tests and small reads.
  std::string toString() const;
  void copyOut(size_t offset, size_t n, void* out) const;

  // Reads from a socket into free room (at most max_bytes, at most one slice). Returns bytes
  // read, 0 on EOF, -1 with errno set (EAGAIN included).
  ssize_t readFrom(int fd, size_t max_bytes);
  // Bytes the last readFrom() offered to the kernel (a read shorter than this drained the fd).
  size_t lastReadCapacity() const { return last_read_capacity_; }
  // Writes as much as the socket takes with one send/sendmsg (never raises SIGPIPE). Drains
  // what was written. Returns bytes written or -1 with errno. `flags` adds e.g. MSG_MORE.
  ssize_t writeTo(int fd, int flags = 0);
  // The next readFrom() is one plain recv() into one slice, whatever the last reads were: a
  // connection whose large bodies bypass the buffer (raw forwarding) reads only the next head.
  void preferSmallReads() { last_read_filled_ = last_read_large_ = false; }

  // For producers that write in place (a compressor): writableTail() is free room at the end
  // (a new slice when the last one is full), commitTail(n) appends the first n bytes written.
  absl::Span<uint8_t> writableTail() {
    Slice& tail = tailWithRoom();
    return {tail.freeStart(), tail.freeRoom()};
  }
  // The same with at least `min_room` contiguous bytes (min_room <= Slice::kSize): a writer
  // that knows its size (a header block) fills it with plain stores.
  absl::Span<uint8_t> writableTail(size_t min_room) {
    if (slices_.empty() || slices_.back()->freeRoom() < min_room)
      slices_.push_back(SlicePool::get());
    Slice& tail = *slices_.back();
    return {tail.freeStart(), tail.freeRoom()};
  }
  void commitTail(size_t n) {
    if (n == 0 && slices_.back()->length() == 0) {
      slices_.pop_back();  // an unused new slice: the buffer never holds empty slices
      return;
    }
    slices_.back()->commit(n);
    length_ += n;
  }

  // Iteration over contiguous pieces.
  size_t sliceCount() const { return slices_.size(); }
  absl::string_view slice(size_t i) const {
    return {reinterpret_cast<const char*>(slices_[i]->data()), slices_[i]->length()};
  }

 private:
  Slice& tailWithRoom();

  void popFront() { slices_.erase(slices_.begin()); }

  // A buffer rarely holds more than a few slices; inline storage avoids a heap block per
  // short-lived buffer (std::deque allocates 512 bytes up front).
  absl::InlinedVector<SlicePtr, 4> slices_;
  size_t length_ = 0;
  size_t last_read_capacity_ = 0;
  bool last_read_filled_ = false;
  bool last_read_large_ = false;  // at least a slice's worth: the next read goes vectored
};

}  // namespace portico::buffer
