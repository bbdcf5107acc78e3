#pragma once

// Server: the main thread. Builds the config snapshot, starts the workers and the admin
// listener, handles signals (SIGTERM/SIGINT drain then exit) and the admin endpoints.

#include <atomic>
#include <chrono>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "portico/config/v1/bootstrap.pb.h"
#include "source/common/access_log/access_log.h"
#include "source/common/event/dispatcher.h"
#include "source/common/network/port_reservation.h"
#include "source/common/stats/store.h"
#include "source/server/admin.h"
#include "source/server/config_snapshot.h"
#include "source/server/dynamic_config.h"
#include "source/server/worker.h"
#include "source/xds/ads_client.h"

namespace portico::server {

struct ServerOptions {
  uint32_t concurrency = 1;
};

class Server : public xds::ConfigApplier {
 public:
  Server(const config::v1::Bootstrap& bootstrap, const ServerOptions& options);
  ~Server();

  // Validates, binds every socket and starts the workers. Errors leave nothing running.
  absl::Status initialize();
  // Runs the main loop until shutdown; returns the process exit code.
  int run();

  // xds::ConfigApplier: validates the merged config and publishes it to the workers.
  absl::Status applyResources(const std::string& type_url,
                              const std::vector<google::protobuf::Any>& resources,
                              const std::string& version) override;

 private:
  void registerAdminHandlers();
  // Refuses a merged config whose new listen addresses cannot be bound (see applyResources),
  // and reserves them (pending_port_reservations_) for the workers.
  absl::Status checkListenAddresses(const config::v1::Bootstrap& merged, bool with_warming);
  // Frees the reservations the workers no longer need: their listener is open on every
  // worker, or gone. Called once every worker has applied the latest configuration.
  void releasePortReservations();
  // Commits the dynamic config and hands `snapshot` to the workers.
  void publish(ConfigSnapshotConstSharedPtr snapshot);
  // Builds the config again without the held clusters whose hold ran out.
  void onHoldExpiry();
  void onSignal(int signal);
  // Stops accepting, drains, exits once connections are gone or the drain timeout passes.
  void shutdown(std::chrono::milliseconds drain_timeout);
  void checkDrained();
  std::string serverInfoJson() const;
  struct HostStatus {
    std::string address;  // "ip:port"
    std::string ip;
    uint16_t port = 0;
    uint32_t weight = 0;
    bool healthy = true;
    uint64_t rq_active = 0, rq_total = 0, cx_active = 0;
  };
  struct ClusterStatus {
    std::string name;
    std::vector<HostStatus> hosts;
  };
  // Every cluster (sorted by name) with its hosts' numbers summed over the workers; an error
  // when a worker does not answer in time (its part would be missing from the sums).
  absl::StatusOr<std::vector<ClusterStatus>> clusterStatuses();
  static std::string clustersText(const std::vector<ClusterStatus>& clusters);
  static std::string clustersJson(const std::vector<ClusterStatus>& clusters);
  std::string listenersText() const;
  std::string configDumpJson() const;
  // Brings the access_log.* counters up to the writers' totals (before stats are rendered).
  void syncAccessLogStats();

  config::v1::Bootstrap bootstrap_;
  ServerOptions options_;
  event::DispatcherPtr dispatcher_;
  stats::Store store_;
  stats::WorkerStats* main_stats_ = nullptr;  // the main thread's own stats
  struct AccessLogStats {
    stats::StatId dropped_lines, write_failed, reopen_failed;
  } access_log_stats_{};
  access_log::AccessLogWriter::Totals access_log_seen_;  // totals already counted
  ConfigSnapshotConstSharedPtr snapshot_;
  DynamicConfig dynamic_;
  std::unique_ptr<xds::AdsClient> ads_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<AdminServer> admin_;
  std::chrono::steady_clock::time_point start_time_;
  event::TimerPtr drain_poll_timer_;
  event::TimerPtr hold_timer_;  // armed while a cluster is held
  std::chrono::steady_clock::time_point drain_deadline_;
  int signal_fd_ = -1;
  event::FileEventPtr signal_event_;
  // Read by the workers' health_check filters (relaxed: a probe may see a change a moment late).
  std::atomic<bool> healthy_{true};
  // With a control plane: until each subscribed type's first response was applied (or the
  // initial fetch timeout ran out), /ready says 503 INITIALIZING, as Envoy's does: a probe
  // must not send traffic to listeners that have not come yet.
  std::atomic<bool> initializing_{false};
  // What listeners' health_check filters answer by: healthy_ and not initializing_.
  std::atomic<bool> serving_{true};
  void updateServing() { serving_ = healthy_ && !initializing_; }
  std::set<std::string> initial_types_;  // types answered (applied or refused) so far
  event::TimerPtr init_timer_;
  bool initialization_ending_ = false;  // waiting for the workers (endInitialization)
  void endInitialization(const char* why);
  bool shutting_down_ = false;
  bool listeners_drained_ = false;
  // Configurations published to the workers, and the latest one every worker has applied
  // (/server_info): an ACK says the proxy took a configuration, this that it serves it.
  uint64_t config_published_ = 0;
  uint64_t config_applied_ = 0;
  // New listen addresses, bound (not listening) from the moment a configuration naming them
  // is accepted until the workers listen on them: no other program can take a port between
  // the ACK and the workers' binds, or while a listener waits for its routes, as Envoy binds
  // such a listener at once. By listenAddressKey().
  absl::flat_hash_map<std::string, network::PortReservation> port_reservations_;
  absl::flat_hash_map<std::string, network::PortReservation> pending_port_reservations_;
};

}  // namespace portico::server
