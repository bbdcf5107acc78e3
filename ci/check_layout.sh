#!/usr/bin/env bash
# Layout rules that a compiler does not check (STYLE.md, habits 1 and 2 of STYLE_ANCHORS.md):
# 1. interface headers include only std, Abseil, protos and other interface headers;
# 2. the data plane never reaches grpc++ or OpenSSL: no source outside source/control_plane and
#    tools/fleet_sim depends on @system//:grpcpp or includes <grpcpp/...>;
# 3. tests, tools and CI bind only loopback addresses.
# Prints one line per violation; exit 1 if any.
set -uo pipefail
cd "$(dirname "$0")/.."
bad=0
report() { echo "layout: $*"; bad=1; }

interfaces=(source/common/event/dispatcher.h source/common/network/connection.h
            source/common/http/filter.h source/upstream/load_balancer.h source/upstream/host.h
            source/xds/tls_client.h)
for h in "${interfaces[@]}"; do
  [ -f "$h" ] || { report "$h is missing (renamed? update this list)"; continue; }
  while read -r inc; do
    case "$inc" in
      *_impl.h*) report "$h includes an implementation header: $inc" ;;
    esac
  done < <(grep -E '^#include "' "$h")
done

while read -r f; do
  report "$f uses grpc++ outside the control plane"
done < <(grep -rlE '@system//:grpcpp|#include <grpcpp/' source tools test --include=BUILD.bazel \
           --include=*.cc --include=*.h | grep -vE '^(source/control_plane|tools/fleet_sim|test/control_plane)/' )

# The IPv4 and IPv6 wildcards, and Python's empty host (which binds every address). A line that
# names one without binding it (a validation test) says so with "layout: not bound".
wildcard='0\.0\.0''\.0|INADDR''_ANY|in6addr''_any|IN6ADDR''_ANY|["'"'"']::["'"'"']|\(\(["'"'"']["'"'"'],'
while read -r line; do
  report "binds a non-loopback address: $line"
done < <(grep -rnE "$wildcard" test tools ci --include=*.py --include=*.cc --include=*.sh \
           --include=*.yaml | grep -v 'layout: not ''bound')

[ "$bad" -eq 0 ] && echo "layout: ok"
exit "$bad"
