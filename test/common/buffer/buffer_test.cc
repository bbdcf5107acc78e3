#include "source/common/buffer/buffer.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "gtest/gtest.h"

namespace portico::buffer {
namespace {

constexpr size_t kSlice = Slice::kSize;

// n bytes that differ from their neighbours, so a misplaced byte shows up in comparisons.
std::string pattern(size_t n, size_t seed = 0) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i++) s[i] = static_cast<char>((i + seed) % 251);
  return s;
}

Buffer bufferOf(const std::string& data) {
  Buffer b;
  b.add(data);
  return b;
}

// Slices must account for exactly length() bytes, and no slice but the tail may be empty.
void expectConsistent(const Buffer& b) {
  size_t total = 0;
  for (size_t i = 0; i < b.sliceCount(); i++) {
    total += b.slice(i).size();
    if (i + 1 < b.sliceCount()) EXPECT_FALSE(b.slice(i).empty()) << "empty slice " << i;
  }
  EXPECT_EQ(total, b.length());
  EXPECT_EQ(b.toString().size(), b.length());
}

TEST(BufferTest, EmptyBufferHoldsNoSlices) {
  Buffer b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.length(), 0u);
  EXPECT_EQ(b.sliceCount(), 0u);
  EXPECT_EQ(b.toString(), "");
  b.add("", 0);
  EXPECT_EQ(b.sliceCount(), 0u);
}

// Regression (reviewer): a defaulted move left the length behind with no slices under it.
TEST(BufferTest, AMovedFromBufferIsEmptyAndUsable) {
  for (size_t size : {size_t{10}, size_t{100000}}) {  // inline and heap slice storage
    Buffer a;
    a.add(std::string(size, 'x'));
    Buffer b(std::move(a));
    EXPECT_EQ(b.length(), size);
    EXPECT_EQ(a.length(), 0u);  // NOLINT(bugprone-use-after-move): what is tested
    a.add("again");
    EXPECT_EQ(a.toString(), "again");
    Buffer c;
    c = std::move(b);
    EXPECT_EQ(c.length(), size);
    EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move)
    b.add("more");
    EXPECT_EQ(b.toString(), "more");
  }
}

TEST(BufferTest, AddWithinOneSliceKeepsOneSlice) {
  Buffer b;
  b.add("hello ");
  b.add("world");
  EXPECT_EQ(b.length(), 11u);
  EXPECT_EQ(b.sliceCount(), 1u);
  EXPECT_EQ(b.toString(), "hello world");
}

TEST(BufferTest, AddAcrossSliceBoundariesFillsEachSlice) {
  const std::string data = pattern(2 * kSlice + 100);
  Buffer b = bufferOf(data);
  ASSERT_EQ(b.sliceCount(), 3u);
  EXPECT_EQ(b.slice(0).size(), kSlice);
  EXPECT_EQ(b.slice(1).size(), kSlice);
  EXPECT_EQ(b.slice(2).size(), 100u);
  EXPECT_EQ(b.toString(), data);
  expectConsistent(b);
}

TEST(BufferTest, SmallAddsFillTheTailBeforeTakingANewSlice) {
  Buffer b;
  std::string expected;
  for (int i = 0; i < 10; i++) {
    const std::string piece = pattern(5000, i);
    b.add(piece);
    expected += piece;
  }
  EXPECT_EQ(b.sliceCount(), (50000 + kSlice - 1) / kSlice);
  EXPECT_EQ(b.toString(), expected);
}

TEST(BufferTest, AddPiecesKeepsALineContiguousAndInOrder) {
  Buffer b;
  const std::string filler = pattern(kSlice - 10);
  b.add(filler);
  // 4 + 2 + 20 + 2 bytes do not fit in the 10 left: the line starts a new slice, whole.
  const std::string value = pattern(20, 3);
  b.addPieces({"name", ": ", value, "\r\n"});
  ASSERT_EQ(b.sliceCount(), 2u);
  EXPECT_EQ(b.slice(1), "name: " + value + "\r\n");
  EXPECT_EQ(b.toString(), filler + "name: " + value + "\r\n");
  // Longer than a slice: still all there, in order.
  const std::string big = pattern(kSlice + 5, 4);
  b.addPieces({"x", big, "y"});
  EXPECT_EQ(b.toString(), filler + "name: " + value + "\r\n" + "x" + big + "y");
  expectConsistent(b);
}

TEST(BufferTest, DrainWithinTheFirstSlice) {
  Buffer b = bufferOf("hello world");
  b.drain(6);
  EXPECT_EQ(b.toString(), "world");
  EXPECT_EQ(b.length(), 5u);
}

