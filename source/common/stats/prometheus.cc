#include "source/common/stats/prometheus.h"

#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/common/stats/display.h"

namespace portico::stats {
namespace {

// A label value in the exposition: '\', '"' and newline escaped (names are visible ASCII).
std::string labelValue(absl::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

// One metric family: its # TYPE line, then its samples, whichever config objects they are of.
struct Family {
  std::string type;
  std::string samples;
};

class Exposition {
 public:
  // The family a stat belongs to and the labels it carries ("" or `cluster_name="backend"`).
  // Null if its family already has a sample without labels that would clash.
  Family* family(const std::string& stat_name, const StatTagConstSharedPtr& tag, const char* type,
                 std::string& labels) {
    std::string name;
    if (tag != nullptr && stat_name.size() > tag->scope_prefix.size()) {
      name = prometheusName(absl::StrCat(
          tag->family_prefix, absl::string_view(stat_name).substr(tag->scope_prefix.size())));
      labels = absl::StrCat(tag->label, "=\"", labelValue(tag->value), "\"");
    } else {
      name = prometheusName(stat_name);
      labels.clear();
    }
    auto [it, inserted] = index_.try_emplace(name, families_.size());
    if (inserted) {
      names_.push_back(name);
      families_.push_back(Family{type, ""});
    }
    Family& f = families_[it->second];
    // One family, one type; and one sample per label set (an untagged stat whose name is a
    // tagged family's would repeat it): the first wins, the others are left out.
    if (f.type != type) return nullptr;
    if (!seen_.insert(absl::StrCat(name, "{", labels, "}")).second) return nullptr;
    current_name_ = &names_[it->second];
    return &f;
  }
  const std::string& name() const { return *current_name_; }

  std::string render() const {
    std::string out;
    for (size_t i = 0; i < families_.size(); i++) {
      absl::StrAppend(&out, "# TYPE ", names_[i], " ", families_[i].type, "\n",
                      families_[i].samples);
    }
    return out;
  }

 private:
  absl::flat_hash_map<std::string, size_t> index_;
  std::vector<std::string> names_;
  std::vector<Family> families_;
  absl::flat_hash_set<std::string> seen_;
  const std::string* current_name_ = nullptr;
};

void appendHistogram(const std::string& name, const std::string& labels, const HistogramSnapshot& h,
                     std::string& out) {
  const double divisor = rawPerDisplayUnit(h.unit);
  const std::string before_le = labels.empty() ? "" : absl::StrCat(labels, ",");
  for (double le : prometheusBucketBounds(h.unit)) {
    absl::StrAppend(&out, name, "_bucket{", before_le, "le=\"", formatNumber(le), "\"} ",
                    h.data.countAtOrBelow(le * divisor), "\n");
  }
  // count() is the sum of the buckets, so +Inf always equals _count and is >= every bucket.
  absl::StrAppend(&out, name, "_bucket{", before_le, "le=\"+Inf\"} ", h.data.count(), "\n");
  const std::string braces = labels.empty() ? "" : absl::StrCat("{", labels, "}");
  absl::StrAppend(&out, name, "_sum", braces, " ",
                  formatNumber(static_cast<double>(h.data.sum()) / divisor), "\n");
  absl::StrAppend(&out, name, "_count", braces, " ", h.data.count(), "\n");
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
  Exposition exposition;
  std::string labels;
  auto sample = [&](const std::string& name, const std::string& l, const auto& value) {
    return absl::StrCat(name, l.empty() ? "" : absl::StrCat("{", l, "}"), " ", value, "\n");
  };
  for (const CounterSnapshot& c : snapshot.counters) {
    Family* f = exposition.family(c.name, c.tag, "counter", labels);
    if (f != nullptr) f->samples += sample(exposition.name(), labels, c.value);
  }
  for (const GaugeSnapshot& g : snapshot.gauges) {
    Family* f = exposition.family(g.name, g.tag, "gauge", labels);
    if (f != nullptr) f->samples += sample(exposition.name(), labels, g.value);
  }
  for (const HistogramSnapshot& h : snapshot.histograms) {
    Family* f = exposition.family(h.name, h.tag, "histogram", labels);
    if (f != nullptr) appendHistogram(exposition.name(), labels, h, f->samples);
  }
  return exposition.render();
}

}  // namespace portico::stats
