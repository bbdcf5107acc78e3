"""Self-tests of the test tooling: upstream.py and the harness's clients, without portico.

They talk to upstream.py directly, so they pass or fail independently of the proxy and show
that a failure elsewhere is the proxy's, not the tooling's.
"""

import hashlib
import os
import socket
import unittest

from harness import (PorticoTestCase, RawConnection, bootstrap, cluster, curl, curl_many,
                     echo_headers, exchange_raw, format_request, listener, parse_responses,
                     pattern_bytes, pattern_sha256, route_to, to_yaml, virtual_host, wait_until)


class UpstreamTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        cls.upstream = env.start_upstream("self")

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.upstream.port, path)

    def request(self, method, path, headers=(), body=None):
        with RawConnection(self.upstream.port) as conn:
            return conn.request(method, path, headers, body)

    def assert_malformed(self, data):
        """`data` is answered 400 with the connection closed, and counted as malformed."""
        before = self.upstream.stats()["malformed"]
        reply = exchange_raw(self.upstream.port, data, timeout=3)
        self.assertEqual(reply.status(), 400, reply.data[:200])
        self.assertTrue(reply.closed)
        stats = self.upstream.stats()
        self.assertEqual(stats["malformed"], before + 1, stats["malformed_reasons"])
        self.upstream.malformed_seen = stats["malformed"]  # expected here, not a failure

    def test_echo_with_curl(self):
        body = os.urandom(5000)
        response = curl(self.url("/echo?a=1"), data=body)
        echo = response.json()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-upstream"), "self")
        self.assertEqual((echo["method"], echo["path"]), ("POST", "/echo?a=1"))
        self.assertEqual(echo["body_bytes"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())
        self.assertEqual(echo_headers(response)["content-length"], [str(len(body))])

    def test_keepalive_keeps_connection_number(self):
        first, second = curl_many([self.url("/echo"), self.url("/status/201")])
        self.assertEqual((first.status, second.status), (200, 201))
        self.assertEqual(first.header("x-upstream-conn"), second.header("x-upstream-conn"))

    def test_pipelined_requests_in_order(self):
        with RawConnection(self.upstream.port) as conn:
            conn.send(format_request("GET", "/echo?n=1") + format_request("GET", "/status/202")
                      + format_request("HEAD", "/bytes/10") + format_request("GET", "/echo?n=4"))
            responses = [conn.read_response(), conn.read_response(),
                         conn.read_response(head=True), conn.read_response()]
        self.assertEqual([r.status for r in responses], [200, 202, 200, 200])
        self.assertEqual(responses[0].json()["path"], "/echo?n=1")
        self.assertEqual(responses[2].header("content-length"), "10")
        self.assertEqual(responses[3].json()["path"], "/echo?n=4")

    def test_chunked_request_body(self):
        body = b"".join(pattern_bytes(0, 1000) for _ in range(3))
        chunked = b"".join(b"%x\r\n%s\r\n" % (len(part), part)
                           for part in (body[:10], body[10:]))
        echo = self.request("POST", "/echo", {"Transfer-Encoding": "chunked"},
                            chunked + b"0\r\nx-trailer: 1\r\n\r\n").json()
        self.assertEqual(echo["body_bytes"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_bytes_and_chunked_responses(self):
        sized = self.request("GET", "/bytes/200000")
        self.assertEqual(sized.header("content-length"), "200000")
        self.assertEqual(hashlib.sha256(sized.body).hexdigest(), pattern_sha256(200000))
        chunked = self.request("GET", "/chunked/3/1000")
        self.assertEqual(chunked.header("transfer-encoding"), "chunked")
        self.assertEqual(chunked.body, pattern_bytes(0, 3000))

    def test_expect_100_continue(self):
        with RawConnection(self.upstream.port) as conn:
            conn.send(format_request("POST", "/echo", {"Expect": "100-continue",
                                                       "Content-Length": "3"}))
            self.assertEqual(conn.sock.recv(100), b"HTTP/1.1 100 Continue\r\n\r\n")
            conn.send(b"abc")
            self.assertEqual(conn.read_response().json()["body_bytes"], 3)

    def test_informational(self):
        response = self.request("GET", "/informational")
        self.assertEqual([r.status for r in response.informational], [103])
        self.assertEqual(response.status, 200)

    def test_misbehaving_endpoints(self):
        reset = exchange_raw(self.upstream.port, format_request("GET", "/reset"))
        self.assertEqual((reset.data, reset.closed), (b"", True))
        mid_body = exchange_raw(self.upstream.port, format_request("GET", "/reset-mid-body"))
        truncated = parse_responses(mid_body.data)[0]
        self.assertTrue(mid_body.closed)
        self.assertEqual((truncated.header("content-length"), truncated.body),
                         ("1000", pattern_bytes(0, 10)))
        self.assertFalse(truncated.complete)
        close = exchange_raw(self.upstream.port, format_request("GET", "/close"))
        self.assertTrue(close.closed)
        self.assertEqual(parse_responses(close.data)[0].header("connection"), "close")

    def test_malformed_requests_are_counted(self):
        cases = {
            "bare LF": b"GET / HTTP/1.1\nHost: x\n\n",
            "CL and TE": b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
                         b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            "obs-fold": b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n 2\r\n\r\n",
            "bad chunk": b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            "no Host": b"GET / HTTP/1.1\r\n\r\n",
            "space in name": b"GET / HTTP/1.1\r\nHost: x\r\nbad header: 1\r\n\r\n",
        }
        for name, data in cases.items():
            with self.subTest(name):
                self.assert_malformed(data)

    def test_stats_count_connections_and_requests(self):
        before = self.upstream.stats()
        curl_many([self.url("/echo"), self.url("/echo")])
        after = self.upstream.stats()
        self.assertEqual(after["requests"] - before["requests"], 2)
        self.assertEqual(after["connections_accepted"] - before["connections_accepted"], 2)

    def test_peer_closing_mid_request_is_incomplete_not_malformed(self):
        before = self.upstream.stats()
        with socket.create_connection(("127.0.0.1", self.upstream.port), timeout=2) as sock:
            sock.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nabc")
        after = wait_until(lambda: (lambda s: s if s["incomplete"] > before["incomplete"]
                                    else None)(self.upstream.stats()),
                           3, message="the upstream to count an incomplete request")
        self.assertEqual(after["malformed"], before["malformed"])


class HarnessTest(unittest.TestCase):
    def test_yaml_matches_example_shape(self):
        config = bootstrap(
            [listener("ingress", 10000,
                      [virtual_host("all", ["*"], [route_to("backend")])])],
            [cluster("backend", [18081], max_connections_per_host=4)],
            admin_port=19901)
        expected = """\
admin:
  address:
    address: "127.0.0.1"
    port: 19901
drain_timeout: "5s"
static_resources:
  listeners:
    - name: "ingress"
      address:
        address: "127.0.0.1"
        port: 10000
      http:
        stat_prefix: "ingress"
        request_headers_timeout: "1s"
        route_config:
          name: "local"
          virtual_hosts:
            - name: "all"
              domains:
                - "*"
              routes:
                - match:
                    prefix: "/"
                  route:
                    cluster: "backend"
                    timeout: "2s"
  clusters:
    - name: "backend"
      connect_timeout: "1s"
      lb_policy: "ROUND_ROBIN"
      load_assignment:
        endpoints:
          - address:
              address: "127.0.0.1"
              port: 18081
      max_connections_per_host: 4
"""
        self.assertEqual(to_yaml(config), expected)

    def test_yaml_scalars(self):
        self.assertEqual(to_yaml({"a": True, "b": [], "c": "x\"y", "d": [[1]]}),
                         'a: true\nb: []\nc: "x\\"y"\nd:\n  - - 1\n')

    def test_parse_responses(self):
        data = (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n"
                b"HTTP/1.1 204 No Content\r\n\r\n"
                b"HTTP/1.1 200 OK\r\n\r\nuntil close")
        bodies = [(r.status, r.body) for r in parse_responses(data)]
        self.assertEqual(bodies, [(200, b"ok"), (200, b"ab"), (204, b""), (200, b"until close")])


if __name__ == "__main__":
    unittest.main()
