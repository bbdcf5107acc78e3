// The filter chain rules of filter.h, each checked on a real HttpConnection over a socketpair:
// the test plays the HTTP client on the other end, scripted filters stand in for auth,
// transformation and router filters.

#include <sys/socket.h>
#include <unistd.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/http/conn_manager_impl.h"
#include "source/common/network/address.h"
#include "source/common/network/connection_impl.h"
#include "source/common/stats/store.h"
#include "source/upstream/cluster_manager.h"
#include "test/common/event/dispatcher_test_util.h"

namespace portico::http {
namespace {

using std::chrono::milliseconds;

// A filter in both directions whose behaviour each test scripts; it logs what it sees.
class ScriptedFilter : public StreamFilter {
 public:
  ScriptedFilter(std::string name, std::vector<std::string>& log)
      : name_(std::move(name)), log_(log) {}

  std::function<FilterHeadersStatus(RequestHead&)> on_decode_headers;
  std::function<FilterHeadersStatus(ResponseHead&)> on_encode_headers;
  std::function<FilterDataStatus(buffer::Buffer&, bool)> on_encode_data;
  bool passes_through = false;
  int* destroyed = nullptr;

  StreamDecoderFilterCallbacks* decoder = nullptr;
  StreamEncoderFilterCallbacks* encoder = nullptr;

  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& cb) override { decoder = &cb; }
  void setEncoderFilterCallbacks(StreamEncoderFilterCallbacks& cb) override { encoder = &cb; }
  FilterHeadersStatus decodeHeaders(RequestHead& head, bool) override {
    log_.push_back(name_ + " decodeHeaders");
    return on_decode_headers ? on_decode_headers(head) : FilterHeadersStatus::kContinue;
  }
  FilterDataStatus decodeData(buffer::Buffer& data, bool end_stream) override {
    log_.push_back(absl::StrCat(name_, " decodeData ", data.length(), end_stream ? " end" : ""));
    return FilterDataStatus::kContinue;
  }
  FilterHeadersStatus encodeHeaders(ResponseHead& head, bool) override {
    log_.push_back(name_ + " encodeHeaders");
    head.headers.add("x-seen-by", name_);
    return on_encode_headers ? on_encode_headers(head) : FilterHeadersStatus::kContinue;
  }
  FilterDataStatus encodeData(buffer::Buffer& data, bool end_stream) override {
    log_.push_back(absl::StrCat(name_, " encodeData ", data.length(), end_stream ? " end" : ""));
    return on_encode_data ? on_encode_data(data, end_stream) : FilterDataStatus::kContinue;
  }
  bool bodyPassesThrough() const override { return passes_through; }
  void onDestroy() override {
    if (destroyed != nullptr) ++*destroyed;
  }

 private:
  std::string name_;
  std::vector<std::string>& log_;
};

// The last decoder, standing in for the router: answers once the request is complete with a
// 200 whose body is sent in `pieces` (the later ones from timers, as an upstream would).
// What the responder saw; owned by the test, as the stream deletes its filters when done.
struct ResponderRecord {
  std::string received_body;
  bool body_sink_offered = false;  // responseBodySink() after the head: raw forwarding allowed
  // The head is a local that is wiped when encodeHeaders returns (as the router's direct
  // responses and an upstream codec that moves on to the next response).
  bool head_on_stack = false;
  int above = 0;
  int below = 0;
};

class Responder : public StreamDecoderFilter, public DownstreamWatermarkCallbacks {
 public:
  Responder(std::vector<std::string> pieces, ResponderRecord& record)
      : pieces_(std::move(pieces)), record_(record) {}

  void setDecoderFilterCallbacks(StreamDecoderFilterCallbacks& cb) override { cb_ = &cb; }
  FilterHeadersStatus decodeHeaders(RequestHead&, bool end_stream) override {
    if (end_stream) respond();
    return FilterHeadersStatus::kStopIteration;
  }
  FilterDataStatus decodeData(buffer::Buffer& data, bool end_stream) override {
    record_.received_body += data.toString();
    data.clear();
    if (end_stream) respond();
    return FilterDataStatus::kStopIterationAndBuffer;
  }
  DownstreamWatermarkCallbacks* watermarkCallbacks() override { return this; }
  void onAboveWriteBufferHighWatermark() override { record_.above++; }
  void onBelowWriteBufferLowWatermark() override { record_.below++; }
  void onDestroy() override { timer_.reset(); }

