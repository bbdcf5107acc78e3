#include "source/common/stats/json_format.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "source/common/common/json_escape.h"
#include "source/common/stats/display.h"

namespace portico::stats {

std::string renderJson(const StoreSnapshot& snapshot) {
  struct Entry {
    absl::string_view name;
    std::string value;
  };
  std::vector<Entry> entries;
  entries.reserve(snapshot.counters.size() + snapshot.gauges.size());
  for (const CounterSnapshot& c : snapshot.counters)
    entries.push_back({c.name, absl::StrCat(c.value)});
  for (const GaugeSnapshot& g : snapshot.gauges) entries.push_back({g.name, absl::StrCat(g.value)});
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.name < b.name; });

  std::string out = "{\"stats\":[";
  bool first = true;
  for (const Entry& e : entries) {
    if (!first) out += ",";
    first = false;
    out += "{\"name\":";
    appendJsonString(e.name, out);
    absl::StrAppend(&out, ",\"value\":", e.value, "}");
  }
  if (!snapshot.histograms.empty()) {
    if (!first) out += ",";
    out += "{\"histograms\":{\"supported_quantiles\":[";
    for (size_t i = 0; i < std::size(kSummaryQuantiles); i++) {
      absl::StrAppend(&out, i > 0 ? "," : "", formatNumber(kSummaryQuantiles[i].percent));
    }
    out += "],\"computed_quantiles\":[";
    for (size_t h = 0; h < snapshot.histograms.size(); h++) {
      const HistogramSnapshot& hist = snapshot.histograms[h];
      if (h > 0) out += ",";
      out += "{\"name\":";
      appendJsonString(hist.name, out);
      out += ",\"values\":[";
      const double divisor = rawPerDisplayUnit(hist.unit);
      for (size_t i = 0; i < std::size(kSummaryQuantiles); i++) {
        const double v =
            hist.data.count() == 0 ? NAN : hist.data.quantile(kSummaryQuantiles[i].q) / divisor;
        absl::StrAppend(&out, i > 0 ? "," : "", "{\"interval\":null,\"cumulative\":",
                        std::isfinite(v) ? formatNumber(v) : "null", "}");
      }
      out += "]}";
    }
    out += "]}}";
  }
  out += "]}";
  return out;
}

}  // namespace portico::stats
