// Commands that read resource files: validate (offline) and diff (against the server).

#include <iostream>

#include "absl/strings/str_cat.h"
#include "source/common/http/local_server.h"
#include "source/control_plane/cli/client_common.h"
#include "source/control_plane/cli/commands.h"
#include "source/control_plane/cli/line_diff.h"
#include "source/control_plane/store/directory_store.h"
#include "source/control_plane/store/resource_parser.h"
#include "source/control_plane/store/validator.h"

namespace portico::control_plane::cli {

int validateCommand(const Args& args) {
  constexpr char kHelp[] = R"(usage: portico-control validate -f FILE [--dir DIR]

Validates FILE offline, with the data plane's own checks (schema, route tables, clusters,
references, duplicates, targets). With --dir, FILE is checked on top of the resources in DIR
(as `apply` would be). Prints every problem with its field path.
Exit 0 valid, 1 invalid, 2 usage.

  -f, --file FILE    resources to check ("-" = stdin)
  --dir DIR          a store directory to check against
)";
  FlagSpec spec{{"file", "dir"}, {}, {{"f", "file"}}};
  auto flags = parseFlags(args, spec);
  if (!flags.ok() || (!flags->on("help") && !flags->has("file"))) {
    std::cerr << "validate: " << (flags.ok() ? "-f FILE is required" : flags.status().message())
              << "\n\n"
              << kHelp;
    return kExitUsage;
  }
  if (flags->on("help")) {
    std::cout << kHelp;
    return kExitOk;
  }
  const std::string file = flags->get("file");
  auto text = readInput(file);
  if (!text.ok()) {
    std::cerr << "validate: " << text.status().message() << "\n";
    return kExitFailed;
  }
  auto parsed = parseResources(*text, file == "-" ? "stdin" : file);
  if (!parsed.ok()) {
    std::cerr << parsed.status().message() << "\n";
    return kExitFailed;
  }
  auto own = buildResourceMap(*parsed);
  if (!own.ok()) {
    std::cerr << own.status().message() << "\n";
    return kExitFailed;
  }
  ResourceMap all;
  if (flags->has("dir")) {
    DirectoryStore store(flags->get("dir"));
    auto base = store.load();
    if (!base.ok()) {
      std::cerr << "validate: --dir: " << base.status().message() << "\n";
      return kExitFailed;
    }
    all = std::move(*base);
  }
  for (const auto& [key, r] : *own) all[key] = r;
  std::vector<ValidationError> errors = validateResources(all);
  if (!errors.empty()) {
    for (const auto& e : errors) std::cerr << e.toString() << "\n";
    std::cerr << errors.size() << " error(s)\n";
    return kExitFailed;
  }
  std::cout << file << ": " << own->size() << " resource(s) valid\n";
  return kExitOk;
}

int diffCommand(const Args& args) {
  constexpr char kHelp[] = R"(usage: portico-control diff -f FILE

Shows what `apply -f FILE` would change on the server, resource by resource, as a line diff
of the canonical JSON. Exit 0 no differences, 1 differences, 2 usage or invalid FILE,
3 server unreachable.

  -f, --file FILE    resources to compare ("-" = stdin))";
  auto flags = parseFlags(args, clientFlagSpec(true));
  if (!flags.ok() || (!flags->on("help") && !flags->has("file"))) {
    std::cerr << "diff: " << (flags.ok() ? "-f FILE is required" : flags.status().message())
              << "\n\n"
              << kHelp << "\n";
    return kExitUsage;
  }
  if (flags->on("help")) {
    std::cout << kHelp << "\n";
    return kExitOk;
  }
  auto text = readInput(flags->get("file"));
  if (!text.ok()) {
    std::cerr << "diff: " << text.status().message() << "\n";
    return kExitUsage;
  }
  auto parsed = parseResources(*text, flags->get("file"));
  if (!parsed.ok()) {
    std::cerr << parsed.status().message() << "\n";
    return kExitUsage;
  }
  bool differs = false;
  for (const auto& local : *parsed) {
    const std::string id = absl::StrCat(kindName(local->kind), "/", local->name);
    auto r = httpRequest(flags->get("server", kDefaultServer), "GET",
                         absl::StrCat("/v1/resources/", kindName(local->kind), "/",
                                      http::percentEncodePathSegment(local->name)),
                         tokenFrom(*flags));
    if (!r.ok()) {
      std::cerr << "error: " << r.status().message() << "\n";
      return kExitUnreachable;
    }
    if (r->status == 404) {
      differs = true;
      std::cout << "+++ " << id << " (new)\n" << lineDiff("", resourceToJson(*local, true));
      continue;
    }
    if (r->status != 200) {
      std::cerr << "error: GET " << id << ": HTTP " << r->status << ": " << r->body;
      return r->status == 401 ? kExitFailed : kExitUnreachable;
    }
    auto remote = resourceFromServer(r->body, local->kind);
    if (!remote.ok()) {
      std::cerr << "error: " << id << ": " << remote.status().message() << "\n";
      return kExitUnreachable;
    }
    if ((*remote)->version == local->version) continue;
    differs = true;
    std::cout << "--- " << id << " (server)\n+++ " << id << " (" << local->origin << ")\n"
              << lineDiff(resourceToJson(**remote, true), resourceToJson(*local, true));
  }
  if (!differs) std::cout << "no differences\n";
  return differs ? kExitFailed : kExitOk;
}

}  // namespace portico::control_plane::cli
