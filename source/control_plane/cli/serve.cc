// `portico-control serve`: the gRPC discovery server, the REST API and the directory watcher.

#include <grpcpp/grpcpp.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "source/common/common/read_file.h"
#include "source/common/event/dispatcher.h"
#include "source/common/http/local_server.h"
#include "source/common/network/address.h"
#include "source/control_plane/api/rest_api.h"
#include "source/control_plane/cli/commands.h"
#include "source/control_plane/cli/flags.h"
#include "source/control_plane/controller.h"
#include "source/control_plane/server/ads_service.h"
#include "source/control_plane/store/directory_watcher.h"

namespace portico::control_plane::cli {
namespace {

constexpr char kServeHelp[] = R"(usage: portico-control serve --dir DIR [flags]

Serves the resources in DIR to proxies over gRPC (AggregatedDiscoveryService, state of the
world and delta) and runs the REST API. DIR is watched: edits are validated and pushed.

  --dir DIR          resource directory (YAML/JSON documents {kind, targets, spec})
  --grpc ADDR        gRPC listen address (default 127.0.0.1:18000; port 0 = any)
  --http ADDR        REST API listen address (default 127.0.0.1:18001; port 0 = any)
  --api-token T      bearer token for the REST API (default: $PORTICO_CONTROL_TOKEN; empty =
                     no authentication, refused unless --http is a loopback address)
  --debounce-ms N    wait this long after the last file change before reloading (default 200)
  --tls-cert FILE    serve gRPC over TLS with this PEM certificate (chain) ...
  --tls-key FILE     ... and this PEM private key (proxies: dynamic_resources.tls)
  --max-streams N    discovery streams open at once, over all connections (default 10000);
                     more are refused with RESOURCE_EXHAUSTED. 100 per connection.

Prints "grpc listening on HOST:PORT" and "http listening on HOST:PORT" once ready.
SIGTERM/SIGINT stop it.
)";

absl::StatusOr<network::Address> parseHostPort(const std::string& text, const char* flag) {
  size_t colon = text.rfind(':');
  uint32_t port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(text.substr(colon + 1), &port) ||
      port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", flag, " must be HOST:PORT, not '", text, "'"));
  }
  std::string host = text.substr(0, colon);
  if (host.size() > 2 && host[0] == '[') host = host.substr(1, host.size() - 2);
  auto addr = network::Address::parse(host, port);
  if (!addr.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("--", flag, ": ", addr.status().message()));
  }
  return *addr;
}

absl::StatusOr<std::string> readFile(const std::string& path) {
  return readFileBounded(path, 1024 * 1024);  // a PEM certificate chain or key
}

}  // namespace

