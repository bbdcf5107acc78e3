// The compressor filter on its own, with fake stream callbacks: when it compresses, what it
// does to the head, that the body round-trips through gunzip piece by piece, and every case
// it must leave alone. Config validation goes through the listener's filter list builder.

#include "source/filters/http/compressor/compressor_filter.h"

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/store.h"
#include "source/filters/http/filter_config.h"
#include "source/router/route.h"
#include "test/filters/http/compressor/gunzip.h"

namespace portico::filters::compressor {
namespace {

class FakeEncoderCallbacks : public http::StreamEncoderFilterCallbacks {
 public:
  event::Dispatcher& dispatcher() override { return *dispatcher_; }
  const router::Route* route() override { return route_.get(); }
  absl::string_view downstreamAddress() override { return "127.0.0.1"; }
  const http::RequestHead& requestHead() override { return request; }
  uint32_t bufferLimit() const override { return 1 << 20; }
  void resetStream(absl::string_view details) override { reset = std::string(details); }
  void continueEncoding() override {}
  http::ResponseHead& responseHead() override { return response; }
  void injectEncodedData(buffer::Buffer& data, bool) override { data.clear(); }

  http::RequestHead request;
  http::ResponseHead response;
  std::unique_ptr<const router::Route> route_;
  std::string reset;

 private:
  event::DispatcherPtr dispatcher_ = event::createDispatcher();
};

// What the filter emitted, inflated ("<error>" when it is not gzip).
std::string gunzip(const std::string& in) {
  test::Gunzipped g = test::gunzip(in);
  return g.ok ? g.data : "<error>";
}

class CompressorFilterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    callbacks_.request.method = "GET";
    callbacks_.request.path = "/";
    callbacks_.request.headers.add("accept-encoding", "gzip, deflate");
    head_.status = 200;
    head_.headers.add("content-type", "application/json; charset=utf-8");
    head_.headers.add("content-length", "4000");
  }

  void makeFilter(const config::v1::Compressor& proto = {}) {
    auto config = CompressorConfig::create(proto, "gzip", "f", "http.t.", store_);
    ASSERT_TRUE(config.ok()) << config.status();
    filter_ = std::make_unique<CompressorFilter>(*config, worker_stats_);
    filter_->setEncoderFilterCallbacks(callbacks_);
  }

  // Runs the head and then `pieces` through the filter; returns what it passed on.
  std::string encode(const std::vector<std::string>& pieces) {
    EXPECT_EQ(filter_->encodeHeaders(head_, false), http::FilterHeadersStatus::kContinue);
    std::string out;
    for (size_t i = 0; i < pieces.size(); i++) {
      buffer::Buffer b;
      b.add(pieces[i]);
      if (filter_->encodeData(b, i + 1 == pieces.size()) == http::FilterDataStatus::kContinue) {
        out += b.toString();
      }
    }
    return out;
  }

  bool compressed() const {
    const std::string* e = head_.headers.get("content-encoding");
    return e != nullptr && *e == "gzip";
  }

  stats::Store store_;
  stats::WorkerStats& worker_stats_ = store_.createWorkerStats();
  FakeEncoderCallbacks callbacks_;
  http::ResponseHead head_;
  std::unique_ptr<CompressorFilter> filter_;
};

TEST_F(CompressorFilterTest, CompressesAndRewritesTheHead) {
  head_.headers.add("etag", "\"v1\"");
  head_.headers.add("accept-ranges", "bytes");
  makeFilter();
  std::string body = std::string(2000, 'a') + std::string(2000, 'b');
  std::string out = encode({body.substr(0, 1500), body.substr(1500)});
  EXPECT_TRUE(compressed());
  EXPECT_FALSE(head_.headers.contains("content-length"));
  EXPECT_FALSE(head_.headers.contains("accept-ranges"));
  EXPECT_EQ(*head_.headers.get("vary"), "accept-encoding");
  EXPECT_EQ(*head_.headers.get("etag"), "W/\"v1\"");
  EXPECT_LT(out.size(), body.size() / 10);
  EXPECT_EQ(gunzip(out), body);
}

