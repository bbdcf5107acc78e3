#include "source/control_plane/server/stream_state.h"

#include "absl/strings/str_cat.h"
#include "source/common/stats/prometheus.h"

namespace portico::control_plane {
namespace {

// Names the proxy's routes and listeners (held, or on the wire) still need.
void collectRefs(const TypeState& t, Kind ref_kind, std::set<std::string>& out) {
  for (const HeldMap* m : {&t.acked, &t.pending}) {
    for (const auto& [name, held] : *m) {
      if (held.resource == nullptr) continue;
      if (ref_kind == Kind::kRouteConfiguration) {
        if (!held.resource->route_config_ref.empty()) out.insert(held.resource->route_config_ref);
      } else {
        out.insert(held.resource->cluster_refs.begin(), held.resource->cluster_refs.end());
      }
    }
  }
}

// Whether the proxy holds `name` now and still will once a response on the wire is applied
// (a removal in flight would leave a dependant pushed meanwhile naming something gone).
bool holdsThrough(const TypeState& t, const std::string& name) {
  return t.acked.contains(name) && (!t.in_flight || t.pending.contains(name));
}

const Held* findHeld(const TypeState& t, const std::string& name) {
  for (const HeldMap* m : {&t.pending, &t.acked}) {
    auto it = m->find(name);
    if (it != m->end() && it->second.resource != nullptr) return &it->second;
  }
  return nullptr;
}

}  // namespace

void StreamState::setSotwNames(Kind kind, const std::vector<std::string>& names) {
  TypeState& t = type(kind);
  stamp_++;
  // As the xDS protocol says: no names means wildcard only while no request of this type has
  // named anything (legacy wildcard); after names, an empty list unsubscribes from everything.
  // "*" subscribes to everything besides the names given.
  t.sotw_legacy_wildcard = names.empty() && (!t.subscribed || t.sotw_legacy_wildcard);
  t.subscribed = true;
  t.names.clear();
  t.names_bytes = 0;
  bool star = false;
  for (const std::string& n : names) {
    if (n == "*") {
      star = true;
    } else if (t.names.insert(n).second) {
      t.names_bytes += n.size();
    }
  }
  t.wildcard = star || t.sotw_legacy_wildcard;
}

void StreamState::deltaSubscribe(Kind kind, const std::vector<std::string>& subscribe,
                                 const std::vector<std::string>& unsubscribe, bool first_request) {
  TypeState& t = type(kind);
  stamp_++;
  if (first_request) {
    t.subscribed = true;
    t.wildcard = subscribe.empty();
  }
  for (const std::string& n : subscribe) {
    if (n == "*") {
      t.wildcard = true;
    } else if (t.names.insert(n).second) {
      t.names_bytes += n.size();
    }
  }
  for (const std::string& n : unsubscribe) {
    if (n == "*") {
      t.wildcard = false;
    } else if (t.names.erase(n) > 0) {
      t.names_bytes -= n.size();
    }
    // The proxy forgets what it unsubscribed from; nothing is sent for it.
    if (!subscribedTo(t, n)) {
      t.acked.erase(n);
      t.pending.erase(n);
    }
  }
}

void StreamState::resumeSotw(Kind kind, const std::string& version_info, const NodeView& view) {
  TypeState& t = type(kind);
  if (version_info.empty()) return;
  stamp_++;
  CachedMap storage;
  const CachedMap& want = desired(kind, view, storage);
  if (setVersion(want) != version_info) return;
  for (const auto& [name, r] : want) t.acked[name] = Held{r->version(), r};
  t.acked_version = version_info;
  t.ever_sent = true;
}

void StreamState::resumeDelta(Kind kind, const std::map<std::string, std::string>& versions,
                              const NodeView& view) {
  TypeState& t = type(kind);
  stamp_++;
  const CachedMap& have = view.of(kind);
  for (const auto& [name, version] : versions) {
    auto it = have.find(name);
    t.acked[name] =
        Held{version, it != have.end() && it->second->version() == version ? it->second : nullptr};
  }
}

const CachedMap& StreamState::desired(Kind kind, const NodeView& view, CachedMap& storage) const {
  const TypeState& t = type(kind);
  const CachedMap& in_view = view.of(kind);
  // Retention is only possible for something the proxy holds that left the view.
  bool held_elsewhere = false;
  if (kind != Kind::kListener) {
    for (const HeldMap* m : {&t.acked, &t.pending}) {
      for (const auto& [name, held] : *m) {
        if (held.resource != nullptr && !in_view.contains(name)) held_elsewhere = true;
      }
    }
  }
  if (t.wildcard && !held_elsewhere) return in_view;
  for (const auto& [name, r] : in_view) {
    if (subscribedTo(t, name)) storage[name] = r;
  }
  if (!held_elsewhere) return storage;
  // Keep what the proxy's routes/listeners still name (withdrawn after they stop naming it).
  std::set<std::string> refs;
  if (kind == Kind::kCluster || kind == Kind::kClusterLoadAssignment) {
    collectRefs(type(Kind::kRouteConfiguration), Kind::kCluster, refs);
    collectRefs(type(Kind::kListener), Kind::kCluster, refs);
  } else if (kind == Kind::kRouteConfiguration) {
    collectRefs(type(Kind::kListener), Kind::kRouteConfiguration, refs);
  }
  // A cluster kept must not share its Prometheus name with one sent (a rename from svc.a to
  // svc_a): the proxy refuses the pair, and the routes waiting for svc_a would never go out.
  std::set<std::string> sent_stat_names;
  if (kind == Kind::kCluster) {
    for (const auto& [name, r] : storage) sent_stat_names.insert(stats::prometheusName(name));
  }
  const CachedMap& clusters_in_view = view.of(Kind::kCluster);
  for (const std::string& name : refs) {
    if (storage.contains(name) || !subscribedTo(t, name)) continue;
    if (kind == Kind::kCluster && sent_stat_names.contains(stats::prometheusName(name))) continue;
    // Endpoints are kept only with their cluster: endpoints removed from a cluster that stays
    // are a change the proxy must get (it falls back to the cluster's own endpoints).
    if (kind == Kind::kClusterLoadAssignment && clusters_in_view.contains(name)) continue;
    if (const Held* h = findHeld(t, name)) storage[name] = h->resource;
  }
  return storage;
}

bool StreamState::dependenciesMet(Kind kind, const CachedMap& want) const {
  if (kind != Kind::kRouteConfiguration && kind != Kind::kListener) return true;
  const TypeState& clusters = type(Kind::kCluster);
  const TypeState& routes = type(Kind::kRouteConfiguration);
  for (const auto& [name, r] : want) {
    if (clusters.subscribed) {
      for (const std::string& c : r->cluster_refs) {
        if (!holdsThrough(clusters, c)) return false;
      }
    }
    if (routes.subscribed && !r->route_config_ref.empty() &&
        !holdsThrough(routes, r->route_config_ref)) {
      return false;
    }
  }
  return true;
}

std::vector<Push> StreamState::plan(const NodeView& view, const std::string& system_version) {
  std::vector<Push> out;
  for (Kind kind : kPushOrder) {
    TypeState& t = type(kind);
    if (!t.subscribed || t.in_flight) continue;
    const std::string& view_version = view.versions[static_cast<int>(kind)];
    // Endpoints are kept or withdrawn by whether their cluster is in the view (desired()):
    // their plan also depends on the cluster list.
    std::string plan_key = view_version;
    if (kind == Kind::kClusterLoadAssignment) {
      absl::StrAppend(&plan_key, "/", view.versions[static_cast<int>(Kind::kCluster)]);
    }
    if (t.planned_stamp == stamp_ && t.planned_view_version == plan_key) continue;
    t.planned_stamp = stamp_;
    t.planned_view_version = std::move(plan_key);
    CachedMap storage;
    const CachedMap& want = desired(kind, view, storage);
    if (!dependenciesMet(kind, want)) continue;
    Push push;
    push.kind = kind;
    HeldMap next;
    std::string signature;
    if (!delta_) {
      push.version = &want == &view.of(kind) ? view_version : setVersion(want);
      signature = push.version;
      if (t.ever_sent && push.version == t.acked_version) continue;
      for (const auto& [name, r] : want) {
        push.resources.push_back(r);
        next[name] = Held{r->version(), r};
      }
    } else {
      push.version = system_version;
      next = t.acked;
      std::string sig;
      for (const auto& [name, r] : want) {
        auto it = t.acked.find(name);
        if (it != t.acked.end() && it->second.version == r->version()) continue;
        push.resources.push_back(r);
        next[name] = Held{r->version(), r};
        absl::StrAppend(&sig, "+", name, "=", r->version(), ";");
      }
      for (const auto& [name, held] : t.acked) {
        if (want.contains(name)) continue;
        push.removed.push_back(name);
        next.erase(name);
        absl::StrAppend(&sig, "-", name, ";");
      }
      signature = contentHash(sig);
      if (t.ever_sent && push.resources.empty() && push.removed.empty()) continue;
    }
    if (signature == t.nacked_signature) continue;
    push.nonce = absl::StrCat(next_nonce_++);
    stamp_++;
    t.ever_sent = true;
    t.in_flight = true;
    t.nonce = push.nonce;
    t.pending = std::move(next);
    t.pending_version = push.version;
    t.pending_signature = signature;
    out.push_back(std::move(push));
  }
  return out;
}

ReplyKind StreamState::onReply(Kind kind, const std::string& nonce, bool error) {
  TypeState& t = type(kind);
  if (!t.in_flight || nonce != t.nonce) return ReplyKind::kStale;
  stamp_++;
  t.in_flight = false;
  HeldMap pending = std::move(t.pending);
  t.pending.clear();
  if (error) {
    t.nacked_signature = t.pending_signature;
    return ReplyKind::kNack;
  }
  t.acked = std::move(pending);
  t.acked_version = t.pending_version;
  t.nacked_signature.clear();
  // What the proxy holds of a dependency changed: a dependant it refused (a route naming a
  // cluster it lacked then) is worth one more try, even unchanged.
  if (kind == Kind::kCluster) type(Kind::kRouteConfiguration).nacked_signature.clear();
  if (kind == Kind::kCluster || kind == Kind::kRouteConfiguration) {
    type(Kind::kListener).nacked_signature.clear();
  }
  return ReplyKind::kAck;
}

}  // namespace portico::control_plane
