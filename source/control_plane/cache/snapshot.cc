#include "source/control_plane/cache/snapshot.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "portico/config/v1/listener.pb.h"
#include "portico/config/v1/route.pb.h"

namespace portico::control_plane {
namespace {

void addRouteRefs(const config::v1::RouteConfiguration& rc, std::set<std::string>& out) {
  for (const auto& vh : rc.virtual_hosts()) {
    for (const auto& route : vh.routes()) {
      if (!route.has_route()) continue;
      if (!route.route().cluster().empty()) out.insert(route.route().cluster());
      for (const auto& w : route.route().weighted_clusters().clusters()) out.insert(w.name());
    }
  }
}

CachedResourceConstSharedPtr cache(const ResourceConstSharedPtr& r) {
  auto c = std::make_shared<CachedResource>();
  c->resource = r;
  c->any.PackFrom(*r->spec);
  std::set<std::string> refs;
  if (r->kind == Kind::kRouteConfiguration) {
    addRouteRefs(static_cast<const config::v1::RouteConfiguration&>(*r->spec), refs);
  } else if (r->kind == Kind::kListener) {
    const auto& hcm = static_cast<const config::v1::Listener&>(*r->spec).http();
    if (hcm.has_route_config()) addRouteRefs(hcm.route_config(), refs);
    c->route_config_ref = hcm.route_config_name();
  }
  c->cluster_refs.assign(refs.begin(), refs.end());
  return c;
}

}  // namespace

std::string setVersion(const CachedMap& map) {
  std::string all;
  for (const auto& [name, r] : map) absl::StrAppend(&all, name, "=", r->version(), ";");
  return contentHash(all);
}

absl::StatusOr<SnapshotConstSharedPtr> Snapshot::create(const ResourceMap& resources) {
  std::shared_ptr<Snapshot> s(new Snapshot());
  s->resources_ = resources;
  std::string all;
  for (const auto& [key, r] : resources) {
    auto c = cache(r);
    size_t index = 0;
    while (index < s->targets_.size() && !(s->targets_[index] == r->targets)) index++;
    if (index == s->targets_.size()) s->targets_.push_back(r->targets);
    s->target_index_[c.get()] = index;
    s->all_[static_cast<int>(r->kind)][r->name] = std::move(c);
    absl::StrAppend(&all, kindName(r->kind), "/", r->name, "=", r->version, ";");
  }
  s->version_ = contentHash(all);
  absl::Status st = s->consistent();
  if (!st.ok()) return st;
  return SnapshotConstSharedPtr(std::move(s));
}

NodeViewConstSharedPtr Snapshot::viewFor(const config::v1::Node& node) const {
  std::vector<bool> matches(targets_.size());
  for (size_t i = 0; i < targets_.size(); i++) matches[i] = targets_[i].matches(node);
  {
    std::lock_guard<std::mutex> lock(views_mutex_);
    auto it = views_.find(matches);
    if (it != views_.end()) return it->second;
  }
  NodeViewConstSharedPtr view = buildView(matches);
  std::lock_guard<std::mutex> lock(views_mutex_);
  // Nodes choose their own metadata, so the distinct outcomes are bounded only by 2^targets:
  // past the bound a view is built for each caller and kept by its stream alone.
  if (views_.size() >= kMaxCachedViews) return view;
  return views_.try_emplace(matches, std::move(view)).first->second;
}

size_t Snapshot::viewCountForTest() const {
  std::lock_guard<std::mutex> lock(views_mutex_);
  return views_.size();
}

NodeViewConstSharedPtr Snapshot::buildView(const std::vector<bool>& matches) const {
  auto view = std::make_shared<NodeView>();
  for (int k = 0; k < kKindCount; k++) {
    for (const auto& [name, c] : all_[k]) {
      if (matches[target_index_.at(c.get())]) view->resources[k][name] = c;
    }
    view->versions[k] = setVersion(view->resources[k]);
  }
  return view;
}

absl::Status Snapshot::consistent() const {
  // Representative nodes: one per resource's targets (the most specific nodes that exist are
  // the ones built from a target itself), plus the node that matches nothing targeted.
  std::vector<config::v1::Node> nodes(1);
  for (const Targets& t : targets_) {
    config::v1::Node n;
    n.set_cluster(t.cluster);
    for (const auto& [k, v] : t.labels) (*n.mutable_metadata())[k] = v;
    nodes.push_back(n);
  }
  for (const auto& node : nodes) {
    NodeViewConstSharedPtr view = viewFor(node);
    const CachedMap& clusters = view->of(Kind::kCluster);
    const CachedMap& routes = view->of(Kind::kRouteConfiguration);
    for (Kind kind : {Kind::kListener, Kind::kRouteConfiguration}) {
      for (const auto& [name, c] : view->of(kind)) {
        for (const std::string& ref : c->cluster_refs) {
          if (!clusters.contains(ref)) {
            return absl::FailedPreconditionError(
                absl::StrCat(kindName(kind), "/", name, " names cluster '", ref,
                             "', which nodes of [", node.cluster(), "] would not receive"));
          }
        }
        if (!c->route_config_ref.empty() && !routes.contains(c->route_config_ref)) {
          return absl::FailedPreconditionError(
              absl::StrCat("Listener/", name, " names route configuration '", c->route_config_ref,
                           "', which nodes of [", node.cluster(), "] would not receive"));
        }
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace portico::control_plane
