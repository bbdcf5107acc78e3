// The client commands that talk to a running server: apply, get, delete, status.

#include <iostream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "source/common/http/local_server.h"
#include "source/control_plane/cli/client_common.h"
#include "source/control_plane/cli/commands.h"
#include "source/control_plane/store/resource.h"
#include "source/control_plane/store/resource_parser.h"

namespace portico::control_plane::cli {
namespace {

using google::protobuf::Struct;
using google::protobuf::Value;

constexpr char kClientFlagsHelp[] = R"(
  --server URL       REST API of portico-control serve (default http://127.0.0.1:18001)
  --api-token T      bearer token (default: $PORTICO_CONTROL_TOKEN)
)";

int usage(absl::string_view command, absl::string_view help, absl::string_view problem) {
  std::cerr << command << ": " << problem << "\n\n" << help << kClientFlagsHelp;
  return kExitUsage;
}

bool parseJson(const std::string& body, Struct& out) {
  return google::protobuf::util::JsonStringToMessage(body, &out).ok();
}

std::string str(const Struct& s, const std::string& key) {
  auto it = s.fields().find(key);
  return it == s.fields().end() ? "" : it->second.string_value();
}

// Field `key` of a server answer, or an empty value when the answer lacks it (an unexpected
// answer prints less; it must not abort the CLI).
const Value& field(const Struct& s, const std::string& key) {
  static const Value kEmpty;
  auto it = s.fields().find(key);
  return it == s.fields().end() ? kEmpty : it->second;
}

std::string pretty(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions o;
  o.add_whitespace = true;
  o.preserve_proto_field_names = true;
  std::string out;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

}  // namespace

int applyCommand(const Args& args) {
  constexpr char kHelp[] = R"(usage: portico-control apply -f FILE [--dry-run]

Creates or updates every resource in FILE (YAML documents {kind, targets, spec}, "-" = stdin),
all or nothing: the server validates the whole result first and answers with the field path of
the first problem. Exit 0 applied, 1 rejected, 2 usage, 3 server unreachable.

  -f, --file FILE    resources to apply
  --dry-run          validate on the server, change nothing)";
  FlagSpec spec = clientFlagSpec(true);
  spec.switches.insert("dry-run");
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) return usage("apply", kHelp, flags.status().message());
  if (flags->on("help")) {
    std::cout << kHelp << kClientFlagsHelp;
    return kExitOk;
  }
  if (!flags->has("file")) return usage("apply", kHelp, "-f FILE is required");
  auto text = readInput(flags->get("file"));
  if (!text.ok()) {
    std::cerr << "apply: " << text.status().message() << "\n";
    return kExitFailed;
  }
  ClientResponse r;
  const std::string path = flags->on("dry-run") ? "/v1/apply?dry_run=true" : "/v1/apply";
  if (int rc = call(*flags, "POST", path, *text, r); rc != kExitOk) return rc;
  Struct body;
  if (!parseJson(r.body, body)) {
    std::cout << r.body;
    return kExitOk;
  }
  for (const Value& v : field(body, "results").list_value().values()) {
    std::cout << str(v.struct_value(), "resource") << " " << str(v.struct_value(), "result")
              << (flags->on("dry-run") ? " (dry run)" : "") << "\n";
  }
  if (!flags->on("dry-run")) std::cout << "snapshot " << str(body, "snapshot_version") << "\n";
  return kExitOk;
}

int getCommand(const Args& args) {
  constexpr char kHelp[] = R"(usage: portico-control get KIND [NAME] [-o json]

Lists the resources of KIND (Cluster, ClusterLoadAssignment, Listener, RouteConfiguration;
"all" for every kind), or prints one resource as JSON.

  -o, --output json  print the API's JSON as is)";
  FlagSpec spec = clientFlagSpec(false);
  spec.with_value.insert("output");
  spec.aliases["o"] = "output";
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) return usage("get", kHelp, flags.status().message());
  if (flags->on("help")) {
    std::cout << kHelp << kClientFlagsHelp;
    return kExitOk;
  }
  const auto& pos = flags->positional;
  if (pos.empty() || pos.size() > 2 || (pos[0] == "all" && pos.size() == 2)) {
    return usage("get", kHelp, "KIND [NAME] or all expected");
  }
  std::string path = "/v1/resources";
  if (pos[0] != "all") {
    auto kind = parseKind(pos[0]);
    if (!kind.ok()) return usage("get", kHelp, kind.status().message());
    absl::StrAppend(&path, "/", kindName(*kind));
    if (pos.size() == 2) absl::StrAppend(&path, "/", http::percentEncodePathSegment(pos[1]));
  }
  ClientResponse r;
  if (int rc = call(*flags, "GET", path, "", r); rc != kExitOk) return rc;
  Struct body;
  if (flags->get("output") == "json" || !parseJson(r.body, body)) {
    std::cout << r.body;
    return kExitOk;
  }
  if (pos.size() == 2) {
    auto r2 = resourceFromServer(r.body, *parseKind(pos[0]));
    if (!r2.ok()) {
      std::cout << pretty(body);
      return kExitOk;
    }
    std::cout << "# " << kindName((*r2)->kind) << "/" << (*r2)->name << " version "
              << str(body, "version") << " from " << str(body, "origin") << "\n"
              << resourceToJson(**r2, true) << "\n";
    return kExitOk;
  }
  std::cout << absl::StrFormat("%-22s %-28s %-17s %-24s %s\n", "KIND", "NAME", "VERSION", "TARGETS",
                               "ORIGIN");
  for (const Value& v : field(body, "resources").list_value().values()) {
    const Struct& s = v.struct_value();
    std::string targets;
    auto t = s.fields().find("targets");
    if (t != s.fields().end()) {
      for (const auto& [k, tv] : t->second.struct_value().fields()) {
        if (tv.has_string_value())
          absl::StrAppend(&targets, targets.empty() ? "" : ",", k, "=", tv.string_value());
        for (const auto& [lk, lv] : tv.struct_value().fields()) {
          absl::StrAppend(&targets, targets.empty() ? "" : ",", lk, "=", lv.string_value());
        }
      }
    }
    std::cout << absl::StrFormat("%-22s %-28s %-17s %-24s %s\n", str(s, "kind"), str(s, "name"),
                                 str(s, "version"), targets.empty() ? "*" : targets,
                                 str(s, "origin"));
  }
  return kExitOk;
}

