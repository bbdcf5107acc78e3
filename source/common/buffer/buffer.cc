#include "source/common/buffer/buffer.h"

#include <sanitizer/asan_interface.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <vector>

#include "source/common/common/direct_syscalls.h"

namespace portico::buffer {

namespace {
struct FreeList {
  std::vector<Slice*> slices;
  ~FreeList() {
    for (Slice* s : slices) {
      ASAN_UNPOISON_MEMORY_REGION(s->freeStart(), Slice::kSize);
      delete s;
    }
  }
};
thread_local FreeList free_list;
}  // namespace

void SliceDeleter::operator()(Slice* s) const { SlicePool::put(s); }

SlicePtr SlicePool::get() {
  if (!free_list.slices.empty()) {
    Slice* s = free_list.slices.back();
    free_list.slices.pop_back();
    ASAN_UNPOISON_MEMORY_REGION(s->freeStart(), Slice::kSize);
    return SlicePtr(s);
  }
  return SlicePtr(new Slice());
}

void SlicePool::put(Slice* s) {
  if (free_list.slices.size() >= kMaxCached) {
    delete s;
    return;
  }
  s->reset();
  // Under AddressSanitizer a cached slice is out of bounds, as a freed one would be: a read of
  // a buffer after it was cleared is found even when its slice went to the cache.
  ASAN_POISON_MEMORY_REGION(s->freeStart(), Slice::kSize);
  free_list.slices.push_back(s);
}

Slice& Buffer::tailWithRoom() {
  if (slices_.empty() || slices_.back()->freeRoom() == 0) slices_.push_back(SlicePool::get());
  return *slices_.back();
}

void Buffer::add(const void* data, size_t n) {
  const uint8_t* p = static_cast<const uint8_t*>(data);
  while (n > 0) {
    Slice& tail = tailWithRoom();
    size_t k = std::min(n, tail.freeRoom());
    memcpy(tail.freeStart(), p, k);
    tail.commit(k);
    p += k;
    n -= k;
    length_ += k;
  }
}

void Buffer::addPieces(std::initializer_list<absl::string_view> pieces) {
  size_t total = 0;
  for (absl::string_view p : pieces) total += p.size();
  if (total > Slice::kSize) {
    for (absl::string_view p : pieces) add(p);
    return;
  }
  if (slices_.empty() || slices_.back()->freeRoom() < total) slices_.push_back(SlicePool::get());
  Slice& tail = *slices_.back();
  uint8_t* out = tail.freeStart();
  for (absl::string_view p : pieces) {
    memcpy(out, p.data(), p.size());
    out += p.size();
  }
  tail.commit(total);
  length_ += total;
}

void Buffer::move(Buffer& other) { move(other, other.length_); }

void Buffer::move(Buffer& other, size_t n) {
  n = std::min(n, other.length_);
  while (n > 0) {
    SlicePtr& head = other.slices_.front();
    size_t len = head->length();
    if (len <= n && len <= 4096 && !slices_.empty() && slices_.back()->freeRoom() >= len) {
      // Small piece and room in our tail: copy, so a response head and its body stay in one
      // slice (one send() instead of sendmsg with many iovecs, fewer slices in flight).
      add(head->data(), len);
      n -= len;
      other.length_ -= len;
      other.popFront();
    } else if (len <= n) {
      // Whole slice: hand it over without copying.
      n -= len;
      other.length_ -= len;
      length_ += len;
      slices_.push_back(std::move(head));
      other.popFront();
    } else {
      add(head->data(), n);
      head->drain(n);
      other.length_ -= n;
      n = 0;
    }
  }
}

void Buffer::drain(size_t n) {
  n = std::min(n, length_);
  length_ -= n;
  while (n > 0) {
    Slice& head = *slices_.front();
    size_t k = std::min(n, head.length());
    head.drain(k);
    n -= k;
    if (head.length() == 0) popFront();
  }
  // Drop an emptied tail too, so an empty buffer holds no memory.
  if (length_ == 0) slices_.clear();
}

std::string Buffer::toString() const {
  std::string out;
  out.reserve(length_);
  for (const SlicePtr& s : slices_)
    out.append(reinterpret_cast<const char*>(s->data()), s->length());
  return out;
}

void Buffer::copyOut(size_t offset, size_t n, void* out) const {
  uint8_t* dst = static_cast<uint8_t*>(out);
  for (const SlicePtr& s : slices_) {
    if (n == 0) break;
    if (offset >= s->length()) {
      offset -= s->length();
      continue;
    }
    size_t k = std::min(n, s->length() - offset);
    memcpy(dst, s->data() + offset, k);
    dst += k;
    n -= k;
    offset = 0;
  }
}

ssize_t Buffer::readFrom(int fd, size_t max_bytes) {
  // Small messages: one recv() into the tail (recv skips the VFS layer readv goes through).
  // After a read that filled its space (a large body is streaming), or when the last read was
  // large (a connection that carries large messages, e.g. 64 KiB responses), read up to five
  // slices with one recvmsg(): a 64 KiB body and its head arrive in one syscall.
  constexpr size_t kMinRoom = 4096;
  constexpr size_t kMaxSlicesPerRead = 5;
  if (slices_.empty() || slices_.back()->freeRoom() < kMinRoom) slices_.push_back(SlicePool::get());
  if (!(last_read_filled_ || last_read_large_) || max_bytes <= slices_.back()->freeRoom()) {
    Slice& tail = *slices_.back();
    size_t want = std::min(tail.freeRoom(), max_bytes);
    last_read_capacity_ = want;
    ssize_t rc = sys::recv(fd, tail.freeStart(), want, 0);
    if (rc <= 0) {
      if (tail.length() == 0) slices_.pop_back();
      return rc;
    }
    last_read_filled_ = static_cast<size_t>(rc) == want;
    last_read_large_ = static_cast<size_t>(rc) >= Slice::kSize;
    tail.commit(static_cast<size_t>(rc));
    length_ += static_cast<size_t>(rc);
    return rc;
  }
  SlicePtr extra[kMaxSlicesPerRead - 1];
  iovec iov[kMaxSlicesPerRead];
  size_t cnt = 0, capacity = 0;
  Slice& tail = *slices_.back();
  iov[cnt++] = {tail.freeStart(), std::min(tail.freeRoom(), max_bytes)};
  capacity = iov[0].iov_len;
  while (cnt < kMaxSlicesPerRead && capacity < max_bytes) {
    extra[cnt - 1] = SlicePool::get();
    size_t n = std::min(Slice::kSize, max_bytes - capacity);
    iov[cnt] = {extra[cnt - 1]->freeStart(), n};
    capacity += n;
    cnt++;
  }
  last_read_capacity_ = capacity;
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = cnt;
  ssize_t rc = sys::recvmsg(fd, &msg, 0);
  if (rc <= 0) {
    if (tail.length() == 0) slices_.pop_back();
    return rc;
  }
  size_t got = static_cast<size_t>(rc);
  last_read_filled_ = got == capacity;
  last_read_large_ = got >= Slice::kSize;
  length_ += got;
  size_t k = std::min(got, iov[0].iov_len);
  tail.commit(k);
  got -= k;
  for (size_t i = 1; i < cnt && got > 0; i++) {
    k = std::min(got, iov[i].iov_len);
    extra[i - 1]->commit(k);
    got -= k;
    slices_.push_back(std::move(extra[i - 1]));
  }
  return rc;
}

ssize_t Buffer::writeTo(int fd, int flags) {
  ssize_t rc;
  if (slices_.size() == 1) {
    rc = sys::send(fd, slices_[0]->data(), slices_[0]->length(), MSG_NOSIGNAL | flags);
  } else {
    constexpr size_t kMaxIov = 16;
    iovec iov[kMaxIov];
    size_t cnt = 0;
    for (const SlicePtr& s : slices_) {
      if (cnt == kMaxIov) break;
      if (s->length() == 0) continue;
      iov[cnt++] = {s->data(), s->length()};
    }
    if (cnt == 0) return 0;
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = cnt;
    rc = sys::sendmsg(fd, &msg, MSG_NOSIGNAL | flags);
  }
  if (rc > 0) drain(static_cast<size_t>(rc));
  return rc;
}

}  // namespace portico::buffer
