#include "absl/strings/str_cat.h"
#include "source/common/http/conn_manager_config.h"

namespace portico::http {

HttpStats::HttpStats(stats::Store& store, const std::string& stat_prefix)
    : scope(store, "http.", "http_conn_manager_prefix", stat_prefix) {
  auto c = [&](absl::string_view n) { return scope.counter(n); };
  auto g = [&](absl::string_view n) { return scope.gauge(n); };
  downstream_cx_total = c("downstream_cx_total");
  downstream_cx_active = g("downstream_cx_active");
  downstream_rq_total = c("downstream_rq_total");
  downstream_rq_active = g("downstream_rq_active");
  downstream_rq_1xx = c("downstream_rq_1xx");
  downstream_rq_2xx = c("downstream_rq_2xx");
  downstream_rq_3xx = c("downstream_rq_3xx");
  downstream_rq_4xx = c("downstream_rq_4xx");
  downstream_rq_5xx = c("downstream_rq_5xx");
  downstream_rq_time = scope.histogram("downstream_rq_time", stats::Unit::kMicroseconds);
  downstream_cx_rx_bytes_total = c("downstream_cx_rx_bytes_total");
  downstream_cx_tx_bytes_total = c("downstream_cx_tx_bytes_total");
  downstream_cx_protocol_error = c("downstream_cx_protocol_error");
  downstream_rq_timeout = c("downstream_rq_timeout");
  downstream_rq_headers_timeout = c("downstream_rq_headers_timeout");
  downstream_rq_idle_timeout = c("downstream_rq_idle_timeout");
  downstream_cx_idle_timeout = c("downstream_cx_idle_timeout");
  downstream_cx_drain_close = c("downstream_cx_drain_close");
  downstream_cx_overflow = c("downstream_cx_overflow");
  downstream_rq_rx_reset = c("downstream_rq_rx_reset");
  downstream_rq_local_reply = c("downstream_rq_local_reply");
  // Responses whose body went from the upstream socket to the client's through a kernel pipe.
  downstream_rs_spliced = c("downstream_rs_spliced");
  // Path normalisation (Envoy's names): 400s for a malformed escape or a refused encoded
  // slash, and 307s to the decoded path.
  downstream_rq_failed_path_normalization = c("downstream_rq_failed_path_normalization");
  downstream_rq_redirected_with_normalized_path =
      c("downstream_rq_redirected_with_normalized_path");
}

stats::StatId HttpStats::rqClass(int status) const {
  if (status < 200) return downstream_rq_1xx;
  if (status < 300) return downstream_rq_2xx;
  if (status < 400) return downstream_rq_3xx;
  if (status < 500) return downstream_rq_4xx;
  return downstream_rq_5xx;
}

}  // namespace portico::http
