#include "source/common/stats/prometheus.h"

#include <cmath>
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
// Families: "# TYPE name kind" comes once, before the family's samples, which are contiguous.
// Histograms: _bucket lines with strictly increasing `le`, non-decreasing cumulative counts,
// ending with +Inf, then _sum and _count, with +Inf == _count.
std::vector<std::string> validateExposition(const std::string& text) {
  static const std::regex kType(
      R"re(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram))re");
  static const std::regex kSample(R"re(([a-zA-Z_:][a-zA-Z0-9_:]*)(\{le="([^"]+)"\})? ([^ ]+))re");
  std::vector<std::string> errors;
  auto fail = [&](size_t line, const std::string& what) {
    errors.push_back(absl::StrCat("line ", line + 1, ": ", what));
  };
  if (!text.empty() && text.back() != '\n') errors.push_back("no trailing newline");

  absl::flat_hash_set<std::string> families;
  std::string family, kind;
  double last_le = -INFINITY, last_bucket = -1, inf_bucket = -1;
  bool has_sum = false, has_count = false;
  auto closeFamily = [&](size_t line) {
    if (kind == "histogram" && (inf_bucket < 0 || !has_sum || !has_count)) {
      fail(line, absl::StrCat(family, ": histogram without +Inf bucket, _sum or _count"));
    }
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
      last_le = -INFINITY;
      last_bucket = inf_bucket = -1;
      has_sum = has_count = false;
      continue;
    }
    if (!std::regex_match(line, m, kSample)) {
      fail(i, "bad sample: " + line);
      continue;
    }
    const std::string name = m[1];
    bool ok = true;
    const double value = parseValue(m[4], &ok);
    if (!ok) fail(i, "bad value: " + line);
    if (kind != "histogram") {
      if (name != family || m[2].matched) fail(i, "sample outside its family: " + line);
      if (kind == "counter" && value < 0) fail(i, "negative counter: " + line);
      continue;
    }
    if (name == family + "_bucket" && m[2].matched) {
      const double le = parseValue(m[3], &ok);
      if (!ok) fail(i, "bad le: " + line);
      if (le <= last_le) fail(i, "le not increasing: " + line);
      if (value < last_bucket) fail(i, "buckets not cumulative: " + line);
      if (inf_bucket >= 0) fail(i, "bucket after +Inf: " + line);
      if (std::isinf(le)) inf_bucket = value;
      last_le = le;
      last_bucket = value;
    } else if (name == family + "_sum" && !m[2].matched) {
      has_sum = true;
    } else if (name == family + "_count" && !m[2].matched) {
      has_count = true;
      if (value != inf_bucket) fail(i, "+Inf bucket != _count: " + line);
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

TEST(PrometheusTest, EmptyStoreRendersOnlyTheOverflowCounter) {
  Store store;
  EXPECT_EQ(store.renderPrometheus(),
            "# TYPE portico_stats_overflow counter\n"
            "portico_stats_overflow 0\n");
}

}  // namespace
}  // namespace portico::stats
