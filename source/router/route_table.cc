#include "source/router/route_table.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "source/router/config_error.h"
#include "source/router/header_ops.h"

namespace portico::router {
namespace {

// "/a/b?x=1" -> path "/a/b", query "x=1". A fragment (not sent by conforming clients) is not
// part of either.
void splitTarget(absl::string_view target, absl::string_view& path, absl::string_view& query) {
  const size_t hash = target.find('#');
  if (hash != absl::string_view::npos) target = target.substr(0, hash);
  const size_t q = target.find('?');
  if (q == absl::string_view::npos) {
    path = target;
    query = absl::string_view();
  } else {
    path = target.substr(0, q);
    query = target.substr(q + 1);
  }
}

}  // namespace

absl::StatusOr<std::shared_ptr<const RouteTable>> RouteTable::create(
    const config::v1::RouteConfiguration& config, absl::string_view field_prefix) {
  auto selector = VirtualHostSelector::create(config.virtual_hosts(), field_prefix);
  if (!selector.ok()) return selector.status();
  auto request = buildHeaderOps(config.request_headers_to_add(), config.request_headers_to_remove(),
                                field_prefix, "request_");
  if (!request.ok()) return request.status();
  auto response = buildHeaderOps(config.response_headers_to_add(),
                                 config.response_headers_to_remove(), field_prefix, "response_");
  if (!response.ok()) return response.status();

  const Route::Inherited config_level{layerHeaderOps(std::move(*request), nullptr),
                                      layerHeaderOps(std::move(*response), nullptr),
                                      config.has_max_direct_response_body_size_bytes()
                                          ? config.max_direct_response_body_size_bytes()
                                          : Route::kDefaultMaxDirectResponseBodyBytes};

  std::shared_ptr<RouteTable> table(new RouteTable(config.name(), std::move(*selector)));
  table->virtual_hosts_.reserve(config.virtual_hosts_size());
  for (int i = 0; i < config.virtual_hosts_size(); ++i) {
    auto vhost = VirtualHost::create(config.virtual_hosts(i),
                                     fieldPath(field_prefix, "virtual_hosts", i), config_level);
    if (!vhost.ok()) return vhost.status();
    table->virtual_hosts_.push_back(std::move(*vhost));
  }
  return std::shared_ptr<const RouteTable>(std::move(table));
}

const VirtualHost* RouteTable::selectVirtualHost(absl::string_view host) const {
  const int i = selector_.select(host);
  return i < 0 ? nullptr : virtual_hosts_[i].get();
}

const Route* RouteTable::match(absl::string_view host, absl::string_view path_with_query,
                               const http::HeaderMap& headers) const {
  const VirtualHost* vhost = selectVirtualHost(host);
  if (vhost == nullptr) return nullptr;
  absl::string_view path, query;
  splitTarget(path_with_query, path, query);
  return vhost->match(path, query, headers);
}

const Route* RouteTable::matchLinearForTest(absl::string_view host,
                                            absl::string_view path_with_query,
                                            const http::HeaderMap& headers) const {
  const VirtualHost* vhost = selectVirtualHost(host);
  if (vhost == nullptr) return nullptr;
  absl::string_view path, query;
  splitTarget(path_with_query, path, query);
  return vhost->matchLinear(path, query, headers);
}

std::vector<std::string> RouteTable::referencedClusters() const {
  std::vector<std::string> names;
  for (const auto& vhost : virtual_hosts_) {
    for (const auto& route : vhost->routes()) {
      for (std::string& name : route->clusterNames()) names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

std::string RouteTable::fieldNaming(absl::string_view cluster) const {
  for (size_t v = 0; v < virtual_hosts_.size(); v++) {
    const auto& routes = virtual_hosts_[v]->routes();
    for (size_t r = 0; r < routes.size(); r++) {
      const std::vector<std::string> names = routes[r]->clusterNames();
      const auto it = std::find(names.begin(), names.end(), cluster);
      if (it == names.end()) continue;
      const std::string route = absl::StrCat("virtual_hosts[", v, "].routes[", r, "].route.");
      if (!routes[r]->isWeighted()) return absl::StrCat(route, "cluster");
      return absl::StrCat(route, "weighted_clusters.clusters[", it - names.begin(), "].name");
    }
  }
  return "";
}

}  // namespace portico::router
