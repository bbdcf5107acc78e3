// GrpcSession against an in-memory HTTP/2 server (nghttp2's server side): what the proxy's
// xDS client sends, and how it reads every way a control plane can answer or fail.

#include "source/xds/grpc_session.h"

#include <nghttp2/nghttp2.h>

#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "test/xds/fake_grpc_server.h"

namespace portico::xds {
namespace {

using test::FakeGrpcServer;
using test::grpcFrame;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

class GrpcSessionTest : public ::testing::Test,
                        public GrpcStreamCallbacks,
                        public GrpcSession::Transport {
 protected:
  // GrpcStreamCallbacks
  void onStreamReady() override { ready = true; }
  void onMessage(absl::string_view m) override {
    messages.emplace_back(m);
    if (abort_on_message) session->abort(13, "cannot use it");
  }
  void onStreamClosed(int, absl::string_view) override { FAIL() << "the transport reports"; }
  // GrpcSession::Transport
  void write(absl::string_view bytes) override { to_server.append(bytes.data(), bytes.size()); }
  size_t unsentBytes() const override { return transport_unsent; }
  void onSessionClosed(int grpc_status, absl::string_view message) override {
    EXPECT_FALSE(closed.has_value()) << "closed twice";
    closed = {grpc_status, std::string(message)};
  }

  // Moves bytes both ways until neither side has anything to say.
  void pump() {
    for (int i = 0; i < 1000; ++i) {
      if (!to_server.empty()) {
        std::string bytes;
        bytes.swap(to_server);
        server.receive(bytes);
      }
      std::string to_client = server.take();
      if (to_client.empty() && to_server.empty()) return;
      if (!to_client.empty()) session->receive(to_client);
    }
    FAIL() << "the two sides kept talking";
  }
  void open(bool secure = false) {
    session = std::make_unique<GrpcSession>("/portico.Test/Stream", "cp.example:18000", secure,
                                            *this, *this);
    session->start();
    pump();
    ASSERT_TRUE(ready);
    ASSERT_GT(server.stream_id, 0);
  }
  static std::string value(const std::string& s) {
    google::protobuf::StringValue v;
    v.set_value(s);
    return v.SerializeAsString();
  }

  FakeGrpcServer server;
  std::unique_ptr<GrpcSession> session;
  std::string to_server;
  bool ready = false;
  std::vector<std::string> messages;
  std::optional<std::pair<int, std::string>> closed;
  bool abort_on_message = false;
  size_t transport_unsent = 0;
};

TEST_F(GrpcSessionTest, RequestIsAGrpcCallAndMessagesArriveFramed) {
  open();
  EXPECT_EQ(server.request_headers[":method"], "POST");
  EXPECT_EQ(server.request_headers[":scheme"], "http");
  EXPECT_EQ(server.request_headers[":path"], "/portico.Test/Stream");
  EXPECT_EQ(server.request_headers[":authority"], "cp.example:18000");
  EXPECT_EQ(server.request_headers["content-type"], "application/grpc");
  EXPECT_EQ(server.request_headers["te"], "trailers");
  google::protobuf::StringValue a, b;
  a.set_value("first");
  b.set_value(std::string(200 * 1024, 'b'));  // more than one DATA frame
  session->send(a);
  session->send(b);
  pump();
  EXPECT_EQ(server.request_body,
            grpcFrame(a.SerializeAsString()) + grpcFrame(b.SerializeAsString()));
  EXPECT_TRUE(session->ready());
  EXPECT_FALSE(closed.has_value());
}

TEST_F(GrpcSessionTest, TlsSaysHttps) {
  open(/*secure=*/true);
  EXPECT_EQ(server.request_headers[":scheme"], "https");
}

TEST_F(GrpcSessionTest, MessagesInOneFrameAndAcrossFramesArriveInOrder) {
  open();
  server.respond();
  const std::string big = value(std::string(300 * 1024, 'x'));  // over the 16 KiB frame size
  const std::string split = grpcFrame(value("split"));
  server.sendData(grpcFrame(value("one")) + grpcFrame("") + grpcFrame(value("two")));
  server.sendData(split.substr(0, 3));
  server.sendData(split.substr(3) + grpcFrame(big));
  pump();
  EXPECT_THAT(messages, ElementsAre(value("one"), "", value("two"), value("split"), big));
  EXPECT_FALSE(closed.has_value());
  server.finish({{"grpc-status", "0"}});
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, 0);
}

TEST_F(GrpcSessionTest, AbortStopsTheMessagesThatFollowInTheSameRead) {
  // Regression (reviewer): after abort() the rest of the read was still delivered.
  open();
  server.respond();
  server.sendData(grpcFrame(value("one")) + grpcFrame(value("two")));
  abort_on_message = true;
  pump();
  EXPECT_THAT(messages, ElementsAre(value("one")));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, 13);
  EXPECT_TRUE(session->endedLocally());
}