TEST(BufferTest, DrainAcrossSliceBoundariesDropsEmptiedSlices) {
  const std::string data = pattern(2 * kSlice + 100);
  Buffer b = bufferOf(data);
  b.drain(kSlice + 10);
  EXPECT_EQ(b.length(), data.size() - kSlice - 10);
  EXPECT_EQ(b.sliceCount(), 2u);
  EXPECT_EQ(b.toString(), data.substr(kSlice + 10));
  expectConsistent(b);
}

TEST(BufferTest, DrainExactlyOneSliceLeavesTheRest) {
  const std::string data = pattern(kSlice + 1);
  Buffer b = bufferOf(data);
  b.drain(kSlice);
  EXPECT_EQ(b.sliceCount(), 1u);
  EXPECT_EQ(b.toString(), data.substr(kSlice));
}

TEST(BufferTest, DrainingEverythingReleasesAllSlices) {
  Buffer b = bufferOf(pattern(3 * kSlice));
  b.drain(b.length());
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.sliceCount(), 0u);

  Buffer partial_tail = bufferOf("abc");
  partial_tail.drain(3);
  EXPECT_EQ(partial_tail.sliceCount(), 0u);
}

TEST(BufferTest, DrainMoreThanLengthClampsAndClear) {
  Buffer b = bufferOf("abc");
  b.drain(100);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.sliceCount(), 0u);

  Buffer c = bufferOf(pattern(kSlice + 5));
  c.clear();
  EXPECT_TRUE(c.empty());
  EXPECT_EQ(c.sliceCount(), 0u);
}

TEST(BufferTest, MoveAllAppendsAfterExistingDataAndEmptiesSource) {
  const std::string data = pattern(2 * kSlice + 7);
  Buffer src = bufferOf(data);
  Buffer dst = bufferOf("prefix:");
  dst.move(src);
  EXPECT_TRUE(src.empty());
  EXPECT_EQ(src.sliceCount(), 0u);
  EXPECT_EQ(dst.length(), 7 + data.size());
  EXPECT_EQ(dst.toString(), "prefix:" + data);
  expectConsistent(dst);
}

TEST(BufferTest, MoveOfWholeSlicesHandsOverTheSliceMemory) {
  Buffer src = bufferOf(pattern(kSlice));
  const void* storage = src.slice(0).data();
  Buffer dst;
  dst.move(src);
  ASSERT_EQ(dst.sliceCount(), 1u);
  EXPECT_EQ(dst.slice(0).data(), storage);  // no copy
}

TEST(BufferTest, MoveOfSmallSlicesCopiesThemIntoTheTail) {
  Buffer dst = bufferOf("HTTP/1.1 200 OK\r\n\r\n");
  for (const char* piece : {"hello", " ", "world"}) {
    Buffer src = bufferOf(piece);
    dst.move(src);
    EXPECT_EQ(src.sliceCount(), 0u);
  }
  EXPECT_EQ(dst.sliceCount(), 1u);
  EXPECT_EQ(dst.toString(), "HTTP/1.1 200 OK\r\n\r\nhello world");
}

TEST(BufferTest, MoveOfAPartialSliceCopiesOnlyThePrefix) {
  Buffer src = bufferOf("hello world");
  Buffer dst;
  dst.move(src, 5);
  EXPECT_EQ(dst.toString(), "hello");
  EXPECT_EQ(src.toString(), " world");
  EXPECT_EQ(src.length(), 6u);
  EXPECT_EQ(dst.length(), 5u);
}

TEST(BufferTest, MoveOfNBytesSpanningSlicesMovesWholeAndPartialSlices) {
  const std::string data = pattern(2 * kSlice + 100);
  Buffer src = bufferOf(data);
  Buffer dst = bufferOf("x");
  const size_t n = kSlice + 300;
  dst.move(src, n);
  EXPECT_EQ(dst.toString(), "x" + data.substr(0, n));
  EXPECT_EQ(src.toString(), data.substr(n));
  EXPECT_EQ(src.length() + dst.length(), data.size() + 1);
  expectConsistent(src);
  expectConsistent(dst);
}

TEST(BufferTest, MoveMoreThanAvailableMovesEverything) {
  Buffer src = bufferOf("abc");
  Buffer dst;
  dst.move(src, 1000);
  EXPECT_EQ(dst.toString(), "abc");
  EXPECT_TRUE(src.empty());
  EXPECT_EQ(src.sliceCount(), 0u);
}

