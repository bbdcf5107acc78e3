"""Shared machinery for Portico's integration tests (Python 3 standard library only).

- Processes: `Environment` starts upstreams (upstream.py) and portico in their own process
  groups, with stdout/stderr in files under a temp dir, and kills every group on close.
- Config: small builders for the bootstrap (mirroring portico.config.v1.Bootstrap) and a
  YAML writer.
- Clients: `curl()` runs the real curl, `RawConnection`/`send_raw()` speak exact bytes,
  `admin_get()`/`admin_post()` talk to the admin port, `rss_kb()` reads a process's RSS.
- `PorticoTestCase`: a unittest base class that owns the environments, checks after every
  test that no upstream received a malformed request, and prints the logs of every process
  when a test fails.

The binary comes from $PORTICO_BIN, by default <repo>/bazel-bin/source/server/portico.
"""

import atexit
import contextlib
import dataclasses
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest
from pathlib import Path

INTEGRATION_DIR = Path(__file__).resolve().parent
REPO_ROOT = INTEGRATION_DIR.parents[1]
UPSTREAM_SCRIPT = INTEGRATION_DIR / "upstream.py"
DEFAULT_PORTICO_BIN = REPO_ROOT / "bazel-bin" / "source" / "server" / "portico"

if str(INTEGRATION_DIR) not in sys.path:
    sys.path.insert(0, str(INTEGRATION_DIR))

from upstream import pattern_bytes, pattern_sha256  # noqa: E402  (re-exported for tests)

READY_TIMEOUT = 10.0
UPSTREAM_START_TIMEOUT = 5.0
STOP_TIMEOUT = 5.0
GRACEFUL_STOP_TIMEOUT = 3.0
CLIENT_TIMEOUT = 5.0
LOG_TAIL_BYTES = 12 * 1024
RECV_SIZE = 64 * 1024

HEADER_NAME_RE = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")

__all__ = [
    "Environment", "PorticoTestCase", "RawConnection", "Response", "NoResponse",
    "admin_get", "admin_post", "bootstrap", "cluster", "connection_refused", "curl",
    "json_lines", "listener_closed",
    "curl_many", "echo_headers", "exchange_raw", "format_request", "free_port", "http_get",
    "listener", "parse_responses", "pattern_bytes", "pattern_sha256", "portico_bin",
    "route_to", "rss_kb", "run_portico", "send_raw", "to_yaml", "virtual_host", "wait_until",
    "UUID_RE", "INTEGRATION_DIR", "REPO_ROOT", "ManagedProcess", "address",
]


# ---------------------------------------------------------------------------------------
# Small utilities


def portico_bin():
    return Path(os.environ.get("PORTICO_BIN", DEFAULT_PORTICO_BIN))


_handed_out_ports = set()


def free_port():
    """A 127.0.0.1 TCP port that was free a moment ago and not handed out before."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port
    raise RuntimeError("no free port found")


def wait_until(predicate, timeout, interval=0.05, message="condition"):
    """Polls predicate() until it returns a truthy value, which is returned."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)


