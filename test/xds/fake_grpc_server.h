#pragma once

// An in-memory HTTP/2 server (nghttp2's server side) answering one gRPC call, for tests and the
// fuzz target of GrpcSession: the test moves bytes between it and the client.

#include <nghttp2/nghttp2.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace portico::xds::test {

// One gRPC message on the wire: flag byte, 4-byte big-endian length, bytes.
inline std::string grpcFrame(const std::string& message, uint8_t flag = 0) {
  const size_t n = message.size();
  std::string out = {static_cast<char>(flag), static_cast<char>((n >> 24) & 0xff),
                     static_cast<char>((n >> 16) & 0xff), static_cast<char>((n >> 8) & 0xff),
                     static_cast<char>(n & 0xff)};
  return out + message;
}

// Header fields for nghttp2, which copies them at submit time: `fields` must outlive the call.
inline std::vector<nghttp2_nv> nvs(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::vector<nghttp2_nv> out;
  for (const auto& [name, value] : fields) {
    out.push_back({reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
                   reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(),
                   value.size(), NGHTTP2_NV_FLAG_NONE});
  }
  return out;
}

// One HTTP/2 server session answering the client's single stream.
class FakeGrpcServer {
 public:
  FakeGrpcServer() {
    nghttp2_session_callbacks* cbs;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, const uint8_t* name, size_t namelen,
                const uint8_t* value, size_t valuelen, uint8_t, void* self) {
          auto& s = *static_cast<FakeGrpcServer*>(self);
          s.stream_id = f->hd.stream_id;
          s.request_headers[std::string(reinterpret_cast<const char*>(name), namelen)] =
              std::string(reinterpret_cast<const char*>(value), valuelen);
          return 0;
        });
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
        cbs, [](nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t len, void* self) {
          static_cast<FakeGrpcServer*>(self)->request_body.append(
              reinterpret_cast<const char*>(data), len);
          return 0;
        });
    nghttp2_session_server_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 10}};
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
  }
  ~FakeGrpcServer() { nghttp2_session_del(session_); }

  void receive(const std::string& bytes) {
    if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                 bytes.size()) < 0) {
      failed = true;
    }
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
      auto& s = *static_cast<FakeGrpcServer*>(self);
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
  bool failed = false;  // the client sent what nghttp2 refused
  std::map<std::string, std::string> request_headers;
  std::string request_body;

 private:
  nghttp2_session* session_ = nullptr;
  std::vector<std::string> body_;
  std::optional<std::map<std::string, std::string>> trailers_;
};

}  // namespace portico::xds::test
