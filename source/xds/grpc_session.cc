#include "source/xds/grpc_session.h"

#include <nghttp2/nghttp2.h>

#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace portico::xds {

namespace {
constexpr int32_t kWindow = 16 * 1024 * 1024;

GrpcSession& self(void* user_data) { return *static_cast<GrpcSession*>(user_data); }

int onHeaderCb(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t namelen,
               const uint8_t* value, size_t valuelen, uint8_t, void* user_data) {
  self(user_data).onHeader(absl::string_view(reinterpret_cast<const char*>(name), namelen),
                           absl::string_view(reinterpret_cast<const char*>(value), valuelen));
  return 0;
}

int onDataChunkCb(nghttp2_session*, uint8_t, int32_t, const uint8_t* data, size_t len,
                  void* user_data) {
  self(user_data).onDataChunk(data, len);
  return 0;
}

int onFrameRecvCb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  if (frame->hd.type == NGHTTP2_SETTINGS && (frame->hd.flags & NGHTTP2_FLAG_ACK) == 0) {
    self(user_data).onServerSettings();
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    self(user_data).onResponseEnd(frame->hd.stream_id);
  }
  return 0;
}

int onStreamCloseCb(nghttp2_session*, int32_t, uint32_t error_code, void* user_data) {
  self(user_data).onStreamClose(error_code);
  return 0;
}

int onFrameSendCb(nghttp2_session*, const nghttp2_frame* frame, void* user_data) {
  // A GOAWAY or RST_STREAM with an error code is nghttp2 refusing what the server sent (a
  // malformed frame, a bad header): that ends the call on our side, as a message we cannot
  // parse does.
  if ((frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR) ||
      (frame->hd.type == NGHTTP2_RST_STREAM && frame->rst_stream.error_code != NGHTTP2_NO_ERROR)) {
    self(user_data).onProtocolErrorSent();
  }
  return 0;
}

ssize_t readCb(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* data_flags,
               nghttp2_data_source*, void* user_data) {
  return self(user_data).readOutgoing(buf, length, data_flags);
}
}  // namespace

GrpcSession::GrpcSession(std::string path, std::string authority, bool secure,
                         GrpcStreamCallbacks& callbacks, Transport& transport)
    : path_(std::move(path)),
      authority_(std::move(authority)),
      secure_(secure),
      callbacks_(callbacks),
      transport_(transport) {}

GrpcSession::~GrpcSession() {
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void GrpcSession::start() {
  if (session_ != nullptr || closed_) return;
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeaderCb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunkCb);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecvCb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamCloseCb);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, onFrameSendCb);
  nghttp2_session_client_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);

  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kWindow},
                                       {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow);

  auto nv = [](const char* name, absl::string_view value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), strlen(name),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
  };
  nghttp2_nv headers[] = {nv(":method", "POST"),
                          nv(":scheme", secure_ ? "https" : "http"),
                          nv(":path", path_),
                          nv(":authority", authority_),
                          nv("content-type", "application/grpc"),
                          nv("te", "trailers"),
                          nv("user-agent", "portico-xds")};
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = readCb;
  stream_id_ = nghttp2_submit_request(session_, nullptr, headers,
                                      sizeof(headers) / sizeof(headers[0]), &provider, this);
  if (stream_id_ < 0) {
    fail(kGrpcInternal, "cannot submit the request");
    return;
  }
  flush();
  if (!closed_) callbacks_.onStreamReady();
}

void GrpcSession::send(const google::protobuf::MessageLite& message) {
  if (closed_) return;
  std::string body = message.SerializeAsString();
  char prefix[5] = {0, static_cast<char>((body.size() >> 24) & 0xff),
                    static_cast<char>((body.size() >> 16) & 0xff),
                    static_cast<char>((body.size() >> 8) & 0xff),
                    static_cast<char>(body.size() & 0xff)};
  const size_t unsent = outgoing_.size() - outgoing_offset_ + transport_.unsentBytes();
  if (unsent + body.size() > kMaxUnsentRequestBytes) {
    failLocally(kGrpcResourceExhausted, absl::StrCat("the server does not take our requests (",
                                                     unsent, " bytes unsent); starting over"));
    return;
  }
  outgoing_.append(prefix, 5);
  outgoing_.append(body);
  if (session_ != nullptr && stream_id_ > 0) {
    if (data_deferred_) {
      data_deferred_ = false;
      nghttp2_session_resume_data(session_, stream_id_);
    }
    flush();
  }
}

