#pragma once

// A bootstrap with one static resource of each kind, for tests of what the control plane adds
// to them (DynamicConfig, the xDS fuzz target).

namespace portico::test {

inline constexpr char kStaticResourcesYaml[] = R"(
static_resources:
  clusters:
  - name: static_backend
    load_assignment:
      endpoints:
      - address: {address: 127.0.0.1, port: 8080}
  route_configs:
  - name: static_routes
    virtual_hosts:
    - name: all
      domains: ["*"]
      routes:
      - match: {prefix: /}
        route: {cluster: static_backend}
  listeners:
  - name: static_ingress
    address: {address: 127.0.0.1, port: 10000}
    http: {route_config_name: static_routes}
)";

}  // namespace portico::test
