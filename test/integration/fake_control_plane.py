#!/usr/bin/python3
"""A minimal aggregated-discovery server for portico's xDS client tests.

Independent of portico-control: Python's grpcio (Debian python3-grpcio) on one side, portico's
own nghttp2 client on the other, so the test also shows the wire format is standard gRPC.
Run with /usr/bin/python3 (where grpcio lives):

    fake_control_plane.py --grpc-port P --http-port Q [--tls-cert C --tls-key K]

The HTTP side (127.0.0.1:Q) steers it: POST /push {"type_url": ..., "version": ...,
"resources": [<proto JSON>...]} sets a type's resources and pushes them to every stream;
GET /requests lists the (Delta)DiscoveryRequests received (JSON); GET /streams counts open
streams; POST /end-streams {"code": N, "message": ...} ends every open call with that status. Both the state-of-the-world and the delta (incremental) methods are served; in delta,
a resource's version is the version of the push that last changed it.
Prints "READY" when both ports listen.
"""

import argparse
import atexit
import http.server
import json
import pathlib
import queue
import subprocess
import shutil
import sys
import tempfile
import threading
from concurrent import futures

REPO = pathlib.Path(__file__).resolve().parents[2]
TYPE_PREFIX = "type.googleapis.com/portico.config.v1."


def generate_protos():
    out = tempfile.mkdtemp(prefix="portico-pb-")
    # Imported modules stay loaded: the directory can go when the process does.
    atexit.register(shutil.rmtree, out, True)
    protos = [str(p.relative_to(REPO / "api")) for p in (REPO / "api").rglob("*.proto")]
    subprocess.run(["protoc", "-I", str(REPO / "api"), "-I", "/usr/include",
                    "--python_out=" + out] + protos, check=True, cwd=str(REPO / "api"))
    sys.path.insert(0, out)


generate_protos()
import grpc  # noqa: E402
from google.protobuf import any_pb2, json_format  # noqa: E402
from portico.config.v1 import cluster_pb2, listener_pb2, route_pb2  # noqa: E402
from portico.service.discovery.v1 import discovery_pb2  # noqa: E402

MESSAGES = {
    TYPE_PREFIX + "Cluster": cluster_pb2.Cluster,
    TYPE_PREFIX + "ClusterLoadAssignment": cluster_pb2.ClusterLoadAssignment,
    TYPE_PREFIX + "Listener": listener_pb2.Listener,
    TYPE_PREFIX + "RouteConfiguration": route_pb2.RouteConfiguration,
}


class State:
    def __init__(self):
        self.lock = threading.Lock()
        self.resources = {}   # type_url -> (version, [Any])
        self.delta_names = {}  # type_url -> {own name: name to send it under (delta only)}
        self.requests = []
        self.streams = []
        self.nonce = 0

    def response(self, type_url):
        with self.lock:
            version, resources = self.resources[type_url]
            self.nonce += 1
            return discovery_pb2.DiscoveryResponse(
                version_info=version, type_url=type_url, nonce=str(self.nonce),
                resources=resources)


STATE = State()


def start_reader(request_iterator, events, held):
    """Records every request; a subscription (no nonce) becomes ("subscribe", type, held(r))."""
    def read():
        try:
            for request in request_iterator:
                with STATE.lock:
                    STATE.requests.append(json_format.MessageToDict(
                        request, preserving_proto_field_name=True))
                if not request.response_nonce:
                    events.put(("subscribe", request.type_url, held(request)))
        except grpc.RpcError:
            pass
        events.put(None)

    threading.Thread(target=read, daemon=True).start()


def ads(request_iterator, context):
    events = queue.Queue()
    with STATE.lock:
        STATE.streams.append(events)

    start_reader(request_iterator, events, lambda r: r.version_info)
    try:
        while True:
            event = events.get()
            if event is None:
                return
            if event[0] == "end":
                context.set_code(grpc.StatusCode(event[1]))
                context.set_details(event[2])
                return
            if event[0] == "garbage":
                yield GARBAGE
                continue
            kind, type_url = event[0], event[1]
            with STATE.lock:
                known = STATE.resources.get(type_url)
            if known is None:
                continue
            if kind == "subscribe" and event[2] == known[0]:
                continue  # the client already has this version
            yield STATE.response(type_url)
    finally:
        with STATE.lock:
            STATE.streams.remove(events)


# A message that is no protobuf: field 1 (length-delimited) claims more bytes than follow.
GARBAGE = b"\x0a\xff\xff\xff\x0f"


def serialize(message):
    return message if isinstance(message, bytes) else message.SerializeToString()


