// libFuzzer target: the control plane's per-stream protocol state (StreamState), driven by a
// proxy that subscribes, unsubscribes, resumes, ACKs, NACKs and replays nonces in any order
// while the desired state changes under it. Any connected proxy can send these requests.
//
// Invariants: one response per type in flight; every nonce is new; a reply echoing the nonce in
// flight is an ACK or NACK, any other nonce is stale; and make-before-break: with every type
// subscribed by wildcard, a RouteConfiguration is never pushed before the clusters it names are
// ACKed, nor a Listener before its RouteConfiguration.
//
// Input: [mode byte: bit 0 delta] then [operation byte][argument byte] pairs.

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "portico/config/v1/listener.pb.h"
#include "portico/config/v1/route.pb.h"
#include "source/control_plane/cache/snapshot.h"
#include "source/control_plane/server/stream_state.h"
#include "source/control_plane/store/resource_parser.h"
#include "source/control_plane/store/validator.h"
#include "test/fuzz/fuzz_check.h"

namespace {

using namespace portico::control_plane;  // NOLINT: a fuzz target's own file
using portico::fuzz::check;

constexpr const char* kStates[] = {
    // clusters a, b (endpoints for a), route r1 -> a, listener l1 -> r1
    R"(kind: Cluster
spec: {name: a, load_assignment: {endpoints: [{address: {address: 127.0.0.1, port: 8001}}]}}
---
kind: Cluster
spec: {name: b}
---
kind: ClusterLoadAssignment
spec: {cluster_name: b, endpoints: [{address: {address: 127.0.0.1, port: 8002}}]}
---
kind: RouteConfiguration
spec: {name: r1, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: a}}]}]}
---
kind: Listener
spec: {name: l1, address: {address: 127.0.0.1, port: 10001}, http: {route_config_name: r1}}
)",
    // r1 moves to b, r2 -> c (weighted with b), l2 -> r2; a is gone
    R"(kind: Cluster
spec: {name: b}
---
kind: Cluster
spec: {name: c, load_assignment: {endpoints: [{address: {address: 127.0.0.1, port: 8003}}]}}
---
kind: ClusterLoadAssignment
spec: {cluster_name: b, endpoints: [{address: {address: 127.0.0.1, port: 8002}}]}
---
kind: RouteConfiguration
spec: {name: r1, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: b}}]}]}
---
kind: RouteConfiguration
spec: {name: r2, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {weighted_clusters: {clusters: [{name: b, weight: 1}, {name: c, weight: 1}]}}}]}]}
---
kind: Listener
spec: {name: l1, address: {address: 127.0.0.1, port: 10001}, http: {route_config_name: r1}}
---
kind: Listener
spec: {name: l2, address: {address: 127.0.0.1, port: 10002}, http: {route_config_name: r2}}
)",
    // nothing
    "",
    // cluster a alone, route r1 -> a, no listener
    R"(kind: Cluster
spec: {name: a, load_assignment: {endpoints: [{address: {address: 127.0.0.1, port: 8001}}]}}
---
kind: RouteConfiguration
spec: {name: r1, virtual_hosts: [{name: v, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: a}}]}]}
)",
};
constexpr const char* kNames[] = {"a", "b", "c", "r1", "r2", "l1", "l2", "*", "zz"};

std::vector<NodeViewConstSharedPtr> buildViews() {
  std::vector<NodeViewConstSharedPtr> views;
  portico::config::v1::Node node;
  node.set_id("fuzz");
  for (const char* yaml : kStates) {
    auto parsed = parseResources(yaml, "state.yaml");
    check(parsed.ok(), "state parses");
    auto map = buildResourceMap(*parsed);
    check(map.ok() && validateResources(*map).empty(), "state is valid");
    auto snapshot = Snapshot::create(*map);
    check(snapshot.ok(), "snapshot");
    views.push_back((*snapshot)->viewFor(node));
  }
  return views;
}

