#include "source/xds/grpc_stream.h"

#include <nghttp2/nghttp2.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "source/common/common/logger.h"

namespace portico::xds {

namespace {
constexpr int kUnavailable = 14;
constexpr int kInternal = 13;
constexpr int32_t kWindow = 16 * 1024 * 1024;

GrpcStream& self(void* user_data) { return *static_cast<GrpcStream*>(user_data); }

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

int onStreamCloseCb(nghttp2_session*, int32_t, uint32_t error_code, void* user_data) {
  self(user_data).onStreamClose(error_code);
  return 0;
}

ssize_t readCb(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* data_flags,
               nghttp2_data_source*, void* user_data) {
  return self(user_data).readOutgoing(buf, length, data_flags);
}
}  // namespace

GrpcStream::GrpcStream(event::Dispatcher& dispatcher, const network::Address& server,
                       std::string path, GrpcStreamCallbacks& callbacks,
                       std::optional<TlsOptions> tls)
    : dispatcher_(dispatcher),
      server_(server),
      path_(std::move(path)),
      authority_(tls.has_value() && !tls->server_name.empty() ? tls->server_name
                                                              : server.asString()),
      callbacks_(callbacks),
      tls_options_(std::move(tls)) {}

GrpcStream::~GrpcStream() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  closed_ = true;  // no callbacks from here on
  if (connection_ != nullptr) connection_->close(network::CloseType::kNoFlush);
}

void GrpcStream::start() {
  connection_ = network::ConnectionImpl::connect(dispatcher_, server_, 4 * 1024 * 1024);
  if (connection_ == nullptr) {
    fail(kUnavailable, "cannot create socket");
    return;
  }
  connection_->setCallbacks(*this);
}

void GrpcStream::startSession() {
  nghttp2_session_callbacks* cbs;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, onHeaderCb);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunkCb);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamCloseCb);
  nghttp2_session_client_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);

  nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kWindow},
                                       {NGHTTP2_SETTINGS_ENABLE_PUSH, 0}};
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kWindow);

  auto nv = [](const char* name, const std::string& value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), strlen(name),
                      value.size(), NGHTTP2_NV_FLAG_NONE};
  };
  static const std::string kPost = "POST", kHttp = "http", kGrpc = "application/grpc",
                           kTrailers = "trailers", kAgent = "portico-xds";
  nghttp2_nv headers[] = {nv(":method", kPost),      nv(":scheme", kHttp),
                          nv(":path", path_),        nv(":authority", authority_),
                          nv("content-type", kGrpc), nv("te", kTrailers),
                          nv("user-agent", kAgent)};
  nghttp2_data_provider provider;
  provider.source.ptr = nullptr;
  provider.read_callback = readCb;
  stream_id_ = nghttp2_submit_request(session_, nullptr, headers,
                                      sizeof(headers) / sizeof(headers[0]), &provider, this);
  if (stream_id_ < 0) {
    fail(kInternal, "cannot submit the request");
    return;
  }
  flushSession();
  if (!closed_) callbacks_.onStreamReady();
}

void GrpcStream::send(const google::protobuf::MessageLite& message) {
  if (closed_) return;
  std::string body = message.SerializeAsString();
  char prefix[5] = {0, static_cast<char>((body.size() >> 24) & 0xff),
                    static_cast<char>((body.size() >> 16) & 0xff),
                    static_cast<char>((body.size() >> 8) & 0xff),
                    static_cast<char>(body.size() & 0xff)};
  outgoing_.append(prefix, 5);
  outgoing_.append(body);
  if (session_ != nullptr && stream_id_ > 0) {
    if (data_deferred_) {
      data_deferred_ = false;
      nghttp2_session_resume_data(session_, stream_id_);
    }
    flushSession();
  }
}

ssize_t GrpcStream::readOutgoing(uint8_t* buf, size_t length, uint32_t* data_flags) {
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
  }
  *data_flags = NGHTTP2_DATA_FLAG_NONE;  // the client half stays open
  return static_cast<ssize_t>(n);
}