def resource_name(type_url, packed):
    message = MESSAGES[type_url]()
    packed.Unpack(message)
    return message.cluster_name if type_url.endswith("ClusterLoadAssignment") else message.name


def delta_ads(request_iterator, context):
    """Incremental variant: per stream, what each type's resources were sent at."""
    events = queue.Queue()
    sent = {}  # type_url -> {name: version}
    with STATE.lock:
        STATE.streams.append(events)

    start_reader(request_iterator, events, lambda r: dict(r.initial_resource_versions))
    try:
        while True:
            event = events.get()
            if event is None:
                return
            if event[0] == "end":
                context.set_code(grpc.StatusCode(event[1]))
                context.set_details(event[2])
                return
            if event[0] == "garbage":
                yield GARBAGE
                continue
            kind, type_url = event[0], event[1]
            if kind == "subscribe":
                sent[type_url] = event[2]
            with STATE.lock:
                known = STATE.resources.get(type_url)
                if known is None:
                    continue
                version, resources = known
                have = sent.setdefault(type_url, {})
                aliases = STATE.delta_names.get(type_url, {})
                current = {aliases.get(resource_name(type_url, r), resource_name(type_url, r)): r
                           for r in resources}
                changed = [discovery_pb2.Resource(name=n, version=version, resource=r)
                           for n, r in current.items() if have.get(n) != version]
                removed = [n for n in have if n not in current]
                if not changed and not removed:
                    continue
                STATE.nonce += 1
                response = discovery_pb2.DeltaDiscoveryResponse(
                    system_version_info=version, type_url=type_url, nonce=str(STATE.nonce),
                    resources=changed, removed_resources=removed)
                sent[type_url] = {n: version for n in current}
            yield response
    finally:
        with STATE.lock:
            STATE.streams.remove(events)


class Control(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with STATE.lock:
            if self.path == "/requests":
                return self.reply(200, STATE.requests)
            if self.path == "/streams":
                return self.reply(200, {"streams": len(STATE.streams)})
        self.reply(404, {})

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if self.path == "/end-streams":
            # Ends every open call with a status (trailers), the connection staying up.
            code = next(c.value for c in grpc.StatusCode if c.value[0] == body["code"])
            with STATE.lock:
                streams = list(STATE.streams)
            for events in streams:
                events.put(("end", code, body.get("message", "")))
            return self.reply(200, {"ended": len(streams)})
        if self.path == "/send-garbage":  # one unparsable message on every open call
            with STATE.lock:
                streams = list(STATE.streams)
            for events in streams:
                events.put(("garbage",))
            return self.reply(200, {"sent_to": len(streams)})
        if self.path != "/push":
            return self.reply(404, {})
        type_url = body["type_url"]
        resources = []
        for item in body["resources"]:
            packed = any_pb2.Any()
            if item.get("@raw_type_url"):  # a deliberately wrong payload, for NACK tests
                packed.type_url = item["@raw_type_url"]
                packed.value = b"\x0a\x03bad"
            else:
                packed.Pack(json_format.ParseDict(item, MESSAGES[type_url]()))
            resources.append(packed)
        with STATE.lock:
            STATE.resources[type_url] = (body["version"], resources)
            STATE.delta_names[type_url] = body.get("delta_names", {})
            streams = list(STATE.streams)
        for events in streams:
            events.put(("push", type_url))
        self.reply(200, {"pushed_to": len(streams)})


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc-port", type=int, required=True)
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--tls-cert", help="serve gRPC over TLS with this PEM certificate")
    parser.add_argument("--tls-key", help="and this PEM private key")
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handler = grpc.method_handlers_generic_handler(
        "portico.service.discovery.v1.AggregatedDiscoveryService",
        {"StreamAggregatedResources": grpc.stream_stream_rpc_method_handler(
            ads, request_deserializer=discovery_pb2.DiscoveryRequest.FromString,
            response_serializer=serialize),
         "DeltaAggregatedResources": grpc.stream_stream_rpc_method_handler(
            delta_ads, request_deserializer=discovery_pb2.DeltaDiscoveryRequest.FromString,
            response_serializer=serialize)})
    server.add_generic_rpc_handlers((handler,))
    if args.tls_cert:
        credentials = grpc.ssl_server_credentials([(pathlib.Path(args.tls_key).read_bytes(),
                                                    pathlib.Path(args.tls_cert).read_bytes())])
        server.add_secure_port("127.0.0.1:%d" % args.grpc_port, credentials)
    else:
        server.add_insecure_port("127.0.0.1:%d" % args.grpc_port)
    server.start()
    control = http.server.ThreadingHTTPServer(("127.0.0.1", args.http_port), Control)
    threading.Thread(target=control.serve_forever, daemon=True).start()
    print("READY", flush=True)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
