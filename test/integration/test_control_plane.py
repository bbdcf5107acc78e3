"""Fleet tests: portico-control (the real binary) + two portico proxies + upstreams.

Resources are written through the control plane's REST API; both proxies must apply every
change with zero failed requests under load, keep serving while the control plane is down,
get the current config after a restart, and the fleet view must show what each ACKed."""

import contextlib
import json
import os
import socket
import subprocess
import tempfile
import re
import signal
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from test_xds import make_certificate
from harness import (REPO_ROOT, ManagedProcess, PorticoTestCase, RawConnection, address,
                     bootstrap, free_port, http_get, listener, wait_until)

CONTROL_BIN = Path(os.environ.get("PORTICO_CONTROL_BIN",
                                  REPO_ROOT / "bazel-bin/source/control_plane/portico-control"))
TOKEN = "test-token"


class ControlPlane(ManagedProcess):
    def __init__(self, log_dir, store_dir, grpc_port=None, http_port=None, tls=None):
        self.grpc_port = grpc_port or free_port()
        self.http_port = http_port or free_port()
        tls_args = ["--tls-cert", tls[0], "--tls-key", tls[1]] if tls else []
        super().__init__("portico-control", [
            CONTROL_BIN, "serve", "--dir", store_dir, "--grpc", "127.0.0.1:%d" % self.grpc_port,
            "--http", "127.0.0.1:%d" % self.http_port, "--api-token", TOKEN,
            "--debounce-ms", "50"] + tls_args, log_dir)
        wait_until(self._ready, 10, message="portico-control listening")

    def _ready(self):
        if not self.running():
            raise RuntimeError("portico-control exited:\n%s" % self.output())
        return "http listening" in self.output()

    def call(self, method, path, body=None):
        data = None if body is None else (body if isinstance(body, bytes) else body.encode())
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path),
                                         data=data, method=method,
                                         headers={"Authorization": "Bearer " + TOKEN})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"null")

    def apply(self, yaml_text):
        status, body = self.call("POST", "/v1/apply", yaml_text)
        assert status == 200, (status, body)
        return body

    def fleet(self):
        return self.call("GET", "/v1/fleet")[1]


def resources_yaml(upstream_ports, weights, body_marker="via-backend", listener_port=0,
                   variant=0):
    """Clusters, endpoints, a listener and routes. `variant` switches the route to another
    cluster (over the same upstreams) and changes the listener's stat prefix, so a push can
    change every resource type at once."""
    endpoints = "\n".join(
        "      - {address: {address: 127.0.0.1, port: %d}, load_balancing_weight: %d}" % (p, w)
        for p, w in zip(upstream_ports, weights))
    documents = []
    for cluster in ("backend", "backend-b"):
        documents.append("""kind: Cluster
spec: {name: %s, connect_timeout: 1s, lb_policy: %s}
---
kind: ClusterLoadAssignment
spec:
  cluster_name: %s
  endpoints:
%s""" % (cluster, "LEAST_REQUEST" if variant % 2 else "ROUND_ROBIN", cluster, endpoints))
    documents.append("""kind: Listener
spec:
  name: edge
  address: {address: 127.0.0.1, port: %d}
  http: {stat_prefix: edge%d, route_config_name: edge-routes}""" % (listener_port, variant % 2))
    documents.append("""kind: RouteConfiguration
spec:
  name: edge-routes
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
    - match: {path: /marker}
      direct_response: {status: 200, body: "%s"}
    - match: {prefix: /}
      route: {cluster: %s}
""" % (body_marker, "backend-b" if variant % 2 else "backend"))
    return "\n---\n".join(documents)


