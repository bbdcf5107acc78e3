#!/usr/bin/env python3
"""Instructions per request of one or more Portico binaries, counted by callgrind.

CPU time on this shared machine moves with other tenants' load; instruction counts do not
(valgrind counts what the program executes, whatever else runs). This runs each binary under
`valgrind --tool=callgrind` behind an nginx upstream (configured as compare.sh configures
it), sends N1 and then N2 requests with `h2load --h1 -c4`, and prints
(instructions(N2) - instructions(N1)) / (N2 - N1): start-up and shutdown cancel out.

    bazel build -c opt //source/server:portico
    cp bazel-out/k8-opt/bin/source/server/portico /tmp/portico_before   # ... change, rebuild ...
    python3 tools/bench/instructions.py /tmp/portico_before bazel-out/k8-opt/bin/source/server/portico
    python3 tools/bench/instructions.py --path /1k.bin BIN
    python3 tools/bench/instructions.py BIN nginx haproxy      # the peers, counted the same way

It counts user-space instructions only (the kernel's share of a request is not seen), so it
answers "did this change make Portico's own code cheaper", not "how fast is it".
Loopback only; every step is bounded in time.
"""

import argparse
import glob
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from alternate import (bench_dir, haproxy_conf, nginx_conf, start_upstream,  # noqa: E402
                       wait_port)  # compare.sh's upstream and peers

CONFIG = """
static_resources:
  listeners:
  - name: bench
    address: {{address: 127.0.0.1, port: {port}}}
    http:
      route_config:
        virtual_hosts:
        - name: all
          domains: ["*"]
          routes:
          - match: {{prefix: /}}
            route: {{cluster: upstream}}
  clusters:
  - name: upstream
    load_assignment:
      endpoints:
      - address: {{address: 127.0.0.1, port: {upstream}}}
"""


def peer_command(binary, d, port, upstream):
    """The command line for `binary`: a portico binary, or the word nginx or haproxy for those
    peers, configured as compare.sh configures them (nginx without its master process, so
    the one process callgrind follows is the one serving)."""
    if binary == "nginx":
        conf = os.path.join(d, "nginx.conf")
        open(conf, "w").write(nginx_conf(d, port, upstream).replace(
            "worker_processes 1;", "worker_processes 1;\nmaster_process off;"))
        return ["nginx", "-c", conf, "-g", "daemon off;"]
    if binary == "haproxy":
        conf = os.path.join(d, "haproxy.cfg")
        open(conf, "w").write(haproxy_conf(port, upstream))
        return ["haproxy", "-f", conf]
    cfg = os.path.join(d, "portico.yaml")
    open(cfg, "w").write(CONFIG.format(port=port, upstream=upstream))
    return [binary, "--config", cfg, "--concurrency", "1", "--log-level", "warning"]


def count(binary, requests, d, port, upstream, path):
    """Total instructions of one run of `binary` that served `requests` requests."""
    for old in glob.glob(os.path.join(d, "callgrind.out.*")):
        os.remove(old)
    proc = subprocess.Popen(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + os.path.join(d, "callgrind.out.%p")]
        + peer_command(binary, d, port, upstream),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_port(port, timeout=60)
        done = subprocess.run(["h2load", "--h1", "-n", str(requests), "-c", "4",
                               f"http://127.0.0.1:{port}{path}"],
                              capture_output=True, text=True, timeout=600)
        m = re.search(r"requests: \d+ total, \d+ started, (\d+) done, (\d+) succeeded", done.stdout)
        if not m or int(m.group(2)) != requests:
            raise SystemExit(f"h2load did not complete {requests} requests:\n{done.stdout}")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    time.sleep(0.5)  # a peer may still be writing its profile after its group got the signal
    outs = glob.glob(os.path.join(d, "callgrind.out.*"))
    if not outs:
        raise SystemExit("callgrind wrote no output")
    total = 0
    for out in outs:
        for line in open(out):
            if line.startswith("summary:") or line.startswith("totals:"):
                total += int(line.split()[1])
                break
        else:
            raise SystemExit("no instruction total in " + out)
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binaries", nargs="+")
    ap.add_argument("--path", default="/small", choices=["/small", "/1k.bin", "/64k.bin"])
    ap.add_argument("--n1", type=int, default=1000)
    ap.add_argument("--n2", type=int, default=5000)
    ap.add_argument("--base-port", type=int, default=19720)
    args = ap.parse_args()
    if not 0 < args.n1 < args.n2 <= 50000:
        raise SystemExit("need 0 < n1 < n2 <= 50000")
    for tool in ("valgrind", "h2load", "nginx"):
        if shutil.which(tool) is None:
            raise SystemExit(f"{tool} is not installed (ci/setup.sh --bench installs what benchmarks use)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    d, _ = bench_dir("portico-instructions.", args.path)
    up_port, port = args.base_port, args.base_port + 1
    upstream = start_upstream(d, up_port, cpu=None)
    try:
        wait_port(up_port)
        for binary in args.binaries:
            started = time.monotonic()
            low = count(binary, args.n1, d, port, up_port, args.path)
            high = count(binary, args.n2, d, port, up_port, args.path)
            per = (high - low) / (args.n2 - args.n1)
            print(f"{per:10.0f} instructions/request  {args.path}  {binary}"
                  f"  ({time.monotonic() - started:.0f} s)", flush=True)
    finally:
        os.killpg(upstream.pid, signal.SIGKILL)
        upstream.wait(timeout=10)
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