void GrpcStream::flushSession() {
  if (session_ == nullptr || closed_) return;
  std::string out;
  while (true) {
    const uint8_t* data;
    ssize_t n = nghttp2_session_mem_send(session_, &data);
    if (n < 0) {
      fail(kInternal, nghttp2_strerror(static_cast<int>(n)));
      return;
    }
    if (n == 0) break;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  if (!out.empty()) sendBytes(out);
}

void GrpcStream::sendBytes(absl::string_view bytes) {
  buffer::Buffer out;
  if (tls_ != nullptr) {
    std::string cipher;
    absl::Status st = tls_->write(bytes, cipher);
    if (!st.ok()) {
      fail(kUnavailable, st.message());
      return;
    }
    out.add(cipher);
  } else {
    out.add(bytes);
  }
  if (out.length() > 0) connection_->write(out);
}

void GrpcStream::onData(buffer::Buffer& data) {
  while (data.length() > 0 && !closed_) {
    absl::string_view piece = data.slice(0);
    if (tls_ != nullptr) {
      std::string plain, out;
      absl::Status st = tls_->onNetworkData(piece, plain, out);
      data.drain(piece.size());
      if (!out.empty()) {
        buffer::Buffer b;
        b.add(out);
        connection_->write(b);
      }
      if (!st.ok()) {
        fail(kUnavailable, st.message());
        return;
      }
      if (session_ == nullptr && tls_->handshakeDone()) startSession();
      if (!plain.empty()) receiveBytes(plain);
    } else {
      receiveBytes(piece);
      data.drain(piece.size());
    }
  }
  flushSession();
}

void GrpcStream::receiveBytes(absl::string_view bytes) {
  if (session_ == nullptr || closed_) return;
  ssize_t rc = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(bytes.data()),
                                        bytes.size());
  if (rc < 0) {
    fail(kInternal, absl::StrCat("HTTP/2 error: ", nghttp2_strerror(static_cast<int>(rc))));
  }
}

void GrpcStream::onEvent(network::ConnectionEvent event) {
  if (closed_) return;
  if (event == network::ConnectionEvent::kConnected) {
    if (!tls_options_.has_value()) {
      startSession();
      return;
    }
    auto tls = TlsClient::create(*tls_options_);
    if (!tls.ok()) {
      fail(kUnavailable, tls.status().message());
      return;
    }
    tls_ = std::move(*tls);
    std::string hello;
    absl::Status st = tls_->handshake(hello);
    if (!st.ok()) {
      fail(kUnavailable, st.message());
      return;
    }
    buffer::Buffer b;
    b.add(hello);
    connection_->write(b);
    return;
  }
  fail(kUnavailable, "connection to the control plane closed");
}

void GrpcStream::onHeader(absl::string_view name, absl::string_view value) {
  if (name == ":status") {
    absl::SimpleAtoi(value, &http_status_);
  } else if (name == "grpc-status") {
    absl::SimpleAtoi(value, &grpc_status_);
  } else if (name == "grpc-message") {
    grpc_message_ = std::string(value);
  }
}

void GrpcStream::onDataChunk(const uint8_t* data, size_t len) {
  if (closed_) return;
  absl::Status st = decoder_.decode(absl::string_view(reinterpret_cast<const char*>(data), len),
                                    [this](absl::string_view m) {
                                      callbacks_.onMessage(m);
                                      return !closed_;
                                    });
  if (!st.ok()) fail(kInternal, st.message());
}

void GrpcStream::onStreamClose(uint32_t error_code) {
  if (grpc_status_ == 0 && decoder_.bufferedBytes() > 0) {
    fail(kInternal, "the stream ended inside a gRPC message");
  } else if (grpc_status_ >= 0) {
    fail(grpc_status_, grpc_message_);
  } else if (http_status_ != 0 && http_status_ != 200) {
    fail(kUnavailable, absl::StrCat("HTTP status ", http_status_));
  } else {
    fail(kUnavailable, absl::StrCat("stream closed (HTTP/2 error ", error_code, ")"));
  }
}

void GrpcStream::fail(int grpc_status, absl::string_view message) {
  if (closed_) return;
  closed_ = true;
  std::string msg(message);
  // Deferred: the caller may be deep inside nghttp2 or the connection. The owner may delete
  // this object before then; the weak token tells.
  std::weak_ptr<bool> alive = alive_;
  dispatcher_.post([this, alive, grpc_status, msg] {
    if (alive.lock() != nullptr) callbacks_.onStreamClosed(grpc_status, msg);
  });
}

}  // namespace portico::xds
