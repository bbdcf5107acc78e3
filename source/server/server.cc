#include "source/server/server.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/access_log/access_log.h"
#include "source/common/common/json_escape.h"
#include "source/common/common/logger.h"
#include "source/common/common/version.h"
#include "source/common/config/duration.h"
#include "source/common/network/listener.h"
#include "source/common/stats/json_format.h"
#include "source/common/stats/prometheus.h"
#include "source/common/stats/text_format.h"
#include "source/server/stats_query.h"
#include "source/xds/resource_types.h"

namespace portico::server {

Server::Server(const config::v1::Bootstrap& bootstrap, const ServerOptions& options)
    : bootstrap_(bootstrap),
      options_(options),
      dispatcher_(event::createDispatcher()),
      dynamic_(bootstrap),
      start_time_(std::chrono::steady_clock::now()) {}

Server::~Server() {
  for (auto& w : workers_) w->stop();
  if (signal_fd_ >= 0) close(signal_fd_);
}

absl::Status Server::initialize() {
  // Signals arrive as readable events on the main loop, never in a handler. They are blocked
  // before any thread starts (the access log writer starts while the snapshot is built):
  // threads inherit the mask, so no thread can take SIGTERM outside the signalfd.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGUSR1);  // reopen access logs (log rotation), as Envoy and nginx do
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);
  signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  main_stats_ = &store_.createWorkerStats();
  access_log_stats_ = {store_.counter("access_log.dropped_lines"),
                       store_.counter("access_log.write_failed"),
                       store_.counter("access_log.reopen_failed")};

  // Before the build, which opens the access-log files.
  if (absl::Status files = checkBootstrapFiles(bootstrap_); !files.ok()) return files;
  auto snapshot = buildConfigSnapshot(bootstrap_, store_);
  if (!snapshot.ok()) return snapshot.status();
  snapshot_ = *snapshot;

  // Before the workers serve: their health_check filters say 503 until then too.
  initializing_ = !bootstrap_.dynamic_resources().control_plane().empty();
  updateServing();
  for (uint32_t i = 0; i < options_.concurrency; i++) {
    workers_.push_back(std::make_unique<Worker>(i, store_, serving_));
    absl::Status st = workers_.back()->initialize(snapshot_);
    if (!st.ok()) return st;
  }

  if (bootstrap_.has_admin()) {
    admin_ = std::make_unique<AdminServer>(*dispatcher_);
    registerAdminHandlers();
    auto address = network::Address::parse(bootstrap_.admin().address().address(),
                                           bootstrap_.admin().address().port());
    if (!address.ok()) return address.status();
    absl::Status st = admin_->start(*address);
    if (!st.ok()) return absl::UnavailableError(absl::StrCat("admin: ", st.message()));
  }

  signal_event_ = dispatcher_->createFileEvent(signal_fd_, [this](uint32_t) {
    signalfd_siginfo info;
    while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
      onSignal(static_cast<int>(info.ssi_signo));
    }
  });

  for (auto& w : workers_) w->start();

  const auto& control_planes = bootstrap_.dynamic_resources().control_plane();
  if (!control_planes.empty()) {
    std::vector<network::Address> servers;
    // buildConfigSnapshot() and checkBootstrapFiles() above checked these (addresses, ports,
    // the CA file).
    for (const auto& control_plane : control_planes) {
      auto address = network::Address::parse(control_plane.address(), control_plane.port());
      if (!address.ok()) return address.status();
      servers.push_back(*address);
    }
    std::optional<xds::TlsOptions> tls;
    if (bootstrap_.dynamic_resources().has_tls()) {
      const auto& t = bootstrap_.dynamic_resources().tls();
      tls = xds::TlsOptions{t.ca_file(), t.server_name()};
    }
    xds::StreamOptions stream_options;
    stream_options.tls = std::move(tls);
    if (bootstrap_.dynamic_resources().has_keepalive_interval()) {
      auto k = config::toMilliseconds(bootstrap_.dynamic_resources().keepalive_interval(),
                                      "dynamic_resources.keepalive_interval");
      if (!k.ok()) return k.status();  // checked by buildConfigSnapshot() already
      stream_options.keepalive = *k;
    }
    auto initial_fetch = initialFetchTimeout(bootstrap_);
    if (!initial_fetch.ok()) return initial_fetch.status();  // checked already, as above
    if (initial_fetch->count() > 0) {
      init_timer_ = dispatcher_->createTimer(
          [this] { endInitialization("initial_fetch_timeout ran out; serving what came"); });
      init_timer_->enableTimer(*initial_fetch);
    }
    ads_ = std::make_unique<xds::AdsClient>(*dispatcher_, std::move(servers), bootstrap_.node(),
                                            *this, bootstrap_.dynamic_resources().delta(),
                                            std::move(stream_options), *initial_fetch);
    ads_->start();
  }
  for (const auto& l : snapshot_->listeners) {
    PORTICO_LOG(kInfo, "listener '%s' on %s (%u workers)", l->name, l->address.asString(),
                options_.concurrency);
  }
  if (admin_) PORTICO_LOG(kInfo, "admin on 127.0.0.1:%d", admin_->port());
  return absl::OkStatus();
}