TEST_F(GrpcSessionTest, RequestsAServerDoesNotTakeAreBounded) {
  // Regression (reviewer): a server giving no window (or not reading) while it kept sending
  // made every answer queue up, without a bound.
  open();
  google::protobuf::StringValue small;
  small.set_value("ack");
  transport_unsent = kMaxUnsentRequestBytes - 2;  // the socket buffer is at the bound
  session->send(small);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcResourceExhausted);
  EXPECT_THAT(closed->second, HasSubstr("does not take our requests"));
  EXPECT_TRUE(session->endedLocally());
}

TEST_F(GrpcSessionTest, TheServersStatusIsNotALocalEnd) {
  open();
  server.respond();
  server.finish({{"grpc-status", "13"}});
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_FALSE(session->endedLocally());
}

TEST_F(GrpcSessionTest, TrailersCarryTheStatus) {
  open();
  server.respond();
  server.sendData(grpcFrame(value("m")));
  server.finish({{"grpc-status", "7"}, {"grpc-message", "denied"}});
  pump();
  EXPECT_EQ(messages.size(), 1u);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(*closed, std::make_pair(7, std::string("denied")));
}

TEST_F(GrpcSessionTest, TrailersOnlyResponse) {
  open();
  server.respondAndEnd({{":status", "200"},
                        {"content-type", "application/grpc"},
                        {"grpc-status", "16"},
                        {"grpc-message", "token"}});
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(*closed, std::make_pair(16, std::string("token")));
}

TEST_F(GrpcSessionTest, HttpErrorWithoutGrpcStatusIsUnavailable) {
  open();
  server.respondAndEnd({{":status", "503"}});
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcUnavailable);
  EXPECT_EQ(closed->second, "HTTP status 503");
}

TEST_F(GrpcSessionTest, StreamEndingInsideAMessageIsAnError) {
  open();
  server.respond();
  server.sendData(grpcFrame(value("whole")).substr(0, 4));
  server.finish({{"grpc-status", "0"}});
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcInternal);
  EXPECT_THAT(closed->second, HasSubstr("inside a gRPC message"));
  EXPECT_TRUE(messages.empty());
}

TEST_F(GrpcSessionTest, CompressedMessageIsRefused) {
  open();
  server.respond();
  server.sendData(grpcFrame(value("ok")) + grpcFrame(value("zipped"), 1));
  pump();
  EXPECT_THAT(messages, ElementsAre(value("ok")));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcInternal);
  EXPECT_THAT(closed->second, HasSubstr("compressed"));
  // Nothing more reaches the callbacks once closed.
  server.sendData(grpcFrame(value("late")));
  pump();
  EXPECT_EQ(messages.size(), 1u);
}

TEST_F(GrpcSessionTest, ResetStreamIsUnavailable) {
  open();
  server.reset();
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcUnavailable);
  EXPECT_THAT(closed->second, HasSubstr("HTTP/2 error 2"));
  EXPECT_FALSE(session->endedLocally());  // the server's reset, not ours
}

TEST_F(GrpcSessionTest, GoAwayBeforeTheStreamIsUnavailable) {
  open();
  server.goAway();  // last stream id 0: our stream was never processed
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcUnavailable);
}

TEST_F(GrpcSessionTest, ProtocolErrorEndsTheCall) {
  open();
  // A DATA frame on stream 0 is a connection error: nghttp2 answers with GOAWAY and the call is
  // over (the ADS client reconnects).
  session->receive(
      std::string("\x00\x00\x04\x00\x00\x00\x00\x00\x00"
                  "junk",
                  13));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcUnavailable);
  EXPECT_THAT(closed->second, HasSubstr("HTTP/2 connection ended"));
  EXPECT_FALSE(session->ready());
  // Regression (reviewer): it counted as the server's end, and the ADS client's backoff
  // started over, so a server sending a bad frame on each stream drew 4-8 reconnects a second.
  EXPECT_TRUE(session->endedLocally());
}

// Regression (reviewer): a server that sends PINGs and reads nothing made us queue an ACK for
// each, without a bound (the bound on unsent bytes was checked only for our own requests).
TEST_F(GrpcSessionTest, ControlFramesAServerDoesNotReadAreBounded) {
  open();
  transport_unsent = kMaxUnsentRequestBytes + kControlFrameAllowance;  // at the bound
  session->receive(
      std::string("\x00\x00\x08\x06\x00\x00\x00\x00\x00"
                  "pingpong",
                  17));
  EXPECT_FALSE(closed.has_value());
  transport_unsent++;  // past it
  session->receive(
      std::string("\x00\x00\x08\x06\x00\x00\x00\x00\x00"
                  "pingpong",
                  17));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcResourceExhausted);
  EXPECT_THAT(closed->second, HasSubstr("does not read what we send"));
  EXPECT_TRUE(session->endedLocally());
}

}  // namespace
}  // namespace portico::xds
