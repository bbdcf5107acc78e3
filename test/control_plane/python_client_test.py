#!/usr/bin/python3
"""A second, independent discovery client: Debian's python3-grpcio + python3-protobuf against
the real portico-control binary over loopback. Proves standard gRPC on the wire (SotW and delta,
ACK/NACK, nonces, reconnect) and the REST API driving pushes.

Run: /usr/bin/python3 test/control_plane/python_client_test.py [--binary PATH]
(default binary: bazel-bin/source/control_plane/portico-control). Prints "N passed, N failed"
and exits non-zero on any failure. Message classes are generated with protoc at test time.
"""

import argparse
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOTW = "/portico.service.discovery.v1.AggregatedDiscoveryService/StreamAggregatedResources"
DELTA = "/portico.service.discovery.v1.AggregatedDiscoveryService/DeltaAggregatedResources"
CLUSTER_URL = "type.googleapis.com/portico.config.v1.Cluster"
ROUTE_URL = "type.googleapis.com/portico.config.v1.RouteConfiguration"
TOKEN = "py-token"

BASE = """
kind: Cluster
spec:
  name: a
  load_assignment: {endpoints: [{address: {address: 127.0.0.1, port: 8080}}]}
---
kind: Cluster
spec: {name: b, connect_timeout: 2s}
---
kind: RouteConfiguration
spec:
  name: main
  virtual_hosts:
  - name: all
    domains: ["*"]
    routes:
    - match: {prefix: /}
      route: {cluster: a}
"""


def generate_protos(out):
    protos = [os.path.join("portico/config/v1", f) for f in
              ("core.proto", "cluster.proto", "route.proto", "http_filter.proto",
               "listener.proto")]
    protos.append("portico/service/discovery/v1/discovery.proto")
    subprocess.check_call(["protoc", "-I", os.path.join(ROOT, "api"), "-I", "/usr/include",
                           "--python_out=" + out] + protos)
    sys.path.insert(0, out)


