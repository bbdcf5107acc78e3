#include "source/filters/http/health_check/health_check_filter.h"

#include "absl/strings/str_cat.h"
#include "source/router/config_error.h"
#include "source/router/route.h"

namespace portico::filters::health_check {

absl::StatusOr<std::shared_ptr<const HealthCheckConfig>> HealthCheckConfig::create(
    const config::v1::HealthCheck& config, const std::string& filter_name, const std::string& field,
    const std::string& stat_prefix, stats::Store& store) {
  const std::string& path = config.path();
  if (path.empty() || path[0] != '/' || path.find_first_of("?# \t") != std::string::npos) {
    return router::fieldError(router::fieldPath(field, "path"),
                              absl::StrCat("'", path, "' is not a path like /healthz"));
  }
  auto c = std::make_shared<HealthCheckConfig>();
  c->filter_name = filter_name;
  c->path = path;
  c->pass_through = config.pass_through();
  c->stats_scope = std::make_unique<stats::Scope>(
      store, absl::StrCat(stat_prefix, "health_check.", filter_name, "."));
  c->ok = c->stats_scope->counter("ok");
  c->failed = c->stats_scope->counter("failed");
  c->passed_through = c->stats_scope->counter("passed_through");
  return c;
}

http::FilterHeadersStatus HealthCheckFilter::decodeHeaders(http::RequestHead& head, bool) {
  absl::string_view path = head.path;
  path = path.substr(0, path.find('?'));
  const router::Route* route = callbacks_->route();
  if (path != config_->path || (route != nullptr && route->filterDisabled(config_->filter_name))) {
    return http::FilterHeadersStatus::kContinue;
  }
  if (!services_.healthy.load(std::memory_order_relaxed) || services_.draining) {
    services_.stats.inc(config_->failed);
    callbacks_->sendLocalReply(503, "unhealthy\n", "health_check_failed");
    return http::FilterHeadersStatus::kStopIteration;
  }
  if (config_->pass_through) {
    services_.stats.inc(config_->passed_through);
    return http::FilterHeadersStatus::kContinue;
  }
  services_.stats.inc(config_->ok);
  callbacks_->sendLocalReply(200, "OK\n", "health_check_ok");
  return http::FilterHeadersStatus::kStopIteration;
}

}  // namespace portico::filters::health_check
