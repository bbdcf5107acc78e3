#pragma once

// A virtual host's ordered routes plus the index that finds the first matching one quickly.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "portico/config/v1/route.pb.h"
#include "source/common/http/header_map.h"
#include "source/router/header_ops.h"
#include "source/router/path_index.h"
#include "source/router/route.h"

namespace portico::router {

class VirtualHost {
 public:
  // `config_level`: what the route configuration hands down (its header ops and limits).
  static absl::StatusOr<std::unique_ptr<const VirtualHost>> create(
      const config::v1::VirtualHost& config, absl::string_view field_path,
      const Route::Inherited& config_level);

  // First route, in config order, that matches; nullptr when none. `path` excludes the query.
  const Route* match(absl::string_view path, absl::string_view query,
                     const http::HeaderMap& headers) const;
  // The same answer by testing every route in order; the reference for tests and benchmarks.
  const Route* matchLinear(absl::string_view path, absl::string_view query,
                           const http::HeaderMap& headers) const;

  const std::string& name() const { return name_; }
  const std::vector<std::unique_ptr<const Route>>& routes() const { return routes_; }

 private:
  VirtualHost() = default;

  std::string name_;
  std::vector<std::unique_ptr<const Route>> routes_;
  PathIndex index_;
};

}  // namespace portico::router
