#include "source/router/virtual_host.h"

#include "source/router/config_error.h"

namespace portico::router {

absl::StatusOr<std::unique_ptr<const VirtualHost>> VirtualHost::create(
    const config::v1::VirtualHost& config, absl::string_view field_path,
    const Route::Inherited& config_level) {
  std::unique_ptr<VirtualHost> vhost(new VirtualHost());
  vhost->name_ = config.name();

  auto request = buildHeaderOps(config.request_headers_to_add(), config.request_headers_to_remove(),
                                field_path, "request_");
  if (!request.ok()) return request.status();
  auto response = buildHeaderOps(config.response_headers_to_add(),
                                 config.response_headers_to_remove(), field_path, "response_");
  if (!response.ok()) return response.status();
  const Route::Inherited inherited{layerHeaderOps(std::move(*request), config_level.request_ops),
                                   layerHeaderOps(std::move(*response), config_level.response_ops),
                                   config_level.max_direct_response_body_bytes};

  vhost->routes_.reserve(config.routes_size());
  for (int i = 0; i < config.routes_size(); ++i) {
    auto route = Route::create(config.routes(i), fieldPath(field_path, "routes", i), inherited);
    if (!route.ok()) return route.status();
    const PathMatcher& path = (*route)->pathMatcher();
    const auto key_kind = path.kind() == PathMatcher::Kind::kExact ? PathIndex::KeyKind::kExact
                                                                   : PathIndex::KeyKind::kPrefix;
    vhost->index_.add(path.indexKey(), key_kind, path.indexKeyFolded(), i);
    vhost->routes_.push_back(std::move(*route));
  }
  return std::unique_ptr<const VirtualHost>(std::move(vhost));
}

const Route* VirtualHost::match(absl::string_view path, absl::string_view query,
                                const http::HeaderMap& headers) const {
  const int64_t i = index_.findFirst(
      path, [&](uint32_t route) { return routes_[route]->matches(path, query, headers); });
  return i < 0 ? nullptr : routes_[i].get();
}

const Route* VirtualHost::matchLinear(absl::string_view path, absl::string_view query,
                                      const http::HeaderMap& headers) const {
  for (const auto& route : routes_) {
    if (route->matches(path, query, headers)) return route.get();
  }
  return nullptr;
}

}  // namespace portico::router