def json_lines(path):
    """The JSON lines of a file being written (an access log): [] while it does not exist, and
    a last line the writer has not finished is left for the next look."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return []
    complete = text if text.endswith("\n") else text[:text.rfind("\n") + 1]
    return [json.loads(line) for line in complete.splitlines() if line]


def rss_kb(pid):
    """Resident set size of a process in KiB (VmRSS from /proc)."""
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS for pid %d" % pid)


def tail(path, limit=LOG_TAIL_BYTES):
    try:
        with open(path, "rb") as stream:
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - limit))
            text = stream.read().decode("utf-8", "replace")
    except FileNotFoundError:
        return "(no file)"
    return ("[... %d bytes cut ...]\n" % (size - limit) if size > limit else "") + text


# ---------------------------------------------------------------------------------------
# YAML and config builders


def to_yaml(value):
    """Block-style YAML for dicts, lists, strings, numbers and booleans."""
    return "\n".join(_yaml_lines(value, 0)) + "\n"


def _is_block(value):
    return isinstance(value, (dict, list)) and bool(value)


def _yaml_scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return "{}" if isinstance(value, dict) else "[]"
    return json.dumps(str(value))  # a JSON string is a valid double-quoted YAML scalar


def _yaml_lines(value, indent):
    pad = " " * indent
    if isinstance(value, dict) and value:
        for key, item in value.items():
            if _is_block(item):
                yield "%s%s:" % (pad, key)
                yield from _yaml_lines(item, indent + 2)
            else:
                yield "%s%s: %s" % (pad, key, _yaml_scalar(item))
    elif isinstance(value, list) and value:
        for item in value:
            if _is_block(item):
                lines = list(_yaml_lines(item, indent + 2))
                lines[0] = pad + "- " + lines[0][indent + 2:]
                yield from lines
            else:
                yield "%s- %s" % (pad, _yaml_scalar(item))
    else:
        yield pad + _yaml_scalar(value)


def address(port, host="127.0.0.1"):
    return {"address": host, "port": port}


def cluster(name, ports, lb_policy="ROUND_ROBIN", weights=None, connect_timeout="1s",
            **options):
    """A static cluster; `ports` are endpoint ports on 127.0.0.1 (or upstream processes)."""
    endpoints = []
    for index, port in enumerate(ports):
        endpoint = {"address": address(getattr(port, "port", port))}
        if weights:
            endpoint["load_balancing_weight"] = weights[index]
        endpoints.append(endpoint)
    return {"name": name, "connect_timeout": connect_timeout, "lb_policy": lb_policy,
            "load_assignment": {"endpoints": endpoints}, **options}


def route_to(cluster_name, match=None, timeout="2s", **action):
    """A route forwarding to a cluster (or `weighted_clusters=` with cluster_name None)."""
    target = {"cluster": cluster_name} if cluster_name else {}
    return {"match": match or {"prefix": "/"},
            "route": {**target, "timeout": timeout, **action}}


def virtual_host(name, domains, routes, **options):
    return {"name": name, "domains": list(domains), "routes": list(routes), **options}


def listener(name, port, virtual_hosts, request_headers_timeout="1s", max_connections=None,
             route_config_options=None, **http_options):
    """A listener on 127.0.0.1 whose stat_prefix is its name; `http_options` go into `http`."""
    route_config = {"name": "local", "virtual_hosts": list(virtual_hosts),
                    **(route_config_options or {})}
    http = {"stat_prefix": name, "request_headers_timeout": request_headers_timeout,
            "route_config": route_config, **http_options}
    result = {"name": name, "address": address(port), "http": http}
    if max_connections is not None:
        result["max_connections"] = max_connections
    return result


def bootstrap(listeners, clusters, drain_timeout="5s", admin_port=None):
    config = {"drain_timeout": drain_timeout,
              "static_resources": {"listeners": list(listeners), "clusters": list(clusters)}}
    if admin_port is not None:
        config = {"admin": {"address": address(admin_port)}, **config}
    return config


# ---------------------------------------------------------------------------------------
# HTTP responses and raw-socket clients


class NoResponse(Exception):
    """The connection closed before a response's status line arrived."""


@dataclasses.dataclass
class Response:
    status: int
    reason: str = ""
    headers: list = dataclasses.field(default_factory=list)  # (lowercase name, value)
    body: bytes = b""
    informational: list = dataclasses.field(default_factory=list)  # 1xx seen before it
    complete: bool = True  # False when the connection closed mid-body

    def header_values(self, name):
        name = name.lower()
        return [value for key, value in self.headers if key == name]

    def header(self, name, default=None):
        values = self.header_values(name)
        return values[0] if values else default

    def text(self):
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)