int Server::run() {
  dispatcher_->run();
  for (auto& w : workers_) w->stop();
  PORTICO_LOG(kInfo, "exiting");
  return 0;
}

absl::Status Server::applyResources(const std::string& type_url,
                                    const std::vector<google::protobuf::Any>& resources,
                                    const std::string& version) {
  const auto started = std::chrono::steady_clock::now();
  pending_port_reservations_.clear();
  auto snapshot = dynamic_.buildSnapshot(
      type_url, resources, store_, snapshot_.get(), [&](const config::v1::Bootstrap& merged) {
        return checkListenAddresses(merged, type_url == xds::kListenerType);
      });
  if (!snapshot.ok()) pending_port_reservations_.clear();  // refused: nothing is reserved
  // A type answered counts for initialization even when refused, as Envoy's does: the
  // control plane may never send it again, and what was accepted serves meanwhile.
  if (initializing_) {
    initial_types_.insert(type_url);
    // The four types the proxy subscribes to (AdsClient).
    if (initial_types_.size() == 4) endInitialization("every resource type answered");
  }
  if (!snapshot.ok()) return snapshot.status();
  publish(*snapshot);
  auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
  PORTICO_LOG(kInfo, "xds: applied %s version %s (%d resources) in %.1f ms", type_url, version,
              static_cast<int>(resources.size()), ms(std::chrono::steady_clock::now() - started));
  return absl::OkStatus();
}

absl::Status Server::checkListenAddresses(const config::v1::Bootstrap& merged, bool with_warming) {
  // New listen addresses must be bindable here before we ACK: the workers bind them later,
  // where a failure could no longer be reported to the control plane. A listener update also
  // has the addresses of the listeners it leaves warming (waiting for their routes) checked,
  // as Envoy binds them at once: refused later, the failure would NACK a route update. Each
  // is reserved until the workers listen on it (port_reservations_).
  struct ToBind {
    std::string name;
    network::Address address;
    bool warming;
  };
  std::vector<ToBind> to_bind;
  auto add = [&](const config::v1::Listener& l, bool warming) {
    auto address = network::Address::parse(l.address().address(), l.address().port());
    if (address.ok()) to_bind.push_back({l.name(), *address, warming});  // else the build names it
  };
  for (const config::v1::Listener& l : merged.static_resources().listeners()) add(l, false);
  if (with_warming) {
    for (const config::v1::Listener& l : dynamic_.pendingWarmingListeners()) add(l, true);
  }
  // Two of them on one address, however written (a warming one is not in the merged config's
  // own check).
  absl::flat_hash_map<std::string, std::string> by_address;
  for (const ToBind& b : to_bind) {
    if (b.address.port() == 0) continue;
    auto [it, inserted] = by_address.emplace(listenAddressKey(b.address), b.name);
    if (!inserted && it->second != b.name) {
      return absl::InvalidArgumentError(
          absl::StrCat("Listener '", b.name, "': address: ", b.address.asString(),
                       " is also the address of Listener '", it->second, "'"));
    }
  }
  for (const ToBind& b : to_bind) {
    const std::string key = listenAddressKey(b.address);
    // Open on the workers and staying open. A warming listener on the address of one this
    // update removes is reserved all the same: the workers are about to close it.
    bool open = false;
    for (const ListenerConfigConstSharedPtr& current : snapshot_->listeners) {
      open = open || listenAddressKey(current->address) == key;
    }
    if (open && !b.warming) continue;
    if (port_reservations_.contains(key) || pending_port_reservations_.contains(key)) continue;
    auto reservation = network::PortReservation::reserve(b.address);
    if (!reservation.ok()) {
      return absl::UnavailableError(
          absl::StrCat("Listener '", b.name, "': address: ", reservation.status().message()));
    }
    pending_port_reservations_.emplace(key, std::move(*reservation));
  }
  return absl::OkStatus();
}

