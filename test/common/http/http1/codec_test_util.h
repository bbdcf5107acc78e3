#pragma once

// Recording callbacks and drivers for the HTTP/1 codecs. Every callback is appended to an event
// log of plain strings, so a test (or the fuzzer) can compare whole conversations, e.g. the same
// bytes fed at once and one byte at a time. Consecutive body pieces are merged into one event:
// how a body is split depends on how the input was split, the bytes do not.
// No gtest here: the fuzz target links this too.

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "source/common/buffer/buffer.h"
#include "source/common/http/header_map.h"
#include "source/common/http/http1/client_codec.h"
#include "source/common/http/http1/server_codec.h"

namespace portico::http::http1::test {

inline std::string describeHeaders(const HeaderMap& headers) {
  std::string out = "{";
  for (const HeaderEntry& e : headers) {
    absl::StrAppend(&out, out.size() > 1 ? ", " : "", e.name, ": ", e.value);
  }
  return out + "}";
}

class EventLog {
 public:
  void add(std::string event) {
    merging_body_ = false;
    events_.push_back(std::move(event));
  }
  void addBody(absl::string_view data) {
    if (!merging_body_) events_.push_back("body ");
    events_.back().append(data.data(), data.size());
    merging_body_ = true;
  }
  const std::vector<std::string>& events() const { return events_; }

 private:
  std::vector<std::string> events_;
  bool merging_body_ = false;
};

struct RecordedRequest {
  RequestHead head;
  bool end_stream_on_headers = false;
  std::string body;
  bool complete = false;
};

class RecordingServerCallbacks : public ServerCodecCallbacks {
 public:
  void onRequestHeaders(RequestHead& head, bool end_stream) override {
    requests.push_back({head, end_stream, "", false});
    log.add(absl::StrCat("headers ", head.method, " ", head.path, " HTTP/1.", head.minor_version,
                         end_stream ? " end_stream " : " ", describeHeaders(head.headers)));
  }
  void onRequestBody(buffer::Buffer& piece) override {
    body_slice_addresses.emplace_back();
    for (size_t i = 0; i < piece.sliceCount(); i++) body_slice_addresses.back().push_back(piece.slice(i).data());
    std::string data = piece.toString();
    piece.clear();
    if (!requests.empty()) requests.back().body.append(data);
    log.addBody(data);
  }
  void onRequestComplete() override {
    if (!requests.empty()) requests.back().complete = true;
    log.add("complete");
  }
  void onRequestError(int status, absl::string_view reason) override {
    error_status = status;
    error_reason = std::string(reason);
    log.add(absl::StrCat("error ", status, " ", reason));
  }

  std::vector<RecordedRequest> requests;
  // Per body piece, where its slices' bytes lived: tells moved slices from copies.
  std::vector<std::vector<const char*>> body_slice_addresses;
  int error_status = 0;
  std::string error_reason;
  EventLog log;
};

class RecordingClientCallbacks : public ClientCodecCallbacks {
 public:
  void on1xxHeaders(ResponseHead& head) override {
    interim_statuses.push_back(head.status);
    log.add(absl::StrCat("1xx ", head.status, " ", describeHeaders(head.headers)));
  }
  void onResponseHeaders(ResponseHead& head, bool end_stream) override {
    response = head;
    end_stream_on_headers = end_stream;
    log.add(absl::StrCat("headers ", head.status, " ", head.reason,
                         end_stream ? " end_stream " : " ", describeHeaders(head.headers)));
  }
  void onResponseBody(buffer::Buffer& piece) override {
    body_slice_addresses.emplace_back();
    for (size_t i = 0; i < piece.sliceCount(); i++) body_slice_addresses.back().push_back(piece.slice(i).data());
    std::string data = piece.toString();
    piece.clear();
    body.append(data);
    log.addBody(data);
  }
  void onResponseComplete() override { log.add("complete"); }
  void onResponseError(absl::string_view reason) override {
    error = std::string(reason);
    log.add(absl::StrCat("error ", reason));
  }

  std::vector<int> interim_statuses;
  ResponseHead response;
  bool end_stream_on_headers = false;
  std::string body;
  std::string error;
  EventLog log;
  std::vector<std::vector<const char*>> body_slice_addresses;
};

// A ServerCodec fed like a connection manager feeds it: bytes are appended to a read buffer
// that keeps what the codec has not consumed yet.
class ServerCodecDriver {
 public:
  explicit ServerCodecDriver(const ServerLimits& limits = {}) : codec(callbacks, limits) {}

  void feed(absl::string_view bytes) {
    input.add(bytes);
    codec.dispatch(input);
  }
  // resume() as after the response to the current request, then parse what is buffered.
  void resumeAndDispatch() {
    codec.resume();
    codec.dispatch(input);
  }
  // Feeds each piece; after every complete request, resumes (repeatedly, for pipelining).
  void feedAllResuming(const std::vector<std::string>& pieces) {
    for (const std::string& piece : pieces) {
      feed(piece);
      while (codec.waitingForResume() && !codec.failed()) resumeAndDispatch();
    }
  }

  RecordingServerCallbacks callbacks;
  ServerCodec codec;
  buffer::Buffer input;
};

class ClientCodecDriver {
 public:
  ClientCodecDriver() : codec(callbacks) {}

  // Encodes a request (as the router does before reading the response); returns the bytes.
  std::string sendRequest(const RequestHead& head, BodyFraming framing = BodyFraming::kNone) {
    buffer::Buffer out;
    codec.encodeRequestHeaders(head, head.path, framing, out);
    return out.toString();
  }
  void feed(absl::string_view bytes) {
    input.add(bytes);
    codec.dispatch(input);
  }

  RecordingClientCallbacks callbacks;
  ClientCodec codec;
  buffer::Buffer input;
};

inline std::vector<std::string> splitEveryByte(absl::string_view s) {
  std::vector<std::string> pieces;
  for (char c : s) pieces.emplace_back(1, c);
  return pieces;
}

// Splits at random points (possibly empty pieces), deterministic for a given rng state.
inline std::vector<std::string> splitRandomly(absl::string_view s, std::mt19937& rng) {
  std::vector<std::string> pieces;
  while (!s.empty()) {
    const size_t n = std::uniform_int_distribution<size_t>(0, std::min<size_t>(s.size(), 40))(rng);
    pieces.emplace_back(s.substr(0, n));
    s.remove_prefix(n);
  }
  return pieces;
}

}  // namespace portico::http::http1::test
