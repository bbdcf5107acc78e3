// fleet_sim: N fake proxies on discovery streams against a running portico-control, to measure
// how fast a change reaches the whole fleet and what each connected proxy costs the server.
//
//   fleet_sim --grpc 127.0.0.1:18000 --http http://127.0.0.1:18001 --token T
//             --nodes 1000 [--delta] [--rounds 20] [--routes 20] [--control-pid PID]
//
// Setup writes --routes clusters and route configurations plus a marker route through the REST
// API. Each round PUTs the marker route with a new direct_response body and measures, per
// proxy, the time from just before the PUT until the proxy ACKs the new route (p50/p99/max over
// all proxies and rounds), and the bytes the fleet received for the change. With --control-pid,
// the server's RSS growth per connected proxy and its CPU time per change are read from /proc.

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"
#include "source/control_plane/cli/flags.h"
#include "source/control_plane/cli/http_client.h"
#include "tools/fleet_sim/fake_proxy.h"

namespace portico::fleet_sim {
namespace {

constexpr char kMarker[] = "sim-marker";

struct ProcSample {
  double rss_kb = 0;
  double cpu_seconds = 0;
};

ProcSample sample(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kb = std::atof(line.c_str() + 6);
  }
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  size_t close = all.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(all.substr(close + 2));
    std::string field;
    std::vector<std::string> f;
    while (rest >> field) f.push_back(field);
    // Fields 14 and 15 (utime, stime) are at 11 and 12 after the state (field 3).
    if (f.size() > 12) {
      s.cpu_seconds = (std::atof(f[11].c_str()) + std::atof(f[12].c_str())) / sysconf(_SC_CLK_TCK);
    }
  }
  return s;
}

std::string markerYaml(int round) {
  return absl::StrCat(
      "kind: RouteConfiguration\nspec:\n  name: ", kMarker,
      "\n  virtual_hosts:\n  - name: all\n    domains: [\"*\"]\n    routes:\n    - match: {prefix: "
      "/}\n      direct_response: {status: 200, body: \"round-",
      round, "\"}\n");
}

// Clusters sim-c-i and routes sim-r-i (each naming its cluster), plus the marker.
std::string setupYaml(int routes) {
  std::string out;
  for (int i = 0; i < routes; i++) {
    absl::StrAppend(&out, "kind: Cluster\nspec:\n  name: sim-c-", i,
                    "\n  load_assignment:\n    endpoints:\n    - address: {address: 10.0.", i / 250,
                    ".", i % 250 + 1, ", port: 8080}\n---\n");
    absl::StrAppend(&out, "kind: RouteConfiguration\nspec:\n  name: sim-r-", i,
                    "\n  virtual_hosts:\n  - name: v", i, "\n    domains: [\"svc", i,
                    ".example.com\"]\n    routes:\n    - match: {prefix: /api/}\n      route: "
                    "{cluster: sim-c-",
                    i, ", timeout: 5s}\n    - match: {prefix: /}\n      route: {cluster: sim-c-", i,
                    "}\n---\n");
  }
  return out + markerYaml(0);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p * (v.size() - 1) + 0.5));
  return v[i];
}

bool waitAll(const std::vector<std::unique_ptr<FakeProxy>>& proxies, int round,
             std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    bool all = true;
    for (const auto& p : proxies) {
      if (p->roundAckedAt(round) == Clock::time_point{}) {
        all = false;
        break;
      }
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return false;
}

constexpr char kHelp[] = R"(usage: fleet_sim --grpc HOST:PORT --http URL [flags]

  --nodes N          fake proxies, one gRPC connection each (default 100)
  --delta            use the delta protocol (default: state of the world)
  --rounds R         route changes to time (default 20)
  --routes K         clusters + route configurations written at setup (default 20)
  --token T          REST API bearer token
  --control-pid PID  read the server's RSS and CPU from /proc
)";