void Server::releasePortReservations() {
  if (port_reservations_.empty()) return;
  absl::flat_hash_set<std::string> wanted;  // addresses whose listener waits for its routes
  for (const config::v1::Listener& l : dynamic_.committedWarmingListeners()) {
    auto address = network::Address::parse(l.address().address(), l.address().port());
    if (address.ok()) wanted.insert(listenAddressKey(*address));
  }
  absl::erase_if(port_reservations_,
                 [&wanted](const auto& entry) { return !wanted.contains(entry.first); });
}

void Server::publish(ConfigSnapshotConstSharedPtr snapshot) {
  dynamic_.commit();
  for (auto& [address, reservation] : pending_port_reservations_) {
    port_reservations_.insert_or_assign(address, std::move(reservation));
  }
  pending_port_reservations_.clear();
  snapshot_ = std::move(snapshot);
  for (auto& w : workers_) w->applySnapshot(snapshot_);
  const uint64_t generation = ++config_published_;
  if (workers_.empty()) {
    config_applied_ = generation;
    releasePortReservations();
  } else {
    auto left = std::make_shared<std::atomic<size_t>>(workers_.size());
    for (auto& w : workers_) {
      w->runAfterPending([this, left, generation] {
        if (left->fetch_sub(1) != 1) return;
        dispatcher_->post([this, generation] {
          config_applied_ = std::max(config_applied_, generation);
          // The workers listen on what this configuration opened; a later one may still
          // be on its way to them (its reservations wait for its own turn).
          if (config_applied_ == config_published_) releasePortReservations();
        });
      });
    }
  }
  // A held cluster goes when its hold runs out even if no update comes.
  const auto expiry = dynamic_.nextHoldExpiry();
  if (!expiry.has_value()) {
    if (hold_timer_ != nullptr) hold_timer_->disableTimer();
    return;
  }
  if (hold_timer_ == nullptr) hold_timer_ = dispatcher_->createTimer([this] { onHoldExpiry(); });
  const auto delay =
      std::chrono::ceil<std::chrono::milliseconds>(*expiry - std::chrono::steady_clock::now());
  hold_timer_->enableTimer(std::max(delay, std::chrono::milliseconds(1)));
}

void Server::endInitialization(const char* why) {
  if (!initializing_ || initialization_ending_) return;
  initialization_ending_ = true;
  if (init_timer_ != nullptr) init_timer_->disableTimer();
  // Ready once every worker has applied what was published so far (its listeners open): each
  // worker runs this after the snapshots posted to it before.
  auto left = std::make_shared<std::atomic<size_t>>(workers_.size());
  for (auto& w : workers_) {
    w->runAfterPending([this, left, why] {
      if (left->fetch_sub(1) != 1) return;
      dispatcher_->post([this, why] {
        initializing_ = false;
        updateServing();
        PORTICO_LOG(kInfo, "initialized (%s): ready", why);
      });
    });
  }
}

