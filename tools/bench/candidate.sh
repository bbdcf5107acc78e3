#!/usr/bin/env bash
# Starts a release-built portico in the foreground as a candidate for
# ../shared/bench/compare.sh: listens on $LISTEN_ADDR, forwards to $UPSTREAM_ADDR over
# HTTP/1.1, one worker unless PORTICO_CONCURRENCY says otherwise, access log off.
# BENCH_ADMIN=<port> adds an admin listener on 127.0.0.1:<port>, to read the proxy's own
# latency histograms (/stats/prometheus) beside the load generator's.
# BENCH_WAKEUP_COALESCING=<duration> sets the bootstrap's wakeup_coalescing (default 100us).
#
#   CANDIDATE_NAME=portico CANDIDATE_PORT=18200 \
#   CANDIDATE_CMD="exec $PWD/tools/bench/candidate.sh" ../shared/bench/compare.sh
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
# The release build's own output directory: bazel-bin follows the last build's configuration,
# so after a sanitizer build it would point at that (TSan costs ~4x per request).
bin="${PORTICO_BIN:-$here/bazel-out/k8-opt/bin/source/server/portico}"
: "${LISTEN_ADDR:?set by compare.sh}" "${UPSTREAM_ADDR:?set by compare.sh}"
dir="${BENCH_RUN_DIR:-$(mktemp -d)}"
cfg="$dir/portico-candidate.yaml"
cat >"$cfg" <<YAML
static_resources:
  listeners:
  - name: bench
    address: {address: ${LISTEN_ADDR%:*}, port: ${LISTEN_ADDR##*:}}
    http:
      stat_prefix: bench
      route_config:
        name: bench
        virtual_hosts:
        - name: all
          domains: ["*"]
          routes:
          - match: {prefix: /}
            route: {cluster: upstream, timeout: 60s}
  clusters:
  - name: upstream
    connect_timeout: 2s
    load_assignment:
      endpoints:
      - address: {address: ${UPSTREAM_ADDR%:*}, port: ${UPSTREAM_ADDR##*:}}
YAML
if [[ -n "${BENCH_WAKEUP_COALESCING:-}" ]]; then
  # To compare with the default: e.g. 0s (off), 50us.
  printf 'wakeup_coalescing: %s\n' "$BENCH_WAKEUP_COALESCING" >>"$cfg"
fi
if [[ -n "${BENCH_ADMIN:-}" ]]; then
  printf 'admin:\n  address: {address: 127.0.0.1, port: %s}\n' "$BENCH_ADMIN" >>"$cfg"
fi
exec "$bin" --config "$cfg" --concurrency "${PORTICO_CONCURRENCY:-1}" --log-level warning
