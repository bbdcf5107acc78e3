#pragma once

// ClusterInfo: the immutable, validated form of a Cluster config, shared by all workers.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "portico/config/v1/cluster.pb.h"
#include "source/common/stats/scope.h"
#include "source/common/stats/store.h"
#include "source/upstream/host.h"

namespace portico::upstream {

struct ClusterStats {
  explicit ClusterStats(stats::Store& store, const std::string& cluster_name);
  stats::Scope scope;  // "cluster.<name>.": the stats go when the last ClusterInfo of it does
  stats::StatId upstream_rq_total, upstream_rq_1xx, upstream_rq_2xx, upstream_rq_3xx,
      upstream_rq_4xx, upstream_rq_5xx, upstream_rq_timeout, upstream_rq_pending_overflow,
      upstream_rq_pending_total, upstream_cx_total, upstream_cx_connect_fail,
      upstream_cx_connect_timeout, upstream_cx_destroy, upstream_cx_rx_bytes_total,
      upstream_cx_tx_bytes_total, upstream_rq_reset, upstream_rq_retry, upstream_rq_active,
      upstream_cx_active, upstream_rq_pending_active, upstream_rq_time;
  stats::StatId rqClass(int status) const;
};

struct ClusterInfo {
  std::string name;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds idle_timeout{60000};
  config::v1::Cluster::LbPolicy lb_policy = config::v1::Cluster::ROUND_ROBIN;
  uint32_t max_connections_per_host = 1024;
  uint32_t max_pending_requests = 1024;
  uint32_t max_idle_connections_per_host = 64;
  uint32_t buffer_limit = 1024 * 1024;
  // Bounds on what the HTTP/1 client codec keeps of a response head (see Http1Parser).
  uint32_t max_response_head_bytes = 60 * 1024;
  uint32_t max_response_headers_count = 100;
  std::vector<HostConstSharedPtr> hosts;
  std::unique_ptr<ClusterStats> stats;
  // The config it was built from: an update with an identical Cluster reuses this object, so
  // the workers keep its connection pools.
  std::string config_fingerprint;

  // Builds from config; `field_prefix` names the cluster in errors (e.g. "clusters[0]").
  static absl::StatusOr<std::shared_ptr<const ClusterInfo>> create(
      const config::v1::Cluster& config, absl::string_view field_prefix, stats::Store& store);
};
using ClusterInfoConstSharedPtr = std::shared_ptr<const ClusterInfo>;

}  // namespace portico::upstream
