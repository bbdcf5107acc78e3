"""Replies portico makes itself: 404 without a route, 503/502/504 for upstream failures,
and their counting in the admin stats."""

import time
import unittest

from harness import (PorticoTestCase, RawConnection, bootstrap, cluster, format_request,
                     free_port, listener, parse_responses, route_to, virtual_host)

STAT_PREFIX = "http.ingress."


class LocalRepliesTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        upstream = env.start_upstream("u1")
        routes = [route_to("dead", {"prefix": "/dead"}),
                  route_to("backend", {"prefix": "/delay"}, timeout="500ms"),
                  route_to("backend", {"prefix": "/echo"}),
                  route_to("backend", {"prefix": "/reset"}),
                  route_to("backend", {"prefix": "/big-header"}),
                  route_to("backend", {"prefix": "/status-line"}),
                  route_to("backend", {"prefix": "/te/"}),
                  route_to("backend", {"prefix": "/reset-unframed"}),
                  route_to("backend", {"prefix": "/drop-next"}),
                  route_to("backend", {"prefix": "/chunked-reset"}),
                  route_to("roomy", {"prefix": "/roomy/"}, prefix_rewrite="/")]
        hosts = [virtual_host("known", ["localhost", "127.0.0.1"], routes)]
        # Nothing listens on the dead cluster's port.
        clusters = [cluster("backend", [upstream]), cluster("dead", [free_port()]),
                    cluster("roomy", [upstream], max_response_headers_kb=512)]
        cls.proxy = env.start_portico(bootstrap([listener("ingress", free_port(), hosts)],
                                                clusters))
        cls.upstream = upstream

    def assert_local_reply(self, path, status, headers=()):
        response = self.get(path, headers)
        self.assertEqual(response.status, status, response.body[:300])
        self.assertIsNone(response.header("x-upstream"))
        return response

    def test_no_route_is_404(self):
        self.assert_local_reply("/no/such/route", 404)

    def test_unknown_virtual_host_is_404(self):
        self.assert_local_reply("/echo", 404, {"Host": "unknown.example.org"})

    def test_unreachable_endpoint_is_503(self):
        start = time.monotonic()
        self.assert_local_reply("/dead", 503)
        self.assertLess(time.monotonic() - start, 3.0)

    def test_upstream_reset_is_502(self):
        self.assert_local_reply("/reset", 502)

    def test_upstream_reset_mid_body_aborts_downstream(self):
        reply = self.exchange_raw(format_request("GET", "/reset-mid-body"), timeout=5)
        response = parse_responses(reply.data)[0]
        if response.status == 502:  # the reset won the race with the response headers
            return
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-length"), "1000")
        self.assertFalse(response.complete, "got %d body bytes" % len(response.body))
        self.assertTrue(reply.closed, "downstream left open after the upstream reset")

    def test_route_timeout_is_504(self):
        start = time.monotonic()
        self.assert_local_reply("/delay/3000", 504)
        elapsed = time.monotonic() - start
        self.assertTrue(0.4 <= elapsed < 2.5, "504 after %.2fs with a 500ms timeout" % elapsed)

    def test_route_timeout_runs_from_the_end_of_the_request(self):
        # As Envoy's: a slow upload is not cut by the route timeout (500 ms here), and the
        # timeout still bounds the wait for the response once the body is in.
        def slow_post(path, pieces=4, gap=0.4):
            with RawConnection(self.proxy.port) as conn:
                conn.send(format_request("POST", path, [("content-length", str(pieces))]))
                for _ in range(pieces):
                    time.sleep(gap)
                    conn.send(b"x")
                sent = time.monotonic()
                return conn.read_response(), time.monotonic() - sent

        response, _ = slow_post("/delay/0")
        self.assertEqual(response.status, 200, response.body[:300])
        self.assertEqual(response.header("x-upstream"), "u1")
        response, waited = slow_post("/delay/3000")
        self.assertEqual(response.status, 504)
        self.assertTrue(0.4 <= waited < 2.5, "504 %.2fs after the body with a 500ms timeout"
                        % waited)

    def test_oversized_response_head_is_502_and_memory_stays_bounded(self):
        # 20 MiB of one header line: held whole it would grow the proxy by as much.
        before = self.proxy.rss_kb()
        start = time.monotonic()
        response = self.assert_local_reply("/big-header/%d" % (20 << 20), 502)
        self.assertIn(b"headers larger than 61440 bytes", response.body)
        self.assertLess(time.monotonic() - start, 3.0)
        self.assertLess(self.proxy.rss_kb() - before, 4096, "RSS grew by more than 4 MiB")
        # Under the (default 60 KiB) limit the head goes through.
        response = self.get("/big-header/%d" % (50 << 10))
        self.assertEqual(response.status, 200)
        self.assertEqual(len(response.header("x-big")), 50 << 10)

    def test_response_head_limit_is_per_cluster(self):
        response = self.get("/roomy/big-header/%d" % (200 << 10))
        self.assertEqual(response.status, 200)
        self.assertEqual(len(response.header("x-big")), 200 << 10)
        self.assert_local_reply("/roomy/big-header/%d" % (600 << 10), 502)

    def test_status_outside_three_digits_is_502(self):
        # Regression: "HTTP/1.1 20 X" went out as "502 X" with no length and the body after it,
        # where a keep-alive client reads it as its next response.
        for code in ("20", "099"):
            with self.subTest(code):
                with RawConnection(self.proxy.port) as conn:
                    conn.send(format_request("GET", "/status-line/" + code))
                    response = conn.read_response()
                    self.assertEqual(response.status, 502)
                    self.assertIn(b"invalid status code", response.body)
                    conn.send(format_request("GET", "/echo"))  # the connection is still in sync
                    self.assertEqual(conn.read_response().status, 200)
        # 600-999 are not HTTP either, but clients treat them as 5xx; nginx passes them too.
        self.assertEqual(self.get("/status-line/999").status, 999)

    def test_response_transfer_codings_other_than_chunked_are_502(self):
        # Regression: "gzip, chunked" was de-chunked and its Transfer-Encoding dropped, so the
        # client got gzip bytes labelled as nothing; "gzip" alone was read until close.
        for codings in ("gzip,chunked", "gzip", "chunked,chunked"):
            with self.subTest(codings):
                response = self.assert_local_reply("/te/" + codings, 502)
                self.assertIn(b"unsupported transfer-encoding", response.body)
        response = self.get("/te/chunked")
        self.assertEqual((response.status, response.body), (200, b"ok"))

    def test_upstream_reset_in_an_unframed_body_is_not_a_complete_response(self):
        # Regression: a reset ending a body delimited by the close was taken as its end, so an
        # HTTP/1.1 client got the terminating chunk and a truncated body it believed whole.
        reply = self.exchange_raw(format_request("GET", "/reset-unframed/10"), timeout=5)
        response = parse_responses(reply.data)[0]
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("transfer-encoding"), "chunked")
        self.assertFalse(response.complete, "the truncated body ended with its last chunk")
        self.assertEqual(len(response.body), 10)
        self.assertTrue(reply.closed, "downstream left open after the upstream reset")

    def test_truncated_close_delimited_response_ends_with_a_reset(self):
        # Regression: an HTTP/1.0 client gets a chunked upstream response without a length,
        # delimited by the close; when the upstream reset mid-body, the proxy closed with a
        # FIN and the client took the truncated body as complete.
        with RawConnection(self.proxy.port, timeout=5) as conn:
            conn.send(b"GET /chunked-reset/10 HTTP/1.0\r\nHost: localhost\r\n\r\n")
            data, ended_by = conn.reader.buffer, None
            conn.reader.buffer = b""
            while ended_by is None:
                try:
                    chunk = conn.sock.recv(65536)
                except ConnectionResetError:
                    ended_by = "reset"
                else:
                    data += chunk
                    ended_by = None if chunk else "fin"
        self.assertTrue(data.startswith(b"HTTP/1.1 200"), data[:100])
        self.assertNotIn(b"content-length", data.lower())
        self.assertEqual(ended_by, "reset")

    def race_keepalive(self, method, body=None, drop="fin"):
        """Answers a first request on a pooled upstream connection, then sends a second
        through the same client connection (so the same worker takes the same upstream
        connection): the upstream closes it without answering, as one whose keep-alive timeout
        ran out as the request arrived. Returns (first, second, retries counted, dropped)."""
        retries = self.proxy.counter("cluster.backend.upstream_rq_retry")
        dropped = self.upstream.stats().get("dropped", 0)
        with RawConnection(self.proxy.port) as conn:
            first = conn.request("GET", "/drop-next/" + drop)
            second = conn.request(method, "/echo", {}, body)
        return (first, second, self.proxy.counter("cluster.backend.upstream_rq_retry") - retries,
                self.upstream.stats().get("dropped", 0) - dropped)

    def test_request_on_a_connection_the_upstream_closed_as_idle_is_retried(self):
        # Regression: the keep-alive race gave the client a 502 (nginx retries these).
        for drop in ("fin", "rst"):
            for method in ("GET", "HEAD", "DELETE"):
                with self.subTest(drop=drop, method=method):
                    first, second, retries, dropped = self.race_keepalive(method, drop=drop)
                    self.assertEqual(first.status, 200)
                    self.assertEqual((second.status, retries, dropped), (200, 1, 1),
                                     second.body[:200])
                    self.assertEqual(second.header("x-upstream"), "u1")
                    self.assertNotEqual(first.header("x-upstream-conn"),
                                        second.header("x-upstream-conn"))

    def test_request_with_body_or_unsafe_method_is_not_retried(self):
        # The upstream may have read it after all; repeating a POST could do its work twice.
        for method, body in (("POST", b"x" * 100), ("PUT", b"x" * 100), ("POST", None)):
            with self.subTest(method=method, body=body is not None):
                first, second, retries, dropped = self.race_keepalive(method, body)
                self.assertEqual(first.status, 200)
                self.assertEqual((second.status, retries, dropped), (502, 0, 1))
                self.assertIsNone(second.header("x-upstream"))

    def test_local_replies_are_counted(self):
        self.assert_local_reply("/no/such/route", 404)
        self.assert_local_reply("/dead", 503)
        stats = self.proxy.stats()
        for name in ("downstream_rq_4xx", "downstream_rq_5xx"):
            with self.subTest(name):
                self.assertGreater(int(stats.get(STAT_PREFIX + name, 0)), 0,
                                   "%s%s missing or zero" % (STAT_PREFIX, name))


