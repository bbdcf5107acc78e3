#!/bin/bash
# Starts portico-control on an empty store, runs fleet_sim against it, stops it.
#   tools/fleet_sim/run.sh NODES [--delta] [more fleet_sim flags]
# Needs: bazel build //source/control_plane:portico-control //tools/fleet_sim:fleet_sim
set -u
cd "$(dirname "$0")/../.."
nodes=${1:-100}
shift || true
store=$(mktemp -d /tmp/fleet-sim-store.XXXXXX)
log=$(mktemp /tmp/fleet-sim-server.XXXXXX)
bazel-bin/source/control_plane/portico-control serve --dir "$store" --grpc 127.0.0.1:18100 \
  --http 127.0.0.1:18101 --api-token sim >"$log" 2>&1 &
pid=$!
for _ in $(seq 50); do grep -q "http listening" "$log" && break; sleep 0.1; done
timeout 300 bazel-bin/tools/fleet_sim/fleet_sim --grpc 127.0.0.1:18100 \
  --http http://127.0.0.1:18101 --token sim --nodes "$nodes" --control-pid "$pid" "$@"
rc=$?
kill "$pid"
wait "$pid" 2>/dev/null
rm -rf "$store" "$log"
exit $rc
