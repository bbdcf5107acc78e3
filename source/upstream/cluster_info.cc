#include "source/upstream/cluster_info.h"

#include "absl/strings/str_cat.h"
#include "source/common/config/duration.h"

namespace portico::upstream {

ClusterStats::ClusterStats(stats::Store& store, const std::string& cluster_name)
    : scope(store, "cluster.", "cluster_name", cluster_name) {
  auto c = [&](absl::string_view n) { return scope.counter(n); };
  auto g = [&](absl::string_view n) { return scope.gauge(n); };
  upstream_rq_total = c("upstream_rq_total");
  upstream_rq_1xx = c("upstream_rq_1xx");
  upstream_rq_2xx = c("upstream_rq_2xx");
  upstream_rq_3xx = c("upstream_rq_3xx");
  upstream_rq_4xx = c("upstream_rq_4xx");
  upstream_rq_5xx = c("upstream_rq_5xx");
  upstream_rq_timeout = c("upstream_rq_timeout");
  upstream_rq_pending_overflow = c("upstream_rq_pending_overflow");
  upstream_rq_pending_total = c("upstream_rq_pending_total");
  upstream_rq_reset = c("upstream_rq_rx_reset");
  upstream_rq_retry = c("upstream_rq_retry");
  upstream_cx_total = c("upstream_cx_total");
  upstream_cx_connect_fail = c("upstream_cx_connect_fail");
  upstream_cx_connect_timeout = c("upstream_cx_connect_timeout");
  upstream_cx_destroy = c("upstream_cx_destroy");
  upstream_cx_rx_bytes_total = c("upstream_cx_rx_bytes_total");
  upstream_cx_tx_bytes_total = c("upstream_cx_tx_bytes_total");
  upstream_rq_active = g("upstream_rq_active");
  upstream_cx_active = g("upstream_cx_active");
  upstream_rq_pending_active = g("upstream_rq_pending_active");
  upstream_rq_time = scope.histogram("upstream_rq_time", stats::Unit::kMicroseconds);
}

stats::StatId ClusterStats::rqClass(int status) const {
  if (status < 200) return upstream_rq_1xx;
  if (status < 300) return upstream_rq_2xx;
  if (status < 400) return upstream_rq_3xx;
  if (status < 500) return upstream_rq_4xx;
  return upstream_rq_5xx;
}

absl::StatusOr<std::shared_ptr<const ClusterInfo>> ClusterInfo::create(
    const config::v1::Cluster& config, absl::string_view field_prefix, stats::Store& store) {
  auto info = std::make_shared<ClusterInfo>();
  const std::string prefix(field_prefix);
  if (config.name().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, ".name: must not be empty"));
  }
  info->name = config.name();
  if (config.has_connect_timeout()) {
    auto d = config::toMilliseconds(config.connect_timeout(), prefix + ".connect_timeout");
    if (!d.ok()) return d.status();
    if (d->count() <= 0) {
      return absl::InvalidArgumentError(absl::StrCat(prefix, ".connect_timeout: must be > 0"));
    }
    info->connect_timeout = *d;
  }
  if (config.has_idle_timeout()) {
    auto d = config::toMilliseconds(config.idle_timeout(), prefix + ".idle_timeout");
    if (!d.ok()) return d.status();
    info->idle_timeout = *d;
  }
  // Protobuf keeps unknown enum numbers (lb_policy: 7); a mistyped one must not quietly mean
  // round robin.
  if (!config::v1::Cluster::LbPolicy_IsValid(config.lb_policy())) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".lb_policy: ", config.lb_policy(), " is not a known policy"));
  }
  info->lb_policy = config.lb_policy();
  if (config.max_connections_per_host() > 0) {
    info->max_connections_per_host = config.max_connections_per_host();
  }
  if (config.max_pending_requests() > 0) info->max_pending_requests = config.max_pending_requests();
  if (config.max_idle_connections_per_host() > 0) {
    info->max_idle_connections_per_host = config.max_idle_connections_per_host();
  }
  if (config.max_response_headers_kb() > 8192) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".max_response_headers_kb: must be at most 8192"));
  }
  if (config.max_response_headers_kb() > 0) {
    info->max_response_head_bytes = config.max_response_headers_kb() * 1024;
  }
  if (config.max_response_headers_count() > 0) {
    info->max_response_headers_count = config.max_response_headers_count();
  }
  const auto& la = config.load_assignment();
  if (!la.cluster_name().empty() && la.cluster_name() != config.name()) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".load_assignment.cluster_name: '", la.cluster_name(),
                     "' does not match the cluster name '", config.name(), "'"));
  }
  for (int i = 0; i < la.endpoints_size(); i++) {
    const auto& ep = la.endpoints(i);
    const std::string field = absl::StrCat(prefix, ".load_assignment.endpoints[", i, "]");
    if (ep.address().port() == 0 || ep.address().port() > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".address.port: ", ep.address().port(), " is not in 1..65535"));
    }
    auto addr = network::Address::parse(ep.address().address(), ep.address().port());
    if (!addr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".address.address: ", addr.status().message()));
    }
    if (!config::v1::LbEndpoint::HealthStatus_IsValid(ep.health_status())) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ".health_status: ", ep.health_status(), " is not a known status"));
    }
    auto host = std::make_shared<Host>();
    host->address = *addr;
    host->address_string = addr->asString();
    host->weight = ep.load_balancing_weight() == 0 ? 1 : ep.load_balancing_weight();
    host->healthy = ep.health_status() == config::v1::LbEndpoint::HEALTHY;
    info->hosts.push_back(std::move(host));
  }
  // Weighted picks draw 32 random bits each (least-request takes two from one 64-bit draw):
  // a larger total would leave hosts past 2^32 unreachable. Envoy has the same bound.
  uint64_t total_weight = 0;
  for (const auto& host : info->hosts) total_weight += host->weight;
  if (total_weight > UINT32_MAX) {
    return absl::InvalidArgumentError(
        absl::StrCat(prefix, ".load_assignment.endpoints: the weights add up to ", total_weight,
                     ", more than ", UINT32_MAX));
  }
  info->stats = std::make_unique<ClusterStats>(store, info->name);
  info->config_fingerprint = config.SerializeAsString();
  return std::shared_ptr<const ClusterInfo>(std::move(info));
}

}  // namespace portico::upstream
