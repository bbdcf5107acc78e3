// The health_check filter with fake decoder callbacks: which requests it answers, with what,
// in which server states, and its config errors.

#include "source/filters/http/health_check/health_check_filter.h"

#include <atomic>
#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "source/common/event/dispatcher.h"
#include "source/common/stats/store.h"
#include "source/router/route.h"
#include "source/upstream/cluster_manager.h"

namespace portico::filters::health_check {
namespace {

class FakeDecoderCallbacks : public http::StreamDecoderFilterCallbacks {
 public:
  explicit FakeDecoderCallbacks(event::Dispatcher& d) : dispatcher_(d) {}
  event::Dispatcher& dispatcher() override { return dispatcher_; }
  const router::Route* route() override { return route_.get(); }
  absl::string_view downstreamAddress() override { return "127.0.0.1"; }
  const http::RequestHead& requestHead() override { return head_; }
  uint32_t bufferLimit() const override { return 1 << 20; }
  void resetStream(absl::string_view) override {}
  void continueDecoding() override {}
  void encode1xxHeaders(http::ResponseHead&) override {}
  void encodeHeaders(http::ResponseHead&, bool) override {}
  void encodeData(buffer::Buffer& data, bool) override { data.clear(); }
  void sendLocalReply(int status, absl::string_view body, absl::string_view details) override {
    reply_status = status;
    reply_body = std::string(body);
    reply_details = std::string(details);
  }
  void readDisableDownstream(bool) override {}
  void setUpstreamHost(absl::string_view) override {}

  int reply_status = 0;
  std::string reply_body, reply_details;
  std::unique_ptr<const router::Route> route_;

 private:
  event::Dispatcher& dispatcher_;
  http::RequestHead head_;
};

class HealthCheckFilterTest : public ::testing::Test {
 protected:
  // Runs one request for `path` through a fresh filter; returns its verdict.
  http::FilterHeadersStatus probe(const std::string& path, bool pass_through = false) {
    config::v1::HealthCheck proto;
    proto.set_path("/healthz");
    proto.set_pass_through(pass_through);
    auto config = HealthCheckConfig::create(proto, "probe", "f", "http.t.", store_);
    EXPECT_TRUE(config.ok()) << config.status();
    HealthCheckFilter filter(*config, services_);
    filter.setDecoderFilterCallbacks(callbacks_);
    http::RequestHead head;
    head.method = "GET";
    head.path = path;
    return filter.decodeHeaders(head, true);
  }

  stats::Store store_;
  stats::WorkerStats& worker_stats_ = store_.createWorkerStats();
  event::DispatcherPtr dispatcher_ = event::createDispatcher();
  upstream::ClusterManager cluster_manager_{*dispatcher_, worker_stats_};
  bool draining_ = false;
  std::atomic<bool> healthy_{true};
  http::WorkerServices services_{*dispatcher_,        worker_stats_, cluster_manager_,
                                 [] { return 1ull; }, draining_,     healthy_};
  FakeDecoderCallbacks callbacks_{*dispatcher_};
};

TEST_F(HealthCheckFilterTest, AnswersTheProbePathOnly) {
  EXPECT_EQ(probe("/healthz?x=1"), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(callbacks_.reply_status, 200);
  EXPECT_EQ(callbacks_.reply_body, "OK\n");
  callbacks_.reply_status = 0;
  for (const char* other : {"/", "/healthz/x", "/healthzz", "/HEALTHZ"}) {
    EXPECT_EQ(probe(other), http::FilterHeadersStatus::kContinue) << other;
  }
  EXPECT_EQ(callbacks_.reply_status, 0);
}

TEST_F(HealthCheckFilterTest, FailsWhenMarkedUnhealthyOrDraining) {
  healthy_ = false;
  probe("/healthz");
  EXPECT_EQ(callbacks_.reply_status, 503);
  EXPECT_EQ(callbacks_.reply_details, "health_check_failed");
  healthy_ = true;
  draining_ = true;
  callbacks_.reply_status = 0;
  probe("/healthz");
  EXPECT_EQ(callbacks_.reply_status, 503);
  draining_ = false;
  callbacks_.reply_status = 0;
  probe("/healthz");
  EXPECT_EQ(callbacks_.reply_status, 200);
}

TEST_F(HealthCheckFilterTest, PassThroughForwardsOnlyWhileHealthy) {
  EXPECT_EQ(probe("/healthz", true), http::FilterHeadersStatus::kContinue);
  EXPECT_EQ(callbacks_.reply_status, 0);
  healthy_ = false;
  EXPECT_EQ(probe("/healthz", true), http::FilterHeadersStatus::kStopIteration);
  EXPECT_EQ(callbacks_.reply_status, 503);
}

TEST_F(HealthCheckFilterTest, RouteCanDisableIt) {
  config::v1::Route route;
  route.mutable_match()->set_prefix("/");
  route.mutable_direct_response()->set_status(200);
  route.add_disabled_filters("probe");
  auto r = router::Route::create(route, "route", {});
  ASSERT_TRUE(r.ok()) << r.status();
  callbacks_.route_ = std::move(*r);
  EXPECT_EQ(probe("/healthz"), http::FilterHeadersStatus::kContinue);
}

TEST_F(HealthCheckFilterTest, PathMustBeAPath) {
  for (const char* bad : {"", "healthz", "/h?x=1", "/h z"}) {
    config::v1::HealthCheck proto;
    proto.set_path(bad);
    auto config = HealthCheckConfig::create(proto, "probe", "http_filters[0].health_check",
                                            "http.t.", store_);
    ASSERT_FALSE(config.ok()) << bad;
    EXPECT_EQ(config.status().message(), absl::StrCat("http_filters[0].health_check.path: '", bad,
                                                      "' is not a path like /healthz"));
  }
}

}  // namespace
}  // namespace portico::filters::health_check
