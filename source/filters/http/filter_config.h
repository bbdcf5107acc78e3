#pragma once

// The HTTP filters a listener can list (http_filters in listener.proto): each config is
// validated and turned into a factory that adds the filter to every new stream's chain. The
// router is not among them: the listener appends it last.

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/repeated_field.h"
#include "portico/config/v1/http_filter.pb.h"
#include "source/common/http/conn_manager_config.h"
#include "source/common/stats/store.h"

namespace portico::filters {

// `field` names the list in errors ("listeners[0].http.http_filters"); `stat_prefix` is the
// listener's ("http.<prefix>.").
absl::StatusOr<std::vector<http::FilterFactoryCb>> createHttpFilterFactories(
    const google::protobuf::RepeatedPtrField<config::v1::HttpFilter>& filters,
    const std::string& field, const std::string& stat_prefix, stats::Store& store);

// "compressor", "health_check", ...: the filter's type as config names it.
const char* httpFilterType(const config::v1::HttpFilter& filter);

}  // namespace portico::filters
