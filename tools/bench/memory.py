#!/usr/bin/env python3
"""Memory benchmark: idle RSS of portico with 4 workers, and RSS growth per 1000 idle
keep-alive connections (each has served one request). Loopback only, bounded in time.

    python3 tools/bench/memory.py [--connections 1000] [--concurrency 4]
"""
import argparse
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

REPO = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "test" / "integration"))
from harness import free_port  # noqa: E402

CONFIG = """
admin: {{address: {{address: 127.0.0.1, port: {admin}}}}}
static_resources:
  listeners:
  - name: mem
    address: {{address: 127.0.0.1, port: {port}}}
    http:
      route_config:
        virtual_hosts:
        - {{name: all, domains: ["*"], routes: [{{match: {{prefix: /}}, route: {{cluster: up}}}}]}}
  clusters:
  - name: up
    load_assignment: {{endpoints: [{{address: {{address: 127.0.0.1, port: {upstream}}}}}]}}
"""


def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def wait_port(port, deadline):
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("port %d not listening" % port)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=4)
    # The release build (bazel-bin follows the last build's configuration, sanitizers too).
    parser.add_argument("--binary",
                        default=str(REPO / "bazel-out/k8-opt/bin/source/server/portico"))
    args = parser.parse_args()

    port, admin, upstream_port = free_port(), free_port(), free_port()
    procs = []
    try:
        procs.append(subprocess.Popen(
            [sys.executable, str(REPO / "test/integration/upstream.py"), "--port",
             str(upstream_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(CONFIG.format(admin=admin, port=port, upstream=upstream_port))
        proxy = subprocess.Popen([args.binary, "--config", f.name, "--concurrency",
                                  str(args.concurrency), "--log-level", "warning"])
        procs.append(proxy)
        deadline = time.monotonic() + 10
        wait_port(upstream_port, deadline)
        wait_port(port, deadline)
        time.sleep(0.3)
        idle = rss_kb(proxy.pid)
        sockets = []
        for _ in range(args.connections):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            s.sendall(b"GET /echo HTTP/1.1\r\nHost: mem\r\n\r\n")
            s.recv(65536)
            sockets.append(s)
        time.sleep(0.5)
        loaded = rss_kb(proxy.pid)
        per_k = (loaded - idle) * 1000.0 / args.connections / 1024.0
        print("idle RSS with %d workers: %.1f MB" % (args.concurrency, idle / 1024.0))
        print("RSS with %d idle keep-alive connections: %.1f MB (+%.2f MB per 1000)"
              % (args.connections, loaded / 1024.0, per_k))
        for s in sockets:
            s.close()
    finally:
        for p in procs:
            p.kill()
            p.wait()


if __name__ == "__main__":
    main()
