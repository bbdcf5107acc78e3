#pragma once

// The configuration used when `portico` runs without --config: the demo's shape.
namespace portico::server {

inline constexpr char kDefaultBootstrapYaml[] = R"(
admin:
  address: {address: 127.0.0.1, port: 9901}
drain_timeout: 5s
static_resources:
  listeners:
  - name: ingress
    address: {address: 127.0.0.1, port: 10000}
    http:
      stat_prefix: ingress
      access_log: {path: /dev/stdout}
      http_filters:
      - name: probe
        health_check: {path: /healthz}
      - name: gzip
        compressor: {}
      route_config:
        name: default
        virtual_hosts:
        - name: all
          domains: ["*"]
          routes:
          - name: hello
            match: {path: /portico/hello}
            direct_response: {status: 200, body: "hello from portico\n"}
          - name: upstream
            match: {prefix: /}
            route: {cluster: sample_upstream, timeout: 15s}
  clusters:
  - name: sample_upstream
    connect_timeout: 1s
    lb_policy: ROUND_ROBIN
    load_assignment:
      endpoints:
      - address: {address: 127.0.0.1, port: 8080}
)";

}  // namespace portico::server