class Server:
    def __init__(self, binary, store):
        self.proc = subprocess.Popen(
            [binary, "serve", "--dir", store, "--grpc", "127.0.0.1:0", "--http", "127.0.0.1:0",
             "--api-token", TOKEN, "--debounce-ms", "50"],
            stderr=subprocess.PIPE, text=True)
        self.grpc = self.http = None
        deadline = time.time() + 10
        while time.time() < deadline and (self.grpc is None or self.http is None):
            line = self.proc.stderr.readline()
            if not line:
                break
            m = re.match(r"(grpc|http) listening on (\S+)", line)
            if m:
                setattr(self, m.group(1), m.group(2))
        if self.grpc is None or self.http is None:
            self.stop()
            raise RuntimeError("portico-control did not start")
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def api(self, method, path, body=None, token=TOKEN):
        req = urllib.request.Request("http://" + self.http + path, method=method,
                                     data=body.encode() if body is not None else None)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    def fleet_node(self, node_id, want=lambda n: True, timeout=5.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            _, fleet = self.api("GET", "/v1/fleet")
            for n in fleet["nodes"]:
                if n["id"] == node_id and want(n):
                    return n
            time.sleep(0.02)
        return None

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class Stream:
    """One bidi stream: requests from a queue, responses read on a thread into a queue."""

    def __init__(self, channel, method, req_cls, resp_cls):
        self.requests = queue.Queue()
        self.responses = queue.Queue()
        call = channel.stream_stream(method, request_serializer=req_cls.SerializeToString,
                                     response_deserializer=resp_cls.FromString)
        self.call = call(iter(self.requests.get, None), timeout=30)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for r in self.call:
                self.responses.put(r)
        except Exception:  # cancelled at the end of a test
            pass

    def send(self, req):
        self.requests.put(req)

    def next(self, timeout=5.0):
        try:
            return self.responses.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self.requests.put(None)
        self.call.cancel()


def run(binary):
    import grpc
    from portico.config.v1 import cluster_pb2, route_pb2  # noqa: F401 (registers the types)
    from portico.service.discovery.v1 import discovery_pb2 as d

    store = tempfile.mkdtemp(prefix="portico-py-")
    with open(os.path.join(store, "base.yaml"), "w") as f:
        f.write(BASE)
    server = Server(binary, store)
    channel = grpc.insecure_channel(server.grpc)
    results = {"passed": 0, "failed": 0}

    def sotw(node_id="py-sotw"):
        s = Stream(channel, SOTW, d.DiscoveryRequest, d.DiscoveryResponse)
        return s

    def req(type_url, node_id, version="", nonce="", names=()):
        r = d.DiscoveryRequest(type_url=type_url, version_info=version, response_nonce=nonce,
                               resource_names=list(names))
        r.node.id = node_id
        r.node.cluster = "py"
        return r

    def clusters_of(resp):
        out = {}
        for any_ in resp.resources:
            c = cluster_pb2.Cluster()
            assert any_.Unpack(c), any_.type_url
            out[c.name] = c
        return out

    def test_sotw_subscribe_ack_and_push():
        s = sotw()
        s.send(req(CLUSTER_URL, "py-1"))
        r1 = s.next()
        assert r1 is not None and r1.type_url == CLUSTER_URL
        assert {"a", "b"} <= set(clusters_of(r1)), set(clusters_of(r1))
        assert r1.nonce and r1.version_info
        s.send(req(CLUSTER_URL, "py-1", r1.version_info, r1.nonce))
        node = server.fleet_node("py-1", lambda n: n["types"].get("Cluster", {}).get(
            "acked_version") == r1.version_info)
        assert node is not None, "fleet view never showed the ACK"
        # A write through the REST API is pushed.
        status, body = server.api("PUT", "/v1/resources/Cluster/b",
                                  "spec: {name: b, connect_timeout: 3s}")
        assert status == 200, body
        r2 = s.next()
        assert r2 is not None and r2.version_info != r1.version_info and r2.nonce != r1.nonce
        assert clusters_of(r2)["b"].connect_timeout.seconds == 3
        s.send(req(CLUSTER_URL, "py-1", r2.version_info, r2.nonce))
        s.close()

    def test_sotw_nack_keeps_version_and_is_reported():
        s = sotw()
        s.send(req(CLUSTER_URL, "py-2"))
        r1 = s.next()
        s.send(req(CLUSTER_URL, "py-2", r1.version_info, r1.nonce))
        status, _ = server.api("PUT", "/v1/resources/Cluster/b",
                               "spec: {name: b, connect_timeout: 4s}")
        assert status == 200
        r2 = s.next()
        nack = req(CLUSTER_URL, "py-2", r1.version_info, r2.nonce)
        nack.error_detail.code = 3
        nack.error_detail.message = "clusters[1].connect_timeout: rejected by test"
        s.send(nack)
        node = server.fleet_node("py-2", lambda n: n["types"]["Cluster"]["nacks"] == 1)
        assert node is not None
        t = node["types"]["Cluster"]
        assert t["acked_version"] == r1.version_info, t
        assert t["last_nack_error"] == "clusters[1].connect_timeout: rejected by test"
        assert t["last_nack_at"]
        assert s.next(timeout=0.5) is None, "a NACKed push was resent unchanged"
        _, metrics_text = None, urllib.request.urlopen(urllib.request.Request(
            "http://" + server.http + "/metrics",
            headers={"Authorization": "Bearer " + TOKEN}), timeout=5).read().decode()
        assert re.search(r'portico_control_node_nacks_total\{node="py-2",cluster="py",'
                         r'type="Cluster",stream="\d+"\} 1', metrics_text), metrics_text
        s.close()

    def test_invalid_write_is_400_with_field_and_not_pushed():
        s = sotw()
        s.send(req(CLUSTER_URL, "py-3"))
        r1 = s.next()
        s.send(req(CLUSTER_URL, "py-3", r1.version_info, r1.nonce))
        status, body = server.api(
            "PUT", "/v1/resources/RouteConfiguration/main",
            '{"spec": {"name": "main", "virtual_hosts": [{"name": "v", "domains": ["*"], '
            '"routes": [{"match": {"prefix": "/"}, "route": {"cluster": "ghost"}}]}]}}')
        assert status == 400, body
        assert body["field"] == "spec.virtual_hosts[0].routes[0].route.cluster", body
        status, body = server.api("GET", "/v1/resources", token="wrong")
        assert status == 401
        assert s.next(timeout=0.5) is None
        s.close()

    def test_sotw_routes_follow_clusters():
        s = sotw()
        s.send(req(CLUSTER_URL, "py-4"))
        s.send(req(ROUTE_URL, "py-4"))
        first = s.next()
        assert first.type_url == CLUSTER_URL
        assert s.next(timeout=0.3) is None, "routes were sent before the clusters were ACKed"
        s.send(req(CLUSTER_URL, "py-4", first.version_info, first.nonce))
        second = s.next()
        assert second is not None and second.type_url == ROUTE_URL
        rc = route_pb2.RouteConfiguration()
        second.resources[0].Unpack(rc)
        assert rc.virtual_hosts[0].routes[0].route.cluster == "a"
        s.close()

    def test_sotw_reconnect_with_current_version():
        s = sotw()
        s.send(req(CLUSTER_URL, "py-5"))
        r1 = s.next()
        s.send(req(CLUSTER_URL, "py-5", r1.version_info, r1.nonce))
        s.close()
        s2 = sotw()
        s2.send(req(CLUSTER_URL, "py-5", r1.version_info))
        assert s2.next(timeout=0.5) is None, "resent what the proxy already holds"
        s2.close()

    def dreq(node_id, nonce="", sub=(), unsub=(), initial=None):
        r = d.DeltaDiscoveryRequest(type_url=CLUSTER_URL, response_nonce=nonce,
                                    resource_names_subscribe=list(sub),
                                    resource_names_unsubscribe=list(unsub))
        r.node.id = node_id
        for k, v in (initial or {}).items():
            r.initial_resource_versions[k] = v
        return r

    def test_delta_changes_removals_and_reconnect():
        s = Stream(channel, DELTA, d.DeltaDiscoveryRequest, d.DeltaDiscoveryResponse)
        s.send(dreq("py-delta"))
        r1 = s.next()
        held = {r.name: r.version for r in r1.resources}
        assert set(held) == {"a", "b"}, held
        s.send(dreq("py-delta", r1.nonce))
        status, body = server.api("POST", "/v1/apply",
                                  "kind: Cluster\nspec: {name: c}\n")
        assert status == 200, body
        r2 = s.next()
        assert [r.name for r in r2.resources] == ["c"] and not r2.removed_resources
        s.send(dreq("py-delta", r2.nonce))
        held["c"] = r2.resources[0].version
        status, body = server.api("DELETE", "/v1/resources/Cluster/c")
        assert status == 200, body
        r3 = s.next()
        assert list(r3.removed_resources) == ["c"] and not r3.resources
        s.send(dreq("py-delta", r3.nonce))
        del held["c"]
        s.close()
        # Reconnect holding a stale "b": only "b" comes back.
        held["b"] = "stale"
        s2 = Stream(channel, DELTA, d.DeltaDiscoveryRequest, d.DeltaDiscoveryResponse)
        s2.send(dreq("py-delta", initial=held))
        r4 = s2.next()
        assert [r.name for r in r4.resources] == ["b"], r4
        s2.close()

    def test_delta_subscribe_unsubscribe():
        s = Stream(channel, DELTA, d.DeltaDiscoveryRequest, d.DeltaDiscoveryResponse)
        s.send(dreq("py-delta-2", sub=["a"]))
        r1 = s.next()
        assert [r.name for r in r1.resources] == ["a"]
        s.send(dreq("py-delta-2", r1.nonce, sub=["b"], unsub=["a"]))
        r2 = s.next()
        assert [r.name for r in r2.resources] == ["b"] and not r2.removed_resources
        s.close()

    def test_file_edit_is_pushed():
        s = sotw()
        s.send(req(CLUSTER_URL, "py-6"))
        r1 = s.next()
        s.send(req(CLUSTER_URL, "py-6", r1.version_info, r1.nonce))
        with open(os.path.join(store, ".tmp"), "w") as f:
            f.write("kind: Cluster\nspec: {name: fromfile}\n")
        os.rename(os.path.join(store, ".tmp"), os.path.join(store, "fromfile.yaml"))
        r2 = s.next()
        assert r2 is not None and "fromfile" in clusters_of(r2)
        s.close()

    tests = [v for k, v in sorted(locals().items()) if k.startswith("test_")]
    try:
        for t in tests:
            try:
                t()
                results["passed"] += 1
                print("PASS", t.__name__)
            except Exception:
                results["failed"] += 1
                print("FAIL", t.__name__)
                traceback.print_exc(file=sys.stdout)
    finally:
        channel.close()
        server.stop()
        shutil.rmtree(store, ignore_errors=True)
    return results


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=os.path.join(
        ROOT, "bazel-bin/source/control_plane/portico-control"))
    args = ap.parse_args()
    gen = tempfile.mkdtemp(prefix="portico-pb-")
    try:
        generate_protos(gen)
        results = run(args.binary)
    finally:
        shutil.rmtree(gen, ignore_errors=True)
    print("%d passed, %d failed" % (results["passed"], results["failed"]))
    sys.exit(1 if results["failed"] else 0)


if __name__ == "__main__":
    main()