void Server::onHoldExpiry() {
  // The timer runs on the loop's clock, read before the turn's work (a large update's build):
  // it can fire early. Nothing expired yet: wait on, without a rebuild.
  if (const auto expiry = dynamic_.nextHoldExpiry(); expiry.has_value()) {
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(*expiry - std::chrono::steady_clock::now());
    if (left.count() > 0) {
      hold_timer_->enableTimer(left);
      return;
    }
  }
  auto snapshot = dynamic_.rebuild(store_, snapshot_.get());
  if (!snapshot.ok()) {
    // Only the environment can fail it (an access-log path gone): the hold stays meanwhile.
    PORTICO_LOG(kWarn,
                "held clusters: the configuration without them did not build (%s); "
                "trying again in 5 s",
                snapshot.status().message());
    hold_timer_->enableTimer(std::chrono::seconds(5));
    return;
  }
  publish(*snapshot);
}

void Server::onSignal(int signal) {
  if (signal == SIGUSR1) {
    PORTICO_LOG(kInfo, "caught SIGUSR1: reopening access logs");
    access_log::AccessLogWriter::reopenAll();
    return;
  }
  PORTICO_LOG(kInfo, "caught signal %d: draining for up to %d ms", signal,
              static_cast<int>(snapshot_->drain_timeout.count()));
  shutdown(snapshot_->drain_timeout);
}

void Server::shutdown(std::chrono::milliseconds drain_timeout) {
  if (shutting_down_) {
    // Already draining: a shorter drain (/quitquitquit after SIGTERM) still takes effect.
    drain_deadline_ = std::min(drain_deadline_, std::chrono::steady_clock::now() + drain_timeout);
    return;
  }
  shutting_down_ = true;
  healthy_ = false;
  updateServing();
  for (auto& w : workers_) {
    w->stopListening();
    w->drain();
  }
  drain_deadline_ = std::chrono::steady_clock::now() + drain_timeout;
  drain_poll_timer_ = dispatcher_->createTimer([this] { checkDrained(); });
  drain_poll_timer_->enableTimer(std::chrono::milliseconds(20));
}

void Server::checkDrained() {
  // A worker busy (a large config) may not have run its drain yet: its count says nothing
  // until then, so every flag is read before any count.
  bool started = true;
  for (auto& w : workers_) started = started && w->drainStarted();
  uint64_t active = 0;
  uint64_t lingering = 0;
  for (auto& w : workers_) {
    active += w->activeConnections();
    lingering += w->lingeringSockets();
  }
  if ((started && active == 0 && lingering == 0) ||
      std::chrono::steady_clock::now() >= drain_deadline_) {
    if (active > 0)
      PORTICO_LOG(kWarn, "drain timeout: closing %d connections", static_cast<int>(active));
    dispatcher_->exit();
    return;
  }
  drain_poll_timer_->enableTimer(std::chrono::milliseconds(20));
}

std::string Server::serverInfoJson() const {
  auto uptime = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() -
                                                                 start_time_);
  const char* state = shutting_down_ ? "DRAINING" : initializing_ ? "INITIALIZING" : "LIVE";
  int napping = 0;
  for (const auto& w : workers_) napping += w->napping() ? 1 : 0;
  return absl::StrCat("{\"version\":\"", kVersion, "\",\"state\":\"", state,
                      "\",\"uptime_seconds\":", uptime.count(),
                      ",\"concurrency\":", options_.concurrency, ",\"workers_napping\":", napping,
                      ",\"health_check_failed\":", healthy_ ? "false" : "true",
                      ",\"listeners_drained\":", listeners_drained_ ? "true" : "false",
                      ",\"config_generation\":{\"published\":", config_published_,
                      ",\"applied_by_all_workers\":", config_applied_, "}}\n");
}

