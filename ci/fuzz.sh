#!/usr/bin/env bash
# Builds the HTTP/1 request fuzzer with clang + libFuzzer + ASan (bazel --config=fuzz, see
# .bazelrc) and fuzzes for a bounded time, starting from the seed corpus. Exits non-zero if the
# target does not build or the fuzzer finds a crash, a sanitizer error, a leak or a hang; the
# reproducer is kept and its path printed.
#
#   FUZZ_SECONDS   fuzzing time in seconds (default 60)
#   FUZZ_WORKDIR   where the growing corpus and crash artifacts go (default: a new temp dir)
#
# Reproduce a crash:  bazel build --config=fuzz //test/fuzz:http1_request_fuzz &&
#                     bazel-bin/test/fuzz/http1_request_fuzz <crash-file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
target=//test/fuzz:http1_request_fuzz
seeds=test/fuzz/corpus/http1_request
workdir="${FUZZ_WORKDIR:-$(mktemp -d -t portico-fuzz.XXXXXX)}"
mkdir -p "$workdir/corpus" "$workdir/artifacts"

echo "fuzz: building $target (--config=fuzz)"
if ! bazel build --config=fuzz "$target" 2>&1 | tail -n 5; then
  echo "fuzz: build failed"
  exit 1
fi
# Copy the binary: a later Bazel command may replace bazel-bin's contents.
binary="$workdir/http1_request_fuzz"
cp -f bazel-bin/test/fuzz/http1_request_fuzz "$binary"

echo "fuzz: running ${seconds}s, corpus and artifacts in $workdir"
status=0
timeout --signal=KILL "$((seconds + 120))" "$binary" \
  -max_total_time="$seconds" \
  -timeout=10 \
  -rss_limit_mb=2048 \
  -print_final_stats=1 \
  -artifact_prefix="$workdir/artifacts/" \
  "$workdir/corpus" "$seeds" >"$workdir/fuzz.log" 2>&1 || status=$?
grep -E "^(Done|stat::number_of_executed_units|stat::new_units_added)" "$workdir/fuzz.log" || true

if [ "$status" -ne 0 ]; then
  echo "fuzz: FAILED (exit $status); log: $workdir/fuzz.log"
  grep -E "ERROR|invariant violated|SUMMARY|Test unit written" "$workdir/fuzz.log" \
    | head -n 20 || true
  ls -l "$workdir/artifacts" || true
  exit 1
fi
echo "fuzz: no crash in ${seconds}s"
[ -n "${FUZZ_WORKDIR:-}" ] || rm -rf "$workdir"
