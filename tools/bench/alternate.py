#!/usr/bin/env python3
"""CPU time per request of Portico, nginx and HAProxy, measured alternately.

compare.sh runs each peer for a whole block of rounds; on a shared machine the load drifts
within a run and the ratios move with it. This tool starts one peer at a time behind the same
upstream (nginx, as compare.sh configures it), pins them as compare.sh does (load generator and
upstream on CPU 0, proxy on CPU 1), warms the peer for 1 s, drives it with
`wrk -t1 -c64 -d<seconds>`, reads the proxy's user+sys CPU ticks from /proc, and rotates the
peers for several rounds. It prints the minimum and the median microseconds per request for
each peer: the minimum is the least disturbed sample.

    bazel build -c opt //source/server:portico
    python3 tools/bench/alternate.py --path /small --rounds 5
    python3 tools/bench/alternate.py --path /post --rounds 5      # POST with a 1 KiB body
    python3 tools/bench/alternate.py --peers portico,portico=/tmp/portico_before   # two builds

Paths: /small (2-byte body), /1k.bin, /64k.bin, /post. Loopback only; every step is bounded.
"""

import argparse
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WRK_LUA = """
wrk.method = "POST"
wrk.body = string.rep("x", 1024)
wrk.headers["Content-Type"] = "application/octet-stream"
"""


def upstream_conf(d, port):
    return f"""
load_module /usr/lib/nginx/modules/ngx_http_echo_module.so;
worker_processes 1;
pid {d}/upstream.pid;
error_log {d}/upstream-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location = /small {{ default_type text/plain; return 200 "ok"; }}
        location = /post  {{ echo_read_request_body; echo_exec /small; }}
        location / {{ root {d}/www; }}
    }}
}}
"""


def bench_dir(prefix, path):
    """A temporary directory holding the upstream's files, and wrk's POST script when `path`
    is /post. Returns (directory, script or None)."""
    d = tempfile.mkdtemp(prefix=prefix)
    os.chmod(d, 0o755)  # nginx workers run as another user and serve files from here
    os.makedirs(os.path.join(d, "www"), mode=0o755)
    open(os.path.join(d, "www", "1k.bin"), "wb").write(b"a" * 1024)
    open(os.path.join(d, "www", "64k.bin"), "wb").write(b"b" * 65536)
    lua = None
    if path == "/post":
        lua = os.path.join(d, "post.lua")
        open(lua, "w").write(WRK_LUA)
    return d, lua


