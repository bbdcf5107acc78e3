#include "source/common/stats/prometheus.h"

#include <cmath>
#include <map>
#include <regex>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "source/common/stats/scope.h"
#include "source/common/stats/store.h"

namespace portico::stats {
namespace {

double parseValue(const std::string& s, bool* ok) {
  if (s == "+Inf") return INFINITY;
  double v = 0;
  *ok = absl::SimpleAtod(s, &v) && !std::isnan(v);
  return v;
}

// Checks the text exposition format 0.0.4 line by line and returns every problem found.
// Families: "# TYPE name kind" comes once, before the family's samples, which are contiguous;
// a sample (name and labels) appears once. Histograms: per label set other than le, _bucket
// lines with strictly increasing `le`, non-decreasing cumulative counts, ending with +Inf,
// then _sum and _count, with +Inf == _count.
std::vector<std::string> validateExposition(const std::string& text) {
  static const std::regex kType(
      R"re(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))re");
  static const std::regex kSample(R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([^ ]+))re");
  static const std::regex kLabel(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)")re");
  std::vector<std::string> errors;
  auto fail = [&](size_t line, const std::string& what) {
    errors.push_back(absl::StrCat("line ", line + 1, ": ", what));
  };
  if (!text.empty() && text.back() != '\n') errors.push_back("no trailing newline");