class ResponseReader:
    """Parses HTTP/1.1 responses from a byte source (`recv()` returns b"" at EOF)."""

    def __init__(self, recv):
        self._recv = recv
        self.buffer = b""

    def _fill(self):
        data = self._recv()
        self.buffer += data
        return bool(data)

    def _take(self, count):
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def _line(self):
        while b"\r\n" not in self.buffer:
            if not self._fill():
                raise NoResponse("connection closed mid-line: %r" % self.buffer[:200])
        line = self._take(self.buffer.index(b"\r\n") + 2)
        return line[:-2].decode("latin-1")

    def _head(self):
        if not self.buffer and not self._fill():
            raise NoResponse("connection closed without a response")
        status_line = self._line()
        match = re.match(r"^HTTP/1\.[01] (\d{3})(?: (.*))?$", status_line)
        if not match:
            raise AssertionError("bad status line %r" % status_line)
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            name, colon, value = line.partition(":")
            if not colon or not HEADER_NAME_RE.match(name):
                raise AssertionError("malformed response header line %r" % line)
            headers.append((name.lower(), value.strip(" \t")))
        return Response(int(match.group(1)), match.group(2) or "", headers)

    def _exact(self, length):
        while len(self.buffer) < length:
            if not self._fill():
                return self._take(len(self.buffer)), False
        return self._take(length), True

    def _chunked(self):
        parts = []
        while True:
            try:
                size_line = self._line()
            except NoResponse:
                return b"".join(parts), False
            size_text = size_line.split(";")[0]
            if not re.fullmatch(r"[0-9a-fA-F]{1,16}", size_text):
                raise AssertionError("malformed chunk size line %r" % size_line)
            size = int(size_text, 16)
            if size == 0:
                try:
                    while self._line():  # trailers, up to the empty line
                        pass
                except NoResponse:
                    return b"".join(parts), False
                return b"".join(parts), True
            data, complete = self._exact(size + 2)
            parts.append(data[:size])
            if not complete:
                return b"".join(parts), False
            if data[size:] != b"\r\n":
                raise AssertionError("chunk data not followed by CRLF: %r" % data[size:])

    def _until_close(self):
        while self._fill():
            pass
        return self._take(len(self.buffer)), True

    def read_response(self, head=False):
        """The next final response; 1xx responses before it land in `.informational`."""
        informational = []
        response = self._head()
        while 100 <= response.status < 200 and response.status != 101:
            informational.append(response)
            response = self._head()
        response.informational = informational
        if head or response.status in (101, 204, 304):
            return response
        if "chunked" in (response.header("transfer-encoding") or "").lower():
            response.body, response.complete = self._chunked()
        elif response.header("content-length") is not None:
            response.body, response.complete = self._exact(int(response.header("content-length")))
        else:
            response.body, response.complete = self._until_close()
        return response


def bytes_source(data):
    """A recv() function handing out `data` once, then EOF."""
    chunks = [data]
    return lambda: chunks.pop() if chunks else b""


def parse_responses(data):
    """Every response in a captured byte string (no HEAD responses)."""
    reader = ResponseReader(bytes_source(data))
    responses = [reader.read_response()] if data else []
    while reader.buffer:
        responses.append(reader.read_response())
    return responses


def echo_headers(response):
    """The request headers an upstream's /echo saw, as {lowercase name: [values]}."""
    headers = {}
    for name, value in response.json()["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return headers


def format_request(method, path, headers=(), body=None, host="127.0.0.1"):
    """Request bytes; adds Host unless given and Content-Length for a body unless framed."""
    headers = list(headers.items() if isinstance(headers, dict) else headers)
    names = {name.lower() for name, _ in headers}
    if "host" not in names:
        headers.insert(0, ("Host", host))
    if body is not None and not names & {"content-length", "transfer-encoding"}:
        headers.append(("Content-Length", str(len(body))))
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % pair for pair in headers) + "\r\n"
    return head.encode("latin-1") + (body or b"")


class RawConnection:
    """A client TCP connection that sends exact bytes and parses what comes back."""

    def __init__(self, port, timeout=CLIENT_TIMEOUT, rcvbuf=None):
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(("127.0.0.1", port))
        except OSError:
            self.sock.close()
            raise
        self.reader = ResponseReader(lambda: self.sock.recv(RECV_SIZE))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def request(self, method, path, headers=(), body=None, host=None):
        self.send(format_request(method, path, headers, body,
                                 host or "127.0.0.1:%d" % self.port))
        return self.read_response(head=method == "HEAD")

    def read_response(self, head=False):
        return self.reader.read_response(head)

    def read_until_close(self, timeout):
        """(bytes, closed): everything received until EOF/reset or until `timeout` passes."""
        deadline = time.monotonic() + timeout
        data, self.reader.buffer = self.reader.buffer, b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return data, False
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(RECV_SIZE)
            except socket.timeout:
                return data, False
            except ConnectionResetError:
                return data, True
            if not chunk:
                return data, True
            data += chunk


