#pragma once

// One configured route: its match conditions and its action. Immutable after create(); the
// RouteTable owns it, so a Route* is valid as long as the table it came from.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "portico/config/v1/route.pb.h"
#include "source/common/http/header_map.h"
#include "source/router/header_ops.h"
#include "source/router/matchers.h"
#include "source/router/path_matcher.h"

namespace portico::router {

enum class RouteActionKind { kCluster, kRedirect, kDirectResponse };

class Route {
 public:
  // Header ops inherited from the virtual host and route configuration (nullptr: none).
  // Envoy's default for max_direct_response_body_size_bytes.
  static constexpr uint32_t kDefaultMaxDirectResponseBodyBytes = 4096;

  struct Inherited {
    HeaderOpLevelSharedPtr request_ops;
    HeaderOpLevelSharedPtr response_ops;
    uint32_t max_direct_response_body_bytes = kDefaultMaxDirectResponseBodyBytes;
  };

  // Validates `config` (errors name fields under `field_path`, e.g. "virtual_hosts[0].routes[2]")
  // and precompiles its matchers.
  static absl::StatusOr<std::unique_ptr<const Route>> create(const config::v1::Route& config,
                                                             absl::string_view field_path,
                                                             const Inherited& inherited);

  // Whether the request matches path, headers and query conditions. `path` excludes the query;
  // `query` is what follows '?'.
  bool matches(absl::string_view path, absl::string_view query,
               const http::HeaderMap& headers) const;
  const PathMatcher& pathMatcher() const { return path_; }

  RouteActionKind kind() const { return kind_; }
  const std::string& name() const { return name_; }

  // kCluster: the cluster to use; weighted clusters are picked by `random` (any uint64), in
  // proportion to their weights. Empty for other kinds.
  const std::string& clusterName(uint64_t random) const;
  // Every cluster this route can send to.
  std::vector<std::string> clusterNames() const;
  bool isWeighted() const { return !weighted_clusters_.empty(); }
  // kCluster: the upstream target after prefix_rewrite, query kept: prefix routes replace the
  // configured prefix, path and regex routes the whole path. std::nullopt when no rewrite is
  // configured. A path this (prefix) route does not match is returned unchanged.
  std::optional<std::string> rewritePath(absl::string_view path_with_query) const;
  const std::string& hostRewrite() const { return host_rewrite_; }  // empty = none
  std::chrono::milliseconds timeout() const { return timeout_; }    // 0 = disabled

  // kRedirect: the Location value. Scheme "https" if https_redirect or `is_tls`, else "http";
  // authority host_redirect or the request's Host (":80" dropped when upgrading to https);
  // path_redirect or the request path; the request query unless strip_query (a query inside
  // path_redirect replaces it). Without any authority, a relative "/path?query".
  std::string redirectLocation(const http::RequestHead& request, bool is_tls) const;
  // A scheme-changing redirect for a request without Host (HTTP/1.0) and no host_redirect: a
  // relative Location would send the client to the same http URL again, for ever.
  bool redirectLacksAuthority(const http::RequestHead& request) const {
    return https_redirect_ && host_redirect_.empty() && request.host().empty();
  }
  uint32_t redirectCode() const { return redirect_code_; }

  // kDirectResponse.
  uint32_t directStatus() const { return direct_status_; }
  const std::string& directBody() const { return direct_body_; }
  const std::string& directContentType() const { return direct_content_type_; }

  // Route, then virtual host, then route configuration mutations; see header_ops.h for the
  // precedence (the most specific level's value wins).
  void applyRequestHeaderOps(http::HeaderMap& headers) const;
  void applyResponseHeaderOps(http::HeaderMap& headers) const;

  // Whether the listener's HTTP filter `filter_name` is switched off on this route.
  bool filterDisabled(absl::string_view filter_name) const {
    for (const std::string& name : disabled_filters_) {
      if (name == filter_name) return true;
    }
    return false;
  }

 private:
  explicit Route(PathMatcher path) : path_(std::move(path)) {}
  absl::Status initMatch(const config::v1::RouteMatch& config, absl::string_view field_path);
  absl::Status initCluster(const config::v1::RouteAction& config, absl::string_view field_path);
  absl::Status initRedirect(const config::v1::RedirectAction& config, absl::string_view field_path);
  absl::Status initDirectResponse(const config::v1::DirectResponseAction& config,
                                  absl::string_view field_path, uint32_t max_body_bytes);
  absl::Status initHeaderOps(const config::v1::Route& config, absl::string_view field_path,
                             const Inherited& inherited);

  std::string name_;
  RouteActionKind kind_ = RouteActionKind::kCluster;
  std::vector<std::string> disabled_filters_;

  PathMatcher path_;
  std::vector<HeaderMatcher> header_matchers_;
  std::vector<QueryParameterMatcher> query_matchers_;

  // kCluster. With weighted clusters, cumulative_weights_[i] is the sum of weights 0..i.
  std::string cluster_;
  std::vector<std::string> weighted_clusters_;
  std::vector<uint64_t> cumulative_weights_;
  std::optional<std::string> prefix_rewrite_;
  std::string host_rewrite_;
  std::chrono::milliseconds timeout_{15000};

  // kRedirect.
  std::string host_redirect_;
  std::string path_redirect_;
  bool https_redirect_ = false;
  bool strip_query_ = false;
  uint32_t redirect_code_ = 301;

  // kDirectResponse.
  uint32_t direct_status_ = 0;
  std::string direct_body_;
  std::string direct_content_type_;

  HeaderOpLevelSharedPtr request_ops_;  // nullptr: no level has any
  HeaderOpLevelSharedPtr response_ops_;
};

}  // namespace portico::router
