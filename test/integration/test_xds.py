"""Live configuration over the discovery stream: portico's own gRPC client (nghttp2) against
an independent gRPC server (Python grpcio, fake_control_plane.py). Resources are pushed,
ACKed or NACKed; traffic follows every accepted change, and keeps flowing through a NACK, a
control-plane outage and 50 pushes under load."""

import contextlib
import json
import socket
import ssl
import subprocess
import threading
import time
import urllib.request
from pathlib import Path

from harness import (INTEGRATION_DIR, ManagedProcess, PorticoTestCase, RawConnection,
                     address, bootstrap, listener_closed, free_port, http_get, listener,
                     wait_until)

TYPE = "type.googleapis.com/portico.config.v1."
SYSTEM_PYTHON = "/usr/bin/python3"  # where Debian's python3-grpcio lives


class FakeControlPlane(ManagedProcess):
    def __init__(self, log_dir, grpc_port=None, tls=None):
        self.grpc_port = grpc_port or free_port()
        self.http_port = free_port()
        tls_args = ["--tls-cert", tls[0], "--tls-key", tls[1]] if tls else []
        super().__init__("control-plane", [SYSTEM_PYTHON, INTEGRATION_DIR /
                                           "fake_control_plane.py", "--grpc-port",
                                           self.grpc_port, "--http-port", self.http_port] +
                         tls_args, log_dir)
        wait_until(lambda: self._ready(), 20, message="fake control plane READY")

    def _ready(self):
        if not self.running():
            raise RuntimeError("fake control plane exited: %s" % self.output())
        return "READY" in self.output()

    def _call(self, path, body=None):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path),
                                         data=None if body is None else json.dumps(body).encode(),
                                         method="GET" if body is None else "POST")
        with urllib.request.urlopen(request, timeout=5) as response:
            return json.loads(response.read())

    def push(self, kind, version, resources, delta_names=None):
        return self._call("/push", {"type_url": TYPE + kind, "version": version,
                                    "resources": resources, "delta_names": delta_names or {}})

    def requests(self):
        return self._call("/requests")

    def streams(self):
        return self._call("/streams")["streams"]

    def end_streams(self, code, message):
        return self._call("/end-streams", {"code": code, "message": message})["ended"]

    def send_garbage(self):
        return self._call("/send-garbage", {})["sent_to"]


def routes(body_or_cluster, name="r1"):
    action = ({"direct_response": {"status": 200, "body": body_or_cluster}}
              if body_or_cluster.startswith("say:") else {"route": {"cluster": body_or_cluster}})
    return {"name": name, "virtual_hosts": [{"name": "all", "domains": ["*"],
                                             "routes": [{"match": {"prefix": "/"}, **action}]}]}