@dataclasses.dataclass
class RawReply:
    data: bytes
    closed: bool  # the peer closed (or reset) the connection before the timeout
    elapsed: float

    def status(self):
        """Status code of the first response, or None if nothing (parsable) came back."""
        match = re.match(rb"^HTTP/1\.[01] (\d{3})", self.data)
        return int(match.group(1)) if match else None


def exchange_raw(port, data, timeout=CLIENT_TIMEOUT):
    """Sends `data` on a new connection and collects the reply until close or `timeout`."""
    start = time.monotonic()
    with RawConnection(port, timeout) as conn:
        try:
            conn.send(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the peer may reject before everything is sent; collect what it said
        received, closed = conn.read_until_close(timeout)
    return RawReply(received, closed, time.monotonic() - start)


def send_raw(port, data, timeout=CLIENT_TIMEOUT):
    """Bytes received for `data` until the peer closes or `timeout` passes."""
    return exchange_raw(port, data, timeout).data


def listener_closed(port, timeout=5.0):
    """True if nothing listens on `port` (the connection is refused, or reset while it
    connects: the listening socket closed with it in its queue); False if a connection is
    made, whatever happens to it next (a slow proxy is not a closed one)."""
    try:
        socket.create_connection(("127.0.0.1", port), timeout=timeout).close()
    except (ConnectionRefusedError, ConnectionResetError):
        return True
    return False


def connection_refused(port, timeout=1.0):
    """True if a new connection to `port` fails: refused, reset, or closed/silent without
    answering a request within `timeout` (a full listener may leave it in the queue). For a
    listener that should be gone, listener_closed() is the strict check."""
    try:
        with RawConnection(port, timeout) as conn:
            conn.send(format_request("GET", "/", {"Connection": "close"}))
            data, _ = conn.read_until_close(timeout)
    except OSError:
        return True
    return not data.startswith(b"HTTP/")


def http_get(port, path, headers=(), timeout=CLIENT_TIMEOUT):
    with RawConnection(port, timeout) as conn:
        return conn.request("GET", path, headers)


def admin_get(admin_port, path, timeout=CLIENT_TIMEOUT):
    return http_get(admin_port, path, timeout=timeout)


def admin_post(admin_port, path, timeout=CLIENT_TIMEOUT):
    with RawConnection(admin_port, timeout) as conn:
        return conn.request("POST", path, body=b"")


# ---------------------------------------------------------------------------------------
# curl


def curl_many(urls, *args, method=None, headers=(), data=None, timeout=10.0, check=True):
    """One curl invocation fetching every URL (so it reuses its connection); a Response each.

    `args` are extra curl arguments; `data` (bytes) is sent with --data-binary.
    Responses curl could not get have status 0. With check, curl failing is an assertion.
    """
    with tempfile.TemporaryDirectory(prefix="portico-curl-") as tmp:
        command = ["curl", "-sS", "-i", "--max-time", str(timeout), *args]
        if method == "HEAD":
            command.append("--head")
        elif method:
            command += ["-X", method]
        for name, value in (headers.items() if isinstance(headers, dict) else headers):
            command += ["-H", "%s: %s" % (name, value)]
        if data is not None:
            body_path = Path(tmp, "request-body")
            body_path.write_bytes(data)
            command += ["--data-binary", "@%s" % body_path]
        outputs = [Path(tmp, "response-%d" % index) for index in range(len(urls))]
        for url, output in zip(urls, outputs):
            command += ["-o", str(output), url]
        done = subprocess.run(command, capture_output=True, timeout=timeout + 5)
        if check and done.returncode != 0:
            raise AssertionError("curl exited %d: %s\ncommand: %s" % (
                done.returncode, done.stderr.decode(errors="replace"), command))
        return [parse_curl_output(output, head=method == "HEAD") for output in outputs]


def curl(url, *args, **options):
    """Runs the real curl for one URL; returns a Response (see curl_many)."""
    return curl_many([url], *args, **options)[0]


def parse_curl_output(path, head=False):
    """curl -i writes every header block (1xx included) followed by the decoded body."""
    if not path.exists():
        return Response(0)
    reader = ResponseReader(bytes_source(path.read_bytes()))
    try:
        response = reader.read_response(head=True)  # 1xx blocks, then the final head
    except NoResponse:
        return Response(0)
    response.body = b"" if head else reader.buffer
    return response


# ---------------------------------------------------------------------------------------
# Processes

_live_groups = set()


def _kill_group(pid):
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


@atexit.register
def _kill_leftovers():
    for pid in list(_live_groups):
        _kill_group(pid)


class ManagedProcess:
    """A subprocess in its own process group with stdout/stderr captured in files."""

    def __init__(self, name, args, log_dir):
        self.name = name
        self.args = [str(arg) for arg in args]
        self.stdout_path = Path(log_dir, name + ".stdout")
        self.stderr_path = Path(log_dir, name + ".stderr")
        with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
            self.popen = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=out,
                                          stderr=err, start_new_session=True)
        _live_groups.add(self.popen.pid)

    @property
    def pid(self):
        return self.popen.pid

    def running(self):
        return self.popen.poll() is None

    def send_signal(self, signum):
        self.popen.send_signal(signum)

    def wait(self, timeout):
        """The exit code, or None if still running after `timeout` seconds."""
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self):
        _kill_group(self.pid)
        self.wait(STOP_TIMEOUT)
        _live_groups.discard(self.pid)

    def output(self):
        return self.stdout_path.read_text(errors="replace") + \
            self.stderr_path.read_text(errors="replace")

    def log_report(self):
        return "----- %s (pid %d, exit %s): %s\n--- stdout:\n%s\n--- stderr:\n%s\n" % (
            self.name, self.pid, self.popen.returncode, " ".join(self.args),
            tail(self.stdout_path), tail(self.stderr_path))


