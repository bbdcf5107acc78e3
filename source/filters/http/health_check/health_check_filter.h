#pragma once

// HealthCheckFilter: the listener's answer to health probes (http_filter.proto's HealthCheck).
// A decoder filter: a probe for the configured path is answered from the server's health
// state (WorkerServices::healthy), everything else passes.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "portico/config/v1/http_filter.pb.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/http/filter.h"
#include "source/common/stats/scope.h"
#include "source/common/stats/store.h"

namespace portico::filters::health_check {

struct HealthCheckConfig {
  std::string filter_name;
  std::string path;
  bool pass_through = false;
  std::unique_ptr<stats::Scope> stats_scope;  // "<stat_prefix>health_check.<name>."
  stats::StatId ok, failed, passed_through;

  // `field` names the filter's config in errors; stats are "<stat_prefix>health_check.<name>.*".
  static absl::StatusOr<std::shared_ptr<const HealthCheckConfig>> create(
      const config::v1::HealthCheck& config, const std::string& filter_name,
      const std::string& field, const std::string& stat_prefix, stats::Store& store);
};
using HealthCheckConfigConstSharedPtr = std::shared_ptr<const HealthCheckConfig>;

class HealthCheckFilter : public http::StreamDecoderFilter {
 public:
  HealthCheckFilter(HealthCheckConfigConstSharedPtr config, http::WorkerServices& services)
      : config_(std::move(config)), services_(services) {}

  void setDecoderFilterCallbacks(http::StreamDecoderFilterCallbacks& callbacks) override {
    callbacks_ = &callbacks;
  }
  http::FilterHeadersStatus decodeHeaders(http::RequestHead& head, bool end_stream) override;
  http::FilterDataStatus decodeData(buffer::Buffer&, bool) override {
    return http::FilterDataStatus::kContinue;
  }
  void onDestroy() override {}

 private:
  HealthCheckConfigConstSharedPtr config_;
  http::WorkerServices& services_;
  http::StreamDecoderFilterCallbacks* callbacks_ = nullptr;
};

}  // namespace portico::filters::health_check