  struct Series {
    double last_le = -INFINITY, last_bucket = -1, inf_bucket = -1;
    bool has_sum = false, has_count = false;
  };
  absl::flat_hash_set<std::string> families, samples;
  std::string family, kind;
  std::map<std::string, Series> series;  // a histogram's, by its labels other than le
  auto closeFamily = [&](size_t line) {
    for (const auto& [labels, h] : series) {
      if (h.inf_bucket < 0 || !h.has_sum || !h.has_count) {
        fail(line,
             absl::StrCat(family, "{", labels, "}: histogram without +Inf bucket, _sum or _count"));
      }
    }
    series.clear();
  };
  std::vector<std::string> lines = absl::StrSplit(text, '\n', absl::SkipEmpty());
  for (size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    std::smatch m;
    if (absl::StartsWith(line, "#")) {
      if (absl::StartsWith(line, "# HELP ")) continue;
      if (!std::regex_match(line, m, kType)) {
        fail(i, "bad comment: " + line);
        continue;
      }
      closeFamily(i);
      family = m[1];
      kind = m[2];
      if (!families.insert(family).second) fail(i, "second TYPE for " + family);
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      fail(i, "bad sample: " + line);
      continue;
    }
    const std::string name = m[1];
    // Labels: name="value" pairs separated by commas; le, if there, last.
    std::string others, le_text;
    bool has_le = false;
    if (m[2].matched) {
      const std::string all = m[2];
      std::vector<std::string> parts;
      for (auto it = std::sregex_iterator(all.begin(), all.end(), kLabel);
           it != std::sregex_iterator(); ++it) {
        if ((*it)[1] == "le") {
          has_le = true;
          le_text = (*it)[2];
        } else {
          parts.push_back((*it)[0]);
        }
      }
      others = absl::StrJoin(parts, ",");
      std::string rebuilt = others;
      if (has_le) absl::StrAppend(&rebuilt, others.empty() ? "" : ",", "le=\"", le_text, "\"");
      if (rebuilt != all) fail(i, "bad labels: " + line);
    }
    if (!samples.insert(absl::StrCat(name, "{", m[2].str(), "}")).second) {
      fail(i, "repeated sample: " + line);
    }
    bool ok = true;
    const double value = parseValue(m[3], &ok);
    if (!ok) fail(i, "bad value: " + line);
    if (kind != "histogram") {
      if (name != family || has_le) fail(i, "sample outside its family: " + line);
      if (kind == "counter" && value < 0) fail(i, "negative counter: " + line);
      continue;
    }
    Series& h = series[others];
    if (name == family + "_bucket" && has_le) {
      const double le = parseValue(le_text, &ok);
      if (!ok) fail(i, "bad le: " + line);
      if (le <= h.last_le) fail(i, "le not increasing: " + line);
      if (value < h.last_bucket) fail(i, "buckets not cumulative: " + line);
      if (h.inf_bucket >= 0) fail(i, "bucket after +Inf: " + line);
      if (std::isinf(le)) h.inf_bucket = value;
      h.last_le = le;
      h.last_bucket = value;
    } else if (name == family + "_sum" && !has_le) {
      h.has_sum = true;
    } else if (name == family + "_count" && !has_le) {
      h.has_count = true;
      if (value != h.inf_bucket) fail(i, "+Inf bucket != _count: " + line);
    } else {
      fail(i, "sample outside its family: " + line);
    }
  }
  closeFamily(lines.size());
  return errors;
}

TEST(PrometheusTest, ValidatorRejectsBrokenOutput) {
  EXPECT_TRUE(validateExposition("# TYPE a counter\na 1\n").empty());
  EXPECT_FALSE(validateExposition("a 1\n").empty());  // no TYPE
  EXPECT_FALSE(validateExposition("# TYPE a counter\na 1\n# TYPE a gauge\na 2\n").empty());
  EXPECT_FALSE(validateExposition("# TYPE a.b counter\na.b 1\n").empty());  // bad name
  EXPECT_TRUE(validateExposition("# TYPE a counter\na{x=\"1\"} 1\na{x=\"2\"} 1\n").empty());
  EXPECT_FALSE(validateExposition("# TYPE a counter\na{x=\"1\"} 1\na{x=\"1\"} 2\n").empty());
  EXPECT_FALSE(validateExposition("# TYPE h histogram\nh_bucket{x=\"1\",le=\"+Inf\"} 1\n"
                                  "h_sum{x=\"1\"} 1\nh_count{x=\"1\"} 1\n"
                                  "h_bucket{x=\"2\",le=\"+Inf\"} 1\n")
                   .empty());  // series x=2 without _sum and _count
  EXPECT_FALSE(validateExposition("# TYPE h histogram\nh_bucket{le=\"1\"} 5\n"
                                  "h_bucket{le=\"2\"} 4\nh_bucket{le=\"+Inf\"} 5\n"
                                  "h_sum 1\nh_count 5\n")
                   .empty());  // not cumulative
  EXPECT_FALSE(validateExposition("# TYPE h histogram\nh_bucket{le=\"+Inf\"} 5\n"
                                  "h_sum 1\nh_count 6\n")
                   .empty());  // +Inf != count
}

TEST(PrometheusTest, NamesAreSanitizedAndPrefixed) {
  EXPECT_EQ(prometheusName("cluster.foo-bar.upstream_rq_2xx"),
            "portico_cluster_foo_bar_upstream_rq_2xx");
  EXPECT_EQ(prometheusName("a b/c:d"), "portico_a_b_c_d");
  EXPECT_EQ(prometheusName("llm.caf\xc3\xa9.tokens_in"), "portico_llm_caf___tokens_in");
  EXPECT_EQ(prometheusName("9lives"), "portico_9lives");
}

TEST(PrometheusTest, FullOutputIsValid) {
  Store store;
  WorkerStats& w1 = store.createWorkerStats();
  WorkerStats& w2 = store.createWorkerStats();
  w1.inc(store.counter("cluster.foo-bar.upstream_rq_2xx"), 7);
  w2.inc(store.counter("http.ingress.downstream_rq_total"), 3);
  w1.gaugeAdd(store.gauge("http.ingress.downstream_cx_active"), -1);
  w2.gaugeAdd(store.gauge("http.ingress.downstream_cx_active"), 5);
  const StatId rq_time = store.histogram("cluster.foo.upstream_rq_time", Unit::kMicroseconds);
  const StatId sizes = store.histogram("http.ingress.rs_size", Unit::kBytes);
  store.histogram("never.recorded", Unit::kUnspecified);
  for (uint64_t v = 0; v < 20000; ++v) {
    (v % 3 ? w1 : w2).recordValue(rq_time, v * v);
    w2.recordValue(sizes, v * 1000);
  }
  // Two names that sanitize to the same metric name: only one family may be emitted.
  store.counter("dup.name");
  store.gauge("dup_name");

  const std::string text = store.renderPrometheus();
  const std::vector<std::string> errors = validateExposition(text);
  EXPECT_TRUE(errors.empty()) << absl::StrJoin(errors, "\n") << "\n" << text;
  EXPECT_TRUE(absl::StrContains(text,
                                "# TYPE portico_cluster_foo_bar_upstream_rq_2xx counter\n"
                                "portico_cluster_foo_bar_upstream_rq_2xx 7\n"));
  EXPECT_TRUE(absl::StrContains(text,
                                "# TYPE portico_http_ingress_downstream_cx_active gauge\n"
                                "portico_http_ingress_downstream_cx_active 4\n"));
  EXPECT_TRUE(absl::StrContains(text, "portico_cluster_foo_upstream_rq_time_count 20000\n"));
  EXPECT_TRUE(absl::StrContains(text, "portico_never_recorded_bucket{le=\"+Inf\"} 0\n"));
  EXPECT_TRUE(absl::StrContains(text, "portico_http_ingress_rs_size_bucket{le=\"1048576\"}"));
  EXPECT_FALSE(absl::StrContains(text, "e+"));  // no exponent notation
}

TEST(PrometheusTest, MicrosecondHistogramBucketsAreInMilliseconds) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  const StatId h = store.histogram("rq_time", Unit::kMicroseconds);
  for (uint64_t us : {100ULL, 700ULL, 3000ULL, 20000ULL, 7'200'000'000ULL}) w.recordValue(h, us);
  const std::string text = store.renderPrometheus();
  EXPECT_TRUE(absl::StrContains(text,
                                "# TYPE portico_rq_time histogram\n"
                                "portico_rq_time_bucket{le=\"0.5\"} 1\n"
                                "portico_rq_time_bucket{le=\"1\"} 2\n"
                                "portico_rq_time_bucket{le=\"5\"} 3\n"
                                "portico_rq_time_bucket{le=\"10\"} 3\n"
                                "portico_rq_time_bucket{le=\"25\"} 4\n"
                                "portico_rq_time_bucket{le=\"50\"} 4\n"
                                "portico_rq_time_bucket{le=\"100\"} 4\n"
                                "portico_rq_time_bucket{le=\"250\"} 4\n"
                                "portico_rq_time_bucket{le=\"500\"} 4\n"
                                "portico_rq_time_bucket{le=\"1000\"} 4\n"
                                "portico_rq_time_bucket{le=\"2500\"} 4\n"
                                "portico_rq_time_bucket{le=\"5000\"} 4\n"
                                "portico_rq_time_bucket{le=\"10000\"} 4\n"
                                "portico_rq_time_bucket{le=\"30000\"} 4\n"
                                "portico_rq_time_bucket{le=\"60000\"} 4\n"
                                "portico_rq_time_bucket{le=\"300000\"} 4\n"
                                "portico_rq_time_bucket{le=\"600000\"} 4\n"
                                "portico_rq_time_bucket{le=\"1800000\"} 4\n"
                                "portico_rq_time_bucket{le=\"3600000\"} 4\n"
                                "portico_rq_time_bucket{le=\"+Inf\"} 5\n"
                                "portico_rq_time_sum 7200023.8\n"
                                "portico_rq_time_count 5\n"))
      << text;
  EXPECT_TRUE(validateExposition(text).empty());
}

// As Envoy exports its stats: one family per stat, the cluster (or listener stat prefix) a
// label. Regression (reviewer): the name was part of the metric name, so every cluster was a
// family of its own and no query could sum or compare them.
TEST(PrometheusTest, ConfigObjectNamesAreLabels) {
  Store store;
  WorkerStats& w = store.createWorkerStats();
  Scope a(store, "cluster.", "cluster_name", "a");
  Scope dotted(store, "cluster.", "cluster_name", "api.v1");
  Scope ingress(store, "http.", "http_conn_manager_prefix", "ingress");
  Scope gzip(store, "http.ingress.gzip.");  // a filter's, below the listener's prefix
  w.inc(a.counter("upstream_rq_total"), 2);
  w.inc(dotted.counter("upstream_rq_total"), 3);
  w.gaugeAdd(dotted.gauge("upstream_cx_active"), 1);
  w.recordValue(a.histogram("upstream_rq_time", Unit::kMicroseconds), 1000);
  w.recordValue(dotted.histogram("upstream_rq_time", Unit::kMicroseconds), 3000);
  w.inc(ingress.counter("downstream_rq_total"));
  w.inc(gzip.counter("compressed"));
  store.counter("server.untagged");
  const std::string text = store.renderPrometheus();
  const std::vector<std::string> errors = validateExposition(text);
  EXPECT_TRUE(errors.empty()) << absl::StrJoin(errors, "\n") << "\n" << text;
  EXPECT_TRUE(absl::StrContains(text,
                                "# TYPE portico_cluster_upstream_rq_total counter\n"
                                "portico_cluster_upstream_rq_total{cluster_name=\"a\"} 2\n"
                                "portico_cluster_upstream_rq_total{cluster_name=\"api.v1\"} 3\n"))
      << text;
  EXPECT_TRUE(
      absl::StrContains(text, "portico_cluster_upstream_cx_active{cluster_name=\"api.v1\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "portico_cluster_upstream_rq_time_bucket{cluster_name=\"a\",le=\"1\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "portico_cluster_upstream_rq_time_count{cluster_name=\"api.v1\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "portico_http_downstream_rq_total{http_conn_manager_prefix=\"ingress\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(
      text, "portico_http_gzip_compressed{http_conn_manager_prefix=\"ingress\"} 1\n"));
  EXPECT_TRUE(absl::StrContains(text, "portico_server_untagged 0\n"));
  EXPECT_FALSE(absl::StrContains(text, "portico_cluster_a_"));
  // The text and JSON forms keep the dotted names.
  EXPECT_TRUE(absl::StrContains(store.renderText(), "cluster.api.v1.upstream_rq_total: 3"));
}

// A label value is escaped as the format asks; the validator sees through it.
TEST(PrometheusTest, LabelValuesAreEscaped) {
  Store store;
  Scope odd(store, "cluster.", "cluster_name", "a\\b\"c");
  odd.counter("upstream_rq_total");
  const std::string text = store.renderPrometheus();
  EXPECT_TRUE(absl::StrContains(
      text, "portico_cluster_upstream_rq_total{cluster_name=\"a\\\\b\\\"c\"} 0\n"))
      << text;
  EXPECT_TRUE(validateExposition(text).empty()) << text;
}

TEST(PrometheusTest, EmptyStoreRendersOnlyTheOverflowCounter) {
  Store store;
  EXPECT_EQ(store.renderPrometheus(),
            "# TYPE portico_stats_overflow counter\n"
            "portico_stats_overflow 0\n");
}

}  // namespace
}  // namespace portico::stats