int deleteCommand(const Args& args) {
  constexpr char kHelp[] = R"(usage: portico-control delete KIND NAME

Deletes one resource. Refused (exit 1) while another resource still names it, e.g. a cluster
that a route sends to: change the route first.)";
  auto flags = parseFlags(args, clientFlagSpec(false));
  if (!flags.ok()) return usage("delete", kHelp, flags.status().message());
  if (flags->on("help")) {
    std::cout << kHelp << kClientFlagsHelp;
    return kExitOk;
  }
  if (flags->positional.size() != 2) return usage("delete", kHelp, "KIND NAME expected");
  auto kind = parseKind(flags->positional[0]);
  if (!kind.ok()) return usage("delete", kHelp, kind.status().message());
  ClientResponse r;
  const std::string path = absl::StrCat("/v1/resources/", kindName(*kind), "/",
                                        http::percentEncodePathSegment(flags->positional[1]));
  if (int rc = call(*flags, "DELETE", path, "", r); rc != kExitOk) return rc;
  Struct body;
  parseJson(r.body, body);
  std::cout << "deleted " << kindName(*kind) << "/" << flags->positional[1] << ", snapshot "
            << str(body, "snapshot_version") << "\n";
  return kExitOk;
}

int statusCommand(const Args& args) {
  constexpr char kHelp[] = R"(usage: portico-control status [-o json]

Connected proxies: per node and resource type, the version it ACKed, whether a push is
pending, and its last NACK (error and time).)";
  FlagSpec spec = clientFlagSpec(false);
  spec.with_value.insert("output");
  spec.aliases["o"] = "output";
  auto flags = parseFlags(args, spec);
  if (!flags.ok()) return usage("status", kHelp, flags.status().message());
  if (flags->on("help")) {
    std::cout << kHelp << kClientFlagsHelp;
    return kExitOk;
  }
  ClientResponse r;
  if (int rc = call(*flags, "GET", "/v1/fleet", "", r); rc != kExitOk) return rc;
  Struct body;
  if (flags->get("output") == "json" || !parseJson(r.body, body)) {
    std::cout << r.body;
    return kExitOk;
  }
  const auto& nodes = field(body, "nodes").list_value().values();
  std::cout << "snapshot " << str(body, "snapshot_version") << ", " << nodes.size()
            << " node(s) connected\n";
  if (nodes.empty()) return kExitOk;
  std::cout << absl::StrFormat("%-24s %-12s %-6s %-22s %-17s %s\n", "NODE", "CLUSTER", "PROTO",
                               "TYPE", "ACKED", "STATE");
  for (const Value& n : nodes) {
    const Struct& s = n.struct_value();
    bool first = true;
    const auto& types = field(s, "types").struct_value().fields();
    for (Kind kind : kAllKinds) {
      const std::string type(kindName(kind));
      if (!types.contains(type)) continue;
      const Struct& t = types.at(type).struct_value();
      auto flag = [&](const char* name) {
        auto it = t.fields().find(name);
        return it != t.fields().end() && it->second.bool_value();
      };
      std::string state = flag("pending") ? "pending" : flag("refused") ? "refused" : "ok";
      if (t.fields().contains("last_nack_error")) {
        state = absl::StrCat(state, "; last NACK ", str(t, "last_nack_at"), ": ",
                             str(t, "last_nack_error"));
      }
      std::cout << absl::StrFormat("%-24s %-12s %-6s %-22s %-17s %s\n", first ? str(s, "id") : "",
                                   first ? str(s, "cluster") : "", first ? str(s, "protocol") : "",
                                   type, str(t, "acked_version"), state);
      first = false;
    }
  }
  return kExitOk;
}

}  // namespace portico::control_plane::cli