@contextlib.contextmanager
def taken_port():
    """A port held by a listening socket without SO_REUSEPORT: nobody may share it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def make_certificate(directory, name="127.0.0.1"):
    """A self-signed certificate for `name` (IP SAN), made with the openssl CLI."""
    cert, key = Path(directory, "cp-cert.pem"), Path(directory, "cp-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=portico-test-control-plane", "-addext",
                    "subjectAltName=IP:%s" % name, "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def static_only_config():
    """A bootstrap with one static listener answering "s" and node id proxy-1; the caller adds
    dynamic_resources."""
    static = listener("static", free_port(), [{"name": "s", "domains": ["*"], "routes": [
        {"match": {"prefix": "/"}, "direct_response": {"status": 200, "body": "s"}}]}])
    config = bootstrap([static], [])
    config["node"] = {"id": "proxy-1"}
    return config


class XdsTest(PorticoTestCase):
    delta = False
    tls = False

    def start(self, cluster_hold_timeout=None, concurrency=2):
        env = self.new_env()
        self.certificate = make_certificate(env.dir) if self.tls else None
        self.cp = FakeControlPlane(env.dir, tls=self.certificate)
        env.processes.append(self.cp)
        self.upstreams = [env.start_upstream("u1"), env.start_upstream("u2")]
        self.dyn_port = free_port()
        static = listener("static", free_port(),
                          [{"name": "s", "domains": ["*"], "routes": [
                              {"match": {"prefix": "/"},
                               "direct_response": {"status": 200, "body": "static"}}]}],
                          http_filters=[{"name": "probe", "health_check": {"path": "/healthz"}}])
        config = bootstrap([static], [])
        config["node"] = {"id": "proxy-1", "cluster": "edge"}
        config["dynamic_resources"] = {"control_plane": [address(self.cp.grpc_port)],
                                       "delta": self.delta}
        if cluster_hold_timeout is not None:
            config["dynamic_resources"]["cluster_hold_timeout"] = cluster_hold_timeout
        if self.tls:
            config["dynamic_resources"]["tls"] = {"ca_file": str(self.certificate[0]),
                                                  "server_name": "127.0.0.1"}
        self.proxy = env.start_portico(config, concurrency, wait="admin")
        wait_until(lambda: self.cp.streams() == 1, 10, message="portico's stream")
        return env

    def push_all(self, version="v1", route="backend", weights=(1, 1)):
        self.cp.push("Cluster", version, [{"name": "backend", "connect_timeout": "1s"}])
        self.cp.push("ClusterLoadAssignment", version, [{
            "cluster_name": "backend",
            "endpoints": [{"address": address(u.port), "load_balancing_weight": w}
                          for u, w in zip(self.upstreams, weights)]}])
        self.cp.push("Listener", version, [{"name": "dynamic", "address": address(self.dyn_port),
                                            "http": {"route_config_name": "r1"}}])
        self.cp.push("RouteConfiguration", version, [routes(route)])

    def restart_control_plane(self, env):
        """A new (empty) fake control plane on the killed one's port; waits for the proxy."""
        self.cp = FakeControlPlane(env.dir, grpc_port=self.cp.grpc_port, tls=self.certificate)
        env.processes.append(self.cp)
        wait_until(lambda: self.cp.streams() == 1, 25, message="reconnect")

    def acked(self, kind, version):
        """The proxy took `version` of `kind`, ACKed it, and its workers serve it."""
        dump = json.loads(self.proxy.admin_get("/config_dump").body)
        return dump["dynamic"]["types"][TYPE + kind]["version"] == version and any(
            r.get("type_url") == TYPE + kind and r.get("response_nonce") and
            "error_detail" not in r for r in self.cp.requests()) and self.proxy.config_applied()

    def get(self, path="/echo"):
        return http_get(self.dyn_port, path)

    def test_resources_are_acked_and_served(self):
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        response = self.get()
        self.assertEqual(response.status, 200)
        self.assertIn(response.header("x-upstream"), ("u1", "u2"))
        dump = json.loads(self.proxy.admin_get("/config_dump").body)
        self.assertTrue(dump["dynamic"]["connected"])
        for kind in ("Cluster", "ClusterLoadAssignment", "Listener", "RouteConfiguration"):
            self.assertEqual(dump["dynamic"]["types"][TYPE + kind]["version"], "v1")
        self.assertEqual(dump["active"]["static_resources"]["listeners"][1]["name"], "dynamic")

    def test_route_change_applies_to_open_keepalive_connection(self):
        self.start()
        self.push_all(route="say:one")
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        with RawConnection(self.dyn_port) as conn:
            self.assertEqual(conn.request("GET", "/").body, b"say:one")
            self.cp.push("RouteConfiguration", "v2", [routes("say:two")])
            wait_until(lambda: self.acked("RouteConfiguration", "v2"), 5, message="v2 ACK")
            self.assertEqual(conn.request("GET", "/").body, b"say:two")

    def test_ready_only_once_the_first_configuration_came(self):
        # Regression (reviewer): /ready said 200 LIVE before any configuration had come, and a
        # readiness probe sent traffic to listeners that were not open yet. As Envoy: 503
        # INITIALIZING until every type's first response was applied.
        self.start()
        ready = self.proxy.admin_get("/ready")
        self.assertEqual((ready.status, ready.body), (503, b"INITIALIZING\n"))
        self.assertIn(b'"state":"INITIALIZING"', self.proxy.admin_get("/server_info").body)
        self.assertEqual(http_get(self.proxy.port, "/healthz").status, 503)  # a listener's probe
        self.push_all()
        wait_until(lambda: self.proxy.admin_get("/ready").status == 200, 5, message="ready")
        self.assertEqual(http_get(self.proxy.port, "/healthz").status, 200)
        self.assertEqual(self.get().status, 200)  # the dynamic listener is there
        self.assertIn(b'"state":"LIVE"', self.proxy.admin_get("/server_info").body)

    def test_a_refused_first_response_counts_for_initialization(self):
        # Regression (reviewer): only applied types counted; a refused first cluster response
        # (the control plane never sends it again) kept /ready at 503 until the timeout.
        self.start()
        self.cp.push("Cluster", "v1", [{"name": "bad", "connect_timeout": "-1s"}])
        self.cp.push("ClusterLoadAssignment", "v1", [{
            "cluster_name": "other", "endpoints": [{"address": address(self.upstreams[0].port)}]}])
        self.cp.push("Listener", "v1", [{"name": "dynamic", "address": address(self.dyn_port),
                                         "http": {"route_config_name": "r1"}}])
        self.cp.push("RouteConfiguration", "v1", [routes("say:hi")])
        wait_until(lambda: self.proxy.admin_get("/ready").status == 200, 5, message="ready")
        self.assertEqual(self.get().body, b"say:hi")  # what was accepted serves

    def test_invalid_resource_is_nacked_and_old_config_stays(self):
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.push("RouteConfiguration", "v2", [routes("no_such_cluster")])
        nack = wait_until(lambda: [r for r in self.cp.requests() if "error_detail" in r], 5,
                          message="a NACK")[0]
        if not self.delta:
            self.assertEqual(nack["version_info"], "v1")  # keeps the previous version
        self.assertIn("no_such_cluster", nack["error_detail"]["message"])
        self.assertIn("RouteConfiguration 'r1'", nack["error_detail"]["message"])
        self.assertEqual(self.get().status, 200)
        dump = json.loads(self.proxy.admin_get("/config_dump").body)
        state = dump["dynamic"]["types"][TYPE + "RouteConfiguration"]
        self.assertEqual(state["version"], "v1")
        self.assertIn("no_such_cluster", state["last_nack_error"])

    def held_clusters(self):
        return json.loads(self.proxy.admin_get("/config_dump").body)["dynamic"]["held_clusters"]

    def test_a_cluster_withdrawn_under_a_route_is_held_until_its_hold_runs_out(self):
        # A control plane that does not know which routes the proxy holds (after a reconnect)
        # sends its clusters first: the routes still naming a withdrawn cluster keep using it.
        # Taking the update, not NACKing it, is what lets the cluster go; a control plane that
        # leaves a route on it gets 503s (as in Envoy) once the hold runs out.
        self.start(cluster_hold_timeout="1s")
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.push("Cluster", "v2", [{"name": "spare", "connect_timeout": "1s"}])
        wait_until(lambda: self.acked("Cluster", "v2"), 5, message="CDS v2 ACK")
        held_at = time.monotonic()
        self.assertEqual(self.held_clusters(), ["backend"])
        response = self.get()
        self.assertEqual(response.status, 200)
        self.assertIn(response.header("x-upstream"), ("u1", "u2"))
        # A changed route table may not name the withdrawn cluster.
        changed = routes("backend")
        changed["virtual_hosts"][0]["domains"].append("example.com")
        self.cp.push("RouteConfiguration", "v2", [changed])
        wait_until(lambda: [r for r in self.cp.requests() if "which the control plane withdrew"
                            in r.get("error_detail", {}).get("message", "")], 5,
                   message="a NACK naming the withdrawn cluster")
        wait_until(lambda: self.held_clusters() == [], 5, message="the hold to run out")
        self.assertGreater(time.monotonic() - held_at, 0.5)
        wait_until(self.proxy.config_applied, 5, message="the workers without the cluster")
        response = self.get()
        self.assertEqual(response.status, 503)
        self.assertIn(b"cluster not found", response.body)
        self.cp.push("RouteConfiguration", "v3", [routes("say:fixed")])
        wait_until(lambda: self.acked("RouteConfiguration", "v3"), 5, message="RDS v3 ACK")
        wait_until(lambda: self.get().body == b"say:fixed", 5, message="the new route")

    def test_state_resent_clusters_first_after_a_reconnect_fails_no_request(self):
        env = self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.kill()
        self.restart_control_plane(env)
        # The state changed while the proxy was away: the listener moved to routes "r2", which
        # send everything to "spare" (u2 only); "r1" and "backend" are gone. It comes in the
        # proxy's subscription order: clusters, endpoints, routes, listeners.
        self.cp.push("Cluster", "v2", [{"name": "spare", "connect_timeout": "1s"}])
        self.cp.push("ClusterLoadAssignment", "v2", [{
            "cluster_name": "spare", "endpoints": [{"address": address(self.upstreams[1].port)}]}])
        wait_until(lambda: self.acked("ClusterLoadAssignment", "v2"), 5, message="EDS v2 ACK")
        self.assertEqual(self.held_clusters(), ["backend"])
        self.assertEqual([self.get().status for _ in range(10)], [200] * 10)
        self.cp.push("RouteConfiguration", "v2", [routes("spare", name="r2")])
        wait_until(lambda: self.acked("RouteConfiguration", "v2"), 5, message="RDS v2 ACK")
        self.assertEqual(self.held_clusters(), ["backend"])
        self.assertEqual([self.get().status for _ in range(10)], [200] * 10)
        self.cp.push("Listener", "v2", [{"name": "dynamic", "address": address(self.dyn_port),
                                         "http": {"route_config_name": "r2"}}])
        wait_until(lambda: self.acked("Listener", "v2"), 5, message="LDS v2 ACK")
        self.assertEqual({self.get().header("x-upstream") for _ in range(10)}, {"u2"})
        self.assertEqual(self.held_clusters(), [])
        dump = json.loads(self.proxy.admin_get("/config_dump").body)
        clusters = [c["name"] for c in dump["active"]["static_resources"].get("clusters", [])]
        self.assertNotIn("backend", clusters)

    def test_stats_of_removed_and_refused_clusters_leave_the_admin(self):
        # Regression: every cluster name ever configured (or only built for a refused update)
        # stayed in /stats and /stats/prometheus for the life of the process.
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.assertEqual(self.get().status, 200)
        stats = self.proxy.admin_get("/stats").body.decode()
        self.assertIn("cluster.backend.upstream_rq_total: 1", stats)
        # Refused: "added" is built, then "bad" fails; nothing of "added" may stay behind.
        self.cp.push("Cluster", "v2", [{"name": "backend", "connect_timeout": "1s"},
                                       {"name": "added", "connect_timeout": "1s"},
                                       {"name": "bad", "connect_timeout": "0s"}])
        wait_until(lambda: [r for r in self.cp.requests() if "error_detail" in r], 5,
                   message="a NACK")
        self.assertNotIn("cluster.added.", self.proxy.admin_get("/stats").body.decode())
        # Removed: the route moves off "backend", then the cluster goes.
        self.cp.push("RouteConfiguration", "v3", [routes("say:moved")])
        wait_until(lambda: self.acked("RouteConfiguration", "v3"), 5, message="RDS v3 ACK")
        self.cp.push("Cluster", "v3", [{"name": "spare", "connect_timeout": "1s"}])
        wait_until(lambda: self.acked("Cluster", "v3"), 5, message="CDS v3 ACK")
        wait_until(lambda: "cluster.backend." not in
                   self.proxy.admin_get("/stats").body.decode(), 5,
                   message="backend's stats gone")
        prometheus = self.proxy.admin_get("/stats/prometheus").body.decode()
        self.assertNotIn('cluster_name="backend"', prometheus)
        self.assertIn('portico_cluster_upstream_rq_total{cluster_name="spare"} 0', prometheus)
        # The listener's own stats stay, with what they counted.
        self.assertIn("downstream_rq_2xx: 1", self.proxy.admin_get("/stats?filter=http.").body
                      .decode())

    def test_an_unparsable_response_restarts_the_stream(self):
        # Regression (reviewer): it was dropped unanswered, and the server (which waits for an
        # ACK or NACK) never sent that type again until some unrelated reconnect.
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        subscriptions = len([r for r in self.cp.requests() if not r.get("response_nonce")])
        self.assertEqual(self.cp.send_garbage(), 1)
        wait_until(lambda: "unparsable" in self.proxy.output(), 5, message="the log line")
        wait_until(lambda: len([r for r in self.cp.requests() if not r.get("response_nonce")]) >
                   subscriptions, 10, message="a new stream's subscriptions")
        self.assertEqual(self.get().status, 200)  # the config held meanwhile
        self.cp.push("RouteConfiguration", "v2", [routes("say:after")])
        wait_until(lambda: self.get().body == b"say:after", 5, message="v2 served")

    def test_control_plane_outage_keeps_serving_then_resubscribes(self):
        env = self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.kill()
        for _ in range(20):
            self.assertEqual(self.get().status, 200)
        # A reconnect to nothing says so (it read "connection ... closed", as if a server had
        # hung up).
        wait_until(lambda: "cannot connect: Connection refused" in self.proxy.output(), 5,
                   message="the refused reconnect in the log")
        self.restart_control_plane(env)
        def resubscriptions():
            return [r for r in self.cp.requests() if not r.get("response_nonce")]
        if self.delta:
            # Delta resubscribes with the versions of the resources it holds; each type on its
            # own request, so wait for both.
            def held():
                versions = [r.get("initial_resource_versions", {}) for r in resubscriptions()]
                return versions if {"r1": "v1"} in versions and {"backend": "v1"} in versions else None
            try:
                wait_until(held, 5, message="resubscription with held versions")
            except AssertionError:
                self.fail("resubscriptions: %r" % resubscriptions())
            return
        subscriptions = wait_until(resubscriptions, 5, message="resubscription")
        self.assertEqual({r["version_info"] for r in subscriptions}, {"v1"})

    def test_call_ended_by_the_control_plane_is_retried(self):
        # The server ends the call with a status but keeps the connection: the proxy must see
        # the end (trailers), keep serving its config, and open a new call.
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        before = len(self.cp.requests())
        self.assertEqual(self.cp.end_streams(8, "over capacity"), 1)
        wait_until(lambda: len([r for r in self.cp.requests()[before:]
                                if not r.get("response_nonce")]) >= 4, 10,
                   message="a new call resubscribing to the four types")
        self.assertEqual(self.get().status, 200)
        wait_until(lambda: self.cp.streams() == 1, 5, message="one call open again")
        log = self.proxy.output()
        self.assertIn("grpc-status 8: over capacity", log)

    def test_listener_on_a_taken_port_is_nacked(self):
        env = self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        log = Path(env.dir, "clash-access.log")
        with taken_port() as port:
            self.cp.push("Listener", "v2", [
                {"name": "dynamic", "address": address(self.dyn_port),
                 "http": {"route_config_name": "r1"}},
                {"name": "clash", "address": address(port),
                 "http": {"route_config_name": "r1", "access_log": {"path": str(log)}}}])
            nack = wait_until(lambda: [r for r in self.cp.requests() if "error_detail" in r], 5,
                              message="a NACK")[0]
        self.assertIn("Listener 'clash'", nack["error_detail"]["message"])
        self.assertIn("cannot bind", nack["error_detail"]["message"])
        self.assertEqual(self.get().status, 200)  # the accepted listeners keep serving
        # Refused before anything was built: its access log was not created.
        self.assertFalse(log.exists())

    def test_a_warming_listener_on_a_taken_port_is_nacked_with_its_listener_update(self):
        # Regression (reviewer): a listener waiting for its routes was first checked when they
        # came, and its taken port NACKed that route update (for every listener's routes).
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        with taken_port() as port:
            self.cp.push("Listener", "v2", [
                {"name": "dynamic", "address": address(self.dyn_port),
                 "http": {"route_config_name": "r1"}},
                {"name": "clash", "address": address(port),
                 "http": {"route_config_name": "not_sent_yet"}}])
            nack = wait_until(lambda: [r for r in self.cp.requests() if "error_detail" in r], 5,
                              message="a NACK")[0]
            self.assertTrue(nack["type_url"].endswith("Listener"), nack)
            self.assertIn("Listener 'clash'", nack["error_detail"]["message"])
            self.assertIn("cannot bind", nack["error_detail"]["message"])
            # Routes go on changing.
            self.cp.push("RouteConfiguration", "v2", [routes("say:two")])
            wait_until(lambda: self.acked("RouteConfiguration", "v2"), 5, message="RDS v2 ACK")
        self.assertEqual(self.get("/").body, b"say:two")
        # Two in one update on one address, one of them warming: refused together.
        other = free_port()
        self.cp.push("Listener", "v3", [
            {"name": "dynamic", "address": address(self.dyn_port),
             "http": {"route_config_name": "r1"}},
            {"name": "first", "address": address(other),
             "http": {"route_config_name": "not_sent_yet"}},
            {"name": "second", "address": address(other), "http": {"route_config_name": "r1"}}])
        wait_until(lambda: any("is also the address of Listener" in
                               r.get("error_detail", {}).get("message", "")
                               for r in self.cp.requests()), 5, message="a NACK for the clash")

    def test_a_warming_listeners_port_is_kept_for_it(self):
        # Regression (noticed): the port of a listener waiting for its routes was only checked;
        # another program could take it after the ACK, and the routes' update was then refused.
        # As Envoy, which binds a warming listener at once, the proxy holds the port.
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        later = free_port()
        self.cp.push("Listener", "v2", [
            {"name": "dynamic", "address": address(self.dyn_port),
             "http": {"route_config_name": "r1"}},
            {"name": "later", "address": address(later),
             "http": {"route_config_name": "r-later"}}])
        wait_until(lambda: self.acked("Listener", "v2"), 5, message="LDS v2 ACK")
        with socket.socket() as intruder:  # as servers bind: SO_REUSEADDR
            intruder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            with self.assertRaises(OSError, msg="another program took the warming port"):
                intruder.bind(("127.0.0.1", later))
        self.assertTrue(listener_closed(later), "a warming listener took connections")
        self.cp.push("RouteConfiguration", "v2", [routes("backend"), routes("say:later",
                                                                           name="r-later")])
        wait_until(lambda: self.acked("RouteConfiguration", "v2"), 5, message="RDS v2 ACK")
        self.assertEqual(http_get(later, "/").body, b"say:later")
        # Removed, the listener lets its port go.
        self.cp.push("Listener", "v3", [{"name": "dynamic", "address": address(self.dyn_port),
                                         "http": {"route_config_name": "r1"}}])
        wait_until(lambda: self.acked("Listener", "v3"), 5, message="LDS v3 ACK")
        with socket.socket() as taker:
            taker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            taker.bind(("127.0.0.1", later))

    def test_listener_removal_closes_its_port(self):
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.assertEqual(self.get().status, 200)
        self.cp.push("Listener", "v2", [])
        wait_until(lambda: listener_closed(self.dyn_port), 5, message="listener closed")
        self.assertEqual(http_get(self.proxy.port, "/").status, 200)  # static one stays

    def test_a_listener_renamed_on_its_address_never_refuses_a_connection(self):
        # Regression (noticed): the old listener's socket was closed before the renamed one's
        # was bound, so with one worker the port refused connections for a moment.
        self.start(concurrency=1)
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        failures, done, count = [], threading.Event(), [0]

        def connect_loop():
            # Bare connects: the fastest probe of the port (the window was microseconds).
            while not done.is_set():
                probe = socket.socket()
                try:
                    probe.connect(("127.0.0.1", self.dyn_port))
                except OSError as e:
                    failures.append(repr(e))
                finally:
                    probe.close()
                count[0] += 1

        threads = [threading.Thread(target=connect_loop) for _ in range(3)]
        for t in threads:
            t.start()
        try:
            for i in range(2, 102):
                self.cp.push("Listener", "v%d" % i, [{
                    "name": "dynamic-%d" % i, "address": address(self.dyn_port),
                    "http": {"route_config_name": "r1"}}])
                wait_until(lambda: self.acked("Listener", "v%d" % i), 5, message="LDS ACK")
        finally:
            done.set()
            for t in threads:
                t.join(10)
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 30)

    def test_a_listener_renamed_to_routes_not_sent_yet_keeps_its_port_serving(self):
        # Regression (reviewer): "dynamic" renamed "dynamic-v2" with routes "r2" not sent yet
        # left no listener on the port until r2 came: connections were refused meanwhile.
        self.start(concurrency=1)
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.push("Listener", "v2", [{"name": "dynamic-v2", "address": address(self.dyn_port),
                                         "http": {"route_config_name": "r2"}}])
        wait_until(lambda: self.acked("Listener", "v2"), 5, message="LDS ACK")
        for _ in range(10):
            self.assertEqual(self.get().status, 200)  # the old listener, as it was
        self.cp.push("RouteConfiguration", "v2", [routes("say:new", name="r2")])
        wait_until(lambda: self.get().body == b"say:new", 5, message="the renamed listener")

    def test_listener_moved_to_routes_not_sent_yet_keeps_serving(self):
        # Regression (reviewer): the listener was left out until "r2" arrived, so its port
        # closed and new connections were refused in between.
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.assertEqual(self.get().status, 200)
        self.cp.push("Listener", "v2", [{"name": "dynamic", "address": address(self.dyn_port),
                                         "http": {"route_config_name": "r2"}}])
        wait_until(lambda: self.acked("Listener", "v2"), 5, message="LDS ACK")
        for _ in range(20):
            self.assertEqual(self.get().status, 200)

    def test_a_silent_control_plane_is_left_for_the_next_one(self):
        # Regression (reviewer): a peer that accepts and never answers (or a half-open
        # connection) held the stream forever; no other address was tried.
        env = self.new_env()
        self.cp = FakeControlPlane(env.dir, tls=None)
        env.processes.append(self.cp)
        with socket.socket() as silent:
            silent.bind(("127.0.0.1", 0))
            silent.listen(16)  # accepts (in the kernel) and never says a word
            config = static_only_config()
            config["dynamic_resources"] = {
                "control_plane": [address(silent.getsockname()[1]), address(self.cp.grpc_port)],
                "delta": self.delta, "keepalive_interval": "0.5s"}
            self.proxy = env.start_portico(config, wait="admin")
            wait_until(lambda: self.cp.streams() == 1, 10,
                       message="portico's stream on the second control plane")
        self.assertIn("no answer from the control plane within 500 ms", self.proxy.output())

    def test_a_control_plane_that_never_responds_is_left_for_the_next_one(self):
        # Regression (reviewer): past the HTTP/2 set-up nothing bounded the wait for a first
        # response, so a control plane whose server answers (gRPC sends SETTINGS from its own
        # threads) while its handler is stuck held a new proxy without config for ever.
        env = self.new_env()
        stuck = FakeControlPlane(env.dir, tls=None)  # no state: it never sends a response
        env.processes.append(stuck)
        self.cp = FakeControlPlane(env.dir, tls=None)
        env.processes.append(self.cp)
        self.upstreams = [env.start_upstream("u1"), env.start_upstream("u2")]
        self.dyn_port = free_port()
        self.push_all()
        config = static_only_config()
        config["dynamic_resources"] = {
            "control_plane": [address(stuck.grpc_port), address(self.cp.grpc_port)],
            "delta": self.delta, "initial_fetch_timeout": "1s"}
        self.proxy = env.start_portico(config, wait="admin")
        # Its requests are kept (its stream lasts only the 1 s initial_fetch_timeout, which a
        # slow sanitized start can let pass before a poll of streams() sees it).
        wait_until(lambda: stuck.requests(), 10, message="a request to the stuck one")
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 15,
                   message="config from the second control plane")
        self.assertEqual(self.get().status, 200)
        self.assertIn("no response within 1000 ms (initial_fetch_timeout)", self.proxy.output())

    def test_drained_listeners_stay_closed_after_a_listener_push(self):
        # Regression (reviewer): /drain_listeners closed the sockets open at the time, and the
        # next push of a new or moved listener opened sockets again.
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.assertEqual(self.proxy.admin_post("/drain_listeners").status, 200)
        wait_until(lambda: listener_closed(self.dyn_port), 5, message="listener closed")
        moved = free_port()
        self.cp.push("Listener", "v2", [{"name": "moved", "address": address(moved),
                                         "http": {"route_config_name": "r1"}}])
        wait_until(lambda: self.acked("Listener", "v2"), 5, message="LDS ACK")
        self.assertTrue(listener_closed(moved), "a drained proxy opened a new listener")

    def test_endpoint_change_keeps_connections_to_hosts_that_stay(self):
        # Regression: any endpoint change replaced the cluster and closed its connections.
        self.start()
        self.push_all()
        u1, u2 = self.upstreams

        def assign(version, upstreams):
            self.cp.push("ClusterLoadAssignment", version, [{
                "cluster_name": "backend",
                "endpoints": [{"address": address(u.port)} for u in upstreams]}])
            wait_until(lambda: self.acked("ClusterLoadAssignment", version), 5,
                       message="%s ACK" % version)

        assign("v2", [u1])
        with RawConnection(self.dyn_port) as conn:  # one client connection: one worker
            first = conn.request("GET", "/echo")
            self.assertEqual(first.header("x-upstream"), "u1")
            accepted = u1.stats()["connections_accepted"]
            assign("v3", [u1, u2])
            served = {}
            for _ in range(4):
                response = conn.request("GET", "/echo")
                self.assertEqual(response.status, 200)
                served.setdefault(response.header("x-upstream"), set()).add(
                    response.header("x-upstream-conn"))
        self.assertEqual(set(served), {"u1", "u2"})
        self.assertEqual(served["u1"], {first.header("x-upstream-conn")})
        # No new connection to u1 but the one that asks for its stats.
        self.assertEqual(u1.stats()["connections_accepted"], accepted + 1)

    def test_fifty_pushes_under_load_fail_no_request(self):
        self.start()
        self.push_all()
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        failures, done, count = [], threading.Event(), [0]

        def load():
            # Any exception is a failure: a request the proxy dropped (NoResponse) must not
            # just end its thread.
            try:
                with RawConnection(self.dyn_port, timeout=5) as conn:
                    while not done.is_set():
                        response = conn.request("GET", "/echo")
                        count[0] += 1
                        if response.status != 200:
                            failures.append(response.status)
            except Exception as e:  # noqa: BLE001 (reported through failures)
                failures.append(repr(e))

        threads = [threading.Thread(target=load) for _ in range(4)]
        for t in threads:
            t.start()
        try:
            for i in range(2, 52):
                weights = (1 + i % 3, 1 + (i + 1) % 3)
                self.cp.push("ClusterLoadAssignment", "v%d" % i, [{
                    "cluster_name": "backend",
                    "endpoints": [{"address": address(u.port), "load_balancing_weight": w}
                                  for u, w in zip(self.upstreams, weights)]}])
                self.cp.push("RouteConfiguration", "v%d" % i, [routes("backend")])
                time.sleep(0.02)
            wait_until(lambda: self.acked("RouteConfiguration", "v51"), 10, message="last ACK")
        finally:
            done.set()
            for t in threads:
                t.join(10)
        self.assertEqual(failures, [])
        self.assertGreater(count[0], 100)


