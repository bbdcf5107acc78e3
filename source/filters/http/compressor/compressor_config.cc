#include "source/filters/http/compressor/compressor_config.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "source/router/config_error.h"

namespace portico::filters::compressor {

using router::fieldError;
using router::fieldPath;

CompressorStats::CompressorStats(stats::Store& store, const std::string& prefix)
    : scope(store, prefix),
      compressed(scope.counter("compressed")),
      not_compressed(scope.counter("not_compressed")),
      total_uncompressed_bytes(scope.counter("total_uncompressed_bytes")),
      total_compressed_bytes(scope.counter("total_compressed_bytes")) {}

absl::StatusOr<std::shared_ptr<const CompressorConfig>> CompressorConfig::create(
    const config::v1::Compressor& config, const std::string& filter_name, const std::string& field,
    const std::string& stat_prefix, stats::Store& store) {
  auto c = std::make_shared<CompressorConfig>();
  c->filter_name = filter_name;
  if (config.min_content_length() > 0) c->min_content_length = config.min_content_length();
  if (config.content_types_size() == 0) {
    c->content_types = {"text/html",        "text/plain",      "text/css",
                        "text/xml",         "text/javascript", "application/javascript",
                        "application/json", "application/xml", "image/svg+xml"};
  }
  for (int i = 0; i < config.content_types_size(); i++) {
    std::string type = absl::AsciiStrToLower(absl::StripAsciiWhitespace(config.content_types(i)));
    if (type.empty() || type.find('/') == std::string::npos ||
        type.find(';') != std::string::npos) {
      return fieldError(fieldPath(field, "content_types", i),
                        absl::StrCat("'", config.content_types(i),
                                     "' is not a media type like text/html (no parameters)"));
    }
    c->content_types.insert(std::move(type));
  }
  if (config.compression_level() > 0) {
    if (config.compression_level() > 9) {
      return fieldError(fieldPath(field, "compression_level"),
                        absl::StrCat("must be in 1..9 (got ", config.compression_level(), ")"));
    }
    c->level = static_cast<int>(config.compression_level());
  }
  if (config.window_bits() > 0) {
    if (config.window_bits() < 9 || config.window_bits() > 15) {
      return fieldError(fieldPath(field, "window_bits"),
                        absl::StrCat("must be in 9..15 (got ", config.window_bits(), ")"));
    }
    c->window_bits = static_cast<int>(config.window_bits());
  }
  if (config.memory_level() > 0) {
    if (config.memory_level() > 9) {
      return fieldError(fieldPath(field, "memory_level"),
                        absl::StrCat("must be in 1..9 (got ", config.memory_level(), ")"));
    }
    c->memory_level = static_cast<int>(config.memory_level());
  }
  c->disable_on_etag = config.disable_on_etag_header();
  c->stats = std::make_unique<CompressorStats>(
      store, absl::StrCat(stat_prefix, "compressor.", filter_name, "."));
  return c;
}

}  // namespace portico::filters::compressor