class FleetTest(PorticoTestCase):
    tls = False

    def setUp(self):
        super().setUp()
        if not CONTROL_BIN.exists():
            self.fail("%s missing: bazel build //source/control_plane:portico-control"
                      % CONTROL_BIN)
        self.env = self.new_env()
        self.store = self.env.dir / "store"
        self.store.mkdir()
        self.certificate = make_certificate(self.env.dir) if self.tls else None
        self.cp = ControlPlane(self.env.dir, self.store, tls=self.certificate)
        self.env.processes.append(self.cp)
        self.upstreams = [self.env.start_upstream("u1"), self.env.start_upstream("u2")]
        self.edge_port = free_port()
        self.cp.apply(resources_yaml([u.port for u in self.upstreams], (1, 1),
                                     listener_port=self.edge_port))
        self.proxies = [self.start_proxy("proxy-a"), self.start_proxy("proxy-b")]

    def start_proxy(self, node_id, edge_port=None):
        static = listener("static", free_port(), [{"name": "s", "domains": ["*"], "routes": [
            {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "s"}}]}])
        config = bootstrap([static], [])
        config["node"] = {"id": node_id, "cluster": "edge"}
        config["dynamic_resources"] = {"control_plane": [address(self.cp.grpc_port)]}
        if self.tls:
            config["dynamic_resources"]["tls"] = {"ca_file": str(self.certificate[0]),
                                                  "server_name": "127.0.0.1"}
        # Both proxies share the listener port (SO_REUSEPORT), as sidecars on two hosts would
        # each have their own; traffic is split between them by the kernel.
        proxy = self.env.start_portico(config, concurrency=1)
        wait_until(lambda: self.has_edge_listener(proxy), 10,
                   message="%s serving the dynamic listener" % node_id)
        return proxy

    @staticmethod
    def has_edge_listener(proxy):
        dump = json.loads(proxy.admin_get("/config_dump").body)
        return any(l["name"] == "edge" for l in dump["active"]["static_resources"]["listeners"])

    def marker(self, port):
        try:
            response = http_get(port, "/marker", timeout=2)
        except OSError:
            return None
        return response.body.decode() if response.status == 200 else None

    def fleet_versions(self):
        nodes = self.cp.fleet()
        return {n["id"]: n for n in (nodes.get("nodes", nodes) if isinstance(nodes, dict)
                                     else nodes)}

    @contextlib.contextmanager
    def load(self, clients=4):
        """Keep-alive clients on the edge listener until the block ends; yields (failures,
        [requests]). A response with "connection: close" (a drained connection) makes the
        client reconnect, as real clients do; anything but a 200 is a failure."""
        failures, done, count = [], threading.Event(), [0]

        def client():
            while not done.is_set():
                try:
                    with RawConnection(self.edge_port, timeout=5) as conn:
                        for _ in range(50):
                            response = conn.request("GET", "/echo")
                            count[0] += 1
                            if response.status != 200:
                                failures.append(response.status)
                            if response.header("connection") == "close":
                                break
                except Exception as error:  # noqa: BLE001 (a dropped request: NoResponse too)
                    failures.append(repr(error))

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for t in threads:
            t.start()
        try:
            yield failures, count
        finally:
            done.set()
            for t in threads:
                t.join(15)

    def test_fifty_changes_of_every_type_under_load_fail_no_request(self):
        with self.load() as (failures, count):
            for i in range(50):
                # Every push changes endpoints' weights, the route and its target cluster,
                # both clusters' LB policy and the listener's settings; each must show in
                # responses (the marker route) and in both proxies' /config_dump.
                weights = (1 + i % 3, 1 + (i + 1) % 3)
                marker = "m%d" % i
                self.cp.apply(resources_yaml([u.port for u in self.upstreams], weights,
                                             marker, self.edge_port, variant=i))
                wait_until(lambda: self.marker(self.edge_port) == marker, 10,
                           message="change %d in responses" % i)
                for proxy in self.proxies:
                    wait_until(lambda: marker in proxy.admin_get("/config_dump").text(), 10,
                               message="change %d in /config_dump" % i)
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 200)

    def test_invalid_write_is_refused_with_field_path_and_nothing_changes(self):
        status, body = self.cp.call("PUT", "/v1/resources/RouteConfiguration/edge-routes", """
spec:
  name: edge-routes
  virtual_hosts: [{name: all, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: nope}}]}]
""")
        self.assertEqual(status, 400)
        self.assertIn("nope", json.dumps(body))
        self.assertEqual(self.marker(self.edge_port), "via-backend")

    def test_yaml_alias_bomb_is_refused_quickly(self):
        # Nine lines of anchors standing for 10^9 scalars: a clear 400, not a control plane
        # filling its memory; it keeps serving afterwards.
        lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
        for name in "bcdefghi":
            previous = chr(ord(name) - 1)
            lines.append("%s: &%s [%s]" % (name, name, ", ".join(["*" + previous] * 10)))
        start = time.monotonic()
        status, body = self.cp.call("POST", "/v1/apply", "kind: Cluster\nspec:\n  " +
                                    "\n  ".join(lines) + "\n")
        self.assertEqual(status, 400, body)
        self.assertIn("YAML expands to more than", json.dumps(body))
        self.assertLess(time.monotonic() - start, 5.0)
        self.assertEqual(self.cp.call("GET", "/healthz")[0], 200)
        self.assertEqual(self.marker(self.edge_port), "via-backend")

    def test_control_plane_down_under_load_then_back(self):
        grpc_port, http_port = self.cp.grpc_port, self.cp.http_port
        with self.load() as (failures, count):
            self.cp.kill()
            time.sleep(1.5)  # the proxies lose their stream and serve their last config
            self.cp = ControlPlane(self.env.dir, self.store, grpc_port, http_port,
                                   self.certificate)
            self.env.processes.append(self.cp)
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 100)
        self.cp.apply(resources_yaml([u.port for u in self.upstreams], (1, 1), "after-restart",
                                     self.edge_port))
        for proxy in self.proxies:
            wait_until(lambda: json.loads(proxy.admin_get("/config_dump").body)["dynamic"]
                       ["connected"], 15, message="reconnect")
        wait_until(lambda: self.marker(self.edge_port) == "after-restart", 10,
                   message="the change after the restart")

    def test_restarted_proxy_gets_current_config(self):
        self.cp.apply(resources_yaml([u.port for u in self.upstreams], (1, 1), "current",
                                     self.edge_port))
        wait_until(lambda: self.marker(self.edge_port) == "current", 10, message="change")
        self.proxies[0].kill()
        self.proxies[0] = self.start_proxy("proxy-a")
        dump = json.loads(self.proxies[0].admin_get("/config_dump").body)
        routes = dump["active"]["static_resources"]["route_configs"]
        self.assertIn("current", json.dumps(routes))

    def test_proxy_nack_shows_in_the_fleet_view(self):
        # Valid for the control plane, impossible on the proxies' host: the port is taken.
        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen()
            port = taken.getsockname()[1]
            status, body = self.cp.call("PUT", "/v1/resources/Listener/clash", json.dumps({
                "spec": {"name": "clash", "address": {"address": "127.0.0.1", "port": port},
                         "http": {"route_config_name": "edge-routes"}}}))
            self.assertIn(status, (200, 201), body)
            wait_until(lambda: "cannot bind" in json.dumps(self.cp.fleet()), 10,
                       message="the proxies' NACK in the fleet view")
        self.assertEqual(http_get(self.edge_port, "/echo").status, 200)

    def test_fleet_view_shows_acked_versions(self):
        fleet = json.dumps(self.cp.fleet())
        self.assertIn("proxy-a", fleet)
        self.assertIn("proxy-b", fleet)
        dump = json.loads(self.proxies[0].admin_get("/config_dump").body)
        version = dump["dynamic"]["types"][
            "type.googleapis.com/portico.config.v1.RouteConfiguration"]["version"]
        self.assertTrue(version)
        self.assertIn(version, fleet)

    def test_sigterm_stops_it_gracefully_with_proxies_connected(self):
        # Regression (reviewer): SIGTERM was blocked only after gRPC had started its threads,
        # which kept the default action: the process died (exit -15) without its shutdown.
        self.cp.send_signal(signal.SIGTERM)
        self.assertEqual(self.cp.wait(10), 0, self.cp.output())
        self.assertIn("shutting down", self.cp.output())
        self.assertEqual(http_get(self.edge_port, "/echo").status, 200)  # proxies keep serving

    def test_a_second_server_on_the_same_grpc_port_does_not_start(self):
        # Regression (reviewer): gRPC's SO_REUSEPORT let it start, and the kernel split the
        # proxies' connections between two control planes.
        other = self.env.dir / "second"
        other.mkdir()
        (other / "store").mkdir()
        with self.assertRaisesRegex(RuntimeError, "cannot listen on --grpc"):
            second = ControlPlane(other, other / "store", grpc_port=self.cp.grpc_port)
            self.env.processes.append(second)