absl::StatusOr<std::vector<Server::ClusterStatus>> Server::clusterStatuses() {
  // Per-host numbers live on the workers: gather them there and add them up.
  std::vector<ClusterStatus> clusters;
  for (const auto& [name, info] : snapshot_->clusters) {
    ClusterStatus c{name, {}};
    for (const auto& h : info->hosts) {
      c.hosts.push_back(
          HostStatus{h->address_string, h->address.ip(), h->address.port(), h->weight, h->healthy});
    }
    clusters.push_back(std::move(c));
  }
  std::sort(clusters.begin(), clusters.end(),
            [](const ClusterStatus& a, const ClusterStatus& b) { return a.name < b.name; });
  // Each worker fills its own part, all at once; matched by address, as a worker may not have
  // applied the latest configuration yet.
  using Loads = absl::flat_hash_map<std::string, upstream::ClusterManager::HostLoad>;
  std::vector<std::vector<Loads>> per_worker(workers_.size(), std::vector<Loads>(clusters.size()));
  const std::vector<uint32_t> missing = Worker::runOnAll(
      workers_,
      [&](Worker& worker) {
        std::vector<Loads>& mine = per_worker[worker.index()];
        for (size_t i = 0; i < clusters.size(); i++) {
          mine[i] = worker.clusterManager().hostLoads(clusters[i].name);
        }
      },
      std::chrono::seconds(2));
  if (!missing.empty()) {
    return absl::UnavailableError(absl::StrCat("worker(s) ", absl::StrJoin(missing, ", "),
                                               " did not answer within 2 s; try again\n"));
  }
  for (const std::vector<Loads>& loads : per_worker) {
    for (size_t i = 0; i < clusters.size(); i++) {
      absl::flat_hash_map<std::string, int> seen;
      for (HostStatus& h : clusters[i].hosts) {
        auto it = loads[i].find(upstream::ClusterManager::hostKey(h.address, seen));
        if (it == loads[i].end()) continue;
        h.rq_active += it->second.rq_active;
        h.rq_total += it->second.rq_total;
        h.cx_active += it->second.cx_active;
      }
    }
  }
  return clusters;
}

std::string Server::clustersText(const std::vector<ClusterStatus>& clusters) {
  std::string out;
  for (const ClusterStatus& c : clusters) {
    for (const HostStatus& t : c.hosts) {
      const std::string p = absl::StrCat(c.name, "::", t.address, "::");
      absl::StrAppend(&out, p, "weight::", t.weight, "\n", p,
                      "health_flags::", t.healthy ? "healthy" : "/failed_eds_health", "\n", p,
                      "rq_active::", t.rq_active, "\n", p, "rq_total::", t.rq_total, "\n", p,
                      "cx_active::", t.cx_active, "\n");
    }
  }
  return out;
}

