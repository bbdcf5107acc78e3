#include "source/filters/http/filter_config.h"

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "source/common/config/name_checks.h"
#include "source/filters/http/compressor/compressor_filter.h"
#include "source/filters/http/health_check/health_check_filter.h"
#include "source/router/config_error.h"

namespace portico::filters {

using router::fieldError;
using router::fieldPath;

absl::StatusOr<std::vector<http::FilterFactoryCb>> createHttpFilterFactories(
    const google::protobuf::RepeatedPtrField<config::v1::HttpFilter>& filters,
    const std::string& field, const std::string& stat_prefix, stats::Store& store) {
  std::vector<http::FilterFactoryCb> factories;
  absl::flat_hash_set<std::string> names;
  config::PrometheusNames prometheus_names;
  for (int i = 0; i < filters.size(); i++) {
    const config::v1::HttpFilter& filter = filters[i];
    const std::string at = absl::StrCat(field, "[", i, "]");
    if (filter.name().empty()) return fieldError(at + ".name", "must be set");
    if (!names.insert(filter.name()).second) {
      return fieldError(at + ".name", absl::StrCat("'", filter.name(), "' is used twice"));
    }
    // The name is part of the filter's stat names.
    if (absl::Status st = config::checkStatName(filter.name(), at + ".name"); !st.ok()) return st;
    if (absl::Status st = prometheus_names.add(filter.name(), at + ".name"); !st.ok()) return st;
    switch (filter.config_case()) {
      case config::v1::HttpFilter::kCompressor: {
        auto config = compressor::CompressorConfig::create(filter.compressor(), filter.name(),
                                                           at + ".compressor", stat_prefix, store);
        if (!config.ok()) return config.status();
        factories.push_back([config = *config](http::FilterChainFactoryCallbacks& chain,
                                               http::WorkerServices& services) {
          chain.addStreamFilter(
              std::make_unique<compressor::CompressorFilter>(config, services.stats));
        });
        break;
      }
      case config::v1::HttpFilter::kHealthCheck: {
        auto config = health_check::HealthCheckConfig::create(
            filter.health_check(), filter.name(), at + ".health_check", stat_prefix, store);
        if (!config.ok()) return config.status();
        factories.push_back([config = *config](http::FilterChainFactoryCallbacks& chain,
                                               http::WorkerServices& services) {
          chain.addStreamDecoderFilter(
              std::make_unique<health_check::HealthCheckFilter>(config, services));
        });
        break;
      }
      case config::v1::HttpFilter::CONFIG_NOT_SET:
        return fieldError(at, "needs a filter config (compressor, health_check)");
    }
  }
  return factories;
}

const char* httpFilterType(const config::v1::HttpFilter& filter) {
  switch (filter.config_case()) {
    case config::v1::HttpFilter::kCompressor:
      return "compressor";
    case config::v1::HttpFilter::kHealthCheck:
      return "health_check";
    case config::v1::HttpFilter::CONFIG_NOT_SET:
      break;
  }
  return "unset";
}

}  // namespace portico::filters