class TlsFleetTest(FleetTest):
    """The same fleet with the discovery stream over TLS (grpc++ server, BoringSSL client)."""
    tls = True


class CliAgainstABrokenServerTest(PorticoTestCase):
    """Regression (reviewer): the CLI read out of bounds on a huge chunk size and aborted on a
    200 answer without the fields it expected. A server that answers wrongly gets an error or
    less output, never a crash."""

    def serve_once_per_connection(self, answer):
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        self.addCleanup(listener.close)

        def serve():
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn:
                    conn.settimeout(5)
                    data = b""
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    conn.sendall(answer)

        threading.Thread(target=serve, daemon=True).start()
        return "http://127.0.0.1:%d" % listener.getsockname()[1]

    def run_cli(self, server, *args):
        return subprocess.run([str(CONTROL_BIN), *args, "--server", server],
                              capture_output=True, text=True, timeout=30)

    def test_a_chunk_size_that_wraps_is_an_error(self):
        server = self.serve_once_per_connection(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
            b"ffffffffffffffff\r\nab\r\n0\r\n\r\n")
        result = self.run_cli(server, "get", "all")
        self.assertGreater(result.returncode, 0, result.stderr)
        self.assertIn("malformed chunked body", result.stderr)

    def test_answers_without_the_expected_fields_print_less(self):
        server = self.serve_once_per_connection(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
            b"Connection: close\r\n\r\n{}")
        for args in (("get", "all"), ("status",)):
            result = self.run_cli(server, *args)
            self.assertEqual(result.returncode, 0, "%s: %s" % (args, result.stderr))
        with tempfile.NamedTemporaryFile("w", suffix=".yaml") as f:
            f.write("kind: Cluster\nspec: {name: a}\n")
            f.flush()
            result = self.run_cli(server, "apply", "-f", f.name)
        self.assertEqual(result.returncode, 0, result.stderr)
