#pragma once

// CompressorConfig: the validated, immutable settings of one compressor filter (shared by all
// workers and streams), with its stats.

#include <memory>
#include <string>

#include "absl/container/flat_hash_set.h"
#include "absl/status/statusor.h"
#include "portico/config/v1/http_filter.pb.h"
#include "source/common/stats/scope.h"
#include "source/common/stats/store.h"

namespace portico::filters::compressor {

struct CompressorStats {
  CompressorStats(stats::Store& store, const std::string& prefix);
  stats::Scope scope;  // declared first: the ids below are registered through it
  stats::StatId compressed, not_compressed, total_uncompressed_bytes, total_compressed_bytes;
};

struct CompressorConfig {
  std::string filter_name;
  uint32_t min_content_length = 30;
  absl::flat_hash_set<std::string> content_types;  // lower case, no parameters
  int level = 6;
  int window_bits = 12;
  int memory_level = 5;
  bool disable_on_etag = false;
  std::unique_ptr<CompressorStats> stats;

  // `field` names the filter in errors ("listeners[0].http.http_filters[1]"); stats are
  // "<stat_prefix>compressor.<filter name>.*".
  static absl::StatusOr<std::shared_ptr<const CompressorConfig>> create(
      const config::v1::Compressor& config, const std::string& filter_name,
      const std::string& field, const std::string& stat_prefix, stats::Store& store);
};
using CompressorConfigConstSharedPtr = std::shared_ptr<const CompressorConfig>;

}  // namespace portico::filters::compressor