TEST_F(CompressorFilterTest, EachPieceIsFlushedSoAStreamIsNotHeldBack) {
  makeFilter();
  ASSERT_EQ(filter_->encodeHeaders(head_, false), http::FilterHeadersStatus::kContinue);
  buffer::Buffer first;
  first.add("data: first event\n\n");
  ASSERT_EQ(filter_->encodeData(first, false), http::FilterDataStatus::kContinue);
  // Without the end of the stream, what went out so far already inflates to the first piece.
  EXPECT_EQ(gunzip(first.toString()), "data: first event\n\n");
}

TEST_F(CompressorFilterTest, AcceptEncodingRules) {
  auto accepts = [](const std::string& value) {
    http::HeaderMap h;
    h.add("accept-encoding", value);
    return acceptsGzip(h);
  };
  EXPECT_TRUE(accepts("gzip"));
  EXPECT_TRUE(accepts("deflate, GZIP;q=0.5"));
  EXPECT_TRUE(accepts("x-gzip"));
  EXPECT_TRUE(accepts("*"));
  EXPECT_TRUE(accepts("br;q=1, *;q=0.1"));
  EXPECT_FALSE(accepts("gzip;q=0"));
  EXPECT_FALSE(accepts("gzip; q=0.000, *"));  // explicit refusal beats the wildcard
  EXPECT_FALSE(accepts("*;q=0"));
  EXPECT_FALSE(accepts("br, deflate"));
  EXPECT_FALSE(accepts("identity"));
  EXPECT_FALSE(acceptsGzip(http::HeaderMap()));
}

TEST_F(CompressorFilterTest, ClientWithoutGzipGetsTheBodyAsItIsButAVaryHeader) {
  callbacks_.request.headers.set("accept-encoding", "br");
  makeFilter();
  EXPECT_EQ(encode({"{\"a\": 1}"}), "{\"a\": 1}");
  EXPECT_FALSE(compressed());
  EXPECT_EQ(*head_.headers.get("content-length"), "4000");
  EXPECT_EQ(*head_.headers.get("vary"), "accept-encoding");
}

TEST_F(CompressorFilterTest, HeadRequestGetsVaryButNoEncoding) {
  callbacks_.request.method = "HEAD";
  makeFilter();
  EXPECT_EQ(filter_->encodeHeaders(head_, true), http::FilterHeadersStatus::kContinue);
  EXPECT_FALSE(compressed());
  EXPECT_EQ(*head_.headers.get("content-length"), "4000");
  EXPECT_TRUE(head_.headers.contains("vary"));
}

TEST_F(CompressorFilterTest, ResponsesItMustLeaveAlone) {
  struct Case {
    const char* what;
    std::function<void(http::ResponseHead&)> edit;
  };
  std::vector<Case> cases = {
      {"too short", [](http::ResponseHead& h) { h.headers.set("content-length", "10"); }},
      {"image type", [](http::ResponseHead& h) { h.headers.set("content-type", "image/png"); }},
      {"no type", [](http::ResponseHead& h) { h.headers.remove("content-type"); }},
      {"already encoded", [](http::ResponseHead& h) { h.headers.add("content-encoding", "br"); }},
      // Regression (reviewer): only the first field was read, so these brotli bytes were
      // gzipped and labelled gzip alone.
      {"encoded in a second field",
       [](http::ResponseHead& h) {
         h.headers.add("content-encoding", "identity");
         h.headers.add("content-encoding", "br");
       }},
      {"encoded in a list",
       [](http::ResponseHead& h) { h.headers.add("content-encoding", "identity, gzip"); }},
      {"no-transform",
       [](http::ResponseHead& h) { h.headers.add("cache-control", "public, No-Transform"); }},
      {"partial content", [](http::ResponseHead& h) { h.status = 206; }},
      {"not modified", [](http::ResponseHead& h) { h.status = 304; }},
  };
  for (const Case& c : cases) {
    SetUp();
    head_ = http::ResponseHead();
    head_.status = 200;
    head_.headers.add("content-type", "text/html");
    head_.headers.add("content-length", "4000");
    c.edit(head_);
    makeFilter();
    EXPECT_EQ(encode({"<html>body</html>"}), "<html>body</html>") << c.what;
    EXPECT_FALSE(compressed()) << c.what;
    EXPECT_FALSE(head_.headers.contains("vary")) << c.what;
  }
}