def start_upstream(d, port, cpu="0"):
    """nginx as the upstream, configured as compare.sh configures it; pinned to `cpu` unless
    None. Returns the Popen (its own process group)."""
    open(os.path.join(d, "upstream.conf"), "w").write(upstream_conf(d, port))
    pin = ["taskset", "-c", cpu] if cpu is not None else []
    return subprocess.Popen(pin + ["nginx", "-c", os.path.join(d, "upstream.conf"), "-g",
                                   "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def nginx_conf(d, port, upstream):
    return f"""
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/nginx-error.log warn;
events {{ worker_connections 8192; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 120s;
    tcp_nodelay on;
    client_max_body_size 64m;
    client_body_buffer_size 1m;
    proxy_buffer_size 16k;
    proxy_buffers 8 16k;
    proxy_max_temp_file_size 0;
    upstream up {{
        server 127.0.0.1:{upstream};
        keepalive 256;
        keepalive_requests 10000000;
        keepalive_timeout 120s;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        location / {{
            proxy_pass http://up;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def haproxy_conf(port, upstream):
    return f"""
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    timeout connect 5s
    timeout client 120s
    timeout server 120s
    timeout http-keep-alive 120s
    option http-keep-alive
    http-reuse always
frontend fe
    bind 127.0.0.1:{port}
    default_backend be
backend be
    server up 127.0.0.1:{upstream}
"""


def cpu_ticks(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def tick_seconds():
    return 1.0 / os.sysconf("SC_CLK_TCK")


class Peer:
    """One proxy under test: start() returns the pid whose CPU is measured."""

    def __init__(self, name, d, port, upstream, portico_bin):
        self.name, self.d, self.port, self.upstream = name, d, port, upstream
        self.portico_bin = portico_bin
        self.proc = None

    def start(self):
        pin = ["taskset", "-c", "1"]
        if self.name == "portico" or self.name.startswith("portico="):
            # "portico=PATH": another build, e.g. the one before a change, as its own peer.
            binary = self.name.split("=", 1)[1] if "=" in self.name else self.portico_bin
            env = dict(os.environ, LISTEN_ADDR=f"127.0.0.1:{self.port}",
                       UPSTREAM_ADDR=f"127.0.0.1:{self.upstream}", BENCH_RUN_DIR=self.d,
                       PORTICO_BIN=binary)
            self.proc = subprocess.Popen(pin + [os.path.join(HERE, "candidate.sh")], env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            pid = self.proc.pid
        elif self.name == "haproxy":
            cfg = os.path.join(self.d, "haproxy.cfg")
            open(cfg, "w").write(haproxy_conf(self.port, self.upstream))
            self.proc = subprocess.Popen(pin + ["haproxy", "-f", cfg], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, start_new_session=True)
            pid = self.proc.pid
        else:
            cfg = os.path.join(self.d, "nginx.conf")
            open(cfg, "w").write(nginx_conf(self.d, self.port, self.upstream))
            self.proc = subprocess.Popen(pin + ["nginx", "-c", cfg, "-g", "daemon off;"],
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            pid = None
        wait_port(self.port)
        if pid is None:  # nginx: the worker process does the work
            out = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True,
                                 text=True).stdout.split()
            pid = int(out[0])
        subprocess.run(["renice", "-n", "-10", "-p", str(pid)], capture_output=True)
        return pid

    def stop(self):
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)
            self.proc = None


def wait_port(port, timeout=10):
    import socket
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nothing listens on 127.0.0.1:{port}")


def wrk(port, path, seconds, lua):
    cmd = ["taskset", "-c", "0", "wrk", "-t1", "-c64", f"-d{seconds}s"]
    if lua:
        cmd += ["-s", lua]
    done = subprocess.run(cmd + [f"http://127.0.0.1:{port}{path}"], capture_output=True,
                          text=True, timeout=seconds + 30)
    out = done.stdout
    m = re.search(r"(\d+) requests in", out)
    if not m or "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk failed or saw errors (exit {done.returncode}):\n{out}{done.stderr}")
    return int(m.group(1))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default="/small", choices=["/small", "/1k.bin", "/64k.bin", "/post"])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=3)
    ap.add_argument("--peers", default="portico,nginx,haproxy")
    ap.add_argument("--base-port", type=int, default=19600)
    ap.add_argument("--portico-bin",
                    default=os.path.join(ROOT, "bazel-out/k8-opt/bin/source/server/portico"))
    args = ap.parse_args()
    # Stopped from outside: unwind, so the finally blocks kill every process we started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.rounds * len(args.peers.split(",")) * (args.seconds + 3) > 1800:
        raise SystemExit("that would run for more than 30 minutes")
    d, lua = bench_dir("portico-alternate.", args.path)
    up_port, proxy_port = args.base_port, args.base_port + 1
    upstream = start_upstream(d, up_port)
    results = {name: [] for name in args.peers.split(",")}
    try:
        wait_port(up_port)
        for r in range(args.rounds):
            for name in results:
                peer = Peer(name, d, proxy_port, up_port, args.portico_bin)
                try:
                    pid = peer.start()
                    for attempt in range(3):  # warm-up: pools, caches (and the peer is up)
                        try:
                            wrk(proxy_port, args.path, 1, lua)
                            break
                        except SystemExit as e:
                            if attempt == 2:
                                raise SystemExit(f"{name}: {e}")
                            time.sleep(0.5)
                    t0 = cpu_ticks(pid)
                    n = wrk(proxy_port, args.path, args.seconds, lua)
                    us = (cpu_ticks(pid) - t0) * tick_seconds() * 1e6 / n
                    results[name].append(us)
                finally:
                    peer.stop()
            print(f"round {r + 1}: " + "  ".join(f"{k} {v[-1]:.1f}" for k, v in results.items()),
                  flush=True)
    finally:
        os.killpg(upstream.pid, signal.SIGKILL)
        upstream.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)
    print(f"\nuser+sys us/request, {args.path}, wrk -t1 -c64 -d{args.seconds}s x {args.rounds}")
    base = results.get("portico")
    for name, v in results.items():
        line = f"{name:10s} min {min(v):6.1f}  median {statistics.median(v):6.1f}"
        if base and name != "portico":
            line += (f"   portico/{name}: min {min(base) / min(v):.2f}"
                     f"  median {statistics.median(base) / statistics.median(v):.2f}")
        print(line)


if __name__ == "__main__":
    sys.exit(main())