// The clusters a route configuration names / the route configuration a listener names.
std::set<std::string> dependencies(Kind kind, const CachedResource& r) {
  std::set<std::string> out;
  if (kind == Kind::kRouteConfiguration) {
    portico::config::v1::RouteConfiguration rc;
    check(r.any.UnpackTo(&rc), "route unpacks");
    for (const auto& vh : rc.virtual_hosts()) {
      for (const auto& route : vh.routes()) {
        if (!route.has_route()) continue;
        if (!route.route().cluster().empty()) out.insert(route.route().cluster());
        for (const auto& w : route.route().weighted_clusters().clusters()) out.insert(w.name());
      }
    }
  } else if (kind == Kind::kListener) {
    portico::config::v1::Listener l;
    check(r.any.UnpackTo(&l), "listener unpacks");
    if (!l.http().route_config_name().empty()) out.insert(l.http().route_config_name());
  }
  return out;
}

bool allWildcard(const StreamState& s) {
  for (Kind k : kAllKinds) {
    if (!s.type(k).subscribed || !s.type(k).wildcard) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::vector<NodeViewConstSharedPtr> views = buildViews();
  if (size < 1 || size > 4096) return 0;
  const bool delta = (data[0] & 1) != 0;
  StreamState state(delta);
  size_t view = 0;
  std::map<Kind, std::string> in_flight;  // nonce per type
  std::set<std::string> nonces;
  int first_request[kKindCount] = {1, 1, 1, 1};
  for (size_t i = 1; i + 2 <= size; i += 2) {
    const uint8_t op = data[i] % 8;
    const uint8_t arg = data[i + 1];
    const Kind kind = kAllKinds[arg % kKindCount];
    const std::string name = kNames[(arg >> 2) % 9];
    switch (op) {
      case 0:
        view = arg % views.size();
        break;
      case 1: {  // SotW: the full name list (empty = wildcard)
        std::vector<std::string> names;
        if (arg & 0x80) names.push_back(name);
        state.setSotwNames(kind, names);
        break;
      }
      case 2: {  // delta subscribe / unsubscribe
        std::vector<std::string> sub, unsub;
        (arg & 0x80 ? unsub : sub).push_back(name);
        state.deltaSubscribe(kind, sub, unsub, first_request[static_cast<int>(kind)] != 0);
        first_request[static_cast<int>(kind)] = 0;
        break;
      }
      case 3: {
        const std::vector<Push> pushes = state.plan(*views[view], "v" + std::to_string(view));
        const bool strict = allWildcard(state);
        for (const Push& p : pushes) {
          check(!in_flight.contains(p.kind), "two responses of one type in flight");
          check(nonces.insert(p.nonce).second, "a nonce was reused");
          in_flight[p.kind] = p.nonce;
          if (!strict || p.kind == Kind::kCluster || p.kind == Kind::kClusterLoadAssignment) {
            continue;
          }
          const Kind needed =
              p.kind == Kind::kRouteConfiguration ? Kind::kCluster : Kind::kRouteConfiguration;
          for (const auto& r : p.resources) {
            for (const std::string& dep : dependencies(p.kind, *r)) {
              if (!views[view]->of(needed).contains(dep)) continue;  // invalid state: not ours
              check(state.type(needed).acked.contains(dep), "pushed before what it names");
            }
          }
        }
        break;
      }
      case 4:
      case 5: {  // ACK / NACK the response in flight
        auto it = in_flight.find(kind);
        if (it == in_flight.end()) break;
        const ReplyKind reply = state.onReply(kind, it->second, op == 5);
        check(reply == (op == 5 ? ReplyKind::kNack : ReplyKind::kAck), "in-flight nonce not taken");
        in_flight.erase(it);
        break;
      }
      case 6: {  // a nonce that is not the one in flight
        const std::string nonce = "stale-" + std::to_string(arg);
        auto it = in_flight.find(kind);
        if (it != in_flight.end() && it->second == nonce) break;
        check(state.onReply(kind, nonce, arg & 1) == ReplyKind::kStale, "stale nonce taken");
        break;
      }
      case 7:  // reconnect claims
        if (delta) {
          state.resumeDelta(kind, {{name, arg & 1 ? "bogus" : "x"}}, *views[view]);
        } else {
          state.resumeSotw(kind, arg & 1 ? "bogus" : "v" + std::to_string(view), *views[view]);
        }
        break;
    }
  }
  return 0;
}