class DeltaXdsTest(XdsTest):
    """The same scenarios over the incremental protocol."""
    delta = True

    def test_a_bad_resource_is_named_by_its_place_in_the_response(self):
        # Regression (reviewer): the NACK gave its index in the merged set (held + new, sorted
        # by name), not in the response.
        self.start()
        self.push_all(route="say:one")
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.push("RouteConfiguration", "v2", [routes("say:two", "r1"),
                                                  {"@raw_type_url": TYPE + "Listener"}])
        nack = wait_until(lambda: [r for r in self.cp.requests() if "error_detail" in r], 5,
                          message="a NACK")[0]
        message = nack["error_detail"]["message"]
        self.assertIn("resources[1] (''): resource of type " + TYPE + "Listener", message)
        self.assertEqual(self.get("/").body, b"say:one")

    def test_removed_resource_is_withdrawn(self):
        self.start()
        self.push_all(route="say:one")
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.push("RouteConfiguration", "v2", [routes("say:one"), routes("say:x", "r2")])
        wait_until(lambda: self.acked("RouteConfiguration", "v2"), 5, message="v2 ACK")
        self.cp.push("RouteConfiguration", "v3", [routes("say:one")])
        wait_until(lambda: self.acked("RouteConfiguration", "v3"), 5, message="v3 ACK")
        dump = json.loads(self.proxy.admin_get("/config_dump").body)
        names = [rc["name"] for rc in dump["active"]["static_resources"]["route_configs"]]
        self.assertEqual(names, ["r1"])


    def test_resource_sent_under_another_name_is_nacked(self):
        # Regression: a resource sent as "a" but named "b" was configured as "b"; removing "a"
        # later would then have left "b" in place.
        self.start()
        self.push_all(route="say:one")
        wait_until(lambda: self.acked("RouteConfiguration", "v1"), 5, message="RDS ACK")
        self.cp.push("RouteConfiguration", "v2", [routes("say:two")], delta_names={"r1": "r9"})
        wait_until(lambda: any("error_detail" in r and "sent as 'r9'" in
                               r["error_detail"].get("message", "")
                               for r in self.cp.requests()), 5, message="NACK naming r9")
        self.assertEqual(self.get("/").body, b"say:one")
        dump = json.loads(self.proxy.admin_get("/config_dump").body)
        self.assertEqual(dump["dynamic"]["types"][TYPE + "RouteConfiguration"]["version"], "v1")