int run(const std::vector<std::string>& args) {
  control_plane::cli::FlagSpec spec{
      {"grpc", "http", "nodes", "rounds", "routes", "token", "control-pid"}, {"delta"}, {}};
  auto flags = control_plane::cli::parseFlags(args, spec);
  if (!flags.ok() || flags->on("help") || !flags->has("grpc") || !flags->has("http")) {
    std::cerr << (flags.ok() ? "" : std::string(flags.status().message()) + "\n") << kHelp;
    return flags.ok() && flags->on("help") ? 0 : 2;
  }
  int nodes = 100, rounds = 20, routes = 20, pid = 0;
  (void)absl::SimpleAtoi(flags->get("nodes", "100"), &nodes);
  (void)absl::SimpleAtoi(flags->get("rounds", "20"), &rounds);
  (void)absl::SimpleAtoi(flags->get("routes", "20"), &routes);
  (void)absl::SimpleAtoi(flags->get("control-pid", "0"), &pid);
  const bool delta = flags->on("delta");
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);  // as the server does
  const std::string http = flags->get("http"), token = flags->get("token");

  auto setup = control_plane::cli::httpRequest(http, "POST", "/v1/apply", token, setupYaml(routes));
  if (!setup.ok() || setup->status != 200) {
    std::cerr << "setup failed: " << (setup.ok() ? setup->body : setup.status().ToString()) << "\n";
    return 1;
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const ProcSample before = sample(pid);

  std::vector<std::unique_ptr<FakeProxy>> proxies;
  const auto connect_start = Clock::now();
  for (int i = 0; i < nodes; i++) {
    grpc::ChannelArguments ch_args;
    ch_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);  // one TCP connection per proxy
    auto channel =
        grpc::CreateCustomChannel(flags->get("grpc"), grpc::InsecureChannelCredentials(), ch_args);
    proxies.push_back(std::make_unique<FakeProxy>(channel, absl::StrCat("sim-", i),
                                                  i % 2 ? "edge" : "core", delta, kMarker));
    proxies.back()->start();
  }
  if (!waitAll(proxies, 0, std::chrono::seconds(60))) {
    std::cerr << "not every proxy received the initial configuration within 60 s\n";
    return 1;
  }
  const double connect_s = std::chrono::duration<double>(Clock::now() - connect_start).count();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const ProcSample connected = sample(pid);

  std::vector<double> latencies_ms;
  std::vector<double> round_max_ms;
  std::vector<double> put_ms;  // the API call alone: validate, write + fsync, publish
  uint64_t bytes_total = 0;
  double cpu_changes = 0;
  for (int r = 1; r <= rounds; r++) {
    uint64_t bytes_before = 0;
    for (const auto& p : proxies) bytes_before += p->bytesReceived();
    const ProcSample cpu0 = sample(pid);
    const auto t0 = Clock::now();
    auto put = control_plane::cli::httpRequest(
        http, "PUT", absl::StrCat("/v1/resources/RouteConfiguration/", kMarker), token,
        markerYaml(r));
    put_ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
    if (!put.ok() || put->status != 200) {
      std::cerr << "PUT failed: " << (put.ok() ? put->body : put.status().ToString()) << "\n";
      return 1;
    }
    if (!waitAll(proxies, r, std::chrono::seconds(10))) {
      std::cerr << "round " << r << ": not every proxy ACKed within 10 s\n";
      return 1;
    }
    double worst = 0;
    for (const auto& p : proxies) {
      double ms = std::chrono::duration<double, std::milli>(p->roundAckedAt(r) - t0).count();
      latencies_ms.push_back(ms);
      worst = std::max(worst, ms);
    }
    round_max_ms.push_back(worst);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    cpu_changes += sample(pid).cpu_seconds - cpu0.cpu_seconds;
    uint64_t bytes_after = 0;
    for (const auto& p : proxies) bytes_after += p->bytesReceived();
    bytes_total += bytes_after - bytes_before;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const ProcSample idle0 = sample(pid);
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const ProcSample idle1 = sample(pid);

  int failed = 0;
  for (const auto& p : proxies) failed += p->failed();
  std::cout << absl::StrFormat(
      "protocol=%s nodes=%d rounds=%d routes=%d\n"
      "connect+initial config: all %d nodes in %.2f s\n"
      "change -> ACK latency (ms, all nodes x rounds): p50=%.1f p99=%.1f max=%.1f; "
      "per-round last node p50=%.1f p99=%.1f\n"
      "REST PUT (validate, fsync, publish to every stream) p50=%.1f ms max=%.1f ms\n"
      "bytes per change: %.0f total, %.0f per node\n",
      delta ? "delta" : "sotw", nodes, rounds, routes, nodes, connect_s,
      percentile(latencies_ms, 0.5), percentile(latencies_ms, 0.99), percentile(latencies_ms, 1.0),
      percentile(round_max_ms, 0.5), percentile(round_max_ms, 0.99), percentile(put_ms, 0.5),
      percentile(put_ms, 1.0), static_cast<double>(bytes_total) / rounds,
      static_cast<double>(bytes_total) / rounds / nodes);
  if (pid > 0) {
    std::cout << absl::StrFormat(
        "control plane: RSS %.1f MB before, %.1f MB with %d nodes = %.1f KB per node\n"
        "control plane CPU: %.1f ms per change (%.3f ms per node), idle %.1f%% of a core\n",
        before.rss_kb / 1024, connected.rss_kb / 1024, nodes,
        (connected.rss_kb - before.rss_kb) / nodes, cpu_changes / rounds * 1000,
        cpu_changes / rounds * 1000 / nodes, (idle1.cpu_seconds - idle0.cpu_seconds) / 2 * 100);
  }
  if (failed > 0) std::cout << failed << " stream(s) ended early\n";
  proxies.clear();
  return failed > 0 ? 1 : 0;
}

}  // namespace
}  // namespace portico::fleet_sim

int main(int argc, char** argv) {
  return portico::fleet_sim::run(std::vector<std::string>(argv + 1, argv + argc));
}
