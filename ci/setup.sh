#!/usr/bin/env bash
# Installs every Debian package the build, the tests and the demo need; with --bench, also the
# benchmarks' peers and tools (nginx, HAProxy, valgrind, perf). Idempotent and quiet when
# everything is already there.
#
#   ci/setup.sh            build, tests, demo
#   ci/setup.sh --bench    and the benchmarks (tools/bench, ../shared/bench/compare.sh)
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java g++ clang libclang-rt-14-dev
  protobuf-compiler libprotobuf-dev libabsl-dev libyaml-cpp-dev libre2-dev
  node-llhttp libnghttp2-dev android-libboringssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  # control plane (grpc++, a separate process: OpenSSL there, BoringSSL in the data plane)
  libgrpc++-dev protobuf-compiler-grpc
  # tests and demo: real clients, an independent gRPC peer (python3-grpcio), and the openssl
  # CLI for the TLS tests' certificates
  python3 python3-grpcio python3-protobuf curl wrk nghttp2-client openssl
)
BENCH_PACKAGES=(
  # ../shared/bench/compare.sh peers; callgrind for tools/bench/instructions.py; perf for
  # tools/bench/syscalls.py
  nginx-light haproxy valgrind linux-perf
)
bench=false
[ "${1:-}" = "--bench" ] && bench=true
$bench && PACKAGES+=("${BENCH_PACKAGES[@]}")

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ci/setup.sh: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null 2>&1 || {
    echo "ci/setup.sh: missing packages and not root, and there is no sudo: run as root, or" \
      "apt-get install ${missing[*]}" >&2
    exit 1
  }
  SUDO="sudo"
fi
# Passed through env: sudo's env_reset would drop an exported variable. The lock timeout
# waits out unattended-upgrades on a new VM; a failed update is tried once more.
apt=($SUDO env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300)
"${apt[@]}" update -qq || { sleep 10; "${apt[@]}" update -qq; }
"${apt[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
if $bench; then
  # The packages may start nginx/HAProxy as services (Debian's default nginx site listens on
  # every address); the benchmarks start their own, on loopback.
  for svc in nginx haproxy; do
    if command -v systemctl >/dev/null 2>&1; then
      $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true
    fi
    if command -v service >/dev/null 2>&1; then $SUDO service "$svc" stop >/dev/null 2>&1 || true; fi
  done
fi
