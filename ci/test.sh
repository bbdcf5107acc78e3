#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (Bazel/GoogleTest), integration tests (the
# real binaries driven by curl, wrk, h2load and raw sockets) and a short fuzz run.
# Ends with one line: "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."

bash ci/setup.sh || { echo "0 passed, 1 failed"; exit 1; }

passed=0
failed=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); }

echo "== build"
build_log=$(mktemp)
if ! bazel build //source/... //tools/... > "$build_log" 2>&1; then
  # The compiler's own words, not only Bazel's last line.
  grep -E -A5 "error|ERROR" "$build_log" | head -n 60
  echo "build failed"
  add 0 1
else
  tail -n 2 "$build_log"
fi
rm -f "$build_log"
if [ ! -x bazel-bin/source/server/portico ]; then
  echo "0 passed, 1 failed"
  exit 1
fi

echo "== layout rules"
if bash ci/check_layout.sh; then add 1 0; else add 0 1; fi

echo "== unit tests"
# Every test target, each with a result: one that does not build (or has no result) counts as
# a failure, and results of earlier runs are never counted for it.
unit_out=$(mktemp)
unit_targets=$(mktemp)
bazel query 'tests(//test/...)' 2>/dev/null > "$unit_targets"
# --nocache_test_results: every test runs here, even if an earlier run on this machine (the
# shared disk cache) saw it pass.
bazel test --keep_going --nocache_test_results //test/... > "$unit_out" 2>&1
grep -E "PASSED|FAILED|TIMEOUT|NO STATUS|ERROR" "$unit_out" | grep -v "^INFO" | tail -n 60
# Count individual test cases from the JUnit XML Bazel writes for each test target.
unit_pass="" unit_fail=""
read -r unit_pass unit_fail < <(python3 ci/count_tests.py bazel-testlogs "$unit_out" "$unit_targets")
rm -f "$unit_out" "$unit_targets"
# A counter that could not count is one failure, never a silent zero.
if ! [[ "$unit_pass" =~ ^[0-9]+$ && "$unit_fail" =~ ^[0-9]+$ ]]; then
  echo "unit tests: could not count the results"
  unit_pass=0 unit_fail=1
fi
echo "unit tests: ${unit_pass} passed, ${unit_fail} failed"
add "$unit_pass" "$unit_fail"

# Runs a command whose output ends with "N passed, N failed" and adds those counts (a
# missing line counts as one failure).
run_counted() {
  local out
  out=$(mktemp)
  "$@" 2>&1 | tee "$out" | grep -E "FAIL|ERROR|passed" | tail -n 40
  local line
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out" | tail -n 1)
  if [ -n "$line" ]; then
    add "$(echo "$line" | awk '{print $1}')" "$(echo "$line" | awk '{print $3}')"
  else
    add 0 1
  fi
  rm -f "$out"
}

echo "== integration tests"
PORTICO_BIN="$PWD/bazel-bin/source/server/portico" \
PORTICO_CONTROL_BIN="$PWD/bazel-bin/source/control_plane/portico-control" \
  run_counted timeout --kill-after=30 1800 python3 test/integration/run.py

echo "== control plane: independent Python gRPC client"
run_counted timeout 300 /usr/bin/python3 test/control_plane/python_client_test.py \
  --binary "$PWD/bazel-bin/source/control_plane/portico-control"

# The same suite against sanitizer builds of portico (asan = ASan + UBSan incl. leaks at exit;
# tsan = ThreadSanitizer: workers, the main thread, access-log writers and the xDS client share
# config snapshots and stats). Each costs about 5-7 minutes on 2 cores; SANITIZERS=asan keeps
# one, SANITIZERS="" skips both.
for sanitizer in ${SANITIZERS-asan tsan}; do
  echo "== integration tests under ${sanitizer}"
  run_counted bash ci/sanitized_integration.sh "$sanitizer"
done

echo "== fuzz (bounded)"
for target in $(bash ci/fuzz.sh --list); do
  if FUZZ_SECONDS="${FUZZ_SECONDS:-30}" FUZZ_TARGETS="$target" bash ci/fuzz.sh; then
    add 1 0
  else
    add 0 1
  fi
done

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
