#pragma once

// Prometheus text exposition format 0.0.4, shaped like Envoy's /stats/prometheus: one "# TYPE"
// line per metric family, counters without a "_total" suffix, histograms as cumulative
// _bucket{le="..."} lines (display unit, i.e. ms for microsecond histograms) plus _sum and
// _count.

#include <string>

#include "absl/strings/string_view.h"
#include "source/common/stats/snapshot.h"

namespace portico::stats {

// "portico_" + `stat_name` with every character outside [a-zA-Z0-9_] replaced by '_', e.g.
// "cluster.foo-bar.upstream_rq_2xx" -> "portico_cluster_foo_bar_upstream_rq_2xx".
std::string prometheusName(absl::string_view stat_name);

// Counters, then gauges, then histograms, each sorted by name. A tagged stat (see StatTag)
// is a sample of its family with the tag as a label: cluster.backend.upstream_rq_total is
// portico_cluster_upstream_rq_total{cluster_name="backend"}, and http.<stat_prefix>.* carry
// http_conn_manager_prefix, as Envoy's. Two stats that would make one sample (names that
// sanitize alike), or one family of two types, would make the output invalid; the first (in
// that order) wins and the others are left out.
std::string renderPrometheus(const StoreSnapshot& snapshot);

}  // namespace portico::stats