 private:
  void respond() {
    if (responded_) return;
    responded_ = true;
    size_t total = 0;
    for (const auto& p : pieces_) total += p.size();
    ResponseHead on_stack;
    ResponseHead& head = record_.head_on_stack ? on_stack : head_;
    head.status = 200;
    head.headers.add("content-length", absl::StrCat(total));
    head.headers.add("x-received", absl::StrCat(record_.received_body.size()));
    cb_->encodeHeaders(head, total == 0);
    on_stack.status = 599;
    on_stack.headers.clear();
    if (total == 0) return;
    record_.body_sink_offered = cb_->responseBodySink() != nullptr;
    buffer::Buffer first;
    first.add(pieces_[0]);
    cb_->encodeData(first, pieces_.size() == 1);
    next_ = 1;
    timer_ = cb_->dispatcher().createTimer([this] { sendNext(); });
    if (next_ < pieces_.size()) timer_->enableTimer(milliseconds(5));
  }
  void sendNext() {
    buffer::Buffer piece;
    piece.add(pieces_[next_]);
    next_++;
    bool last = next_ == pieces_.size();
    cb_->encodeData(piece, last);
    if (!last) timer_->enableTimer(milliseconds(5));
  }

  StreamDecoderFilterCallbacks* cb_ = nullptr;
  std::vector<std::string> pieces_;
  ResponderRecord& record_;
  size_t next_ = 0;
  bool responded_ = false;
  ResponseHead head_;
  event::TimerPtr timer_;
};

class FilterChainTest : public event::test::DispatcherTestBase {
 protected:
  void SetUp() override {
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
    local_fd_ = fds[0];
    client_ = fds[1];
    config_ = std::make_shared<HttpConnectionManagerConfig>();
    config_->stat_prefix = "test";
    config_->stats = std::make_unique<HttpStats>(store_, "test");
    config_->buffer_limit = 1024;
  }
  void TearDown() override {
    connection_.reset();
    if (client_ >= 0) close(client_);
  }

  // Adds a ScriptedFilter to the chain; the returned pointer is valid while the stream lives.
  void addScripted(const std::string& name, std::function<void(ScriptedFilter&)> script = {}) {
    config_->filter_factories.push_back(
        [this, name, script](FilterChainFactoryCallbacks& chain, WorkerServices&) {
          auto f = std::make_unique<ScriptedFilter>(name, log_);
          f->destroyed = &destroyed_;
          if (script) script(*f);
          chain.addStreamFilter(std::move(f));
        });
  }
  void addResponder(std::vector<std::string> pieces) {
    config_->filter_factories.push_back(
        [this, pieces](FilterChainFactoryCallbacks& chain, WorkerServices&) {
          chain.addStreamDecoderFilter(std::make_unique<Responder>(pieces, responder_));
        });
  }

  // A decoder "lookup" that stops at the headers and continues `delay` later (as an external
  // auth or rate-limit check would).
  void addLookupThatContinuesAfter(milliseconds delay) {
    addScripted("lookup", [this, delay](ScriptedFilter& f) {
      f.on_decode_headers = [this, &f, delay](RequestHead&) {
        at(delay, [&f] { f.decoder->continueDecoding(); });
        return FilterHeadersStatus::kStopIteration;
      };
    });
  }
  // A response from a producer whose head is a local wiped when encodeHeaders returns, through
  // an encoder that stops at the headers and edits them 50 ms later.
  std::string responseThroughAnEncoderThatResumesLater(std::vector<std::string> pieces) {
    responder_.head_on_stack = true;
    addScripted("auth", [this](ScriptedFilter& f) {
      f.on_encode_headers = [this, &f](ResponseHead& head) {
        EXPECT_EQ(head.status, 200);
        at(milliseconds(50), [&f] {
          f.encoder->responseHead().headers.add("x-checked", "yes");
          f.encoder->continueEncoding();
        });
        return FilterHeadersStatus::kStopIteration;
      };
    });
    addResponder(std::move(pieces));
    start();
    send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
    std::string r = readResponse();
    EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200 ")) << r;
    EXPECT_TRUE(absl::StrContains(r, "x-checked: yes")) << r;
    EXPECT_TRUE(absl::StrContains(r, "x-seen-by: auth")) << r;
    return r;
  }

