#include "source/xds/grpc_message_decoder.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::xds {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string frame(const std::string& message, uint8_t flag = 0) {
  std::string out(5, '\0');
  out[0] = static_cast<char>(flag);
  const size_t n = message.size();
  out[1] = static_cast<char>((n >> 24) & 0xff);
  out[2] = static_cast<char>((n >> 16) & 0xff);
  out[3] = static_cast<char>((n >> 8) & 0xff);
  out[4] = static_cast<char>(n & 0xff);
  return out + message;
}

struct Collected {
  std::vector<std::string> messages;
  absl::Status status;
};

// Feeds `wire` in pieces of at most `piece` bytes.
Collected decodeInPieces(const std::string& wire, size_t piece, size_t limit = 1024) {
  GrpcMessageDecoder decoder(limit);
  Collected c;
  for (size_t i = 0; i < wire.size() && c.status.ok(); i += piece) {
    c.status = decoder.decode(absl::string_view(wire).substr(i, piece), [&](absl::string_view m) {
      c.messages.emplace_back(m);
      return true;
    });
  }
  return c;
}

TEST(GrpcMessageDecoderTest, WholeMessagesInOnePieceAreNotCopied) {
  const std::string wire = frame("first") + frame("") + frame("third");
  GrpcMessageDecoder decoder(1024);
  std::vector<const char*> where;
  std::vector<std::string> messages;
  ASSERT_TRUE(decoder
                  .decode(wire,
                          [&](absl::string_view m) {
                            where.push_back(m.data());
                            messages.emplace_back(m);
                            return true;
                          })
                  .ok());
  EXPECT_THAT(messages, ElementsAre("first", "", "third"));
  EXPECT_EQ(where[0], wire.data() + 5);
  EXPECT_EQ(where[2], wire.data() + 5 + 5 + 5 + 5);
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
}

TEST(GrpcMessageDecoderTest, EverySplitGivesTheSameMessages) {
  const std::string big(700, 'x');
  const std::string wire = frame("a") + frame(big) + frame("") + frame("tail");
  for (size_t piece = 1; piece <= wire.size(); ++piece) {
    Collected c = decodeInPieces(wire, piece);
    ASSERT_TRUE(c.status.ok()) << piece;
    EXPECT_THAT(c.messages, ElementsAre("a", big, "", "tail")) << "pieces of " << piece;
  }
}

TEST(GrpcMessageDecoderTest, IncompleteMessageIsHeldUntilItCompletes) {
  const std::string wire = frame("hello");
  GrpcMessageDecoder decoder(1024);
  int calls = 0;
  auto count = [&](absl::string_view) {
    ++calls;
    return true;
  };
  ASSERT_TRUE(decoder.decode(absl::string_view(wire).substr(0, 7), count).ok());
  EXPECT_EQ(calls, 0);
  EXPECT_EQ(decoder.bufferedBytes(), 7u);
  ASSERT_TRUE(decoder.decode(absl::string_view(wire).substr(7), count).ok());
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(decoder.bufferedBytes(), 0u);
}

TEST(GrpcMessageDecoderTest, CompressedMessageIsAnErrorThatSticks) {
  const std::string wire = frame("ok") + frame("zipped", 1) + frame("never");
  Collected c = decodeInPieces(wire, wire.size());
  EXPECT_THAT(c.messages, ElementsAre("ok"));
  EXPECT_EQ(c.status.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(c.status.message(), HasSubstr("compressed"));

  GrpcMessageDecoder decoder(1024);
  auto never = [](absl::string_view) { return true; };
  EXPECT_FALSE(decoder.decode(frame("x", 7), never).ok());
  absl::Status again = decoder.decode(frame("fine"), [](absl::string_view) {
    ADD_FAILURE() << "decoded after an error";
    return true;
  });
  EXPECT_THAT(again.message(), HasSubstr("invalid gRPC message flag 7"));
}

TEST(GrpcMessageDecoderTest, OversizedMessageIsRefusedFromItsPrefix) {
  // The prefix alone announces 1 MiB against a 1 KiB limit: refused before any body arrives,
  // and nothing is allocated for it.
  std::string prefix = frame(std::string(1024 * 1024, 'y')).substr(0, 5);
  Collected c = decodeInPieces(prefix, 2);
  EXPECT_EQ(c.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(c.status.message(), HasSubstr("over the limit of 1024"));

  Collected at_limit = decodeInPieces(frame(std::string(1024, 'z')), 100);
  EXPECT_TRUE(at_limit.status.ok());
  ASSERT_EQ(at_limit.messages.size(), 1u);
}

TEST(GrpcMessageDecoderTest, StopDropsTheRest) {
  const std::string wire = frame("one") + frame("two") + frame("three");
  GrpcMessageDecoder decoder(1024);
  std::vector<std::string> seen;
  auto stop_after_one = [&](absl::string_view m) {
    seen.emplace_back(m);
    return false;
  };
  EXPECT_TRUE(decoder.decode(wire, stop_after_one).ok());
  EXPECT_TRUE(decoder.decode(frame("four"), stop_after_one).ok());
  EXPECT_THAT(seen, ElementsAre("one"));
}

}  // namespace
}  // namespace portico::xds
