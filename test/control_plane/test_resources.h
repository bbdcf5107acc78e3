#pragma once

// Resources for control-plane tests, built from YAML the way the store reads them.

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "source/control_plane/cache/snapshot.h"
#include "source/control_plane/store/resource_parser.h"
#include "source/control_plane/store/validator.h"

namespace portico::control_plane::test {

inline std::string clusterYaml(const std::string& name, int port = 8080,
                               const std::string& targets = "") {
  return "kind: Cluster\n" + (targets.empty() ? "" : "targets: " + targets + "\n") +
         "spec:\n  name: " + name +
         "\n  load_assignment:\n    endpoints:\n    - address: {address: 127.0.0.1, port: " +
         std::to_string(port) + "}\n";
}

inline std::string routeYaml(const std::string& name, const std::string& cluster,
                             const std::string& targets = "", const std::string& body = "") {
  std::string action = cluster.empty() ? "direct_response: {status: 200, body: \"" + body + "\"}"
                                       : "route: {cluster: " + cluster + "}";
  return "kind: RouteConfiguration\n" + (targets.empty() ? "" : "targets: " + targets + "\n") +
         "spec:\n  name: " + name +
         "\n  virtual_hosts:\n  - name: all\n    domains: [\"*\"]\n    routes:\n    - match: "
         "{prefix: /}\n      " +
         action + "\n";
}

inline std::string listenerYaml(const std::string& name, const std::string& route, int port,
                                const std::string& targets = "") {
  return "kind: Listener\n" + (targets.empty() ? "" : "targets: " + targets + "\n") +
         "spec:\n  name: " + name +
         "\n  address: {address: 127.0.0.1, port: " + std::to_string(port) +
         "}\n  http: {route_config_name: " + route + "}\n";
}

// Documents joined with "---".
inline std::string docs(const std::vector<std::string>& parts) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : "---\n") + p;
  return out;
}

inline ResourceMap mapOf(const std::string& yaml) {
  auto parsed = parseResources(yaml, "test.yaml");
  EXPECT_TRUE(parsed.ok()) << parsed.status();
  if (!parsed.ok()) return {};
  auto map = buildResourceMap(*parsed);
  EXPECT_TRUE(map.ok()) << map.status();
  return map.ok() ? *map : ResourceMap{};
}

inline SnapshotConstSharedPtr snapshotOf(const std::string& yaml) {
  ResourceMap map = mapOf(yaml);
  auto errors = validateResources(map);
  EXPECT_TRUE(errors.empty()) << toStatus(errors);
  auto s = Snapshot::create(map);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *s : nullptr;
}

}  // namespace portico::control_plane::test
