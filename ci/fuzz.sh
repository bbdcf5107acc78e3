#!/usr/bin/env bash
# Builds the libFuzzer targets with clang + libFuzzer + ASan (bazel --config=fuzz, see
# .bazelrc) and fuzzes each for a bounded time, starting from its seed corpus. Exits non-zero if
# a target does not build or the fuzzer finds a crash, a sanitizer error, a leak or a hang; the
# reproducer is kept and its path printed.
#
#   FUZZ_SECONDS   fuzzing time per target in seconds (default 60)
#   FUZZ_TARGETS   which targets (default: all below)
#   FUZZ_WORKDIR   where the growing corpora and crash artifacts go (default: a new temp dir)
#   --list         prints the targets and exits
#
# Reproduce a crash:  bazel build --config=fuzz //test/fuzz:<target> &&
#                     bazel-bin/test/fuzz/<target> <crash-file>
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
all_targets="http1_request_fuzz http1_response_fuzz http1_plain_head_fuzz bootstrap_config_fuzz compressor_fuzz xds_response_fuzz xds_grpc_session_fuzz control_plane_resources_fuzz control_plane_stream_fuzz control_plane_rest_api_fuzz path_normalization_fuzz"
if [[ "${1:-}" == "--list" ]]; then
  echo "$all_targets"  # for ci/test.sh, which fuzzes them one at a time
  exit 0
fi
targets="${FUZZ_TARGETS:-$all_targets}"
workdir="${FUZZ_WORKDIR:-$(mktemp -d -t portico-fuzz.XXXXXX)}"

labels=()
for t in $targets; do labels+=("//test/fuzz:$t"); done
echo "fuzz: building ${labels[*]} (--config=fuzz)"
if ! bazel build --config=fuzz "${labels[@]}" 2>&1 | tail -n 5; then
  echo "fuzz: build failed"
  exit 1
fi
# Copy the binaries: a later Bazel command may replace bazel-bin's contents.
for t in $targets; do
  mkdir -p "$workdir/$t/corpus" "$workdir/$t/artifacts"
  cp -f "bazel-bin/test/fuzz/$t" "$workdir/$t/$t"
done

failed=0
for t in $targets; do
  seeds="test/fuzz/corpus/${t%_fuzz}"
  dir="$workdir/$t"
  echo "fuzz: $t for ${seconds}s, corpus and artifacts in $dir"
  status=0
  timeout --signal=KILL "$((seconds + 120))" "$dir/$t" \
    -max_total_time="$seconds" \
    -timeout=10 \
    -rss_limit_mb=2048 \
    -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" \
    "$dir/corpus" "$seeds" >"$dir/fuzz.log" 2>&1 || status=$?
  grep -a -E "^(Done|stat::number_of_executed_units|stat::new_units_added)" "$dir/fuzz.log" || true
  if [ "$status" -ne 0 ]; then
    failed=1
    echo "fuzz: $t FAILED (exit $status); log: $dir/fuzz.log"
    grep -a -E "ERROR|invariant violated|SUMMARY|Test unit written" "$dir/fuzz.log" | head -n 20 || true
    ls -l "$dir/artifacts" || true
  else
    echo "fuzz: $t: no crash in ${seconds}s"
  fi
done
if [ "$failed" -ne 0 ]; then exit 1; fi
[ -n "${FUZZ_WORKDIR:-}" ] || rm -rf "$workdir"
