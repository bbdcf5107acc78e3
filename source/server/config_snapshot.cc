#include "source/server/config_snapshot.h"

#include <sys/socket.h>

#include <optional>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "source/common/access_log/access_log.h"
#include "source/common/common/logger.h"
#include "source/common/common/read_file.h"
#include "source/common/config/duration.h"
#include "source/common/config/name_checks.h"
#include "source/filters/http/filter_config.h"
#include "source/router/route_table.h"
#include "source/router/router_filter.h"
#include "source/server/http_options.h"

namespace portico::server {
namespace {

absl::Status fieldError(absl::string_view field, absl::string_view message) {
  return absl::InvalidArgumentError(absl::StrCat(field, ": ", message));
}

absl::StatusOr<network::Address> parseAddress(const config::v1::SocketAddress& a,
                                              const std::string& field) {
  if (a.address().empty()) return fieldError(field + ".address", "must be set");
  if (a.port() > 65535) {
    return fieldError(field + ".port", absl::StrCat(a.port(), " is not in 0..65535"));
  }
  auto addr = network::Address::parse(a.address(), a.port());
  if (!addr.ok()) return fieldError(field + ".address", addr.status().message());
  return *addr;
}

// True if a and b cannot both be bound: the same port, and the same IP, or the IPv6 wildcard
// on either side (our IPv6 sockets are dual-stack: [::] takes every IPv4 address too), or the
// IPv4 wildcard on either side of two IPv4 addresses.
// (is IPv4, the address): an IPv4-mapped IPv6 address ("::ffff:127.0.0.1") binds the IPv4
// address it maps.
std::pair<bool, std::string> boundIp(const network::Address& x) {
  std::string ip = x.ip();
  if (x.family() == AF_INET6 && absl::StartsWithIgnoreCase(ip, "::ffff:") &&
      ip.find('.') != std::string::npos) {
    return {true, ip.substr(7)};
  }
  return {x.family() == AF_INET, ip};
}

bool isWildcard(const network::Address& x) { return x.ip() == "::" || x.ip() == "0.0.0.0"; }

bool overlaps(const network::Address& a, const network::Address& b) {
  if (a.port() != b.port()) return false;
  const auto [a_is_v4, a_ip] = boundIp(a);
  const auto [b_is_v4, b_ip] = boundIp(b);
  if (a_ip == b_ip) return true;
  auto any6 = [](const network::Address& x) { return x.family() == AF_INET6 && x.ip() == "::"; };
  if (any6(a) || any6(b)) return true;
  return a_is_v4 && b_is_v4 && (a_ip == "0.0.0.0" || b_ip == "0.0.0.0");
}

}  // namespace

// A wildcard beside a specific address has its own key: the specific one takes its
// connections, as in nginx and HAProxy.
std::string listenAddressKey(const network::Address& a) {
  return absl::StrCat(isWildcard(a) ? "*" : boundIp(a).second, " ", a.port());
}

namespace {

// An access log whose file is opened only once the whole configuration is valid, so that a
// refused configuration creates no file.
struct PendingAccessLog {
  std::string field;  // "...http.access_log"
  std::string path;
  std::unique_ptr<access_log::Formatter> formatter;
  std::shared_ptr<access_log::AccessLog>* slot;  // where the opened log goes
};

// Checks the format now; the file waits in `pending`.
absl::Status buildAccessLog(const config::v1::AccessLog& config, const std::string& field,
                            std::shared_ptr<access_log::AccessLog>* slot,
                            std::vector<PendingAccessLog>& pending) {
  auto formatter =
      access_log::createFormatterFor(!config.path().empty(), config.json(), config.format(), field);
  if (!formatter.ok()) return formatter.status();
  if (*formatter == nullptr) return absl::OkStatus();  // no path: no log
  std::unique_ptr<access_log::Formatter> owned = std::move(*formatter);
  pending.push_back({field, config.path(), std::move(owned), slot});
  return absl::OkStatus();
}

// Access log writers are shared by path, so two listeners logging to one file share a thread.
// Every path is checked before any is opened: a configuration refused for its second log does
// not create its first.
absl::Status openAccessLogs(std::vector<PendingAccessLog>& pending, bool open_files) {
  for (const PendingAccessLog& p : pending) {
    if (absl::Status st = access_log::AccessLogWriter::checkWritable(p.path); !st.ok()) {
      return fieldError(p.field + ".path", st.message());
    }
  }
  if (!open_files) return absl::OkStatus();
  for (PendingAccessLog& p : pending) {
    auto writer = access_log::AccessLogWriter::openShared(p.path);
    if (!writer.ok()) return fieldError(p.field + ".path", writer.status().message());
    *p.slot = std::make_shared<access_log::AccessLog>(*writer, std::move(p.formatter));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<http::HttpConnectionManagerConfig>> buildHttp(
    const config::v1::Listener& listener, const std::string& field,
    const absl::flat_hash_map<std::string, std::shared_ptr<const router::RouteTable>>& named,
    stats::Store& store, std::vector<PendingAccessLog>& pending_logs) {
  const config::v1::HttpConnectionManager& hcm = listener.http();
  auto http = std::make_shared<http::HttpConnectionManagerConfig>();
  http->listener_name = listener.name();
  http->stat_prefix = hcm.stat_prefix().empty() ? listener.name() : hcm.stat_prefix();
  const std::string f = field + ".http";
  if (hcm.has_route_config()) {
    auto table = router::RouteTable::create(hcm.route_config(), f + ".route_config");
    if (!table.ok()) return table.status();
    http->routes = *table;
  } else if (!hcm.route_config_name().empty()) {
    auto it = named.find(hcm.route_config_name());
    if (it == named.end()) {
      return fieldError(f + ".route_config_name", absl::StrCat("unknown route configuration '",
                                                               hcm.route_config_name(), "'"));
    }
    http->routes = it->second;
  } else {
    return fieldError(f, "one of route_config or route_config_name must be set");
  }
  if (absl::Status st = applyHttpOptions(hcm, f, *http); !st.ok()) return st;
  if (absl::Status st =
          buildAccessLog(hcm.access_log(), f + ".access_log", &http->access_log, pending_logs);
      !st.ok()) {
    return st;
  }
  http->stats = std::make_unique<http::HttpStats>(store, http->stat_prefix);
  auto filters =
      filters::createHttpFilterFactories(hcm.http_filters(), f + ".http_filters",
                                         absl::StrCat("http.", http->stat_prefix, "."), store);
  if (!filters.ok()) return filters.status();
  http->filter_factories = std::move(*filters);
  http->filter_factories.push_back(router::routerFilterFactory());
  for (const auto& filter : hcm.http_filters()) {
    http->filter_names.push_back(
        absl::StrCat(filter.name(), " (", filters::httpFilterType(filter), ")"));
  }
  http->filter_names.push_back("router");
  return http;
}

// A new or changed route table that names an unknown cluster is refused. One accepted before
// is not: a cluster update that withdraws a cluster it names is taken (DynamicConfig holds the
// cluster for a while), and once the cluster is gone the route answers 503 (cluster_not_found)
// until its table changes, as Envoy does. Refusing it would leave a control plane that re-sends
// its state after a reconnect, clusters first, unable to remove the cluster at all (every
// cluster update refused, routes held back behind them).
// `previous`: the snapshot in use, to say once when a cluster a route names goes away.
// A held cluster (see DynamicConfig) serves the tables that named it before; a new or changed
// table may not name it.
absl::Status checkClusterReferences(const router::RouteTable& routes,
                                    const upstream::ClusterInfoMap& clusters,
                                    const std::string& field, bool accepted_before,
                                    const ConfigSnapshot* previous,
                                    const HeldClusters* held_clusters) {
  for (const std::string& name : routes.referencedClusters()) {
    const bool held = held_clusters != nullptr && held_clusters->contains(name);
    if (clusters.contains(name) && (accepted_before || !held)) continue;
    if (held || !accepted_before) {
      // Named down to the route: in a table of thousands, the cluster alone is hard to find.
      const std::string where = routes.fieldNaming(name);
      const std::string path = where.empty() ? field : absl::StrCat(field, ".", where);
      if (held) {
        return fieldError(
            path, absl::StrCat("names cluster '", name, "', which the control plane withdrew"));
      }
      return fieldError(path, absl::StrCat("unknown cluster '", name, "'"));
    }
    if (previous != nullptr && previous->clusters.contains(name)) {
      PORTICO_LOG(kWarn, "%s: route names cluster '%s', which is gone: its requests get 503", field,
                  name);
    }
  }
  return absl::OkStatus();
}

// The inline route configuration of each listener of `previous`, serialised, by listener name.
absl::flat_hash_map<std::string, std::string> inlineRouteConfigs(const ConfigSnapshot* previous) {
  absl::flat_hash_map<std::string, std::string> out;
  if (previous == nullptr) return out;
  for (const auto& l : previous->bootstrap.static_resources().listeners()) {
    if (l.http().has_route_config()) out[l.name()] = l.http().route_config().SerializeAsString();
  }
  return out;
}

}  // namespace

namespace {

// A dynamic_resources timeout: `fallback` when unset, at most 1h.
absl::StatusOr<std::chrono::milliseconds> dynamicTimeout(bool set,
                                                         const google::protobuf::Duration& value,
                                                         const std::string& field,
                                                         std::chrono::milliseconds fallback) {
  if (!set) return fallback;
  auto timeout = config::toMilliseconds(value, field);
  if (!timeout.ok()) return timeout.status();
  if (*timeout > std::chrono::hours(1)) return fieldError(field, "must be at most 1h");
  return *timeout;
}

}  // namespace

absl::StatusOr<std::chrono::milliseconds> clusterHoldTimeout(
    const config::v1::Bootstrap& bootstrap) {
  const auto& dynamic = bootstrap.dynamic_resources();
  return dynamicTimeout(dynamic.has_cluster_hold_timeout(), dynamic.cluster_hold_timeout(),
                        "dynamic_resources.cluster_hold_timeout", kDefaultClusterHoldTimeout);
}

absl::StatusOr<std::chrono::milliseconds> initialFetchTimeout(
    const config::v1::Bootstrap& bootstrap) {
  const auto& dynamic = bootstrap.dynamic_resources();
  return dynamicTimeout(dynamic.has_initial_fetch_timeout(), dynamic.initial_fetch_timeout(),
                        "dynamic_resources.initial_fetch_timeout", kDefaultInitialFetchTimeout);
}

absl::Status checkBootstrapFiles(const config::v1::Bootstrap& bootstrap) {
  if (!bootstrap.dynamic_resources().has_tls()) return absl::OkStatus();
  // The certificates are parsed when the proxy connects; a wrong path is refused here rather
  // than failing every connect.
  const std::string& path = bootstrap.dynamic_resources().tls().ca_file();
  if (path.empty()) return absl::OkStatus();  // buildConfigSnapshot() says it must be set
  auto ca = readFileBounded(path, 16 * 1024 * 1024);
  if (!ca.ok()) return fieldError("dynamic_resources.tls.ca_file", ca.status().message());
  if (!absl::StrContains(*ca, "-----BEGIN CERTIFICATE-----")) {
    return fieldError("dynamic_resources.tls.ca_file",
                      absl::StrCat("'", path, "' holds no PEM certificate"));
  }
  return absl::OkStatus();
}

absl::StatusOr<ConfigSnapshotConstSharedPtr> buildConfigSnapshot(
    config::v1::Bootstrap bootstrap_in, stats::Store& store, const ConfigSnapshot* previous,
    bool open_files, const HeldClusters* held_clusters) {
  auto snapshot = std::make_shared<ConfigSnapshot>();
  snapshot->bootstrap = std::move(bootstrap_in);
  const config::v1::Bootstrap& bootstrap = snapshot->bootstrap;
  const auto& sr = bootstrap.static_resources();
  if (bootstrap.has_drain_timeout()) {
    auto d = config::toMilliseconds(bootstrap.drain_timeout(), "drain_timeout");
    if (!d.ok()) return d.status();
    snapshot->drain_timeout = *d;
  }
  if (bootstrap.has_wakeup_coalescing()) {
    const google::protobuf::Duration& d = bootstrap.wakeup_coalescing();
    if (d.seconds() != 0 || d.nanos() < 0 || d.nanos() > 1000000) {
      return fieldError("wakeup_coalescing", "must be between 0s and 1ms");
    }
    snapshot->wakeup_coalescing = std::chrono::microseconds(d.nanos() / 1000);
  }
  // The control plane the proxy will dial (used by the server, not the snapshot): checked here
  // so that --validate refuses what startup would.
  const auto& control_planes = bootstrap.dynamic_resources().control_plane();
  for (int i = 0; i < control_planes.size(); i++) {
    const std::string field = absl::StrCat("dynamic_resources.control_plane[", i, "]");
    auto a = parseAddress(control_planes[i], field);
    if (!a.ok()) return a.status();
    if (control_planes[i].port() == 0) return fieldError(field + ".port", "must be set");
  }
  if (bootstrap.dynamic_resources().has_keepalive_interval()) {
    auto k = config::toMilliseconds(bootstrap.dynamic_resources().keepalive_interval(),
                                    "dynamic_resources.keepalive_interval");
    if (!k.ok()) return k.status();
    if (*k < std::chrono::milliseconds(100) || *k > std::chrono::hours(1)) {
      return fieldError("dynamic_resources.keepalive_interval", "must be within 100ms..1h");
    }
  }
  if (auto hold = clusterHoldTimeout(bootstrap); !hold.ok()) return hold.status();
  if (auto fetch = initialFetchTimeout(bootstrap); !fetch.ok()) return fetch.status();
  if (bootstrap.dynamic_resources().has_tls()) {
    const auto& tls = bootstrap.dynamic_resources().tls();
    if (tls.ca_file().empty()) return fieldError("dynamic_resources.tls.ca_file", "must be set");
    // Without it any certificate the CA ever signed would pass for the control plane.
    if (tls.server_name().empty()) {
      return fieldError("dynamic_resources.tls.server_name",
                        "must be set: the name (DNS or IP) the control plane's certificate "
                        "must carry");
    }
    for (char c : tls.server_name()) {
      if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
        return fieldError("dynamic_resources.tls.server_name",
                          "must be a DNS name or an IP address (visible ASCII)");
      }
    }
  }
  if (!control_planes.empty() && bootstrap.node().id().empty()) {
    // The control plane refuses a stream without it: the proxy would reconnect forever.
    return fieldError("node.id", "must be set when dynamic_resources.control_plane is");
  }
  std::optional<network::Address> admin_address;
  if (bootstrap.has_admin()) {
    auto a = parseAddress(bootstrap.admin().address(), "admin.address");
    if (!a.ok()) return a.status();
    if (a->port() != 0) admin_address = *a;
  }

  config::PrometheusNames prometheus_clusters;
  for (int i = 0; i < sr.clusters_size(); i++) {
    const std::string field = absl::StrCat("static_resources.clusters[", i, "]");
    if (absl::Status st = config::checkStatName(sr.clusters(i).name(), field + ".name"); !st.ok()) {
      return st;
    }
    if (absl::Status st = prometheus_clusters.add(sr.clusters(i).name(), field + ".name");
        !st.ok()) {
      return st;
    }
    auto info = upstream::ClusterInfo::create(sr.clusters(i), field, store);
    if (!info.ok()) return info.status();
    if (snapshot->clusters.contains((*info)->name)) {
      return fieldError(field + ".name", absl::StrCat("duplicate cluster '", (*info)->name, "'"));
    }
    if (previous != nullptr) {
      auto it = previous->clusters.find((*info)->name);
      if (it != previous->clusters.end() &&
          it->second->config_fingerprint == (*info)->config_fingerprint) {
        *info = it->second;
      }
    }
    snapshot->clusters[(*info)->name] = *info;
  }

  absl::flat_hash_map<std::string, std::shared_ptr<const router::RouteTable>> named_routes;
  for (int i = 0; i < sr.route_configs_size(); i++) {
    const std::string field = absl::StrCat("static_resources.route_configs[", i, "]");
    const auto& rc = sr.route_configs(i);
    if (rc.name().empty()) return fieldError(field + ".name", "must not be empty");
    if (named_routes.contains(rc.name())) {
      return fieldError(field + ".name",
                        absl::StrCat("duplicate route configuration '", rc.name(), "'"));
    }
    NamedRouteTable named{rc.SerializeAsString(), nullptr};
    if (previous != nullptr) {
      auto it = previous->route_tables.find(rc.name());
      if (it != previous->route_tables.end() && it->second.fingerprint == named.fingerprint) {
        named.table = it->second.table;
      }
    }
    const bool lent = named.table != nullptr;
    if (named.table == nullptr) {
      auto table = router::RouteTable::create(rc, field);
      if (!table.ok()) return table.status();
      named.table = *table;
    }
    absl::Status refs = checkClusterReferences(*named.table, snapshot->clusters, field,
                                               /*accepted_before=*/lent, previous, held_clusters);
    if (!refs.ok()) return refs;
    named_routes[rc.name()] = named.table;
    snapshot->route_tables[rc.name()] = std::move(named);
  }

  const auto previous_inline_routes = inlineRouteConfigs(previous);
  absl::flat_hash_set<std::string> names;
  absl::flat_hash_set<std::string> addresses;
  absl::flat_hash_map<std::string, std::string>
      listen_keys;  // listenAddressKey() -> listener field
  config::PrometheusNames prometheus_prefixes;
  std::vector<PendingAccessLog> pending_logs;
  for (int i = 0; i < sr.listeners_size(); i++) {
    const std::string field = absl::StrCat("static_resources.listeners[", i, "]");
    const auto& l = sr.listeners(i);
    if (l.name().empty()) return fieldError(field + ".name", "must not be empty");
    // Shown in /listeners and logs even when a stat_prefix names the stats.
    if (absl::Status st =
            config::checkStatName(l.name(), field + ".name", "it is shown in /listeners and logs");
        !st.ok()) {
      return st;
    }
    // The stat prefix defaults to the name (see buildHttp); a shared prefix is allowed (stats
    // add up), but not two that Prometheus cannot tell apart.
    const bool own_prefix = l.has_http() && !l.http().stat_prefix().empty();
    const std::string prefix_field = field + (own_prefix ? ".http.stat_prefix" : ".name");
    const std::string& prefix = own_prefix ? l.http().stat_prefix() : l.name();
    if (absl::Status st = config::checkStatName(prefix, prefix_field); !st.ok()) return st;
    if (absl::Status st = prometheus_prefixes.add(prefix, prefix_field); !st.ok()) return st;
    if (!names.insert(l.name()).second) {
      return fieldError(field + ".name", absl::StrCat("duplicate listener '", l.name(), "'"));
    }
    auto address = parseAddress(l.address(), field + ".address");
    if (!address.ok()) return address.status();
    // Port 0 would give each worker its own ephemeral port (SO_REUSEPORT), none of them known.
    if (address->port() == 0) return fieldError(field + ".address.port", "must be set");
    if (!addresses.insert(address->asString()).second) {
      return fieldError(field + ".address", absl::StrCat(address->asString(), " is used twice"));
    }
    if (auto [it, inserted] = listen_keys.try_emplace(listenAddressKey(*address), field);
        !inserted) {
      return fieldError(field + ".address",
                        absl::StrCat(address->asString(), " is also bound by ", it->second));
    }
    if (admin_address && overlaps(*address, *admin_address)) {
      // The admin socket holds its port alone; the listener would fail to bind (or, with
      // SO_REUSEPORT on both, share the admin's connections).
      return fieldError(field + ".address",
                        absl::StrCat(address->asString(), " overlaps the admin address ",
                                     admin_address->asString()));
    }
    if (!l.has_http()) return fieldError(field + ".http", "must be set");
    auto http = buildHttp(l, field, named_routes, store, pending_logs);
    if (!http.ok()) return http.status();
    // A named table was checked above; an inline one was accepted before if it is unchanged.
    bool accepted_before = !l.http().has_route_config();
    if (!accepted_before) {
      auto it = previous_inline_routes.find(l.name());
      accepted_before = it != previous_inline_routes.end() &&
                        it->second == l.http().route_config().SerializeAsString();
    }
    absl::Status refs =
        checkClusterReferences(*(*http)->routes, snapshot->clusters, field + ".http.route_config",
                               accepted_before, previous, held_clusters);
    if (!refs.ok()) return refs;
    auto listener = std::make_shared<ListenerConfig>();
    listener->name = l.name();
    listener->address = *address;
    listener->max_connections = l.max_connections();
    listener->http = std::move(*http);
    snapshot->listeners.push_back(std::move(listener));
  }
  if (absl::Status st = openAccessLogs(pending_logs, open_files); !st.ok()) return st;
  return ConfigSnapshotConstSharedPtr(std::move(snapshot));
}

}  // namespace portico::server