// Envoy's /clusters?format=json shape (its ClusterStatuses message as JSON).
std::string Server::clustersJson(const std::vector<ClusterStatus>& clusters) {
  std::string out = "{\"cluster_statuses\":[";
  bool first_cluster = true;
  for (const ClusterStatus& c : clusters) {
    absl::StrAppend(&out, first_cluster ? "" : ",", "{\"name\":");
    first_cluster = false;
    appendJsonString(c.name, out);
    out += ",\"host_statuses\":[";
    for (size_t i = 0; i < c.hosts.size(); i++) {
      const HostStatus& t = c.hosts[i];
      absl::StrAppend(&out, i > 0 ? "," : "", "{\"address\":{\"socket_address\":{\"address\":");
      appendJsonString(t.ip, out);
      absl::StrAppend(&out, ",\"port_value\":", t.port, "}},\"stats\":[",
                      "{\"name\":\"cx_active\",\"type\":\"GAUGE\",\"value\":\"", t.cx_active,
                      "\"},{\"name\":\"rq_active\",\"type\":\"GAUGE\",\"value\":\"", t.rq_active,
                      "\"},{\"name\":\"rq_total\",\"value\":\"", t.rq_total,
                      "\"}],\"health_status\":{\"eds_health_status\":\"",
                      t.healthy ? "HEALTHY" : "UNHEALTHY", "\"},\"weight\":", t.weight, "}");
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

void Server::syncAccessLogStats() {
  // The writers count on their own threads; the deltas go in here, on the main thread, which
  // is the only writer of main_stats_.
  const access_log::AccessLogWriter::Totals now = access_log::AccessLogWriter::totals();
  main_stats_->inc(access_log_stats_.dropped_lines,
                   now.dropped_lines - access_log_seen_.dropped_lines);
  main_stats_->inc(access_log_stats_.write_failed,
                   now.write_failed - access_log_seen_.write_failed);
  main_stats_->inc(access_log_stats_.reopen_failed,
                   now.reopen_failed - access_log_seen_.reopen_failed);
  access_log_seen_ = now;
}

std::string Server::configDumpJson() const {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  auto toJson = [&](const google::protobuf::Message& m) {
    std::string out;
    auto status = google::protobuf::util::MessageToJsonString(m, &out, options);
    // Still valid JSON if a value has no JSON form (validation should have refused it).
    if (!status.ok()) return absl::StrCat("{\"error\": ", jsonString(status.ToString()), "}");
    return out;
  };
  auto quote = [](absl::string_view s) { return jsonString(s); };
  // "active" is what the workers run: static resources plus accepted dynamic ones.
  std::string out = absl::StrCat("{\n\"bootstrap\": ", toJson(bootstrap_),
                                 ",\n\"active\": ", toJson(snapshot_->bootstrap));
  if (ads_ != nullptr) {
    absl::StrAppend(&out, ",\n\"dynamic\": {\"control_plane\": ", quote(ads_->currentServer()),
                    ", \"connected\": ", ads_->connected() ? "true" : "false", ", \"types\": {");
    bool first = true;
    for (const auto& [type, state] : ads_->typeStates()) {
      absl::StrAppend(&out, first ? "" : ", ", quote(type),
                      ": {\"version\": ", quote(state.accepted_version), ", \"acks\": ", state.acks,
                      ", \"nacks\": ", state.nacks,
                      ", \"last_nack_error\": ", quote(state.last_error), "}");
      first = false;
    }
    auto names = [&](const std::vector<std::string>& list) {
      std::vector<std::string> quoted;
      for (const std::string& name : list) quoted.push_back(quote(name));
      return absl::StrCat("[", absl::StrJoin(quoted, ", "), "]");
    };
    absl::StrAppend(&out, "}, \"warming_listeners\": ", names(dynamic_.warmingListeners()),
                    ", \"held_clusters\": ", names(dynamic_.heldClusters()), "}");
  }
  return out + "\n}\n";
}

std::string Server::listenersText() const {
  std::string out;
  for (const auto& l : snapshot_->listeners) {
    absl::StrAppend(&out, l->name, "::", l->address.asString(), "\n");
    absl::StrAppend(&out, "  http filters: ", absl::StrJoin(l->http->filter_names, ", "), "\n");
  }
  return out;
}

void Server::registerAdminHandlers() {
  using R = AdminResponse;
  const std::string text = "text/plain; charset=utf-8";
  const std::string json = "application/json";
  admin_->addHandler(
      "/ready", false,
      "200 when serving; 503 while the first configuration is awaited, when draining or when "
      "the health check failed",
      [this, text](const AdminRequest&) {
        if (initializing_ && !shutting_down_) return R{503, text, "INITIALIZING\n"};
        bool ok = healthy_ && !shutting_down_;
        return R{ok ? 200 : 503, text, ok ? "LIVE\n" : "DRAINING\n"};
      });
  admin_->addHandler(
      "/stats", false,
      "counters, gauges and histograms (?filter=regex, ?usedonly, ?format=json|prometheus)",
      [this, text, json](const AdminRequest& r) {
        syncAccessLogStats();
        auto format = r.query.find("format");
        const std::string name = format == r.query.end() ? "text" : format->second;
        if (name != "text" && name != "json" && name != "prometheus") {
          return R{400, text, "unknown format '" + name + "': text, json or prometheus\n"};
        }
        const bool prometheus = name == "prometheus";
        auto selected = selectStats(
            store_, r.query,
            prometheus ? stats::Store::Counters::kSinceStart : stats::Store::Counters::kSinceReset);
        if (!selected.ok()) return R{400, text, absl::StrCat(selected.status().message(), "\n")};
        if (name == "json") return R{200, json, stats::renderJson(*selected)};
        if (prometheus) {
          return R{200, "text/plain; version=0.0.4; charset=utf-8",
                   stats::renderPrometheus(*selected)};
        }
        return R{200, text, stats::renderText(*selected)};
      });
  admin_->addHandler(
      "/stats/prometheus", false, "stats in Prometheus text format (?filter=regex, ?usedonly)",
      [this, text](const AdminRequest& r) {
        syncAccessLogStats();
        auto selected = selectStats(store_, r.query, stats::Store::Counters::kSinceStart);
        if (!selected.ok()) {
          return R{400, text, absl::StrCat(selected.status().message(), "\n")};
        }
        return R{200, "text/plain; version=0.0.4; charset=utf-8",
                 stats::renderPrometheus(*selected)};
      });
  admin_->addHandler("/config_dump", false, "the active configuration as JSON",
                     [this, json](const AdminRequest&) {
                       return R{200, json, configDumpJson()};
                     });
  admin_->addHandler(
      "/clusters", false, "upstream hosts with weights, requests, connections (?format=json)",
      [this, text, json](const AdminRequest& r) {
        auto format = r.query.find("format");
        const bool as_json = format != r.query.end() && format->second == "json";
        if (format != r.query.end() && !as_json && format->second != "text") {
          return R{400, text, "unknown format '" + format->second + "': text or json\n"};
        }
        auto clusters = clusterStatuses();
        if (!clusters.ok()) return R{503, text, std::string(clusters.status().message())};
        return as_json ? R{200, json, clustersJson(*clusters)}
                       : R{200, text, clustersText(*clusters)};
      });
  admin_->addHandler("/listeners", false, "listener names and addresses",
                     [this, text](const AdminRequest&) {
                       return R{200, text, listenersText()};
                     });
  admin_->addHandler("/server_info", false, "version, state, uptime, concurrency",
                     [this, json](const AdminRequest&) {
                       return R{200, json, serverInfoJson()};
                     });
  admin_->addHandler(
      "/logging", false, "GET shows the level; POST ?level=debug changes it",
      [text](const AdminRequest& r) {
        if (r.method == "POST") {
          auto it = r.query.find("level");
          logger::Level level;
          if (it == r.query.end() || !logger::parseLevel(it->second, &level)) {
            return R{400, text, "usage: POST /logging?level=trace|debug|info|warning|error|off\n"};
          }
          logger::setLevel(level);
        }
        return R{200, text, absl::StrCat("level: ", logger::levelName(logger::level()), "\n")};
      });
  admin_->addHandler("/healthcheck/fail", true, "make /ready fail (before a planned shutdown)",
                     [this, text](const AdminRequest&) {
                       healthy_ = false;
                       updateServing();
                       return R{200, text, "OK\n"};
                     });
  admin_->addHandler("/healthcheck/ok", true, "undo /healthcheck/fail",
                     [this, text](const AdminRequest&) {
                       healthy_ = true;
                       updateServing();
                       return R{200, text, "OK\n"};
                     });
  admin_->addHandler("/drain_listeners", true, "stop accepting new connections",
                     [this, text](const AdminRequest&) {
                       listeners_drained_ = true;
                       for (auto& w : workers_) w->stopListening();
                       return R{200, text, "OK\n"};
                     });
  admin_->addHandler("/reopen_logs", true, "reopen access log files (after rotation; also SIGUSR1)",
                     [text](const AdminRequest&) {
                       access_log::AccessLogWriter::reopenAll();
                       return R{200, text, "OK\n"};
                     });
  admin_->addHandler("/reset_counters", true,
                     "set all counters to zero in /stats and /stats?format=json (Prometheus "
                     "counters and /clusters keep counting: a scraper reads a drop as a restart)",
                     [this, text](const AdminRequest&) {
                       // Drops and failures of the log writers so far belong before the reset.
                       syncAccessLogStats();
                       store_.resetCounters();
                       return R{200, text, "OK\n"};
                     });
  admin_->addHandler("/quitquitquit", true, "drain briefly and exit",
                     [this, text](const AdminRequest&) {
                       // Let the response go out first.
                       dispatcher_->post([this] { shutdown(std::chrono::milliseconds(1000)); });
                       return R{200, text, "OK\n"};
                     });
}

}  // namespace portico::server
