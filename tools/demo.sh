#!/usr/bin/env bash
# Installs what is missing, builds, and runs the demo: a sample upstream on 127.0.0.1:8080 and
# portico in front of it on its embedded default config (listener 127.0.0.1:10000, admin
# 127.0.0.1:9901). Runs until Ctrl-C (or DEMO_SECONDS, if set).
set -euo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh
echo "== building (first build takes a few minutes)"
bazel build //source/server:portico 2>&1 | tail -n 2

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT INT TERM

python3 test/integration/upstream.py --port 8080 --name sample-upstream >/tmp/portico-demo-upstream.log 2>&1 &
pids+=($!)
bazel-bin/source/server/portico --concurrency 2 &
pids+=($!)

for _ in $(seq 1 50); do
  curl -fsS -o /dev/null http://127.0.0.1:9901/ready 2>/dev/null && break
  sleep 0.1
done

cat <<'TXT'

Portico is running (embedded demo config; see source/server/default_config.h).
Try:
  curl -i http://127.0.0.1:10000/portico/hello       # a direct response from the proxy
  curl -i http://127.0.0.1:10000/echo                # proxied to the sample upstream
  curl -i -X POST --data-binary @README.md http://127.0.0.1:10000/upload
  wrk -t1 -c20 -d5s http://127.0.0.1:10000/echo      # load
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
  wait "${pids[1]}"
fi
