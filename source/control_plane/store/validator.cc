#include "source/control_plane/store/validator.h"

#include <map>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "portico/config/v1/cluster.pb.h"
#include "portico/config/v1/listener.pb.h"
#include "portico/config/v1/route.pb.h"
#include "source/common/access_log/formatter.h"
#include "source/common/config/duration.h"
#include "source/common/config/name_checks.h"
#include "source/common/network/address.h"
#include "source/common/stats/prometheus.h"
#include "source/common/stats/store.h"
#include "source/filters/http/filter_config.h"
#include "source/router/route_table.h"
#include "source/server/http_options.h"
#include "source/upstream/cluster_info.h"

namespace portico::control_plane {
namespace {

using config::v1::Cluster;
using config::v1::ClusterLoadAssignment;
using config::v1::Listener;
using config::v1::RouteConfiguration;

class Checker {
 public:
  explicit Checker(const ResourceMap& all) : all_(all) {}

  void check(const Resource& r) {
    current_ = &r;
    switch (r.kind) {
      case Kind::kCluster:
        checkCluster(static_cast<const Cluster&>(*r.spec));
        break;
      case Kind::kClusterLoadAssignment:
        checkLoadAssignment(static_cast<const ClusterLoadAssignment&>(*r.spec));
        break;
      case Kind::kListener:
        checkListener(static_cast<const Listener&>(*r.spec));
        break;
      case Kind::kRouteConfiguration:
        checkRoutes(static_cast<const RouteConfiguration&>(*r.spec), "spec");
        break;
    }
  }
  std::vector<ValidationError>& errors() { return errors_; }

  // What one proxy refuses across resources: two of its clusters (or listener stat
  // prefixes) with one Prometheus name, two of its listeners on one address.
  void checkAcrossResources() {
    std::map<std::string, std::vector<const Resource*>> by_cluster_name, by_prefix, by_address;
    for (const auto& [key, r] : all_) {
      if (r->kind == Kind::kCluster) {
        by_cluster_name[stats::prometheusName(r->name)].push_back(r.get());
      } else if (r->kind == Kind::kListener) {
        const auto& l = static_cast<const Listener&>(*r->spec);
        by_prefix[stats::prometheusName(listenerStatPrefix(l))].push_back(r.get());
        auto address = network::Address::parse(l.address().address(), l.address().port());
        if (address.ok()) by_address[address->asString()].push_back(r.get());
      }
    }
    auto clash = [&](const std::map<std::string, std::vector<const Resource*>>& groups,
                     auto&& same_name, auto&& report) {
      for (const auto& [group, members] : groups) {
        for (size_t i = 1; i < members.size(); i++) {
          for (size_t j = 0; j < i; j++) {
            if (same_name(*members[i], *members[j])) continue;
            if (!members[i]->targets.overlaps(members[j]->targets)) continue;
            current_ = members[i];
            report(group, *members[i], *members[j]);
            break;
          }
        }
      }
    };
    auto same_resource_name = [](const Resource& a, const Resource& b) { return a.name == b.name; };
    clash(by_cluster_name, same_resource_name,
          [&](const std::string& group, const Resource& r, const Resource& other) {
            add("spec.name", absl::StrCat("'", r.name, "' and '", other.name,
                                          "' have the same Prometheus name (", group,
                                          ") on the nodes both reach; rename one"));
          });
    auto prefix_of = [&](const Resource& r) {
      return listenerStatPrefix(static_cast<const Listener&>(*r.spec));
    };
    clash(
        by_prefix,
        [&](const Resource& a, const Resource& b) { return prefix_of(a) == prefix_of(b); },
        [&](const std::string& group, const Resource& r, const Resource& other) {
          add("spec.http.stat_prefix", absl::StrCat("'", prefix_of(r), "' and '", prefix_of(other),
                                                    "' have the same Prometheus name (", group,
                                                    ") on the nodes both reach; rename one"));
        });
    clash(
        by_address, [](const Resource&, const Resource&) { return false; },
        [&](const std::string& group, const Resource&, const Resource& other) {
          add("spec.address", absl::StrCat(group, " is also the address of Listener '", other.name,
                                           "' on the nodes both reach"));
        });
  }

 private:
  void add(absl::string_view field, absl::string_view message) {
    errors_.push_back({absl::StrCat(kindName(current_->kind), "/", current_->name),
                       current_->origin, std::string(field), std::string(message)});
  }
  // Builder errors are "field.path: message".
  void addStatus(const absl::Status& st, absl::string_view strip_from = "",
                 absl::string_view strip_to = "") {
    std::string text(st.message());
    if (!strip_from.empty()) text = absl::StrReplaceAll(text, {{strip_from, strip_to}});
    size_t colon = text.find(": ");
    if (colon == std::string::npos) {
      add("spec", text);
    } else {
      add(text.substr(0, colon), text.substr(colon + 2));
    }
  }

  // A resource that `current_` names: it must exist and reach every node current_ reaches.
  void reference(Kind kind, const std::string& name, const std::string& field) {
    auto it = all_.find({kind, name});
    if (it == all_.end()) {
      add(field, absl::StrCat("unknown ", kindName(kind), " '", name, "'"));
    } else if (!it->second->targets.covers(current_->targets)) {
      add(field,
          absl::StrCat(kindName(kind), " '", name, "' targets [", it->second->targets.key(),
                       "], which does not reach every node of [", current_->targets.key(), "]"));
    }
  }

