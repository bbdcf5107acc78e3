// libFuzzer target: the proxy's gRPC client (GrpcSession) against a control plane that answers
// in any order and shape. An in-memory nghttp2 server (test/xds/fake_grpc_server.h) performs the
// operations the input picks: response headers with any status, DATA pieces (raw or as gRPC
// messages), trailers, trailers-only responses, RST_STREAM, GOAWAY; raw bytes also go straight
// to the client, and the client sends messages in between.
//
// Invariants: the call ends at most once, nothing reaches the callbacks after it ended, and
// nothing the server does makes the client crash, hang or trip a sanitizer.
//
// Input: a sequence of [operation byte][length byte][payload of that length].

#include <cstdint>
#include <memory>
#include <string>

#include "google/protobuf/wrappers.pb.h"
#include "source/xds/grpc_session.h"
#include "test/fuzz/fuzz_check.h"
#include "test/xds/fake_grpc_server.h"

namespace {

using portico::fuzz::check;
using portico::xds::GrpcSession;
using portico::xds::test::FakeGrpcServer;
using portico::xds::test::grpcFrame;

class Client : public portico::xds::GrpcStreamCallbacks, public GrpcSession::Transport {
 public:
  void onStreamReady() override { check(!closed, "ready after the end"); }
  void onMessage(absl::string_view) override { check(!closed, "message after the end"); }
  void onStreamClosed(int, absl::string_view) override { check(false, "not the session's call"); }
  void write(absl::string_view bytes) override { to_server.append(bytes.data(), bytes.size()); }
  size_t unsentBytes() const override { return to_server.size(); }
  void onSessionClosed(int, absl::string_view) override {
    check(!closed, "the call ended twice");
    closed = true;
  }

  std::string to_server;
  bool closed = false;
};

// Moves bytes both ways, a bounded number of times.
void pump(Client& client, GrpcSession& session, FakeGrpcServer& server) {
  for (int i = 0; i < 64; ++i) {
    if (!client.to_server.empty()) {
      std::string bytes;
      bytes.swap(client.to_server);
      server.receive(bytes);
    }
    const std::string to_client = server.take();
    if (to_client.empty() && client.to_server.empty()) return;
    if (!to_client.empty()) session.receive(to_client);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16 * 1024) return 0;
  Client client;
  FakeGrpcServer server;
  auto session =
      std::make_unique<GrpcSession>("/portico.Test/Stream", "cp:1", false, client, client);
  session->start();
  pump(client, *session, server);
  size_t i = 0;
  while (i + 2 <= size) {
    const uint8_t op = data[i] % 9;
    const size_t len = std::min<size_t>(data[i + 1], size - i - 2);
    const std::string payload(reinterpret_cast<const char*>(data) + i + 2, len);
    i += 2 + len;
    switch (op) {
      case 0:
        server.respond(len >= 3 ? payload.substr(0, 3) : "200");
        break;
      case 1:
        server.sendData(payload);
        break;
      case 2:
        server.sendData(grpcFrame(payload));
        break;
      case 3:
        server.finish({{"grpc-status", len > 0 ? std::to_string(payload[0] % 17) : "0"},
                       {"grpc-message", len > 1 ? payload.substr(1) : ""}});
        break;
      case 4:
        server.respondAndEnd({{":status", "200"},
                              {"content-type", "application/grpc"},
                              {"grpc-status", len > 0 ? std::to_string(payload[0] % 17) : "0"}});
        break;
      case 5:
        server.reset();
        break;
      case 6:
        server.goAway();
        break;
      case 7:
        session->receive(payload);
        break;
      case 8: {
        google::protobuf::StringValue message;
        message.set_value(payload);
        session->send(message);
        break;
      }
    }
    pump(client, *session, server);
    if (client.closed) check(!session->ready(), "ready after the end");
  }
  return 0;
}