ssize_t GrpcSession::readOutgoing(uint8_t* buf, size_t length, uint32_t* data_flags) {
  size_t available = outgoing_.size() - outgoing_offset_;
  if (available == 0) {
    data_deferred_ = true;
    return NGHTTP2_ERR_DEFERRED;
  }
  size_t n = std::min(available, length);
  memcpy(buf, outgoing_.data() + outgoing_offset_, n);
  outgoing_offset_ += n;
  if (outgoing_offset_ == outgoing_.size()) {
    outgoing_.clear();
    outgoing_offset_ = 0;
  } else if (outgoing_offset_ > 64 * 1024 && outgoing_offset_ > outgoing_.size() / 2) {
    // A trickle of window must still free what it took.
    outgoing_.erase(0, outgoing_offset_);
    outgoing_offset_ = 0;
  }
  *data_flags = NGHTTP2_DATA_FLAG_NONE;  // the client half stays open
  return static_cast<ssize_t>(n);
}

void GrpcSession::flush() {
  // nghttp2 must not be re-entered from its own callbacks ("directly or indirectly"): an ACK
  // sent while a response is being received waits for receive() to flush after mem_recv.
  if (session_ == nullptr || closed_ || receiving_) return;
  std::string out;
  while (true) {
    const uint8_t* data;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      failLocally(kGrpcInternal, nghttp2_strerror(static_cast<int>(n)));
      return;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (!out.empty()) transport_.write(out);
}

void GrpcSession::receive(absl::string_view bytes) {
  if (session_ == nullptr || closed_) return;
  receiving_ = true;
  ssize_t rc = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  receiving_ = false;
  if (rc < 0) {
    failLocally(kGrpcInternal,
                absl::StrCat("HTTP/2 error: ", nghttp2_strerror(static_cast<int>(rc))));
    return;
  }
  // Window updates, pings and settings acknowledgements the input called for.
  flush();
  // Those frames are ours to send whatever the server reads: a server that sends PINGs and
  // does not read would otherwise grow the unsent bytes without bound (nghttp2's own limit on
  // queued ACKs applies per call, and each call here takes one read's worth).
  // Our own requests may fill up to kMaxUnsentRequestBytes (send()); these frames get 1 MiB
  // more, so framing on a legitimate near-full request is not taken for a stalled server.
  if (!closed_ && transport_.unsentBytes() > kMaxUnsentRequestBytes + kControlFrameAllowance) {
    failLocally(kGrpcResourceExhausted,
                absl::StrCat("the server does not read what we send (", transport_.unsentBytes(),
                             " bytes unsent); starting over"));
    return;
  }
  if (!closed_ && nghttp2_session_want_read(session_) == 0 &&
      nghttp2_session_want_write(session_) == 0) {
    fail(kGrpcUnavailable, "the HTTP/2 connection ended (GOAWAY or a protocol error)");
  }
}

void GrpcSession::onHeader(absl::string_view name, absl::string_view value) {
  if (name == ":status") {
    absl::SimpleAtoi(value, &http_status_);
  } else if (name == "grpc-status") {
    absl::SimpleAtoi(value, &grpc_status_);
  } else if (name == "grpc-message") {
    grpc_message_ = std::string(value);
  }
}

void GrpcSession::onDataChunk(const uint8_t* data, size_t len) {
  if (closed_) return;
  absl::Status st = decoder_.decode(absl::string_view(reinterpret_cast<const char*>(data), len),
                                    [this](absl::string_view m) {
                                      callbacks_.onMessage(m);
                                      return !closed_;
                                    });
  if (!st.ok()) failLocally(kGrpcInternal, st.message());
}

void GrpcSession::onResponseEnd(int32_t stream_id) {
  // The server's half ended (trailers, a trailers-only response or an HTTP error): the call is
  // over whether or not the server also resets the stream, as gRPC servers usually do.
  if (stream_id == stream_id_) onStreamClose(NGHTTP2_NO_ERROR);
}

void GrpcSession::onStreamClose(uint32_t error_code) {
  if (grpc_status_ == 0 && decoder_.bufferedBytes() > 0) {
    fail(kGrpcInternal, "the stream ended inside a gRPC message");
  } else if (grpc_status_ >= 0) {
    fail(grpc_status_, grpc_message_);
  } else if (http_status_ != 0 && http_status_ != 200) {
    fail(kGrpcUnavailable, absl::StrCat("HTTP status ", http_status_));
  } else {
    fail(kGrpcUnavailable, absl::StrCat("stream closed (HTTP/2 error ", error_code, ")"));
  }
}

void GrpcSession::failLocally(int grpc_status, absl::string_view message) {
  if (closed_) return;
  ended_locally_ = true;
  fail(grpc_status, message);
}

void GrpcSession::onProtocolErrorSent() { protocol_error_sent_ = true; }

void GrpcSession::fail(int grpc_status, absl::string_view message) {
  if (closed_) return;
  closed_ = true;
  if (protocol_error_sent_) ended_locally_ = true;
  transport_.onSessionClosed(grpc_status, message);
}

}  // namespace portico::xds