def run_portico(*args, timeout=10.0):
    """Runs portico to completion (e.g. --validate); returns the CompletedProcess."""
    binary = require_portico_bin()
    return subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def require_portico_bin():
    binary = portico_bin()
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(
            "portico binary not found at %s: build it (bazel build //source/server:portico)"
            " or set PORTICO_BIN" % binary)
    return binary


class UpstreamProcess(ManagedProcess):
    """upstream.py on a port of its own choosing; `port` is known once it printed READY."""

    def __init__(self, name, log_dir, latency_ms=0):
        super().__init__(name, [sys.executable, UPSTREAM_SCRIPT, "--port", 0, "--name", name,
                                "--latency-ms", latency_ms], log_dir)
        self.port = wait_until(self._ready_port, UPSTREAM_START_TIMEOUT,
                               message="upstream %s to print READY" % name)
        self.malformed_seen = 0

    def _ready_port(self):
        match = re.search(r"READY (\d+)", self.stdout_path.read_text())
        if match:
            return int(match.group(1))
        if not self.running():
            raise RuntimeError("upstream %s exited early:\n%s" % (self.name, self.log_report()))
        return None

    def stats(self):
        return http_get(self.port, "/stats").json()

    def assert_clean(self):
        """Fails if malformed requests arrived since the last check."""
        if not self.running():
            return
        stats = self.stats()
        new = stats["malformed"] - self.malformed_seen
        self.malformed_seen = stats["malformed"]
        if new:
            raise AssertionError("upstream %s received %d malformed request(s): %s" % (
                self.name, new, stats["malformed_reasons"][-new:]))