int serveCommand(const Args& args) {
  FlagSpec spec{
      {"dir", "grpc", "http", "api-token", "debounce-ms", "tls-cert", "tls-key", "max-streams"},
      {},
      {}};
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) {
    std::cerr << "serve: " << flags.status().message() << "\n\n" << kServeHelp;
    return kExitUsage;
  }
  if (flags->on("help")) {
    std::cout << kServeHelp;
    return kExitOk;
  }
  if (!flags->has("dir") || !flags->positional.empty()) {
    std::cerr << "serve: --dir is required\n\n" << kServeHelp;
    return kExitUsage;
  }
  const char* env_token = getenv("PORTICO_CONTROL_TOKEN");
  const std::string token = flags->get("api-token", env_token ? env_token : "");
  auto http_addr = parseHostPort(flags->get("http", "127.0.0.1:18001"), "http");
  int debounce_ms = 200;
  if (!http_addr.ok() ||
      (flags->has("debounce-ms") && !absl::SimpleAtoi(flags->get("debounce-ms"), &debounce_ms))) {
    std::cerr << "serve: "
              << (http_addr.ok() ? "--debounce-ms must be a number"
                                 : std::string(http_addr.status().message()))
              << "\n";
    return kExitUsage;
  }
  size_t max_streams = AdsService::kDefaultMaxStreams;
  if (flags->has("max-streams") &&
      (!absl::SimpleAtoi(flags->get("max-streams"), &max_streams) || max_streams == 0)) {
    std::cerr << "serve: --max-streams must be a positive number\n";
    return kExitUsage;
  }
  const std::string http_host = http_addr->asString();
  const bool loopback = http_host.rfind("127.", 0) == 0 || http_host.rfind("[::1]", 0) == 0;
  if (token.empty() && !loopback) {
    std::cerr << "serve: --api-token (or PORTICO_CONTROL_TOKEN) is required when --http is not "
                 "a loopback address\n";
    return kExitUsage;
  }

  // SIGTERM and SIGINT are read through a signalfd by the main loop. They are blocked before
  // gRPC starts a thread: a thread inherits the mask it is created with, and the kernel hands a
  // process signal to any thread that does not block it, whose default action ends the process
  // without the graceful shutdown below.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // gRPC takes absl::Mutex on every call; Debian's Abseil checks lock-order graphs on each,
  // which cost ~3% CPU at 1000 streams. Lock order is gRPC's business here, not ours.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  DirectoryStore store(flags->get("dir"));
  // A write cut short by a crash is finished first (its journal), so the first load sees it
  // whole.
  if (absl::Status st = store.recover(); !st.ok()) {
    std::cerr << "serve: --dir: " << st.message() << "\n";
    return kExitFailed;
  }
  SnapshotCacheImpl cache;
  Controller controller(store, cache);
  if (absl::Status st = controller.reload(); !st.ok()) {
    std::cerr << "serve: " << st.message() << "\n";
    return kExitFailed;
  }
  FleetRegistry fleet;
  AdsService ads(cache, fleet, max_streams);
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (flags->has("tls-cert") || flags->has("tls-key")) {
    auto cert = readFile(flags->get("tls-cert"));
    auto key = readFile(flags->get("tls-key"));
    if (!cert.ok() || !key.ok()) {
      std::cerr << "serve: --tls-cert and --tls-key must both name readable PEM files: "
                << (cert.ok() ? key.status().message() : cert.status().message()) << "\n";
      return kExitUsage;
    }
    grpc::SslServerCredentialsOptions options;
    options.pem_key_cert_pairs.push_back({*key, *cert});
    credentials = grpc::SslServerCredentials(options);
  }
  grpc::ServerBuilder builder;
  int grpc_port = 0;
  builder.AddListeningPort(flags->get("grpc", "127.0.0.1:18000"), credentials, &grpc_port);
  builder.RegisterService(&ads);
  // A delta reconnect names every resource it holds (initial_resource_versions): past gRPC's
  // default 4 MiB that is refused, and the proxy would retry the same request forever. The
  // proxy's own limit for what it receives is 64 MiB; the same here.
  builder.SetMaxReceiveMessageSize(64 * 1024 * 1024);
  builder.SetMaxSendMessageSize(64 * 1024 * 1024);
  // Dead proxies are noticed within a minute; a proxy may ping every 10 s without data.
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  // gRPC sets SO_REUSEPORT by default: a second control plane on the same port would start
  // and share the proxies' connections with the first.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // A proxy opens one stream (ADS); a connection past 100 streams is not a proxy. gRPC's
  // default is unlimited.
  builder.AddChannelArgument(GRPC_ARG_MAX_CONCURRENT_STREAMS, 100);
  std::unique_ptr<grpc::Server> grpc_server = builder.BuildAndStart();
  if (grpc_server == nullptr || grpc_port == 0) {
    std::cerr << "serve: cannot listen on --grpc " << flags->get("grpc", "127.0.0.1:18000") << "\n";
    return kExitFailed;
  }
  // Every return from here ends open discovery streams within a bound: the server's destructor
  // would wait for them without one.
  auto shutdown_grpc = absl::MakeCleanup([&grpc_server] {
    grpc_server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  });

  event::DispatcherPtr dispatcher = event::createDispatcher();
  RestApi api(controller, fleet, token);
  http::LocalServer http(*dispatcher,
                         [&api](const http::LocalRequest& r) { return api.handle(r); });
  if (absl::Status st = http.start(*http_addr); !st.ok()) {
    std::cerr << "serve: --http: " << st.message() << "\n";
    return kExitFailed;
  }
  auto watcher =
      DirectoryWatcher::create(*dispatcher, store.dir(), std::chrono::milliseconds(debounce_ms),
                               DirectoryStore::isResourceFile, [&controller] {
                                 absl::Status st = controller.reload();
                                 if (!st.ok()) {
                                   std::cerr << "reload rejected, still serving the "
                                                "previous snapshot:\n"
                                             << st.message() << "\n";
                                 }
                               });
  if (!watcher.ok()) {
    std::cerr << "serve: " << watcher.status().message() << "\n";
    return kExitFailed;
  }

  int sfd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
  event::Dispatcher* d = dispatcher.get();
  event::FileEventPtr signals = dispatcher->createFileEvent(sfd, [d, sfd](uint32_t) {
    signalfd_siginfo info;
    while (read(sfd, &info, sizeof(info)) == sizeof(info)) {
    }
    d->exit();
  });

  std::string grpc_host = flags->get("grpc", "127.0.0.1:18000");
  grpc_host = grpc_host.substr(0, grpc_host.rfind(':'));
  std::cerr << "grpc listening on " << grpc_host << ":" << grpc_port << "\n"
            << "http listening on " << http_addr->asString().substr(0, http_host.rfind(':')) << ":"
            << http.port() << "\n"
            << "serving " << controller.resources().size() << " resources from " << store.dir()
            << ", snapshot " << controller.current()->version() << "\n"
            << std::flush;
  dispatcher->run();

  std::cerr << "shutting down\n";
  std::move(shutdown_grpc).Invoke();
  signals.reset();
  close(sfd);
  return kExitOk;
}

}  // namespace portico::control_plane::cli
