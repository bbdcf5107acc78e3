#pragma once

// Immutable per-listener HTTP settings shared by all workers, plus the per-worker services a
// connection manager and its filters use.

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "source/common/event/dispatcher.h"
#include "source/common/http/filter.h"
#include "source/common/http/http1/server_codec.h"
#include "source/common/http/path_normalization.h"
#include "source/common/stats/scope.h"
#include "source/common/stats/store.h"
#include "source/common/stats/worker_stats.h"

namespace portico::router {
class RouteTable;
}
namespace portico::upstream {
class ClusterManager;
}
namespace portico::access_log {
class AccessLog;
}

namespace portico::http {

struct HttpStats {
  HttpStats(stats::Store& store, const std::string& stat_prefix);
  stats::StatId rqClass(int status) const;

  stats::Scope scope;  // "http.<stat_prefix>.": shared by the listener's configs of one prefix

  stats::StatId downstream_cx_total, downstream_cx_active, downstream_rq_total,
      downstream_rq_active, downstream_rq_1xx, downstream_rq_2xx, downstream_rq_3xx,
      downstream_rq_4xx, downstream_rq_5xx, downstream_rq_time, downstream_cx_rx_bytes_total,
      downstream_cx_tx_bytes_total, downstream_cx_protocol_error, downstream_rq_timeout,
      downstream_rq_headers_timeout, downstream_rq_idle_timeout, downstream_cx_idle_timeout,
      downstream_cx_drain_close, downstream_cx_overflow, downstream_rq_rx_reset,
      downstream_rq_local_reply, downstream_rs_spliced, downstream_rq_failed_path_normalization,
      downstream_rq_redirected_with_normalized_path;
};

// One worker's services, handed to filter factories.
struct WorkerServices {
  event::Dispatcher& dispatcher;
  stats::WorkerStats& stats;
  upstream::ClusterManager& cluster_manager;
  std::function<uint64_t()> random;
  // True once the worker drains: responses carry "connection: close".
  const bool& draining;
  // False after admin /healthcheck/fail and while the server drains (health_check filter).
  const std::atomic<bool>& healthy;
};

// Adds one filter (or one per direction) to a new stream's chain.
using FilterFactoryCb = std::function<void(FilterChainFactoryCallbacks&, WorkerServices&)>;

struct HttpConnectionManagerConfig {
  std::string listener_name;
  std::string stat_prefix;
  std::shared_ptr<const router::RouteTable> routes;
  http1::ServerLimits limits;
  std::chrono::milliseconds idle_timeout{300000};
  std::chrono::milliseconds request_headers_timeout{10000};
  std::chrono::milliseconds stream_idle_timeout{300000};
  uint32_t buffer_limit = 1024 * 1024;
  PathNormalizationOptions path_normalization;  // before routing
  std::unique_ptr<HttpStats> stats;
  // The chain in config order; the router is the last decoder. Encoders run in reverse.
  std::vector<FilterFactoryCb> filter_factories;
  std::vector<std::string> filter_names;              // "name (type)", for admin /listeners
  std::shared_ptr<access_log::AccessLog> access_log;  // nullptr: off
};
using HttpConnectionManagerConfigConstSharedPtr =
    std::shared_ptr<const HttpConnectionManagerConfig>;

}  // namespace portico::http