class PorticoProcess(ManagedProcess):
    """The proxy under test, started with a config file and waited for until ready."""

    def __init__(self, name, config, log_dir, concurrency=2, log_level="info"):
        binary = require_portico_bin()
        self.config = config
        self.config_path = Path(log_dir, name + ".yaml")
        self.config_path.write_text(to_yaml(config))
        self.concurrency = concurrency
        self.admin_port = config["admin"]["address"]["port"]
        listeners = config["static_resources"]["listeners"]
        self.ports = {item["name"]: item["address"]["port"] for item in listeners}
        self.port = listeners[0]["address"]["port"]
        super().__init__(name, [binary, "--config", self.config_path, "--concurrency",
                                concurrency, "--log-level", log_level], log_dir)

    def kill(self):
        # Under a sanitizer (ci/sanitized_integration.sh) the proxy is stopped the graceful way
        # first, so it leaves through main() and LeakSanitizer checks what it still holds.
        if os.environ.get("PORTICO_STOP_GRACEFULLY") and self.running():
            self.send_signal(signal.SIGTERM)
            self.wait(GRACEFUL_STOP_TIMEOUT)
            if self.running():
                # Still draining (a request in flight, up to drain_timeout): cut the drain
                # short, still through main(), rather than SIGKILL past the leak check.
                try:
                    self.admin_post("/quitquitquit", timeout=1.0)
                except (OSError, NoResponse):
                    pass
                self.wait(GRACEFUL_STOP_TIMEOUT)
            if self.running():
                sys.stderr.write("portico pid %d did not stop after SIGTERM and /quitquitquit: "
                                 "killed, so no leak check for it\n" % self.pid)
        super().kill()

    def _answers_200(self, path):
        if not self.running():
            raise RuntimeError("portico exited with %s before GET %s answered 200"
                               % (self.popen.returncode, path))
        try:
            return self.admin_get(path, timeout=1.0).status == 200
        except (OSError, NoResponse):
            return False

    def wait_ready(self, timeout=READY_TIMEOUT):
        wait_until(lambda: self._answers_200("/ready"), timeout, interval=0.05,
                   message="portico GET /ready == 200")

    def wait_admin(self, timeout=READY_TIMEOUT):
        """Waits for the admin port only: with a control plane, /ready says 503 INITIALIZING
        until the first configuration came."""
        wait_until(lambda: self._answers_200("/server_info"), timeout, interval=0.05,
                   message="portico's admin port")

    def admin_get(self, path, timeout=CLIENT_TIMEOUT):
        return admin_get(self.admin_port, path, timeout)

    def admin_post(self, path, timeout=CLIENT_TIMEOUT):
        return admin_post(self.admin_port, path, timeout)

    def config_applied(self):
        """True once every worker has applied the latest configuration the proxy took: an
        ACK (or /config_dump) says the proxy took it, not that its workers serve it yet."""
        generation = json.loads(self.admin_get("/server_info").body)["config_generation"]
        return generation["applied_by_all_workers"] == generation["published"]

    def stats(self):
        """/stats as {name: value string}, one "name: value" line each."""
        response = self.admin_get("/stats")
        if response.status != 200:
            raise AssertionError("GET /stats returned %d" % response.status)
        stats = {}
        for line in response.text().splitlines():
            name, separator, value = line.partition(": ")
            if separator:
                stats[name.strip()] = value.strip()
        return stats

    def counter(self, name):
        """An integer stat; a stat that is not there fails the test."""
        stats = self.stats()
        if name not in stats:
            raise AssertionError("stat %s missing from /stats; have: %s" % (
                name, ", ".join(sorted(stats)[:50])))
        return int(stats[name])

    def url(self, path, listener_name=None):
        port = self.ports[listener_name] if listener_name else self.port
        return "http://127.0.0.1:%d%s" % (port, path)

    def rss_kb(self):
        return rss_kb(self.pid)


