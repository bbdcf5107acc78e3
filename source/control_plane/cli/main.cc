// portico-control: the control plane. `serve` runs it; the other commands are its client.

#include <iostream>
#include <string>
#include <vector>

#include "source/control_plane/cli/commands.h"

namespace {

constexpr char kHelp[] = R"(usage: portico-control COMMAND [flags]

Holds the desired configuration of a fleet of portico proxies (a directory of YAML resources),
validates it with the data plane's own checks and serves it over gRPC (state of the world and
delta discovery), reporting which proxy ACKed or NACKed what.

Commands:
  serve      run the control plane: gRPC discovery server + REST API + directory watcher
  apply      create or update the resources in a file (validated by the server first)
  get        list resources, or print one
  delete     delete a resource
  diff       show what `apply` would change
  validate   check a file offline
  status     connected proxies and the versions they run

`portico-control COMMAND --help` for a command's flags. Exit codes: 0 ok; 1 rejected, invalid
or different; 2 usage; 3 server unreachable.
)";

}  // namespace

int main(int argc, char** argv) {
  using namespace portico::control_plane::cli;
  if (argc < 2) {
    std::cerr << kHelp;
    return kExitUsage;
  }
  const std::string command = argv[1];
  std::vector<std::string> args(argv + 2, argv + argc);
  if (command == "--help" || command == "-h" || command == "help") {
    std::cout << kHelp;
    return kExitOk;
  }
  if (command == "serve") return serveCommand(args);
  if (command == "apply") return applyCommand(args);
  if (command == "get") return getCommand(args);
  if (command == "delete") return deleteCommand(args);
  if (command == "diff") return diffCommand(args);
  if (command == "validate") return validateCommand(args);
  if (command == "status") return statusCommand(args);
  std::cerr << "unknown command '" << command << "'\n\n" << kHelp;
  return kExitUsage;
}