  void checkCluster(const Cluster& c) {
    if (absl::Status st = config::checkStatName(c.name(), "spec.name"); !st.ok()) addStatus(st);
    auto info = upstream::ClusterInfo::create(c, "spec", stats_);
    if (!info.ok()) addStatus(info.status());
  }

  void checkLoadAssignment(const ClusterLoadAssignment& cla) {
    Cluster c;
    c.set_name(cla.cluster_name());
    *c.mutable_load_assignment() = cla;
    auto info = upstream::ClusterInfo::create(c, "spec", stats_);
    if (!info.ok()) addStatus(info.status(), "spec.load_assignment.", "spec.");
    reference(Kind::kCluster, cla.cluster_name(), "spec.cluster_name");
  }

  void checkRoutes(const RouteConfiguration& rc, const std::string& field) {
    auto table = router::RouteTable::create(rc, field);
    if (!table.ok()) {
      addStatus(table.status());
      return;
    }
    for (int v = 0; v < rc.virtual_hosts_size(); v++) {
      const auto& vh = rc.virtual_hosts(v);
      for (int i = 0; i < vh.routes_size(); i++) {
        if (!vh.routes(i).has_route()) continue;
        const auto& action = vh.routes(i).route();
        const std::string f = absl::StrCat(field, ".virtual_hosts[", v, "].routes[", i, "].route");
        if (!action.cluster().empty()) reference(Kind::kCluster, action.cluster(), f + ".cluster");
        for (int w = 0; w < action.weighted_clusters().clusters_size(); w++) {
          reference(Kind::kCluster, action.weighted_clusters().clusters(w).name(),
                    absl::StrCat(f, ".weighted_clusters.clusters[", w, "].name"));
        }
      }
    }
  }

  void checkListener(const Listener& l) {
    const auto& a = l.address();
    if (a.address().empty()) {
      add("spec.address.address", "must be set");
    } else if (a.port() == 0 || a.port() > 65535) {
      // Port 0: each worker of a proxy would listen on an ephemeral port of its own.
      add("spec.address.port", absl::StrCat(a.port(), " is not in 1..65535"));
    } else if (auto addr = network::Address::parse(a.address(), a.port()); !addr.ok()) {
      add("spec.address.address", addr.status().message());
    }
    if (!l.has_http()) {
      add("spec.http", "must be set");
      return;
    }
    const auto& hcm = l.http();
    if (hcm.has_route_config()) {
      checkRoutes(hcm.route_config(), "spec.http.route_config");
    } else if (!hcm.route_config_name().empty()) {
      reference(Kind::kRouteConfiguration, hcm.route_config_name(), "spec.http.route_config_name");
    } else {
      add("spec.http", "one of route_config or route_config_name must be set");
    }
    http::HttpConnectionManagerConfig options;  // the proxy's own checks, result unused
    if (absl::Status st = server::applyHttpOptions(hcm, "spec.http", options); !st.ok()) {
      addStatus(st);
    }
    // The name shows in the proxies' /listeners even when a stat_prefix names the stats.
    if (absl::Status st = config::checkStatName(
            l.name(), "spec.name",
            hcm.stat_prefix().empty() ? "it names stats" : "it is shown in /listeners and logs");
        !st.ok()) {
      addStatus(st);
    } else if (!hcm.stat_prefix().empty()) {
      if (absl::Status prefix = config::checkStatName(hcm.stat_prefix(), "spec.http.stat_prefix");
          !prefix.ok()) {
        addStatus(prefix);
      }
    }
    const auto& log = hcm.access_log();
    if (auto formatter = access_log::createFormatterFor(!log.path().empty(), log.json(),
                                                        log.format(), "spec.http.access_log");
        !formatter.ok()) {
      addStatus(formatter.status());
    }
    auto filters = filters::createHttpFilterFactories(hcm.http_filters(), "spec.http.http_filters",
                                                      "http.", stats_);
    if (!filters.ok()) addStatus(filters.status());
  }

  static const std::string& listenerStatPrefix(const Listener& l) {
    return l.http().stat_prefix().empty() ? l.name() : l.http().stat_prefix();
  }

  const ResourceMap& all_;
  const Resource* current_ = nullptr;
  stats::Store stats_;  // throwaway: ClusterInfo::create registers stats names in it
  std::vector<ValidationError> errors_;
};

}  // namespace

std::string ValidationError::toString() const {
  return absl::StrCat(origin.empty() ? "" : origin + ": ", resource, ": ", field, ": ", message);
}

absl::StatusOr<ResourceMap> buildResourceMap(const std::vector<ResourceConstSharedPtr>& list) {
  ResourceMap map;
  for (const auto& r : list) {
    auto [it, inserted] = map.emplace(ResourceKey{r->kind, r->name}, r);
    if (!inserted) {
      return absl::InvalidArgumentError(absl::StrCat(
          r->origin, ": ", kindName(r->kind), "/", r->name, ": spec.name: duplicate ",
          kindName(r->kind), " '", r->name, "', also defined in ", it->second->origin));
    }
  }
  return map;
}

std::vector<ValidationError> validateResources(const ResourceMap& resources) {
  Checker checker(resources);
  for (const auto& [key, r] : resources) checker.check(*r);
  checker.checkAcrossResources();
  return std::move(checker.errors());
}

absl::Status toStatus(const std::vector<ValidationError>& errors) {
  if (errors.empty()) return absl::OkStatus();
  std::vector<std::string> lines;
  for (const auto& e : errors) lines.push_back(e.toString());
  return absl::InvalidArgumentError(absl::StrJoin(lines, "\n"));
}

}  // namespace portico::control_plane
