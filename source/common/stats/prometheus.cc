#include "source/common/stats/prometheus.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/common/stats/display.h"

namespace portico::stats {
namespace {

void appendHistogram(const std::string& name, const HistogramSnapshot& h, std::string& out) {
  const double divisor = rawPerDisplayUnit(h.unit);
  absl::StrAppend(&out, "# TYPE ", name, " histogram\n");
  for (double le : prometheusBucketBounds(h.unit)) {
    absl::StrAppend(&out, name, "_bucket{le=\"", formatNumber(le), "\"} ",
                    h.data.countAtOrBelow(le * divisor), "\n");
  }
  // count() is the sum of the buckets, so +Inf always equals _count and is >= every bucket.
  absl::StrAppend(&out, name, "_bucket{le=\"+Inf\"} ", h.data.count(), "\n");
  absl::StrAppend(&out, name, "_sum ", formatNumber(static_cast<double>(h.data.sum()) / divisor),
                  "\n");
  absl::StrAppend(&out, name, "_count ", h.data.count(), "\n");
}

}  // namespace

std::string prometheusName(absl::string_view stat_name) {
  std::string out = absl::StrCat("portico_", stat_name);
  for (size_t i = sizeof("portico_") - 1; i < out.size(); ++i) {
    const char c = out[i];
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '_') out[i] = '_';
  }
  return out;
}

std::string renderPrometheus(const StoreSnapshot& snapshot) {
  std::string out;
  // Family names already emitted: one # TYPE line (and one family) per name.
  absl::flat_hash_set<std::string> families;
  for (const CounterSnapshot& c : snapshot.counters) {
    std::string name = prometheusName(c.name);
    if (!families.insert(name).second) continue;
    absl::StrAppend(&out, "# TYPE ", name, " counter\n", name, " ", c.value, "\n");
  }
  for (const GaugeSnapshot& g : snapshot.gauges) {
    std::string name = prometheusName(g.name);
    if (!families.insert(name).second) continue;
    absl::StrAppend(&out, "# TYPE ", name, " gauge\n", name, " ", g.value, "\n");
  }
  for (const HistogramSnapshot& h : snapshot.histograms) {
    std::string name = prometheusName(h.name);
    if (!families.insert(name).second) continue;
    appendHistogram(name, h, out);
  }
  return out;
}

}  // namespace portico::stats
