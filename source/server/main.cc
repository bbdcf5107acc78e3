// portico: the data plane. See README.md and `portico --help`.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

#include "absl/debugging/failure_signal_handler.h"
#include "absl/debugging/symbolize.h"
#include "absl/strings/numbers.h"
#include "source/common/access_log/access_log.h"
#include "source/common/common/logger.h"
#include "source/common/common/version.h"
#include "source/common/config/bootstrap_loader.h"
#include "source/server/default_config.h"
#include "source/server/server.h"

namespace {

constexpr char kUsage[] =
    "usage: portico [--config FILE] [--concurrency N] [--log-level LEVEL]\n"
    "       portico --validate FILE\n"
    "       portico --print-default-config | --help | --version\n"
    "\n"
    "  --config FILE      bootstrap YAML (see docs/configuration.md); without it an\n"
    "                     embedded demo config is used (listener 127.0.0.1:10000 ->\n"
    "                     127.0.0.1:8080, admin 127.0.0.1:9901)\n"
    "  --concurrency N    worker threads (default: number of CPUs)\n"
    "  --log-level LEVEL  trace|debug|info|warning|error|off (default info)\n"
    "  --validate FILE    check a config and exit: 0 valid, 1 invalid (the error names the "
    "field)\n"
    "\n"
    "signals: SIGTERM/SIGINT drain and exit; SIGUSR1 reopens access logs (log rotation)\n";

int validate(const std::string& path) {
  auto bootstrap = portico::config::loadBootstrapFile(path);
  if (!bootstrap.ok()) {
    fprintf(stderr, "invalid: %s\n", std::string(bootstrap.status().message()).c_str());
    return 1;
  }
  portico::stats::Store store;
  // Checks access-log paths without creating the files.
  absl::StatusOr<portico::server::ConfigSnapshotConstSharedPtr> snapshot =
      portico::server::buildConfigSnapshot(*bootstrap, store, nullptr, /*open_files=*/false);
  if (snapshot.ok()) {
    if (absl::Status files = portico::server::checkBootstrapFiles(*bootstrap); !files.ok()) {
      snapshot = files;
    }
  }
  if (!snapshot.ok()) {
    fprintf(stderr, "invalid: %s: %s\n", path.c_str(),
            std::string(snapshot.status().message()).c_str());
    return 1;
  }
  printf("%s: configuration is valid\n", path.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // A crash prints its stack to stderr (then dies with the same signal).
  absl::InitializeSymbolizer(argv[0]);
  absl::InstallFailureSignalHandler(absl::FailureSignalHandlerOptions());
  std::string config_path;
  uint32_t concurrency = std::max(1u, std::thread::hardware_concurrency());
  for (int i = 1; i < argc; i++) {
    std::string arg = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) {
        fprintf(stderr, "%s needs a value\n%s", name, kUsage);
        exit(1);
      }
      return argv[++i];
    };
    if (arg == "--help" || arg == "-h") {
      fputs(kUsage, stdout);
      return 0;
    } else if (arg == "--print-default-config") {
      fputs(portico::server::kDefaultBootstrapYaml, stdout);
      return 0;
    } else if (arg == "--version") {
      printf("portico %s\n", portico::kVersion);
      return 0;
    } else if (arg == "--validate") {
      return validate(value("--validate"));
    } else if (arg == "--config" || arg == "-c") {
      config_path = value("--config");
    } else if (arg == "--concurrency") {
      std::string v = value("--concurrency");
      if (!absl::SimpleAtoi(v, &concurrency) || concurrency == 0 || concurrency > 256) {
        fprintf(stderr, "--concurrency: '%s' is not a number in 1..256\n", v.c_str());
        return 1;
      }
    } else if (arg == "--log-level" || arg == "-l") {
      std::string v = value("--log-level");
      portico::logger::Level level;
      if (!portico::logger::parseLevel(v, &level)) {
        fprintf(stderr, "--log-level: unknown level '%s'\n", v.c_str());
        return 1;
      }
      portico::logger::setLevel(level);
    } else {
      fprintf(stderr, "unknown argument '%s'\n%s", arg.c_str(), kUsage);
      return 1;
    }
  }
  // A peer closing mid-write must surface as EPIPE on that socket, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  // Every connection is a descriptor, both ways: the usual soft limit of 1024 would cap a
  // proxy at a few hundred clients (and let admin connections starve the workers). Up to the
  // hard limit, as HAProxy and Go programs do; only root could go further.
  if (rlimit files; getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < files.rlim_max) {
    const rlim_t was = files.rlim_cur;
    files.rlim_cur = files.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &files) == 0) {
      PORTICO_LOG(kDebug, "open files limit raised from %llu to %llu",
                  static_cast<unsigned long long>(was),
                  static_cast<unsigned long long>(files.rlim_cur));
    }
  }

  auto bootstrap = config_path.empty()
                       ? portico::config::parseBootstrapYaml(portico::server::kDefaultBootstrapYaml)
                       : portico::config::loadBootstrapFile(config_path);
  if (!bootstrap.ok()) {
    fprintf(stderr, "portico: %s\n", std::string(bootstrap.status().message()).c_str());
    return 1;
  }
  int exit_code = 0;
  {
    portico::server::Server server(*bootstrap, {concurrency});
    absl::Status status = server.initialize();
    if (!status.ok()) {
      fprintf(stderr, "portico: %s\n", std::string(status.message()).c_str());
      return 1;
    }
    PORTICO_LOG(kInfo, "portico %s started%s", portico::kVersion,
                config_path.empty() ? " with the embedded demo config" : "");
    exit_code = server.run();
  }
  // Access-log writers dropped on the way out finish writing their lines here, within a bound:
  // a writer blocked on a stdout nobody reads must not keep the process from exiting.
  if (size_t blocked = portico::access_log::AccessLogWriter::joinRetired(); blocked > 0) {
    PORTICO_LOG(kError,
                "access log: %zu writer(s) still blocked after 5 s (a stalled reader or disk); "
                "their queued lines are lost",
                blocked);
    _exit(exit_code);  // exit() would flush stdio behind the blocked stream
  }
  return exit_code;
}