class TlsXdsTest(XdsTest):
    """The same scenarios over TLS (BoringSSL in the proxy, grpcio's TLS in the server)."""
    tls = True

    def test_a_tls_terminator_with_nothing_behind_it_is_left_for_the_next_one(self):
        # Regression (reviewer): the TLS handshake counted as the control plane's answer, so a
        # TLS terminator in front of a hung control plane held the stream forever.
        env = self.new_env()
        cert = make_certificate(env.dir)
        cp = FakeControlPlane(env.dir, tls=cert)
        env.processes.append(cp)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert[0]), str(cert[1]))
        context.set_alpn_protocols(["h2"])
        handshakes = []
        stop = threading.Event()
        with socket.socket() as terminator:
            terminator.bind(("127.0.0.1", 0))
            terminator.listen(16)
            terminator.settimeout(0.2)

            def serve():  # completes TLS, then never says a word
                while not stop.is_set():
                    try:
                        conn, _ = terminator.accept()
                    except socket.timeout:
                        continue
                    except OSError:
                        return
                    try:
                        conn.settimeout(5)
                        handshakes.append(context.wrap_socket(conn, server_side=True))
                    except OSError:
                        conn.close()

            thread = threading.Thread(target=serve, daemon=True)
            thread.start()
            config = static_only_config()
            config["dynamic_resources"] = {
                "control_plane": [address(terminator.getsockname()[1]), address(cp.grpc_port)],
                "tls": {"ca_file": str(cert[0]), "server_name": "127.0.0.1"},
                "keepalive_interval": "0.5s"}
            proxy = env.start_portico(config, wait="admin")
            try:
                wait_until(lambda: cp.streams() == 1, 10,
                           message="portico's stream on the second control plane")
            finally:
                stop.set()
                thread.join(2)
        self.assertTrue(handshakes, "the proxy never finished a TLS handshake with the first")
        for conn in handshakes:
            conn.close()
        self.assertIn("no answer from the control plane within 500 ms", proxy.output())

    def test_wrong_ca_is_refused(self):
        env = self.new_env()
        cert = make_certificate(env.dir)
        other = Path(env.dir, "other")
        other.mkdir()
        wrong_ca = make_certificate(other)[0]
        cp = FakeControlPlane(env.dir, tls=cert)
        env.processes.append(cp)
        config = static_only_config()
        config["dynamic_resources"] = {"control_plane": [address(cp.grpc_port)],
                                       "tls": {"ca_file": str(wrong_ca),
                                               "server_name": "127.0.0.1"}}
        proxy = env.start_portico(config, wait="admin")
        wait_until(lambda: "certificate verify failed" in proxy.output().lower() or
                   "CERTIFICATE_VERIFY_FAILED" in proxy.output(), 10,
                   message="a certificate verification error in the log")
        dump = json.loads(proxy.admin_get("/config_dump").body)
        self.assertFalse(dump["dynamic"]["connected"])
        self.assertEqual(http_get(proxy.port, "/").status, 200)  # static config still serves