class Environment:
    """The processes of one test (or test class) and the temp dir with their logs."""

    def __init__(self, label):
        self.dir = Path(tempfile.mkdtemp(prefix="portico-it-%s-" % re.sub(r"\W", "_", label)))
        self.processes = []

    @property
    def upstreams(self):
        return [p for p in self.processes if isinstance(p, UpstreamProcess)]

    def start_upstream(self, name, latency_ms=0):
        upstream = UpstreamProcess(name, self.dir, latency_ms)
        self.processes.append(upstream)
        return upstream

    def start_portico(self, config, concurrency=2, log_level="info", wait=True):
        """Starts portico with `config` (an admin address on a free port is added). `wait`:
        until /ready (True), until the admin port answers ("admin": a proxy waiting for its
        control plane), or not at all (False)."""
        if "admin" not in config:
            config = {"admin": {"address": address(free_port())}, **config}
        name = "portico" if not any(isinstance(p, PorticoProcess) for p in self.processes) \
            else "portico-%d" % len(self.processes)
        proxy = PorticoProcess(name, config, self.dir, concurrency, log_level)
        self.processes.append(proxy)
        if wait == "admin":
            proxy.wait_admin()
        elif wait:
            proxy.wait_ready()
        return proxy

    def start_basic(self, upstream_names=("u1",), lb_policy="ROUND_ROBIN", timeout="2s",
                    concurrency=2, drain_timeout="5s", cluster_options=None, **http_options):
        """Upstreams, one cluster "backend" over them, and listener "ingress" routing "/" to it.

        Returns (portico, [upstreams]).
        """
        upstreams = [self.start_upstream(name) for name in upstream_names]
        config = bootstrap(
            [listener("ingress", free_port(),
                      [virtual_host("all", ["*"], [route_to("backend", timeout=timeout)])],
                      **http_options)],
            [cluster("backend", upstreams, lb_policy, **(cluster_options or {}))],
            drain_timeout=drain_timeout)
        return self.start_portico(config, concurrency), upstreams

    def close(self):
        for process in reversed(self.processes):
            process.kill()

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_report(self):
        configs = "".join("----- %s config:\n%s" % (p.name, p.config_path.read_text())
                          for p in self.processes if isinstance(p, PorticoProcess))
        return configs + "".join(p.log_report() for p in self.processes)


# ---------------------------------------------------------------------------------------
# unittest base class


class PorticoTestCase(unittest.TestCase):
    """Base class: class-wide processes from `start_class_env`, per-test ones from `new_env`.

    After each test every upstream must have received nothing malformed; when a test fails,
    the config and the logs of every process it used are printed to stderr.
    """

    class_env = None

    @classmethod
    def start_class_env(cls, env):
        """Override to start the processes shared by all tests of the class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.class_env = Environment(cls.__name__)
        try:
            cls.start_class_env(cls.class_env)
        except BaseException:
            sys.stderr.write(cls.class_env.log_report())
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        if cls.class_env:
            cls.class_env.close()
            cls.class_env.remove()
            cls.class_env = None
        super().tearDownClass()

    def run(self, result=None):
        result = result if result is not None else self.defaultTestResult()
        self._test_envs = []
        problems_before = len(result.failures) + len(result.errors)
        try:
            return super().run(result)
        finally:
            if len(result.failures) + len(result.errors) > problems_before:
                self.print_logs()
            for env in self._test_envs:
                env.remove()

    def new_env(self):
        """An environment of this test only; its processes are killed after the test."""
        env = Environment(self.id().rsplit(".", 1)[-1])
        self._test_envs.append(env)
        self.addCleanup(env.close)
        return env

    def all_envs(self):
        return ([self.class_env] if self.class_env else []) + self._test_envs

    def tearDown(self):
        for env in self.all_envs():
            for upstream in env.upstreams:
                upstream.assert_clean()
        super().tearDown()

    def print_logs(self):
        for env in self.all_envs():
            sys.stderr.write("\n===== logs for %s (%s)\n%s" % (self.id(), env.dir,
                                                               env.log_report()))

    # Conveniences bound to the class's portico (`cls.proxy`), if it has one.

    def send_raw(self, data, timeout=CLIENT_TIMEOUT, port=None):
        return send_raw(port or self.proxy.port, data, timeout)

    def exchange_raw(self, data, timeout=CLIENT_TIMEOUT, port=None):
        return exchange_raw(port or self.proxy.port, data, timeout)

    def get(self, path, headers=(), port=None):
        return http_get(port or self.proxy.port, path, headers)
