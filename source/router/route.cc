#include "source/router/route.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "source/common/http/authority.h"
#include "source/router/config_error.h"
#include "source/router/header_syntax.h"

namespace portico::router {
namespace {

// Values that end up in a request line or Location header: printable ASCII (RFC 3986 has no
// raw UTF-8; "/caf%C3%A9" is how "/café" is written), no whitespace, and every '%' starts an
// escape of two hex digits.
absl::Status validateUriPart(absl::string_view value, absl::string_view field_path) {
  for (size_t i = 0; i < value.size(); i++) {
    const auto b = static_cast<unsigned char>(value[i]);
    if (b <= 0x20 || b >= 0x7f) {
      return fieldError(field_path,
                        "must be printable ASCII without spaces (percent-encode other bytes)");
    }
    if (b == '%' && (i + 2 >= value.size() || !absl::ascii_isxdigit(value[i + 1]) ||
                     !absl::ascii_isxdigit(value[i + 2]))) {
      return fieldError(field_path, "'%' must start an escape of two hex digits");
    }
  }
  return absl::OkStatus();
}

// Values that become the Host header or a Location's authority: uri-host [":" port].
absl::Status validateAuthority(absl::string_view value, absl::string_view field_path) {
  if (value.empty() || http::isValidAuthority(value)) return absl::OkStatus();
  return fieldError(field_path,
                    "must be a host with an optional port (RFC 3986 authority "
                    "without userinfo), e.g. \"example.com\" or \"[::1]:8080\"");
}

// "/a/b?x=1" -> {"/a/b", "?x=1"}; the second part keeps its '?'.
std::pair<absl::string_view, absl::string_view> splitQuery(absl::string_view path_with_query) {
  const size_t q = path_with_query.find('?');
  if (q == absl::string_view::npos) return {path_with_query, absl::string_view()};
  return {path_with_query.substr(0, q), path_with_query.substr(q)};
}

}  // namespace

absl::StatusOr<std::unique_ptr<const Route>> Route::create(const config::v1::Route& config,
                                                           absl::string_view field_path,
                                                           const Inherited& inherited) {
  const std::string match_path = fieldPath(field_path, "match");
  auto path = PathMatcher::create(config.match(), match_path);
  if (!path.ok()) return path.status();
  std::unique_ptr<Route> route(new Route(std::move(*path)));
  route->name_ = config.name();
  for (int i = 0; i < config.disabled_filters_size(); i++) {
    if (config.disabled_filters(i).empty()) {
      return fieldError(absl::StrCat(fieldPath(field_path, "disabled_filters"), "[", i, "]"),
                        "must not be empty");
    }
    route->disabled_filters_.push_back(config.disabled_filters(i));
  }
  absl::Status status = route->initMatch(config.match(), match_path);
  if (!status.ok()) return status;
  switch (config.action_case()) {
    case config::v1::Route::kRoute:
      route->kind_ = RouteActionKind::kCluster;
      status = route->initCluster(config.route(), fieldPath(field_path, "route"));
      break;
    case config::v1::Route::kRedirect:
      route->kind_ = RouteActionKind::kRedirect;
      status = route->initRedirect(config.redirect(), fieldPath(field_path, "redirect"));
      break;
    case config::v1::Route::kDirectResponse:
      route->kind_ = RouteActionKind::kDirectResponse;
      status = route->initDirectResponse(config.direct_response(),
                                         fieldPath(field_path, "direct_response"),
                                         inherited.max_direct_response_body_bytes);
      break;
    case config::v1::Route::ACTION_NOT_SET:
      status = fieldError(fieldPath(field_path, "action"),
                          "must be set (route, redirect or direct_response)");
      break;
  }
  if (!status.ok()) return status;
  status = route->initHeaderOps(config, field_path, inherited);
  if (!status.ok()) return status;
  return std::unique_ptr<const Route>(std::move(route));
}

absl::Status Route::initMatch(const config::v1::RouteMatch& config, absl::string_view field_path) {
  for (int i = 0; i < config.headers_size(); ++i) {
    auto matcher = HeaderMatcher::create(config.headers(i), fieldPath(field_path, "headers", i));
    if (!matcher.ok()) return matcher.status();
    header_matchers_.push_back(std::move(*matcher));
  }
  for (int i = 0; i < config.query_parameters_size(); ++i) {
    auto matcher = QueryParameterMatcher::create(config.query_parameters(i),
                                                 fieldPath(field_path, "query_parameters", i));
    if (!matcher.ok()) return matcher.status();
    query_matchers_.push_back(std::move(*matcher));
  }
  return absl::OkStatus();
}

absl::Status Route::initCluster(const config::v1::RouteAction& config,
                                absl::string_view field_path) {
  if (config.has_weighted_clusters()) {
    const std::string weighted_path = fieldPath(field_path, "weighted_clusters");
    uint64_t total = 0;
    const auto& clusters = config.weighted_clusters().clusters();
    for (int i = 0; i < clusters.size(); ++i) {
      if (clusters[i].name().empty()) {
        return fieldError(fieldPath(fieldPath(weighted_path, "clusters", i), "name"),
                          "must not be empty");
      }
      total += clusters[i].weight();
      weighted_clusters_.push_back(clusters[i].name());
      cumulative_weights_.push_back(total);
    }
    if (total == 0) return fieldError(weighted_path, "total weight must be greater than 0");
  } else {
    if (config.cluster().empty()) {
      return fieldError(fieldPath(field_path, "cluster"), "must not be empty");
    }
    cluster_ = config.cluster();
  }
  if (!config.prefix_rewrite().empty()) {
    const std::string rewrite_field = fieldPath(field_path, "prefix_rewrite");
    absl::Status status = validateUriPart(config.prefix_rewrite(), rewrite_field);
    if (!status.ok()) return status;
    // It becomes the start of the upstream request target: "v2/x" is not one, and a '?' or
    // '#' would put the rest of the client's path into a query or fragment.
    if (config.prefix_rewrite()[0] != '/') return fieldError(rewrite_field, "must start with '/'");
    if (config.prefix_rewrite().find_first_of("?#") != std::string::npos) {
      return fieldError(rewrite_field, "must not contain '?' or '#'");
    }
    prefix_rewrite_ = config.prefix_rewrite();
  }
  absl::Status status = validateAuthority(config.host_rewrite_literal(),
                                          fieldPath(field_path, "host_rewrite_literal"));
  if (!status.ok()) return status;
  host_rewrite_ = config.host_rewrite_literal();
  if (config.has_timeout()) {
    const auto& t = config.timeout();
    if (t.seconds() < 0 || t.nanos() < 0 || t.nanos() >= 1000000000) {
      return fieldError(fieldPath(field_path, "timeout"), "must be a non-negative duration");
    }
    // Longer would overflow the timer's deadline (nanoseconds) and fire at once; 0 disables.
    if (t.seconds() > 365LL * 24 * 3600) {
      return fieldError(fieldPath(field_path, "timeout"), "must be at most one year (0 disables)");
    }
    int64_t ms = t.seconds() * 1000 + t.nanos() / 1000000;
    // A sub-millisecond timeout must not turn into 0, which means "disabled".
    if (ms == 0 && t.nanos() > 0) ms = 1;
    timeout_ = std::chrono::milliseconds(ms);
  }
  return absl::OkStatus();
}

absl::Status Route::initRedirect(const config::v1::RedirectAction& config,
                                 absl::string_view field_path) {
  const uint32_t code = config.response_code() == 0 ? 301 : config.response_code();
  if (code != 301 && code != 302 && code != 303 && code != 307 && code != 308) {
    return fieldError(fieldPath(field_path, "response_code"),
                      absl::StrCat("must be 301, 302, 303, 307 or 308 (got ", code, ")"));
  }
  redirect_code_ = code;
  absl::Status status =
      validateAuthority(config.host_redirect(), fieldPath(field_path, "host_redirect"));
  if (!status.ok()) return status;
  const std::string path_field = fieldPath(field_path, "path_redirect");
  status = validateUriPart(config.path_redirect(), path_field);
  if (!status.ok()) return status;
  if (!config.path_redirect().empty() && config.path_redirect()[0] != '/') {
    return fieldError(path_field, "must start with '/'");
  }
  // The request's query goes after the path: after a fragment, it would be part of it.
  if (config.path_redirect().find('#') != std::string::npos) {
    return fieldError(path_field, "must not contain '#'");
  }
  host_redirect_ = config.host_redirect();
  path_redirect_ = config.path_redirect();
  https_redirect_ = config.https_redirect();
  strip_query_ = config.strip_query();
  return absl::OkStatus();
}

absl::Status Route::initDirectResponse(const config::v1::DirectResponseAction& config,
                                       absl::string_view field_path, uint32_t max_body_bytes) {
  // Not 1xx: an interim response is no answer, and the client would wait for the final one.
  if (config.status() < 200 || config.status() > 599) {
    return fieldError(fieldPath(field_path, "status"),
                      absl::StrCat("must be in [200, 599] (got ", config.status(), ")"));
  }
  if (config.body().size() > max_body_bytes) {
    return fieldError(fieldPath(field_path, "body"),
                      absl::StrCat("is ", config.body().size(), " bytes, more than ",
                                   max_body_bytes, " (max_direct_response_body_size_bytes)"));
  }
  absl::Status status =
      validateHeaderValue(config.content_type(), fieldPath(field_path, "content_type"));
  if (!status.ok()) return status;
  direct_status_ = config.status();
  direct_body_ = config.body();
  direct_content_type_ = config.content_type().empty() ? "text/plain" : config.content_type();
  return absl::OkStatus();
}

absl::Status Route::initHeaderOps(const config::v1::Route& config, absl::string_view field_path,
                                  const Inherited& inherited) {
  auto request = buildHeaderOps(config.request_headers_to_add(), config.request_headers_to_remove(),
                                field_path, "request_");
  if (!request.ok()) return request.status();
  auto response = buildHeaderOps(config.response_headers_to_add(),
                                 config.response_headers_to_remove(), field_path, "response_");
  if (!response.ok()) return response.status();
  // Routes without their own ops (the common case) share the virtual host's level.
  request_ops_ = layerHeaderOps(std::move(*request), inherited.request_ops);
  response_ops_ = layerHeaderOps(std::move(*response), inherited.response_ops);
  return absl::OkStatus();
}

bool Route::matches(absl::string_view path, absl::string_view query,
                    const http::HeaderMap& headers) const {
  if (!path_.matches(path)) return false;
  for (const HeaderMatcher& m : header_matchers_) {
    if (!m.matches(headers)) return false;
  }
  for (const QueryParameterMatcher& m : query_matchers_) {
    if (!m.matches(query)) return false;
  }
  return true;
}

const std::string& Route::clusterName(uint64_t random) const {
  if (weighted_clusters_.empty()) return cluster_;
  const uint64_t point = random % cumulative_weights_.back();
  // First cluster whose cumulative weight exceeds the point; zero-weight entries are skipped.
  auto it = std::upper_bound(cumulative_weights_.begin(), cumulative_weights_.end(), point);
  return weighted_clusters_[it - cumulative_weights_.begin()];
}

std::vector<std::string> Route::clusterNames() const {
  if (kind_ != RouteActionKind::kCluster) return {};
  if (weighted_clusters_.empty()) return {cluster_};
  return weighted_clusters_;
}

std::optional<std::string> Route::rewritePath(absl::string_view path_with_query) const {
  // The asterisk form of OPTIONS ("*") names the server, not a path: nothing to rewrite.
  if (!prefix_rewrite_.has_value() || !absl::StartsWith(path_with_query, "/")) return std::nullopt;
  auto [path, query] = splitQuery(path_with_query);
  if (path_.kind() == PathMatcher::Kind::kPrefix) {
    if (!path_.matches(path)) return std::string(path_with_query);
    return absl::StrCat(*prefix_rewrite_, path.substr(path_.text().size()), query);
  }
  return absl::StrCat(*prefix_rewrite_, query);
}

std::string Route::redirectLocation(const http::RequestHead& request, bool is_tls) const {
  auto [path, query] = splitQuery(request.path);
  if (strip_query_) query = absl::string_view();
  if (!path_redirect_.empty()) {
    auto [new_path, new_query] = splitQuery(path_redirect_);
    path = new_path;
    if (!new_query.empty()) query = new_query;
  }
  if (query == "?") query = absl::string_view();
  absl::string_view authority = host_redirect_.empty() ? request.host() : host_redirect_;
  if (authority.empty()) {
    // A relative Location (a request without Host). "//evil.example/x" would read as a
    // reference to another host (an open redirect), and browsers read '\' as '/': one '/'
    // in place of any leading run of them.
    while (!path.empty() && (path[0] == '/' || path[0] == '\\')) path.remove_prefix(1);
    return absl::StrCat("/", path, query);
  }
  const bool https = https_redirect_ || is_tls;
  if (https_redirect_ && !is_tls && host_redirect_.empty() && absl::EndsWith(authority, ":80")) {
    authority.remove_suffix(3);  // the http default port is wrong for https
  }
  return absl::StrCat(https ? "https://" : "http://", authority, path, query);
}

void Route::applyRequestHeaderOps(http::HeaderMap& headers) const {
  applyHeaderOps(request_ops_.get(), headers);
}

void Route::applyResponseHeaderOps(http::HeaderMap& headers) const {
  applyHeaderOps(response_ops_.get(), headers);
}

}  // namespace portico::router
