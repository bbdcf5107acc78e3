#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the demo and the benchmarks need.
# Idempotent and quiet when everything is already there.
set -euo pipefail

PACKAGES=(
  # build
  bazel-bootstrap bazel-rules-java g++ clang libclang-rt-14-dev
  protobuf-compiler libprotobuf-dev libabsl-dev libyaml-cpp-dev libre2-dev
  node-llhttp libnghttp2-dev android-libboringssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev zlib1g-dev
  # control plane (grpc++, a separate process: OpenSSL there, BoringSSL in the data plane)
  libgrpc++-dev protobuf-compiler-grpc
  # tests and demo: real clients, and an independent gRPC peer (python3-grpcio)
  python3 python3-grpcio python3-protobuf curl wrk nghttp2-client
  # benchmarks (../shared/bench/compare.sh peers; callgrind for tools/bench/instructions.py)
  nginx-light haproxy valgrind
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ci/setup.sh: installing ${missing[*]}"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The package scripts may start nginx/haproxy as services; our benchmarks start their own.
for svc in nginx haproxy; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl stop "$svc" 2>/dev/null || true; fi
  $SUDO pkill -x "$svc" 2>/dev/null || true
done
