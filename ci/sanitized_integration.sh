#!/usr/bin/env bash
# Runs the integration suite against a sanitizer build of `portico`: the real binary, driven by
# the same clients, with AddressSanitizer + UndefinedBehaviorSanitizer (asan) or
# ThreadSanitizer (tsan). Any sanitizer report from any portico process fails the run, even if
# every test passed (the reports go to files; a report does not change what the client sees).
# Each proxy is stopped with SIGTERM first (PORTICO_STOP_GRACEFULLY in the harness), so it
# leaves through main() and LeakSanitizer checks what it still holds.
# Ends with "N passed, N failed": the suite's own counts plus one for the report check.
#
#   ci/sanitized_integration.sh asan|tsan [run.py arguments, e.g. -k test_xds]
#
# The control plane is the release build: grpc++ from Debian is not instrumented, so TSan
# reports on it would be about gRPC's internals, not ours.
set -uo pipefail
cd "$(dirname "$0")/.."

sanitizer="${1:-}"
[ $# -gt 0 ] && shift
case "$sanitizer" in
  asan | tsan) ;;
  *) echo "usage: ci/sanitized_integration.sh asan|tsan [run.py args]"; echo "0 passed, 1 failed"; exit 1 ;;
esac

workdir="$(mktemp -d -t "portico-$sanitizer.XXXXXX")"
echo "$sanitizer: building //source/server:portico (--config=$sanitizer)"
if ! bazel build --config="$sanitizer" //source/server:portico > "$workdir/build.log" 2>&1; then
  grep -E -A5 "error|ERROR" "$workdir/build.log" | head -n 60
  echo "$sanitizer: build failed (log: $workdir/build.log)"
  echo "0 passed, 1 failed"
  exit 1
fi
# Copy the binary: the next Bazel command may replace bazel-bin's contents.
cp -f bazel-bin/source/server/portico "$workdir/portico"
control="${PORTICO_CONTROL_BIN:-$PWD/bazel-out/k8-opt/bin/source/control_plane/portico-control}"
if [ ! -x "$control" ]; then
  echo "$sanitizer: no portico-control at $control (bazel build -c opt //source/control_plane:portico-control)"
  echo "0 passed, 1 failed"
  exit 1
fi

mkdir -p "$workdir/reports"
out="$workdir/run.log"
ASAN_OPTIONS="log_path=$workdir/reports/asan:detect_leaks=1" \
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$workdir/reports/ubsan" \
TSAN_OPTIONS="log_path=$workdir/reports/tsan:second_deadlock_stack=1" \
PORTICO_BIN="$workdir/portico" PORTICO_CONTROL_BIN="$control" PORTICO_STOP_GRACEFULLY=1 \
  timeout --kill-after=30 1200 python3 test/integration/run.py "$@" > "$out" 2>&1
grep -E "FAIL|ERROR" "$out" | tail -n 40

line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
if [ -z "$line" ]; then
  tail -n 20 "$out"
  line="0 passed, 1 failed"
fi
passed=$(echo "$line" | awk '{print $1}')
failed=$(echo "$line" | awk '{print $3}')

# A proxy that would not stop was killed: LeakSanitizer never ran for it, and a shutdown that
# hangs is a failure in its own right.
if grep -q "did not stop after SIGTERM" "$out"; then
  echo "$sanitizer: a proxy did not stop when asked:"
  grep "did not stop after SIGTERM" "$out" | head -n 5
  failed=$((failed + 1))
fi
if [ -n "$(find "$workdir/reports" -type f)" ]; then
  echo "$sanitizer: sanitizer reports (kept in $workdir/reports):"
  find "$workdir/reports" -type f -print0 | sort -z | while IFS= read -r -d '' r; do
    echo "---- $r"
    head -n 60 "$r"
  done
  failed=$((failed + 1))
else
  echo "$sanitizer: no sanitizer reports"
  passed=$((passed + 1))
fi
# Keep the binary, logs and reports only when something failed.
[ "$failed" -eq 0 ] && rm -rf "$workdir"
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