class StreamIdleTimeoutTest(PorticoTestCase):
    """stream_idle_timeout: a request in progress with no bytes moving on its connection is
    ended (408 while it arrives, 504 while its response is awaited); progress keeps it."""

    @classmethod
    def start_class_env(cls, env):
        upstream = env.start_upstream("u1")
        # timeout 0: no route timeout, so only the stream idle timeout bounds these.
        routes = [route_to("backend", {"prefix": "/"}, timeout="0s")]
        hosts = [virtual_host("any", ["*"], routes)]
        cls.proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(), hosts, stream_idle_timeout="500ms")],
            [cluster("backend", [upstream])]))

    def test_a_silent_upstream_is_504(self):
        # Regression (reviewer): with the route timeout off, nothing ended the request.
        before = self.proxy.counter(STAT_PREFIX + "downstream_rq_idle_timeout")
        with RawConnection(self.proxy.port, timeout=4) as conn:
            start = time.monotonic()
            response = conn.request("GET", "/delay/5000")
            elapsed = time.monotonic() - start
        self.assertEqual(response.status, 504, response.body[:200])
        self.assertIn(b"stream idle timeout", response.body)
        # One to two timeouts; the bound only has to stay under the upstream's 5 s.
        self.assertTrue(0.4 <= elapsed < 3.5, "504 after %.2fs" % elapsed)
        self.assertEqual(self.proxy.counter(STAT_PREFIX + "downstream_rq_idle_timeout"),
                         before + 1)

    def test_a_client_that_stops_mid_body_is_408(self):
        with RawConnection(self.proxy.port, timeout=4) as conn:
            conn.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n0123456789")
            start = time.monotonic()
            data, closed = conn.read_until_close(4)
            elapsed = time.monotonic() - start
        self.assertTrue(data.startswith(b"HTTP/1.1 408 "), data[:200])
        self.assertTrue(closed, "connection left open after a 408 mid-body")
        self.assertLess(elapsed, 3.5)

    def test_a_slow_but_steady_upload_is_not_cut(self):
        # Longer than two timeouts in all, with gaps a tenth of one (a loaded sanitized build
        # stalls for more than the 300 ms slack that 200 ms gaps left).
        body = b"x" * 30
        with RawConnection(self.proxy.port, timeout=5) as conn:
            conn.send(b"POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 30\r\n\r\n")
            for i in range(30):  # 1.5 s in all, a byte every 50 ms
                time.sleep(0.05)
                conn.send(body[i:i + 1])
            response = conn.read_response()
        self.assertEqual(response.status, 200, response.body[:200])


if __name__ == "__main__":
    unittest.main()
