#pragma once

// The router's immutable view of one RouteConfiguration: virtual hosts selected by Host, each
// with ordered routes (first match wins). Built and validated once on the main thread, then
// shared read-only with workers; match() takes no locks and does not allocate in the common case.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "portico/config/v1/route.pb.h"
#include "source/common/http/header_map.h"
#include "source/router/route.h"  // Route, RouteActionKind
#include "source/router/virtual_host.h"
#include "source/router/virtual_host_selector.h"

namespace portico::router {

class RouteTable;
using RouteTableSharedPtr = std::shared_ptr<const RouteTable>;

class RouteTable {
 public:
  // Validates and precompiles `config`. Errors are InvalidArgument and start with the field path,
  // e.g. "virtual_hosts[1].routes[3].match.safe_regex: invalid RE2: missing ): (abc";
  // `field_prefix` (e.g. "static_resources.route_configs[0]") is prepended with a '.' when
  // non-empty.
  static absl::StatusOr<std::shared_ptr<const RouteTable>> create(
      const config::v1::RouteConfiguration& config, absl::string_view field_prefix = "");

  // host: the Host header value (may contain a port, any case). path_with_query: the request
  // target. Returns nullptr when no virtual host or no route matches. The Route lives as long as
  // this table.
  const Route* match(absl::string_view host, absl::string_view path_with_query,
                     const http::HeaderMap& headers) const;
  // match() by testing every route of the virtual host in order (no index): for tests and
  // benchmarks.
  const Route* matchLinearForTest(absl::string_view host, absl::string_view path_with_query,
                                  const http::HeaderMap& headers) const;

  // Every cluster name any route can send to, sorted and unique (for reference validation).
  std::vector<std::string> referencedClusters() const;
  // Where the first route that names `cluster` names it, as a field path below the table
  // ("virtual_hosts[2].routes[57].route.cluster"); "" if none does. For error messages.
  std::string fieldNaming(absl::string_view cluster) const;
  const std::string& name() const { return name_; }

 private:
  RouteTable(std::string name, VirtualHostSelector selector)
      : name_(std::move(name)), selector_(std::move(selector)) {}
  const VirtualHost* selectVirtualHost(absl::string_view host) const;

  std::string name_;
  VirtualHostSelector selector_;
  std::vector<std::unique_ptr<const VirtualHost>> virtual_hosts_;
};

}  // namespace portico::router
