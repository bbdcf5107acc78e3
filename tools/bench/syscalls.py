#!/usr/bin/env python3
"""System calls, context switches and wake-ups per request of Portico, nginx and HAProxy.

Starts each peer behind the same nginx upstream, pinned as compare.sh pins (the load generator
and upstream on CPU 0, the proxy on CPU 1; tools/bench/alternate.py does the set-up), drives it
with `wrk -t1 -c64` and counts, with `perf stat -p <proxy pid>`, the kernel events of the proxy
process, divided by the requests served. It answers "does Portico ask the kernel for more than
its peers", which CPU time on a shared host cannot answer precisely.

    bazel build -c opt //source/server:portico
    python3 tools/bench/syscalls.py --path /small
    python3 tools/bench/syscalls.py --path /64k.bin --peers portico,nginx

Needs `perf` with tracepoint access (root). task-clock is inflated by the tracing itself: read
it as a comparison between peers of one run, not as a cost. Loopback only; bounded in time.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import alternate as peers  # noqa: E402  (same peers, upstream and pinning as alternate.py)

EVENTS = [
    ("raw_syscalls:sys_enter", "syscalls"),
    ("syscalls:sys_enter_epoll_wait", "epoll_wait"),
    ("syscalls:sys_enter_epoll_pwait", "epoll_pwait"),  # Portico's epoll_wait (no libc wrapper)
    ("syscalls:sys_enter_recvfrom", "recvfrom"),
    ("syscalls:sys_enter_recvmsg", "recvmsg"),
    ("syscalls:sys_enter_readv", "readv"),
    ("syscalls:sys_enter_read", "read"),
    ("syscalls:sys_enter_sendto", "sendto"),
    ("syscalls:sys_enter_sendmsg", "sendmsg"),
    ("syscalls:sys_enter_writev", "writev"),
    ("syscalls:sys_enter_write", "write"),
    ("syscalls:sys_enter_splice", "splice"),
    ("syscalls:sys_enter_epoll_ctl", "epoll_ctl"),
    ("context-switches", "ctx-switches"),
    ("sched:sched_wakeup", "wakeups"),
    ("ipi:ipi_send_cpu", "IPIs"),
    ("task-clock", "task-clock us"),
]


def tcp_counters():
    """System-wide TCP segment counters (Tcp: OutSegs, TcpExt: TCPPureAcks, DelayedACKs)."""
    values = {}
    for path in ("/proc/net/snmp", "/proc/net/netstat"):
        lines = open(path).read().splitlines()
        for names, numbers in zip(lines[::2], lines[1::2]):
            prefix = names.split()[0]
            for key, value in zip(names.split()[1:], numbers.split()[1:]):
                values[prefix + key] = int(value)
    return values


# Segments on the loopback during the run, per request, for every process (client, proxy,
# upstream): 4 means each of the four messages went as one data segment and every ACK rode on
# data. The machine's other traffic counts too, so read it on a quiet machine.
TCP_COUNTERS = [("Tcp:OutSegs", "tcp segs"), ("TcpExt:TCPPureAcks", "pure acks")]


def measure(name, d, port, upstream, path, seconds, lua, portico_bin):
    peer = peers.Peer(name, d, port, upstream, portico_bin)
    try:
        pid = peer.start()
        peers.wrk(port, path, 1, lua)  # warm-up
        perf = subprocess.Popen(["perf", "stat", "-x,", "-e", ",".join(e for e, _ in EVENTS),
                                 "-p", str(pid)], stderr=subprocess.PIPE, text=True)
        time.sleep(0.2)
        tcp_before = tcp_counters()
        requests = peers.wrk(port, path, seconds, lua)
        tcp_after = tcp_counters()
        perf.send_signal(signal.SIGINT)
        err = perf.communicate(timeout=30)[1]
    finally:
        peer.stop()
    counts = {}
    for line in err.splitlines():
        fields = line.split(",")
        if len(fields) > 3:
            try:
                counts[fields[2]] = float(fields[0])
            except ValueError:
                pass  # "<not supported>" / "<not counted>"
    per = {}
    for event, label in EVENTS:
        if event in counts:
            v = counts[event] / requests
            per[label] = v * 1000 if event == "task-clock" else v  # task-clock is in ms
    for key, label in TCP_COUNTERS:
        per[label] = (tcp_after.get(key, 0) - tcp_before.get(key, 0)) / requests
    return requests, per


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--path", default="/small", choices=["/small", "/1k.bin", "/64k.bin", "/post"])
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--peers", default="portico,nginx,haproxy")
    ap.add_argument("--base-port", type=int, default=19700)
    ap.add_argument("--portico-bin",
                    default=os.path.join(peers.ROOT, "bazel-out/k8-opt/bin/source/server/portico"))
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    if args.seconds > 60:
        raise SystemExit("--seconds is at most 60")
    d, lua = peers.bench_dir("portico-syscalls.", args.path)
    up_port, proxy_port = args.base_port, args.base_port + 1
    upstream = peers.start_upstream(d, up_port)
    rows = []
    try:
        peers.wait_port(up_port)
        for name in args.peers.split(","):
            rows.append((name,) + measure(name, d, proxy_port, up_port, args.path, args.seconds,
                                          lua, args.portico_bin))
    finally:
        os.killpg(upstream.pid, signal.SIGKILL)
        upstream.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)
    labels = [label for _, label in EVENTS + TCP_COUNTERS if any(label in r[2] for r in rows)]
    # Leave out the calls no peer makes.
    labels = [l for l in labels if any(r[2].get(l, 0) >= 0.0005 for r in rows)]
    print(f"per request, {args.path}, wrk -t1 -c64 -d{args.seconds}s")
    print(f"{'peer':10s}{'requests':>10s}" + "".join(f"{l:>14s}" for l in labels))
    for name, requests, per in rows:
        print(f"{name:10s}{requests:>10d}" + "".join(f"{per.get(l, 0):>14.3f}" for l in labels))


if __name__ == "__main__":
    main()
