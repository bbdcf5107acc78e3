#include "source/common/stats/text_format.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "source/common/stats/display.h"

namespace portico::stats {
namespace {

struct Line {
  absl::string_view name;
  std::string value;
};

}  // namespace

std::string formatHistogramSummary(const HistogramData& data, Unit unit) {
  const double divisor = rawPerDisplayUnit(unit);
  std::string out;
  for (const SummaryQuantile& q : kSummaryQuantiles) {
    absl::StrAppend(&out, q.label, "(", formatNumber(data.quantile(q.q) / divisor), ") ");
  }
  absl::StrAppend(&out, "count=", data.count(),
                  " sum=", formatNumber(static_cast<double>(data.sum()) / divisor));
  return out;
}

std::string renderText(const StoreSnapshot& snapshot) {
  std::vector<Line> lines;
  lines.reserve(snapshot.counters.size() + snapshot.gauges.size() + snapshot.histograms.size());
  for (const CounterSnapshot& c : snapshot.counters) {
    lines.push_back({c.name, absl::StrCat(c.value)});
  }
  for (const GaugeSnapshot& g : snapshot.gauges) lines.push_back({g.name, absl::StrCat(g.value)});
  for (const HistogramSnapshot& h : snapshot.histograms) {
    lines.push_back({h.name, formatHistogramSummary(h.data, h.unit)});
  }
  std::sort(lines.begin(), lines.end(),
            [](const Line& a, const Line& b) { return a.name < b.name; });
  std::string out;
  for (const Line& line : lines) absl::StrAppend(&out, line.name, ": ", line.value, "\n");
  return out;
}

}  // namespace portico::stats
