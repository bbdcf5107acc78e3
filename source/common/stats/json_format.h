#pragma once

// Envoy's /stats?format=json shape, so tools written for Envoy's admin read ours:
//   {"stats":[{"name":"a.b","value":1}, ...,
//             {"histograms":{"supported_quantiles":[0,25,...,100],
//                            "computed_quantiles":[{"name":"h","values":[
//                                {"interval":null,"cumulative":1.5}, ...]}]}}]}
// Counters and gauges sorted by name; histogram values in the display unit (ms for time), one
// per supported quantile, null while a histogram is empty. There are no flush intervals here:
// "interval" is always null.

#include <string>

#include "source/common/stats/snapshot.h"

namespace portico::stats {

std::string renderJson(const StoreSnapshot& snapshot);

}  // namespace portico::stats
