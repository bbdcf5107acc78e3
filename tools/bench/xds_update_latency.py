#!/usr/bin/env python3
"""Time from a route update leaving the control plane to the first request served with it,
with N routes (default 10000) in one RouteConfiguration. Uses the test suite's fake control
plane (grpcio) and a real portico; loopback only, bounded.

    python3 tools/bench/xds_update_latency.py [--routes 10000] [--updates 5]

Then pushes as many Cluster updates and reports how long portico took for each, with the
big route table in place (it is reused, not rebuilt, when its configuration is unchanged).
"""
import argparse
import json
import pathlib
import re
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test" / "integration"))
from harness import (Environment, address, bootstrap, free_port, http_get,  # noqa: E402
                     listener, wait_until)
from test_xds import FakeControlPlane  # noqa: E402


def route_config(n, marker):
    routes = [{"match": {"prefix": "/r%d/" % i},
               "direct_response": {"status": 200, "body": "%s-%d" % (marker, i)}}
              for i in range(n)]
    return {"name": "big", "virtual_hosts": [{"name": "all", "domains": ["*"], "routes": routes}]}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--routes", type=int, default=10000)
    parser.add_argument("--updates", type=int, default=5)
    args = parser.parse_args()
    env = Environment("xds-latency")
    try:
        cp = FakeControlPlane(env.dir)
        env.processes.append(cp)
        dyn_port = free_port()
        static = listener("static", free_port(), [{"name": "s", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "s"}}]}])
        config = bootstrap([static], [])
        config["node"] = {"id": "bench-proxy"}
        config["dynamic_resources"] = {"control_plane": [address(cp.grpc_port)]}
        proxy = env.start_portico(config, log_level="info")
        wait_until(lambda: cp.streams() == 1, 10, message="stream")
        cp.push("Listener", "l1", [{"name": "dyn", "address": address(dyn_port),
                                    "http": {"route_config_name": "big"}}])
        last = "/r%d/x" % (args.routes - 1)
        results = []
        for u in range(args.updates + 1):
            marker = "v%d" % u
            expected = ("%s-%d" % (marker, args.routes - 1)).encode()
            start = time.monotonic()
            cp.push("RouteConfiguration", marker, [route_config(args.routes, marker)])
            pushed = time.monotonic()
            wait_until(lambda: (lambda r: r.status == 200 and r.body == expected)(
                http_get(dyn_port, last)) if _port_open(dyn_port) else False, 30,
                interval=0.001, message="the new route")
            served = time.monotonic()
            if u > 0:  # the first one also opens the listener
                results.append((served - start) * 1000)
        applied = [float(m) for m in re.findall(r"RouteConfiguration version v\d+ \(1 resources\) "
                                                 r"in ([0-9.]+) ms", proxy.output())][1:]
        merges = [float(m) for m in re.findall(r"RouteConfiguration version v\d+ \(1 resources\) "
                                                r"in [0-9.]+ ms \(merge ([0-9.]+) ms", proxy.output())][1:]
        # Cluster updates with the big table in place: the unchanged route table is reused.
        for u in range(args.updates):
            before = len(re.findall(r"applied .*Cluster version", proxy.output()))
            cp.push("Cluster", "c%d" % u, [{"name": "side", "connect_timeout": "%ds" % (u + 1),
                                            "load_assignment": {"endpoints": [
                                                {"address": address(free_port())}]}}])
            wait_until(lambda: len(re.findall(r"applied .*Cluster version", proxy.output()))
                       > before, 10, interval=0.005, message="the cluster update")
        cluster_applied = [float(m) for m in re.findall(
            r"Cluster version c\d+ \(1 resources\) in ([0-9.]+) ms", proxy.output())]
        print("routes: %d" % args.routes)
        print("push -> first request served with it: %s ms (median %.1f)" % (
            ", ".join("%.1f" % r for r in results), sorted(results)[len(results) // 2]))
        print("inside portico (validate + build + publish): %s ms" % ", ".join(
            "%.1f" % a for a in applied))
        print("  of which parsing and merging the resources: %s ms" % ", ".join(
            "%.1f" % a for a in merges))
        print("a cluster update with the route table in place, inside portico: %s ms" % ", ".join(
            "%.1f" % a for a in cluster_applied))
    finally:
        env.close()
        env.remove()


def _port_open(port):
    import socket
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
