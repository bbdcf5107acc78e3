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

namespace portico::xds {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string frame(const std::string& message, uint8_t flag = 0) {
  const size_t n = message.size();
  std::string out = {static_cast<char>(flag), static_cast<char>((n >> 24) & 0xff),
                     static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 8) & 0xff),
                     static_cast<char>(n & 0xff)};
  return out + message;
}

// Header fields for nghttp2, which copies them at submit time: `fields` must outlive the call.
std::vector<nghttp2_nv> nvs(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<nghttp2_nv> out;
  for (const auto& [name, value] : fields) {
    out.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return out;
}

// One HTTP/2 server session answering the client's single stream.
class FakeServer {
 public:
  FakeServer() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                const uint8_t* value, size_t valuelen, uint8_t, void* self) {
          auto& s = *static_cast<FakeServer*>(self);
          s.stream_id = f->hd.stream_id;
          s.request_headers[std::string(reinterpret_cast<const char*>(name), namelen)] =
              std::string(reinterpret_cast<const char*>(value), valuelen);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t len, void* self) {
          static_cast<FakeServer*>(self)->request_body.append(reinterpret_cast<const char*>(data),
                                                              len);
          return 0;
        });
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 10}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  }
  ~FakeServer() { nghttp2_session_del(session_); }

  void receive(const std::string& bytes) {
    ASSERT_GE(nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                       bytes.size()),
              0);
  }
  std::string take() {
    std::string out;
    const uint8_t* data;
    ssize_t n;
    while ((n = nghttp2_session_mem_send(session_, &data)) > 0) {
      out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    return out;
  }

  // Response headers; the body follows through sendData(), the end through finish().
  void respond(const std::string& status = "200") {
    const std::vector<std::pair<std::string, std::string>> fields = {
        {":status", status}, {"content-type", "application/grpc"}};
    const std::vector<nghttp2_nv> nva = nvs(fields);
    nghttp2_data_provider provider;
    provider.source.ptr = nullptr;
    provider.read_callback = [](nghttp2_session* session, int32_t, uint8_t* buf, size_t length,
                                uint32_t* flags, nghttp2_data_source*, void* self) -> ssize_t {
      auto& s = *static_cast<FakeServer*>(self);
      if (s.body_.empty() && !s.trailers_.has_value()) return NGHTTP2_ERR_DEFERRED;
      // One queued piece per DATA frame, so a test decides how messages are cut.
      size_t n = 0;
      if (!s.body_.empty()) {
        n = std::min(length, s.body_.front().size());
        memcpy(buf, s.body_.front().data(), n);
        s.body_.front().erase(0, n);
        if (s.body_.front().empty()) s.body_.erase(s.body_.begin());
      }
      if (s.body_.empty() && s.trailers_.has_value()) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        const std::vector<std::pair<std::string, std::string>> fields(s.trailers_->begin(),
                                                                      s.trailers_->end());
        const std::vector<nghttp2_nv> t = nvs(fields);
        nghttp2_submit_trailer(session, s.stream_id, t.data(), t.size());
      }
      return static_cast<ssize_t>(n);
    };
    nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), &provider);
  }
  void sendData(const std::string& piece) {
    body_.push_back(piece);
    nghttp2_session_resume_data(session_, stream_id);
  }
  void finish(std::map<std::string, std::string> trailers) {
    trailers_ = std::move(trailers);
    nghttp2_session_resume_data(session_, stream_id);
  }
  // Headers that end the stream: a trailers-only response, or an HTTP error.
  void respondAndEnd(const std::map<std::string, std::string>& headers) {
    const std::vector<std::pair<std::string, std::string>> fields(headers.begin(), headers.end());
    const std::vector<nghttp2_nv> nva = nvs(fields);
    nghttp2_submit_response(session_, stream_id, nva.data(), nva.size(), nullptr);
  }
  void reset() { nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, stream_id, 2); }
  void goAway() { nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, 0, 0, nullptr, 0); }

  int32_t stream_id = 0;
  std::map<std::string, std::string> request_headers;
  std::string request_body;

 private:
  nghttp2_session* session_ = nullptr;
  std::vector<std::string> body_;
  std::optional<std::map<std::string, std::string>> trailers_;
};

class GrpcSessionTest : public ::testing::Test,
                        public GrpcStreamCallbacks,
                        public GrpcSession::Transport {
 protected:
  // GrpcStreamCallbacks
  void onStreamReady() override { ready = true; }
  void onMessage(absl::string_view m) override { messages.emplace_back(m); }
  void onStreamClosed(int, absl::string_view) override { FAIL() << "the transport reports"; }
  // GrpcSession::Transport
  void write(absl::string_view bytes) override { to_server.append(bytes.data(), bytes.size()); }
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

  FakeServer server;
  std::unique_ptr<GrpcSession> session;
  std::string to_server;
  bool ready = false;
  std::vector<std::string> messages;
  std::optional<std::pair<int, std::string>> closed;
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
  EXPECT_EQ(server.request_body, frame(a.SerializeAsString()) + frame(b.SerializeAsString()));
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
  const std::string split = frame(value("split"));
  server.sendData(frame(value("one")) + frame("") + frame(value("two")));
  server.sendData(split.substr(0, 3));
  server.sendData(split.substr(3) + frame(big));
  pump();
  EXPECT_THAT(messages, ElementsAre(value("one"), "", value("two"), value("split"), big));
  EXPECT_FALSE(closed.has_value());
  server.finish({{"grpc-status", "0"}});
  pump();
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, 0);
}

TEST_F(GrpcSessionTest, TrailersCarryTheStatus) {
  open();
  server.respond();
  server.sendData(frame(value("m")));
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
  server.sendData(frame(value("whole")).substr(0, 4));
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
  server.sendData(frame(value("ok")) + frame(value("zipped"), 1));
  pump();
  EXPECT_THAT(messages, ElementsAre(value("ok")));
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->first, kGrpcInternal);
  EXPECT_THAT(closed->second, HasSubstr("compressed"));
  // Nothing more reaches the callbacks once closed.
  server.sendData(frame(value("late")));
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
}

}  // namespace
}  // namespace portico::xds
