#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: a sample upstream on 127.0.0.1:8080,
# portico-control (gRPC 127.0.0.1:18000, REST 127.0.0.1:18001) serving examples/control_plane/,
# and portico on its embedded default config (listener 127.0.0.1:10000, admin 127.0.0.1:9901)
# plus the control plane's dynamic listener (127.0.0.1:10001). Runs until Ctrl-C (or
# DEMO_SECONDS, if set).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
echo "== building (first build takes a few minutes)"
bazel build //source/server:portico //source/control_plane:portico-control 2>&1 | tail -n 2
bin=bazel-bin/source
work=$(mktemp -d -t portico-demo.XXXXXX)
cp examples/control_plane/*.yaml "$work/"
mkdir -p "$work/store" && mv "$work"/*.yaml "$work/store/"

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM  # exits, and the EXIT trap cleans up once

python3 test/integration/upstream.py --port 8080 --name sample-upstream >"$work/upstream.log" 2>&1 &
pids+=($!)
"$bin/control_plane/portico-control" serve --dir "$work/store" --grpc 127.0.0.1:18000 \
  --http 127.0.0.1:18001 --api-token demo-token >"$work/control.log" 2>&1 &
pids+=($!)
# The embedded default config, plus the control plane's address.
"$bin/server/portico" --print-default-config > "$work/portico.yaml"
cat >> "$work/portico.yaml" <<'YAML'
node: {id: demo-proxy, cluster: demo}
dynamic_resources:
  control_plane: [{address: 127.0.0.1, port: 18000}]
YAML
"$bin/server/portico" --config "$work/portico.yaml" --concurrency 2 &
pids+=($!)

ready=false
# /ready says 503 until the control plane's first configuration came; the proxy's retries
# back off to a few seconds apart if the control plane is slow to start.
for _ in $(seq 1 200); do
  curl -fsS -o /dev/null http://127.0.0.1:9901/ready 2>/dev/null && { ready=true; break; }
  sleep 0.1
done
if ! $ready; then
  echo "portico did not become ready within 20 s (is 127.0.0.1:9901, :10000 or the control" \
    "plane's :18000 taken?); its output is above. The control plane's log:" >&2
  tail -n 20 "$work/control.log" >&2 || true
  exit 1
fi

echo
echo "Portico is running (embedded demo config, source/server/default_config.h, plus what"
echo "portico-control serves from $work/store, a copy of examples/control_plane/)."
cat <<'TXT'
Try:
  curl -i http://127.0.0.1:10000/portico/hello       # a direct response from the proxy
  curl -i http://127.0.0.1:10000/echo                # proxied to the sample upstream
  curl -si --compressed http://127.0.0.1:10000/echo  # gzip by the compressor filter
  curl -i http://127.0.0.1:10000/healthz             # health_check filter: 200, or 503 after
  curl -X POST http://127.0.0.1:9901/healthcheck/fail   # ... this (undo: /healthcheck/ok)
  curl -i -X POST --data-binary @README.md http://127.0.0.1:10000/upload
  wrk -t1 -c20 -d5s http://127.0.0.1:10000/echo      # load
Live configuration (portico-control, REST on 127.0.0.1:18001, token demo-token):
  curl -i http://127.0.0.1:10001/echo                # the dynamic listener (x-served-by header)
  curl http://127.0.0.1:10001/version
  export PORTICO_CONTROL_TOKEN=demo-token
  bazel-bin/source/control_plane/portico-control status --server http://127.0.0.1:18001
  sed 's/routes v1/routes v2/' examples/control_plane/demo.yaml > /tmp/v2.yaml   # edit, then apply
  bazel-bin/source/control_plane/portico-control apply -f /tmp/v2.yaml --server http://127.0.0.1:18001
  curl http://127.0.0.1:10001/version                # now v2, no restart
Admin (127.0.0.1:9901):
  curl http://127.0.0.1:9901/                         # list of admin endpoints
  curl http://127.0.0.1:9901/stats
  curl http://127.0.0.1:9901/stats/prometheus
  curl http://127.0.0.1:9901/clusters
  curl http://127.0.0.1:9901/config_dump
Access log lines appear below. Ctrl-C stops everything.

TXT
if [ -n "${DEMO_SECONDS:-}" ]; then
  sleep "$DEMO_SECONDS"
else
  wait "${pids[2]}"
fi