TEST_F(CompressorFilterTest, EtagCanSwitchItOff) {
  head_.headers.add("etag", "\"v1\"");
  config::v1::Compressor proto;
  proto.set_disable_on_etag_header(true);
  makeFilter(proto);
  encode({"{}"});
  EXPECT_FALSE(compressed());
  EXPECT_EQ(*head_.headers.get("etag"), "\"v1\"");
}

TEST_F(CompressorFilterTest, RouteCanDisableIt) {
  config::v1::Route route;
  route.mutable_match()->set_prefix("/");
  route.mutable_direct_response()->set_status(200);
  route.add_disabled_filters("gzip");
  auto r = router::Route::create(route, "route", {});
  ASSERT_TRUE(r.ok()) << r.status();
  callbacks_.route_ = std::move(*r);
  makeFilter();
  encode({"{}"});
  EXPECT_FALSE(compressed());
}

TEST_F(CompressorFilterTest, CountsWhatItDid) {
  makeFilter();
  encode({std::string(4000, 'x')});
  std::string text = store_.renderText();
  EXPECT_TRUE(absl::StrContains(text, "http.t.compressor.gzip.compressed: 1")) << text;
  EXPECT_TRUE(absl::StrContains(text, "http.t.compressor.gzip.total_uncompressed_bytes: 4000"))
      << text;
}

TEST(CompressorConfigTest, ListenerFilterListErrorsNameTheField) {
  stats::Store store;
  auto build = [&](const std::string& name, std::function<void(config::v1::HttpFilter&)> edit) {
    google::protobuf::RepeatedPtrField<config::v1::HttpFilter> list;
    config::v1::HttpFilter* f = list.Add();
    f->set_name(name);
    f->mutable_compressor();
    edit(*f);
    auto r = createHttpFilterFactories(list, "listeners[0].http.http_filters", "http.t.", store);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_EQ(build("gzip", [](auto&) {}), "ok");
  EXPECT_EQ(build("", [](auto&) {}), "listeners[0].http.http_filters[0].name: must be set");
  EXPECT_EQ(build("gzip", [](auto& f) { f.clear_compressor(); }),
            "listeners[0].http.http_filters[0]: needs a filter config (compressor, health_check)");
  EXPECT_EQ(build("gzip", [](auto& f) { f.mutable_compressor()->set_compression_level(10); }),
            "listeners[0].http.http_filters[0].compressor.compression_level: must be in 1..9 "
            "(got 10)");
  EXPECT_EQ(build("gzip", [](auto& f) { f.mutable_compressor()->set_window_bits(8); }),
            "listeners[0].http.http_filters[0].compressor.window_bits: must be in 9..15 (got 8)");
  EXPECT_TRUE(absl::StartsWith(
      build("gzip", [](auto& f) { f.mutable_compressor()->add_content_types("json"); }),
      "listeners[0].http.http_filters[0].compressor.content_types[0]: 'json' is not a media "
      "type"));
  google::protobuf::RepeatedPtrField<config::v1::HttpFilter> twice;
  for (int i = 0; i < 2; i++) {
    config::v1::HttpFilter* f = twice.Add();
    f->set_name("gzip");
    f->mutable_compressor();
  }
  auto r = createHttpFilterFactories(twice, "http_filters", "http.t.", store);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "http_filters[1].name: 'gzip' is used twice");
  // Regression (reviewer): the name goes into stat names, and was not checked as one: a
  // newline forged /stats lines; "gz.a" and "gz_a" shared one Prometheus series.
  twice.Mutable(0)->set_name("gz.a");
  twice.Mutable(1)->set_name("gz_a");
  r = createHttpFilterFactories(twice, "http_filters", "http.t.", store);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith("http_filters[1].name: "));
  twice.Mutable(1)->set_name("gz\nhttp.fake: 1");
  r = createHttpFilterFactories(twice, "http_filters", "http.t.", store);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()), ::testing::StartsWith("http_filters[1].name: "));
}

}  // namespace
}  // namespace portico::filters::compressor