TEST(BufferTest, MoveFromEmptyBufferIsANoOp) {
  Buffer src;
  Buffer dst = bufferOf("abc");
  dst.move(src);
  dst.move(src, 10);
  EXPECT_EQ(dst.toString(), "abc");
  EXPECT_EQ(dst.sliceCount(), 1u);
}

TEST(BufferTest, RepeatedPartialMovesReassembleTheOriginal) {
  const std::string data = pattern(3 * kSlice + 17);
  Buffer src = bufferOf(data);
  Buffer dst;
  size_t step = 1;
  while (!src.empty()) {
    dst.move(src, step);
    step = step * 3 + 1;  // 1, 4, 13, ... crosses slice boundaries at odd offsets
  }
  EXPECT_EQ(dst.toString(), data);
  expectConsistent(dst);
}

TEST(BufferTest, CopyOutReadsAcrossSlicesAtAnyOffset) {
  const std::string data = pattern(2 * kSlice + 100);
  Buffer b = bufferOf(data);
  for (size_t offset : {size_t{0}, size_t{5}, kSlice - 3, kSlice, 2 * kSlice + 50}) {
    const size_t n = std::min<size_t>(300, data.size() - offset);
    std::string out(n, '\0');
    b.copyOut(offset, n, out.data());
    EXPECT_EQ(out, data.substr(offset, n)) << "offset " << offset;
  }
  EXPECT_EQ(b.length(), data.size());  // copyOut does not consume
}

TEST(BufferTest, CopyOutAfterDrainIsRelativeToTheNewStart) {
  Buffer b = bufferOf("0123456789");
  b.drain(3);
  char out[4];
  b.copyOut(2, 4, out);
  EXPECT_EQ(std::string(out, 4), "5678");
}

TEST(BufferTest, MovedFromBufferIsReusable) {
  Buffer a = bufferOf("abc");
  Buffer b(std::move(a));
  EXPECT_EQ(b.toString(), "abc");
  a = bufferOf("def");  // NOLINT(bugprone-use-after-move): reassignment is allowed
  EXPECT_EQ(a.toString(), "def");
}

// A non-blocking AF_UNIX stream socketpair: [0] is read by the code under test, [1] is the peer.
class BufferSocketTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds_), 0);
  }
  void TearDown() override {
    for (int fd : fds_) {
      if (fd >= 0) close(fd);
    }
  }

  // Reads everything currently available from `fd` into `b`; returns the last readFrom() result.
  static ssize_t readAll(Buffer& b, int fd) {
    ssize_t rc;
    while ((rc = b.readFrom(fd, 1 << 20)) > 0) {
    }
    return rc;
  }

  void writeRaw(const std::string& s) {
    ASSERT_EQ(write(fds_[1], s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }

  int fds_[2] = {-1, -1};
};

TEST_F(BufferSocketTest, ReadFromAppendsWhatThePeerWrote) {
  Buffer b = bufferOf("head:");
  writeRaw("hello");
  EXPECT_EQ(b.readFrom(fds_[0], 1 << 20), 5);
  EXPECT_EQ(b.toString(), "head:hello");
  EXPECT_EQ(b.length(), 10u);
}

TEST_F(BufferSocketTest, ReadFromRespectsMaxBytes) {
  writeRaw("0123456789");
  Buffer b;
  EXPECT_EQ(b.readFrom(fds_[0], 4), 4);
  EXPECT_EQ(b.toString(), "0123");
  EXPECT_EQ(b.readFrom(fds_[0], 100), 6);
  EXPECT_EQ(b.toString(), "0123456789");
}

TEST_F(BufferSocketTest, ReadFromFillsTheTailThenANewSlice) {
  Buffer b = bufferOf(pattern(kSlice - 10));
  const std::string more = pattern(100, 7);
  writeRaw(more);
  EXPECT_EQ(b.readFrom(fds_[0], 1 << 20), 100);
  EXPECT_EQ(b.sliceCount(), 2u);
  EXPECT_EQ(b.toString(), pattern(kSlice - 10) + more);
  expectConsistent(b);
}

TEST_F(BufferSocketTest, AfterALargeReadTheNextMessageIsReadInOneCall) {
  Buffer b;
  writeRaw(pattern(40000));
  readAll(b, fds_[0]);
  b.clear();
  // A 64 KiB body with its head, as an upstream sends it: one read.
  const std::string message = pattern(65536 + 300, 3);
  writeRaw(message);
  EXPECT_EQ(b.readFrom(fds_[0], 1 << 20), static_cast<ssize_t>(message.size()));
  EXPECT_GE(b.lastReadCapacity(), message.size());
  EXPECT_EQ(b.toString(), message);
  expectConsistent(b);
  // A small message turns it back to a plain one-slice read.
  b.clear();
  writeRaw("small");
  EXPECT_EQ(b.readFrom(fds_[0], 1 << 20), 5);
  b.clear();
  writeRaw(message);
  EXPECT_LE(b.readFrom(fds_[0], 1 << 20), static_cast<ssize_t>(kSlice));
  EXPECT_LE(b.lastReadCapacity(), kSlice);
}

TEST_F(BufferSocketTest, ReadFromWithNothingToReadReturnsEagainAndKeepsNoSlice) {
  Buffer b;
  errno = 0;
  EXPECT_EQ(b.readFrom(fds_[0], 1 << 20), -1);
  EXPECT_EQ(errno, EAGAIN);
  EXPECT_EQ(b.sliceCount(), 0u);
}

TEST_F(BufferSocketTest, ReadFromReturnsZeroAtEof) {
  close(fds_[1]);
  fds_[1] = -1;
  Buffer b;
  EXPECT_EQ(b.readFrom(fds_[0], 1 << 20), 0);
  EXPECT_EQ(b.sliceCount(), 0u);
}

// After a read that exactly fills a slice, the next read needs a fresh slice; when that read
// fails, the empty slice must not stay behind (moving the data out would leave a slice in an
// otherwise empty buffer).
TEST_F(BufferSocketTest, BufferEmptiedByMoveAfterAFailedReadHoldsNoSlices) {
  writeRaw(pattern(kSlice));
  Buffer b;
  EXPECT_EQ(readAll(b, fds_[0]), -1);
  ASSERT_EQ(b.length(), kSlice);
  Buffer dst;
  dst.move(b);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.sliceCount(), 0u);
}

