"""Request smuggling and limits, over raw sockets.

Every malformed request must be answered 400 (431 or 414 where noted) with the connection
closed, no upstream response may reach the client, and (checked after every test by the
harness) no upstream may receive anything malformed. A second request is appended to each
malformed one: if the proxy desynchronised, the upstream would answer it.
"""

import socket
import time
import unittest

from harness import PorticoTestCase, RawConnection, connection_refused, wait_until

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n"
MAX_REQUEST_HEADERS_KB = 8
MAX_HEADERS_COUNT = 20
TOO_LARGE = (400, 414, 431)


def request(head_lines, body=b""):
    """A request from its request line and header lines, joined with CRLF."""
    return b"\r\n".join(head_lines) + b"\r\n\r\n" + body


def get_with(*header_lines):
    return request([b"GET /echo HTTP/1.1", b"Host: x", *header_lines])


def post_with(*header_lines, body=b""):
    return request([b"POST /echo HTTP/1.1", b"Host: x", *header_lines], body)


class SmugglingTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        cls.proxy, (cls.upstream,) = env.start_basic(
            request_headers_timeout="1s", max_request_headers_kb=MAX_REQUEST_HEADERS_KB,
            max_headers_count=MAX_HEADERS_COUNT)

    def assert_rejected(self, data, statuses=(400,), upstream_may_see_head=False):
        """`data` gets one of `statuses`, the connection closes, and no upstream answers."""
        requests_before = self.upstream.stats()["requests"]
        reply = self.exchange_raw(data + SMUGGLED, timeout=5)
        self.assertIn(reply.status(), statuses, "reply: %r" % reply.data[:300])
        self.assertTrue(reply.closed, "connection left open after %s" % reply.status())
        self.assertNotIn(b"x-upstream:", reply.data.lower(), "an upstream answered: %r"
                         % reply.data[:500])
        if not upstream_may_see_head:
            self.assertEqual(self.upstream.stats()["requests"], requests_before,
                             "the request reached the upstream")

    def assert_all_rejected(self, cases, **options):
        for name, data in cases.items():
            with self.subTest(name):
                self.assert_rejected(data, **options)

    def test_content_length_with_transfer_encoding(self):
        self.assert_all_rejected({
            "CL then TE": post_with(b"Content-Length: 5", b"Transfer-Encoding: chunked",
                                    body=b"0\r\n\r\n"),
            "TE then CL": post_with(b"Transfer-Encoding: chunked", b"Content-Length: 5",
                                    body=b"0\r\n\r\n"),
        })

    def test_two_different_content_lengths(self):
        self.assert_rejected(post_with(b"Content-Length: 3", b"Content-Length: 30",
                                       body=b"abc"))

    def test_invalid_content_length(self):
        self.assert_all_rejected({value: post_with(b"Content-Length: " + value, body=b"a")
                                  for value in (b"abc", b"-1", b"1,2")})

    def test_bad_chunk_size(self):
        # The head is valid, so the proxy may already have forwarded it: only the body is bad.
        self.assert_rejected(post_with(b"Transfer-Encoding: chunked",
                                       body=b"zz\r\nhello\r\n0\r\n\r\n"),
                             upstream_may_see_head=True)

    def test_chunk_lines_must_end_with_crlf(self):
        # Regression: llhttp's lenient build took any two bytes after chunk data as its CRLF
        # (and any byte after the CR of a size line as the LF). With "\n8" eaten as a CRLF the
        # body below ends at "0" for us, while a front proxy that accepts a bare LF reads one
        # 0x80-byte chunk holding the GET: the GET was then served as a second request.
        smuggled_get = b"GET /admin HTTP/1.1\r\nHost: x\r\nX: " + b"a" * 80 + b"\r\n\r\n"
        self.assert_all_rejected({
            "any two bytes after data": post_with(b"Transfer-Encoding: chunked",
                                                  body=b"5\r\nhelloXY0\r\n\r\n"),
            "CR and any byte after a size": post_with(b"Transfer-Encoding: chunked",
                                                      body=b"5\rXhello\r\n0\r\n\r\n"),
            "LF and a digit after data": post_with(
                b"Transfer-Encoding: chunked",
                body=b"5\r\nhello\n80\r\n\r\n" + smuggled_get + b"\r\n0\r\n\r\n"),
        }, upstream_may_see_head=True)

    def test_obs_fold(self):
        self.assert_all_rejected({
            "space": get_with(b"X-Folded: a", b" b"),
            "tab": get_with(b"X-Folded: a", b"\tb"),
        })

    def test_bare_lf(self):
        self.assert_all_rejected({
            "all lines": b"GET /echo HTTP/1.1\nHost: x\n\n",
            "one line": b"GET /echo HTTP/1.1\r\nHost: x\nX-A: 1\r\n\r\n",
        })

    def test_bare_cr(self):
        self.assert_all_rejected({
            "in value": get_with(b"X-A: a\rb"),
            "before CRLF": get_with(b"X-A: a\r"),
        })

    def test_invalid_header_name(self):
        self.assert_all_rejected({repr(line): get_with(line) for line in (
            b"bad header: x", b"x\x00y: 1", b"x-a : 1", b"x(y: 1", b": empty-name")})

    def test_invalid_header_value(self):
        self.assert_all_rejected({repr(line): get_with(line) for line in (
            b"X-A: a\x01b", b"X-A: a\x00b", b"X-A: a\x7fb", b"X-A: a\x1bb")})

    def test_request_line_too_long(self):
        long_path = b"/echo?" + b"a" * (MAX_REQUEST_HEADERS_KB * 1024 + 100)
        self.assert_rejected(request([b"GET " + long_path + b" HTTP/1.1", b"Host: x"]),
                             statuses=TOO_LARGE)

    def test_headers_over_max_request_headers_kb(self):
        big = [b"X-Big-%d: %s" % (index, b"v" * 1000) for index in range(12)]
        self.assertLess(len(big) + 1, MAX_HEADERS_COUNT)
        self.assert_rejected(get_with(*big), statuses=TOO_LARGE)

    def test_more_than_max_headers_count(self):
        many = [b"X-H-%d: 1" % index for index in range(MAX_HEADERS_COUNT + 10)]
        self.assert_rejected(get_with(*many), statuses=TOO_LARGE)

    def test_transfer_encoding_other_than_chunked(self):
        self.assert_all_rejected({
            "chunked, gzip": post_with(b"Transfer-Encoding: chunked, gzip", body=b"0\r\n\r\n"),
            "xchunked": post_with(b"Transfer-Encoding: xchunked", body=b"0\r\n\r\n"),
        })

    def test_invalid_request_line(self):
        # (Double spaces are not among them: RFC 9112 section 3 lets a server split the
        # request line on any whitespace.)
        self.assert_all_rejected({repr(line): request([line, b"Host: x"]) for line in (
            b"GET /echo HTTP/1.1 extra", b"GET /e cho HTTP/1.1", b"G(T /echo HTTP/1.1")})

    def test_request_targets_the_upstream_would_read_differently(self):
        # A fragment (no target form has one), bytes outside visible ASCII, and userinfo in an
        # absolute-form target (it would have reached the upstream inside Host).
        self.assert_all_rejected({repr(line): request([line, b"Host: x"]) for line in (
            b"GET /echo#x HTTP/1.1", b"GET /caf\xc3\xa9 HTTP/1.1",
            b"GET http://user:pw@x/echo HTTP/1.1")})

    def test_hosts_that_are_not_an_authority(self):
        # Regression: these reached the upstream, so the virtual host we chose and the host the
        # upstream served could differ ("a/b", userinfo, spaces).
        self.assert_all_rejected({repr(host): request([b"GET /echo HTTP/1.1", b"Host: " + host])
                                  for host in (b"x y", b"x/y", b"user@x", b"x?y", b"x:80x",
                                               b"[::1", b"x\\y")})
        self.assert_rejected(request([b"GET http://x%zz/echo HTTP/1.1", b"Host: x"]))

    def test_valid_request_still_works(self):
        # The control: the same connection setup with a well-formed request is proxied.
        with RawConnection(self.proxy.port) as conn:
            response = conn.request("POST", "/echo", {"Transfer-Encoding": "chunked"},
                                    b"5\r\nhello\r\n0\r\n\r\n")
        self.assertEqual((response.status, response.json()["body_bytes"]), (200, 5))

    def test_slowloris_headers_time_out(self):
        requests_before = self.upstream.stats()["requests"]
        start = time.monotonic()
        received, closed = dribble_headers(self.proxy.port, interval=0.25, limit=6.0)
        elapsed = time.monotonic() - start
        self.assertTrue(closed, "connection still open after %.1fs of dribbled headers"
                        % elapsed)
        self.assertLess(elapsed, 3.5, "closed only after %.1fs (timeout is 1s)" % elapsed)
        if received:
            self.assertTrue(received.startswith(b"HTTP/1.1 408"), received[:200])
        self.assertEqual(self.upstream.stats()["requests"], requests_before)

    def test_a_refused_head_request_gets_no_body(self):
        # Regression (reviewer): the refusal of a HEAD (here: no Host) carried its text as a
        # body, which a response to HEAD must not (RFC 9110 9.3.2); Envoy and nginx send none.
        # Refused at its end (no Host), pipelined, and within its head (too many fields; a bad
        # field line).
        many = b"".join(b"X-%d: y\r\n" % i for i in range(120))
        for request in (b"HEAD / HTTP/1.1\r\n\r\n",
                        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nHEAD / HTTP/1.1\r\n\r\n",
                        b"HEAD / HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n",
                        b"HEAD / HTTP/1.1\r\nHost: x\r\nBad Field: y\r\n\r\n",
                        b"HEAD / HTTP/1.1\nHost: x\n\n",  # bare LF: the scanner's refusal
                        b"\r\nHEAD / HTTP/1.1\r\nHost: x\r\nA: b\r\n c\r\n\r\n"):  # obs-fold
            with RawConnection(self.proxy.port, timeout=5) as conn:
                conn.send(request)
                data, closed = conn.read_until_close(timeout=5)
            self.assertTrue(closed)
            last = data[data.rfind(b"HTTP/1.1 "):]
            self.assertTrue(last.startswith(b"HTTP/1.1 4"), data[:300])
            self.assertIn(b"content-length: ", last)
            self.assertTrue(last.endswith(b"\r\n\r\n"), last)

    def test_empty_line_after_a_body_does_not_start_the_headers_clock(self):
        # Regression: the CRLF some clients send after a body (RFC 9112 2.2: a server ignores
        # it) armed the 1 s request-headers timeout, and the idle keep-alive connection got a
        # 408 and a close for a request nobody had started.
        with RawConnection(self.proxy.port) as conn:
            conn.send(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nab\r\n")
            self.assertEqual(conn.read_response().status, 200)
            time.sleep(1.5)
            conn.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(conn.read_response().status, 200)


def dribble_headers(port, interval, limit):
    """Sends a request line, then one header byte per `interval`, until the peer closes or
    `limit` seconds pass. Returns (bytes received, closed)."""
    deadline = time.monotonic() + limit
    received = b""
    with RawConnection(port, timeout=interval) as conn:
        conn.send(b"GET /echo HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        while time.monotonic() < deadline:
            try:
                conn.send(b"s")
                data = conn.sock.recv(65536)
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                return received, True
            if not data:
                return received, True
            received += data
    return received, False


class ConnectionLimitsTest(PorticoTestCase):
    def test_idle_keepalive_connection_is_closed(self):
        proxy, _ = self.new_env().start_basic(idle_timeout="1s")
        with RawConnection(proxy.port, timeout=5) as conn:
            self.assertEqual(conn.request("GET", "/echo").status, 200)
            time.sleep(0.3)
            self.assertEqual(conn.request("GET", "/echo").status, 200, "not kept alive")
            start = time.monotonic()
            _, closed = conn.read_until_close(timeout=3.5)
        self.assertTrue(closed, "idle connection still open after 3.5s (idle_timeout 1s)")
        self.assertGreater(time.monotonic() - start, 0.5, "closed long before idle_timeout")

    def test_a_head_still_arriving_without_a_headers_timeout_ends_at_the_stream_timeout(self):
        # Regression (reviewer): with request_headers_timeout 0s (off, as in Envoy) a partial
        # head had no timer at all, and the connection stayed open for ever. Envoy opens the
        # stream at the first byte, so its stream idle timeout ends it: the same here.
        proxy, _ = self.new_env().start_basic(request_headers_timeout="0s",
                                              stream_idle_timeout="1s", idle_timeout="60s")
        with RawConnection(proxy.port, timeout=5) as conn:
            conn.send(b"GET /echo HTTP/1.1\r\nHo")
            start = time.monotonic()
            received, closed = conn.read_until_close(timeout=4)
        self.assertTrue(closed, "a partial head kept the connection open for 4 s")
        self.assertGreater(time.monotonic() - start, 0.5)
        self.assertTrue(received.startswith(b"HTTP/1.1 408"), received[:200])
        # An idle timeout: a head still arriving, one byte at a time, is not cut off.
        with RawConnection(proxy.port, timeout=5) as conn:
            start = time.monotonic()
            conn.send(b"GET /echo HTTP/1.1\r\n")
            for byte in b"Host: x\r\n\r\n":
                time.sleep(0.3)
                conn.send(bytes([byte]))
            response = conn.read_response()
        self.assertEqual(response.status, 200)
        self.assertGreater(time.monotonic() - start, 2.5)

    def test_max_connections_per_listener(self):
        proxy, _ = self.new_env().start_basic(concurrency=1, max_connections=2)
        held = [RawConnection(proxy.port) for _ in range(2)]
        try:
            for conn in held:
                self.assertEqual(conn.request("GET", "/echo").status, 200)
            self.assertTrue(connection_refused(proxy.port, timeout=2.0),
                            "a third connection was served with max_connections 2")
            held.pop().close()
            wait_until(lambda: not connection_refused(proxy.port, timeout=1.0), 5,
                       message="a new connection to be served once one was closed")
            self.assertEqual(held[0].request("GET", "/echo").status, 200)
        finally:
            for conn in held:
                conn.close()


if __name__ == "__main__":
    unittest.main()