  void start() {
    auto remote = network::Address::parse("127.0.0.1", 40000);
    ASSERT_TRUE(remote.ok());
    // The socket's own watermark is set high: the tests look at the stream's buffer limit.
    auto conn = std::make_unique<network::ConnectionImpl>(*dispatcher_, local_fd_, *remote, false,
                                                          1024 * 1024);
    connection_ = std::make_unique<HttpConnection>(config_, services_, std::move(conn),
                                                   [this](HttpConnection&) { closed_ = true; });
  }

  void send(absl::string_view bytes) {
    ASSERT_EQ(::send(client_, bytes.data(), bytes.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(bytes.size()));
  }

  // Reads until a whole response (Content-Length or chunked) has arrived, or the connection
  // closed, or the watchdog fires.
  std::string readResponse() {
    std::string got;
    event::Timer* poll = nullptr;
    poll = &timer([&] {
      char buf[65536];
      ssize_t n;
      while ((n = recv(client_, buf, sizeof(buf), MSG_DONTWAIT)) > 0) got.append(buf, n);
      if (n == 0 || complete(got)) {
        peer_closed_ = n == 0;
        dispatcher_->exit();
        return;
      }
      poll->enableTimer(milliseconds(2));
    });
    poll->enableTimer(milliseconds(0));
    run();
    return got;
  }

  static bool complete(const std::string& r) {
    size_t end = r.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    std::string head = absl::AsciiStrToLower(r.substr(0, end));
    size_t cl = head.find("content-length: ");
    if (cl != std::string::npos) {
      size_t len = std::stoul(head.substr(cl + 16));
      return r.size() >= end + 4 + len;
    }
    if (absl::StrContains(head, "transfer-encoding: chunked")) {
      return absl::EndsWith(r, "\r\n0\r\n\r\n");
    }
    return false;
  }

  // Decodes a chunked body (for checking what the client got).
  static std::string dechunk(absl::string_view body) {
    std::string out;
    while (true) {
      size_t eol = body.find("\r\n");
      size_t n = std::stoul(std::string(body.substr(0, eol)), nullptr, 16);
      if (n == 0) return out;
      out.append(body.data() + eol + 2, n);
      body.remove_prefix(eol + 2 + n + 2);
    }
  }

  stats::Store store_;
  stats::WorkerStats& worker_stats_ = store_.createWorkerStats();
  upstream::ClusterManager cluster_manager_{*dispatcher_, worker_stats_};
  bool draining_ = false;
  std::atomic<bool> healthy_{true};
  WorkerServices services_{*dispatcher_,        worker_stats_, cluster_manager_,
                           [] { return 7ull; }, draining_,     healthy_};
  std::shared_ptr<HttpConnectionManagerConfig> config_;
  std::unique_ptr<HttpConnection> connection_;
  int local_fd_ = -1;
  int client_ = -1;
  bool closed_ = false;
  bool peer_closed_ = false;
  std::vector<std::string> log_;
  ResponderRecord responder_;
  int destroyed_ = 0;
};

TEST_F(FilterChainTest, DecodersRunInConfigOrderAndEncodersInReverse) {
  addScripted("a");
  addScripted("b");
  addResponder({"hello"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 200")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\nhello")) << r;
  // b is nearer the router: it encodes first, so its header comes first.
  EXPECT_LT(r.find("x-seen-by: b"), r.find("x-seen-by: a")) << r;
  std::vector<std::string> expected = {"a decodeHeaders",    "b decodeHeaders",
                                       "b encodeHeaders",    "a encodeHeaders",
                                       "b encodeData 5 end", "a encodeData 5 end"};
  EXPECT_EQ(log_, expected);
  EXPECT_EQ(destroyed_, 2);  // once per filter, though each is a decoder and an encoder
}

TEST_F(FilterChainTest, TheBodyMayBypassOnlyEncodersThatLetItPassThrough) {
  addScripted("indifferent", [](ScriptedFilter& f) { f.passes_through = true; });
  addScripted("watcher");  // the default: it must see every byte
  addResponder({"hello"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  EXPECT_TRUE(absl::EndsWith(readResponse(), "hello"));
  EXPECT_FALSE(responder_.body_sink_offered);
}

TEST_F(FilterChainTest, TheBodyMayBypassEncodersThatAllLetItPassThrough) {
  addScripted("a", [](ScriptedFilter& f) { f.passes_through = true; });
  addScripted("b", [](ScriptedFilter& f) { f.passes_through = true; });
  addResponder({"hello"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  EXPECT_TRUE(absl::EndsWith(readResponse(), "hello"));
  EXPECT_TRUE(responder_.body_sink_offered);
}

TEST_F(FilterChainTest, EncoderStoppedAtHeadersHoldsTheBodyUntilItContinues) {
  addScripted("auth", [this](ScriptedFilter& f) {
    f.on_encode_headers = [this, &f](ResponseHead& head) {
      // An async check: resume later, after the whole body has been produced (pieces come
      // every 5 ms; 200 ms leaves room for a loaded machine).
      at(milliseconds(200), [&f] {
        f.encoder->responseHead().headers.add("x-checked", "yes");
        f.encoder->continueEncoding();
      });
      return FilterHeadersStatus::kStopIteration;
    };
  });
  addScripted("inner");
  addResponder({"one-", "two-", "three"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  EXPECT_TRUE(absl::StrContains(r, "x-checked: yes")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\none-two-three")) << r;
  // Body that came while the chain was stopped went through every encoder after resuming, in
  // one piece (none of them saw it earlier).
  std::vector<std::string> expected = {"auth decodeHeaders",      "inner decodeHeaders",
                                       "inner encodeHeaders",     "auth encodeHeaders",
                                       "inner encodeData 13 end", "auth encodeData 13 end"};
  EXPECT_EQ(log_, expected);
}

// The producer's head may be gone by the time a stopped encoder resumes: the stream holds a
// copy (here the producer's local head is wiped as soon as encodeHeaders returns).
TEST_F(FilterChainTest, EncoderStoppedAtHeadersOutlivesTheProducersHeadWithoutBody) {
  std::string r = responseThroughAnEncoderThatResumesLater({});
  EXPECT_TRUE(absl::StrContains(r, "content-length: 0")) << r;
}

TEST_F(FilterChainTest, EncoderStoppedAtHeadersOutlivesTheProducersHeadWithBody) {
  std::string r = responseThroughAnEncoderThatResumesLater({"body"});
  EXPECT_TRUE(absl::StrContains(r, "content-length: 4\r\n")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "\r\n\r\nbody")) << r;
}

TEST_F(FilterChainTest, ResponseBodyHeldPastTheBufferLimitPushesBackOnTheProducer) {
  addScripted("hold", [this](ScriptedFilter& f) {
    f.on_encode_headers = [this, &f](ResponseHead&) {
      at(milliseconds(200), [&f] { f.encoder->continueEncoding(); });
      return FilterHeadersStatus::kStopIteration;
    };
  });
  // 4 pieces of 600 bytes against a 1024-byte limit: the third piece crosses it.
  addResponder(
      {std::string(600, 'a'), std::string(600, 'b'), std::string(600, 'c'), std::string(600, 'd')});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  EXPECT_EQ(r.size() - r.find("\r\n\r\n") - 4, 2400u);
  EXPECT_EQ(responder_.above, 1);
  EXPECT_EQ(responder_.below, 1);
}

TEST_F(FilterChainTest, FilterThatTakesTheBodyInjectsItsOutputForTheFiltersAfterIt) {
  addScripted("outer");
  addScripted("upcase", [](ScriptedFilter& f) {
    auto held = std::make_shared<std::string>();
    f.on_encode_headers = [](ResponseHead& head) {
      head.headers.remove("content-length");  // the body changes: sent chunked
      return FilterHeadersStatus::kContinue;
    };
    f.on_encode_data = [&f, held](buffer::Buffer& data, bool end_stream) {
      held->append(data.toString());
      data.clear();
      if (end_stream) {
        buffer::Buffer out;
        out.add(absl::AsciiStrToUpper(*held) + "!");
        f.encoder->injectEncodedData(out, true);
      }
      return FilterDataStatus::kStopIterationAndBuffer;
    };
  });
  addResponder({"abc", "def"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  ASSERT_TRUE(absl::StrContains(r, "transfer-encoding: chunked")) << r;
  EXPECT_EQ(dechunk(r.substr(r.find("\r\n\r\n") + 4)), "ABCDEF!");
  // "outer" (after upcase in encoding order) sees only the injected output.
  std::vector<std::string> outer_data;
  for (const auto& l : log_) {
    if (absl::StartsWith(l, "outer encodeData")) outer_data.push_back(l);
  }
  EXPECT_EQ(outer_data, std::vector<std::string>{"outer encodeData 7 end"});
}

TEST_F(FilterChainTest, LocalReplyPassesThroughTheEncoders) {
  addScripted("headers");
  addScripted("deny", [](ScriptedFilter& f) {
    f.on_decode_headers = [&f](RequestHead&) {
      f.decoder->sendLocalReply(403, "denied\n", "test_denied");
      return FilterHeadersStatus::kStopIteration;
    };
  });
  addResponder({"never"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 403")) << r;
  EXPECT_TRUE(absl::StrContains(r, "x-seen-by: deny")) << r;
  EXPECT_TRUE(absl::StrContains(r, "x-seen-by: headers")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "denied\n")) << r;
}

// Regression (reviewer): the decoder chain stopped only once the response was complete, so a
// local reply an encoder held (an async check) let a filter that then returned kContinue hand
// the request on to the filters after it and the router, which sent it upstream.
TEST_F(FilterChainTest, ALocalReplyHeldByAnEncoderStillEndsTheDecoderChain) {
  addScripted("async_check", [this](ScriptedFilter& f) {
    f.on_encode_headers = [this, &f](ResponseHead&) {
      at(milliseconds(50), [&f] { f.encoder->continueEncoding(); });
      return FilterHeadersStatus::kStopIteration;
    };
  });
  addScripted("deny", [](ScriptedFilter& f) {
    f.on_decode_headers = [&f](RequestHead&) {
      f.decoder->sendLocalReply(403, "denied\n", "test_denied");
      return FilterHeadersStatus::kContinue;
    };
  });
  addScripted("after");
  addResponder({"never"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  EXPECT_TRUE(absl::StartsWith(r, "HTTP/1.1 403")) << r;
  EXPECT_TRUE(absl::EndsWith(r, "denied\n")) << r;
  EXPECT_THAT(log_, ::testing::Not(::testing::Contains("after decodeHeaders")));
}

TEST_F(FilterChainTest, DecoderStoppedAtHeadersBuffersTheRequestBodyUntilItContinues) {
  addLookupThatContinuesAfter(milliseconds(200));
  addResponder({"ok"});
  start();
  send("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 10\r\n\r\n01234");
  at(milliseconds(10), [this] { send("56789"); });
  std::string r = readResponse();
  EXPECT_TRUE(absl::StrContains(r, "x-received: 10")) << r;
  EXPECT_EQ(responder_.received_body, "0123456789");
  // The filter saw the held body once, as one piece, after resuming.
  std::vector<std::string> data_lines;
  for (const auto& l : log_) {
    if (absl::StartsWith(l, "lookup decodeData")) data_lines.push_back(l);
  }
  EXPECT_EQ(data_lines, std::vector<std::string>{"lookup decodeData 10 end"});
}

// Regression (reviewer): a held body over the buffer limit paused reading, and resuming the
// chain never let the connection read again, so the rest of the upload hung until a timeout.
TEST_F(FilterChainTest, ResumingAfterAHeldBodyOverTheLimitReadsTheRestOfTheBody) {
  addLookupThatContinuesAfter(milliseconds(200));
  addResponder({"ok"});
  start();
  const std::string first(3000, 'a');  // over the 1024-byte limit while the chain is stopped
  const std::string rest(5000, 'b');
  send(absl::StrCat("POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 8000\r\n\r\n", first));
  at(milliseconds(100), [this, rest] { send(rest); });
  std::string r = readResponse();
  EXPECT_TRUE(absl::StrContains(r, "x-received: 8000")) << r;
  EXPECT_EQ(responder_.received_body, first + rest);
}

TEST_F(FilterChainTest, InjectingBodyAheadOfHeldHeadersResetsTheStream) {
  addScripted("holds_headers", [](ScriptedFilter& f) {
    f.on_encode_headers = [](ResponseHead&) { return FilterHeadersStatus::kStopIteration; };
  });
  addScripted("buggy", [](ScriptedFilter& f) {
    f.on_encode_headers = [&f](ResponseHead&) {
      buffer::Buffer early;
      early.add("too early");
      f.encoder->injectEncodedData(early, false);
      return FilterHeadersStatus::kContinue;
    };
  });
  addResponder({"body"});
  start();
  send("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
  std::string r = readResponse();
  EXPECT_TRUE(peer_closed_);
  EXPECT_EQ(r, "");  // nothing out of order reached the client
}

}  // namespace
}  // namespace portico::http