// Same situation: data moved in afterwards must not sit behind an empty slice, or slice(0) is
// empty while length() > 0 and the codecs, which parse slice(0), make no progress (they spin).
TEST_F(BufferSocketTest, MoveIntoABufferAfterAFailedReadKeepsNoEmptySliceAhead) {
  writeRaw(pattern(kSlice));
  Buffer b;
  EXPECT_EQ(readAll(b, fds_[0]), -1);
  Buffer more = bufferOf(pattern(kSlice, 3));
  b.move(more);
  b.drain(kSlice);
  ASSERT_EQ(b.length(), kSlice);
  EXPECT_FALSE(b.slice(0).empty());
  expectConsistent(b);
}

TEST_F(BufferSocketTest, WriteToDrainsWhatWasWritten) {
  const std::string data = pattern(3 * kSlice + 5);
  Buffer out = bufferOf(data);
  ssize_t total = 0;
  while (!out.empty()) {
    ssize_t rc = out.writeTo(fds_[1]);
    ASSERT_GT(rc, 0) << strerror(errno);
    total += rc;
  }
  EXPECT_EQ(total, static_cast<ssize_t>(data.size()));
  EXPECT_EQ(out.sliceCount(), 0u);
  Buffer in;
  EXPECT_EQ(readAll(in, fds_[0]), -1);
  EXPECT_EQ(in.toString(), data);
}

TEST_F(BufferSocketTest, WriteToOfAnEmptyBufferWritesNothing) {
  Buffer out;
  EXPECT_EQ(out.writeTo(fds_[1]), 0);
  Buffer in;
  EXPECT_EQ(in.readFrom(fds_[0], 100), -1);
}

TEST_F(BufferSocketTest, PartialWritesKeepTheUnsentBytesInOrder) {
  int small = 4096;
  ASSERT_EQ(setsockopt(fds_[1], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small)), 0);
  ASSERT_EQ(setsockopt(fds_[0], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)), 0);
  // More than the 16 iovecs one writev carries, and more than the socket buffers hold.
  const std::string data = pattern(20 * kSlice + 123);
  Buffer out = bufferOf(data);
  Buffer in;
  bool saw_partial = false;
  while (!out.empty()) {
    const size_t before = out.length();
    ssize_t rc = out.writeTo(fds_[1]);
    if (rc < 0) {
      ASSERT_EQ(errno, EAGAIN);
      saw_partial = true;
    } else {
      EXPECT_EQ(out.length(), before - static_cast<size_t>(rc));
      if (static_cast<size_t>(rc) < before) saw_partial = true;
    }
    readAll(in, fds_[0]);
  }
  readAll(in, fds_[0]);
  EXPECT_TRUE(saw_partial);
  EXPECT_EQ(in.length(), data.size());
  EXPECT_EQ(in.toString(), data);
}

}  // namespace
}  // namespace portico::buffer
