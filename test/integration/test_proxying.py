"""Proxying through portico: methods, keep-alive, framing, streaming, 1xx and headers."""

import hashlib
import json
import os
import socket
import struct
import time
import unittest

from harness import (UUID_RE, PorticoTestCase, RawConnection, bootstrap, cluster, curl,
                     curl_many, echo_headers, format_request, free_port, json_lines, listener,
                     parse_responses, pattern_bytes, pattern_sha256, route_to, virtual_host,
                     wait_until)

MIB = 1024 * 1024
LARGE_BODY = 64 * MIB  # much more than a proxy that buffers whole bodies could hide
RSS_GROWTH_LIMIT_KB = 30 * 1024
SLOW_READ_SECONDS = 2.0
SLOW_READ_SIZE = 16 * 1024
STREAM_TIMEOUT = 20.0
ROUTE_TIMEOUT = "30s"  # a whole-request timeout: the slow reader takes a few seconds


class ProxyingTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        cls.proxy, (cls.upstream,) = env.start_basic(timeout=ROUTE_TIMEOUT)

    def request(self, method, path, headers=(), body=None):
        with RawConnection(self.proxy.port) as conn:
            return conn.request(method, path, headers, body)

    def test_get(self):
        response = curl(self.proxy.url("/echo?x=1"))
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-upstream"), "u1")
        echo = response.json()
        self.assertEqual((echo["method"], echo["path"]), ("GET", "/echo?x=1"))

    def test_post(self):
        body = os.urandom(100_000)
        response = curl(self.proxy.url("/echo"), data=body,
                        headers={"Content-Type": "application/octet-stream"})
        self.assertEqual(response.status, 200)
        echo = response.json()
        self.assertEqual(echo["method"], "POST")
        self.assertEqual(echo["body_bytes"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_keepalive_reuses_upstream_connection(self):
        # A fresh proxy: its pool is empty, so both requests can only use one connection.
        proxy, _ = self.new_env().start_basic()
        first, second = curl_many([proxy.url("/echo"), proxy.url("/echo?second")])
        self.assertEqual((first.status, second.status), (200, 200))
        self.assertIsNotNone(first.header("x-upstream-conn"))
        self.assertEqual(first.header("x-upstream-conn"), second.header("x-upstream-conn"))

    def test_chunked_request_body_is_forwarded(self):
        body = os.urandom(300_000)
        response = curl(self.proxy.url("/echo"), data=body,
                        headers={"Transfer-Encoding": "chunked"})
        self.assertEqual(response.status, 200)
        echo = response.json()
        self.assertEqual(echo["body_bytes"], len(body))
        self.assertEqual(echo["body_sha256"], hashlib.sha256(body).hexdigest())
        framing = echo_headers(response)
        # The proxy frames the body itself: chunked or a Content-Length, never both.
        self.assertTrue(framing.get("transfer-encoding") == ["chunked"]
                        or framing.get("content-length") == [str(len(body))], framing)
        self.assertFalse("transfer-encoding" in framing and "content-length" in framing)

    def test_chunked_response_is_streamed_downstream(self):
        response = self.request("GET", "/chunked/7/3000")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("transfer-encoding"), "chunked")
        self.assertIsNone(response.header("content-length"))
        self.assertEqual(response.body, pattern_bytes(0, 7 * 3000))

    def test_large_response_to_slow_reader_keeps_memory_bounded(self):
        baseline_kb = self.proxy.rss_kb()
        with RawConnection(self.proxy.port, timeout=STREAM_TIMEOUT, rcvbuf=64 * 1024) as conn:
            conn.send(format_request("GET", "/bytes/%d" % LARGE_BODY))
            reader = SlowBodyReader(conn.sock, self.proxy.rss_kb)
            reader.read(LARGE_BODY, slow_seconds=SLOW_READ_SECONDS)
        self.assertIn(b" 200 ", reader.head.split(b"\r\n", 1)[0])
        self.assertEqual(reader.body_bytes, LARGE_BODY)
        self.assertEqual(reader.digest.hexdigest(), pattern_sha256(LARGE_BODY))
        growth_kb = reader.peak_rss_kb - baseline_kb
        print("\n  rss baseline %d KiB, peak %d KiB, growth %d KiB"
              % (baseline_kb, reader.peak_rss_kb, growth_kb))
        self.assertLess(growth_kb, RSS_GROWTH_LIMIT_KB,
                        "portico buffered a slow reader's response (RSS +%d KiB)" % growth_kb)

    def test_pipelined_request_behind_a_response_the_client_has_not_read_is_held_back(self):
        # Regression (reviewer): the client's buffer went over its mark while the first
        # (direct, 12 MiB: more than the kernel takes) response was written; the signal went to that stream only, so the
        # second request's upstream response was read at full speed into memory.
        env = self.new_env()
        upstream = env.start_upstream("u1")
        routes = [{"match": {"prefix": "/big"},
                   "direct_response": {"status": 200, "body": "x" * (12 * MIB)}},
                  route_to("backend", {"prefix": "/"}, timeout="30s")]
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(), [virtual_host("all", ["*"], routes)],
                      route_config_options={"max_direct_response_body_size_bytes": 12 * MIB})],
            [cluster("backend", [upstream])]))
        with RawConnection(proxy.port, timeout=STREAM_TIMEOUT, rcvbuf=64 * 1024) as conn:
            # 200000 chunks of 64 KiB: 12 GiB the upstream would send as fast as it is read.
            conn.send(format_request("GET", "/big") + format_request("GET", "/chunked/200000/65536"))
            time.sleep(1)  # the client reads nothing; the first response now sits in memory
            settled_kb = proxy.rss_kb()
            time.sleep(2)
            # Growth from here on is the second response (a sanitizer's shadow memory of the
            # first is already counted in settled_kb).
            growth_kb = proxy.rss_kb() - settled_kb
            print("\n  rss growth %d KiB" % growth_kb)
        self.assertLess(growth_kb, RSS_GROWTH_LIMIT_KB,
                        "portico read an upstream response its client was not reading "
                        "(RSS +%d KiB)" % growth_kb)

    def start_with_a_big_direct_response(self, **http_options):
        """A proxy whose /big is a 4 MiB direct response (more than the socket buffers take)."""
        routes = [{"match": {"prefix": "/big"},
                   "direct_response": {"status": 200, "body": "x" * (4 * MIB)}}]
        return self.new_env().start_portico(bootstrap(
            [listener("ingress", free_port(), [virtual_host("all", ["*"], routes)],
                      route_config_options={"max_direct_response_body_size_bytes": 4 * MIB},
                      **http_options)], []))

    def test_pipelined_local_replies_wait_for_a_client_that_does_not_read(self):
        # Regression (reviewer): requests answered on the spot (a direct response, a 404) were
        # answered one after another into the connection's buffer while the client read
        # nothing: 30 requests for a 4 MiB direct response took 120 MiB.
        proxy = self.start_with_a_big_direct_response()
        with RawConnection(proxy.port, timeout=STREAM_TIMEOUT, rcvbuf=64 * 1024) as conn:
            time.sleep(0.5)
            baseline_kb = proxy.rss_kb()
            conn.send(format_request("GET", "/big") * 30)
            time.sleep(1.5)  # the client reads nothing
            growth_kb = proxy.rss_kb() - baseline_kb
            print("\n  rss growth %d KiB" % growth_kb)
            # Then it reads: every response arrives, whole and in order.
            for _ in range(30):
                response = conn.read_response()
                self.assertEqual((response.status, len(response.body)), (200, 4 * MIB))
        self.assertLess(growth_kb, RSS_GROWTH_LIMIT_KB,
                        "portico answered requests its client was not reading "
                        "(RSS +%d KiB)" % growth_kb)

    def test_the_idle_timeout_does_not_cut_a_response_a_slow_client_is_reading(self):
        # Regression (reviewer): the idle timer started when the response was written into the
        # connection's buffer, and closed the connection with the client still reading it.
        proxy = self.start_with_a_big_direct_response(idle_timeout="500ms")
        received = 0
        with RawConnection(proxy.port, timeout=STREAM_TIMEOUT, rcvbuf=64 * 1024) as conn:
            conn.send(format_request("GET", "/big"))
            deadline = time.monotonic() + 15
            while received < 4 * MIB and time.monotonic() < deadline:
                chunk = conn.sock.recv(256 * 1024)  # ~2.5 MiB/s: about 1.6 s in all
                if not chunk:
                    break
                received += len(chunk)
                time.sleep(0.1)
        self.assertGreater(received, 4 * MIB)  # the head and all of the body

    def test_a_local_reply_reaches_a_client_that_half_closed_after_its_request(self):
        # Regression (reviewer): with the request and the FIN in one read, the connection
        # closed before the end-of-turn flush and the answer was dropped.
        env = self.new_env()
        routes = [{"match": {"prefix": "/direct"},
                   "direct_response": {"status": 200, "body": "direct"}}]
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(), [virtual_host("all", ["*"], routes)])], []))
        for _ in range(20):
            with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
                sock.sendall(format_request("GET", "/direct"))
                sock.shutdown(socket.SHUT_WR)
                data = b""
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    data += chunk
            self.assertTrue(data.startswith(b"HTTP/1.1 200") and data.endswith(b"direct"), data)

    def test_no_pipelined_request_is_served_once_the_connection_is_closing(self):
        # Regression (reviewer): a local reply before the request body ended announced
        # connection: close, but while that close waited for the client to read, the next
        # pipelined request was still forwarded (RFC 9112 9.6: none may be processed).
        env = self.new_env()
        upstream = env.start_upstream("u1")
        routes = [{"match": {"prefix": "/big"},
                   "direct_response": {"status": 200, "body": "x" * (4 * MIB)}},
                  {"match": {"prefix": "/refused"}, "direct_response": {"status": 403}},
                  route_to("backend", {"prefix": "/"})]
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(), [virtual_host("all", ["*"], routes)],
                      route_config_options={"max_direct_response_body_size_bytes": 4 * MIB})],
            [cluster("backend", [upstream])]))
        with RawConnection(proxy.port, timeout=STREAM_TIMEOUT, rcvbuf=64 * 1024) as conn:
            conn.send(format_request("GET", "/big")
                      + format_request("POST", "/refused", {"Content-Length": "5"}) + b"hello"
                      + format_request("GET", "/echo?after-close"))
            time.sleep(0.5)  # the client reads nothing: the close waits for the big response
            self.assertEqual(upstream.stats()["requests"], 0)
            first = conn.read_response()
            refused = conn.read_response()
            rest, closed = conn.read_until_close(5)
        self.assertEqual((first.status, len(first.body)), (200, 4 * MIB))
        self.assertEqual((refused.status, refused.header("connection")), (403, "close"))
        self.assertEqual((rest, closed), (b"", True))
        self.assertEqual(upstream.stats()["requests"], 0)

    def test_a_pipelined_chunked_request_refused_at_its_head_is_answered_once(self):
        # Regression (reviewer): the request after a proxied one is parsed at the end of a
        # later turn; refused at its head (a local reply, and a close: its body is unread),
        # the close freed the read buffer the parser was still reading (found by the sanitized
        # run, ci/sanitized_integration.sh: AddressSanitizer, use after poison).
        env = self.new_env()
        upstream = env.start_upstream("u1")
        routes = [{"match": {"prefix": "/refused"}, "direct_response": {"status": 403}},
                  route_to("backend", {"prefix": "/"})]
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(), [virtual_host("all", ["*"], routes)])],
            [cluster("backend", [upstream])]))
        with RawConnection(proxy.port, timeout=STREAM_TIMEOUT) as conn:
            conn.send(format_request("GET", "/echo")
                      + format_request("POST", "/refused", {"Transfer-Encoding": "chunked"})
                      + b"5\r\nhel")  # part of its body: the close comes before the rest
            first = conn.read_response()
            refused = conn.read_response()
            rest, closed = conn.read_until_close(5)
        self.assertEqual(first.status, 200)
        self.assertEqual((refused.status, refused.header("connection")), (403, "close"))
        self.assertEqual((rest, closed), (b"", True))

    def test_a_client_that_resets_while_its_upload_is_held_back_is_noticed(self):
        # Regression (reviewer): with the client's reading paused (the upstream takes the body
        # slower than the client sends it), its reset went unnoticed: edge-triggered epoll
        # reports it once, and nothing read. The request lived on until the upstream answered.
        env = self.new_env()
        upstream = env.start_upstream("u1")
        log_path = os.path.join(env.dir, "access.log")
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(),
                      [virtual_host("all", ["*"], [route_to("backend", timeout="60s")])],
                      access_log={"path": log_path, "json": True})],
            [cluster("backend", [upstream])]))
        conn = RawConnection(proxy.port, timeout=0.2)
        conn.send(format_request("POST", "/stall/20000", {"Content-Length": str(512 * MIB)}))
        block = b"u" * (256 * 1024)
        deadline = time.monotonic() + 3  # until the proxy stops taking the body
        while time.monotonic() < deadline:
            try:
                conn.sock.send(block)
            except socket.timeout:
                break
        conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.sock.close()  # a reset
        reset_at = time.monotonic()

        def logged():
            return json_lines(log_path)
        wait_until(lambda: len(logged()) == 1, 5, message="the request logged")
        self.assertLess(time.monotonic() - reset_at, 5)
        self.assertEqual(logged()[0]["response_code_details"], "downstream_reset")

    def test_upload_held_while_waiting_for_a_connection_keeps_its_back_pressure(self):
        # Regression (reviewer): a body held while the request waited for a connection (up to
        # the 16 MiB buffer limit: more than the kernel's socket buffers take) was written at
        # once when one came free; the upstream buffer went over its mark inside
        # that write, then the client was let read again and no further "full" signal came:
        # every later byte of an upstream that reads nothing piled up in memory.
        env = self.new_env()
        upstream = env.start_upstream("u1")
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(),
                      [virtual_host("all", ["*"], [route_to("backend", timeout="30s")])],
                      per_connection_buffer_limit_bytes=16 * MIB)],
            [cluster("backend", [upstream], max_connections_per_host=1)]), concurrency=1)
        holder = RawConnection(proxy.port, timeout=STREAM_TIMEOUT)
        holder.send(format_request("GET", "/delay/1500"))  # takes the only connection
        time.sleep(0.3)
        sent = [0]
        with RawConnection(proxy.port, timeout=0.5) as conn:
            conn.send(format_request("POST", "/stall/10000", {"Content-Length": str(512 * MIB)}))
            block = b"u" * (256 * 1024)
            deadline = time.monotonic() + 5  # 1.2 s queued, then ~3.8 s with the connection
            while time.monotonic() < deadline:
                try:
                    sent[0] += conn.sock.send(block)
                except socket.timeout:
                    pass
        print("\n  sent %d KiB" % (sent[0] // 1024))
        self.assertEqual(holder.read_response().status, 200)
        holder.close()
        # Without back-pressure the proxy takes the client's bytes as fast as it sends them
        # (hundreds of MiB); with it, the buffers on the way: a few MiB.
        self.assertLess(sent[0], 48 * MIB, "the proxy took %d MiB of a body nobody read"
                        % (sent[0] // MIB))

    def test_large_upload_is_streamed(self):
        size = 24 * MIB + 123
        block = pattern_bytes(0, 64 * 1024)
        with RawConnection(self.proxy.port, timeout=STREAM_TIMEOUT) as conn:
            conn.send(format_request("POST", "/echo", {"Content-Length": str(size)}))
            full, rest = divmod(size, len(block))
            for _ in range(full):
                conn.send(block)
            conn.send(block[:rest])
            response = conn.read_response()
        self.assertEqual(response.status, 200)
        echo = response.json()
        self.assertEqual(echo["body_bytes"], size)
        self.assertEqual(echo["body_sha256"], pattern_sha256(size))

    def test_pipelined_requests_are_answered_in_order(self):
        with RawConnection(self.proxy.port) as conn:
            conn.send(format_request("GET", "/echo?n=1") + format_request("GET", "/status/202")
                      + format_request("GET", "/echo?n=3", {"Connection": "close"}))
            responses = [conn.read_response() for _ in range(3)]
        self.assertEqual([r.status for r in responses], [200, 202, 200])
        self.assertEqual(responses[0].json()["path"], "/echo?n=1")
        self.assertEqual(responses[2].json()["path"], "/echo?n=3")

    def test_head(self):
        response = curl(self.proxy.url("/bytes/5000"), method="HEAD")
        self.assertEqual((response.status, response.header("content-length")), (200, "5000"))
        self.assertEqual(response.body, b"")
        # The next response on the connection must follow the HEAD response's headers at once.
        with RawConnection(self.proxy.port) as conn:
            conn.send(format_request("HEAD", "/bytes/5000")
                      + format_request("GET", "/echo?after-head"))
            head = conn.read_response(head=True)
            after = conn.read_response()
        self.assertEqual((head.status, head.header("content-length")), (200, "5000"))
        self.assertEqual((after.status, after.json()["path"]), (200, "/echo?after-head"))

    def test_expect_100_continue_with_curl(self):
        body = os.urandom(200_000)
        response = curl(self.proxy.url("/echo"), data=body,
                        headers={"Expect": "100-continue"})
        self.assertEqual(response.status, 200)
        self.assertIn(100, [r.status for r in response.informational],
                      "curl got no 100 Continue (it sends the body after 1 s anyway)")
        self.assertEqual(response.json()["body_sha256"], hashlib.sha256(body).hexdigest())

    def test_1xx_response_is_forwarded(self):
        response = self.request("GET", "/informational")
        self.assertEqual([r.status for r in response.informational], [103])
        self.assertIn("rel=preload", response.informational[0].header("link", ""))
        # Regression: hop-by-hop fields of a 1xx went through (only content-length was dropped).
        for name in ("connection", "x-hop", "keep-alive"):
            self.assertIsNone(response.informational[0].header(name), name)
        self.assertEqual((response.status, response.body), (200, b"after early hints\n"))

    def test_no_1xx_response_for_an_http10_client(self):
        # Regression: an HTTP/1.0 client got the 103 and took it as the response, its real
        # 200 then read as the body (RFC 9110 15.2: never send 1xx to an HTTP/1.0 client).
        reply = self.exchange_raw(b"GET /informational HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        self.assertTrue(reply.data.startswith(b"HTTP/1.1 200 "), reply.data[:200])
        self.assertNotIn(b" 103 ", reply.data)
        self.assertTrue(reply.data.endswith(b"after early hints\n"), reply.data[-200:])

    def test_connection_close_from_client_is_honoured(self):
        reply = self.exchange_raw(format_request("GET", "/echo", {"Connection": "close"}))
        self.assertTrue(reply.closed, "portico kept the connection open after Connection: close")
        responses = parse_responses(reply.data)
        self.assertEqual([r.status for r in responses], [200])

    def test_response_before_the_request_body_ends_announces_the_close(self):
        # An upstream refusing an upload before reading it: the client gets the refusal with
        # `connection: close` (its body is left unread, so the connection cannot be reused),
        # and the connection closes after it.
        head = format_request("POST", "/early/413", {"Content-Length": str(8 * MIB)})
        with RawConnection(self.proxy.port) as conn:
            conn.send(head + b"x" * 65536)
            data, closed = conn.read_until_close(STREAM_TIMEOUT)
        responses = parse_responses(data)
        self.assertEqual([r.status for r in responses], [413], data[:300])
        self.assertEqual(responses[0].header("connection"), "close")
        self.assertTrue(responses[0].complete)
        self.assertTrue(closed, "connection left open with the request body unread")
        # A request whose body was all there when the response began keeps its connection.
        with RawConnection(self.proxy.port) as conn:
            first = conn.request("POST", "/echo", body=b"y" * 1000)
            second = conn.request("GET", "/echo")
        self.assertIsNone(first.header("connection"))
        self.assertEqual((first.status, second.status), (200, 200))

    def test_an_early_refusal_ended_by_a_reset_still_reaches_the_client(self):
        # Regression (reviewer): an upstream that refuses an upload and closes with it unread
        # sends a reset right behind its answer; the proxy, blocked uploading, acted on the
        # reset first (its send failed) and the client got 502 instead of the 413.
        head = format_request("POST", "/early-reset/413", {"Content-Length": str(8 * MIB)})
        with RawConnection(self.proxy.port) as conn:
            conn.send(head)
            conn.sock.settimeout(0.5)
            try:
                for _ in range(128):  # the body, until the proxy stops taking it
                    conn.send(b"x" * 65536)
            except OSError:
                pass  # blocked (back-pressure), or the proxy closed after answering
            data, _ = conn.read_until_close(STREAM_TIMEOUT)
        responses = parse_responses(data)
        self.assertEqual([r.status for r in responses], [413], data[:300])

    def test_client_still_sending_after_an_early_response_is_not_reset(self):
        # Regression: the connection was closed outright with the client's body still arriving,
        # so the kernel answered the client's next bytes with RST (some client stacks then drop
        # the response they have not read). Now writing is shut down and what the client still
        # sends is read and discarded until it closes (a lingering close, as nginx does).
        head = format_request("POST", "/early/413", {"Content-Length": str(8 * MIB)})
        with RawConnection(self.proxy.port) as conn:
            conn.send(head + b"x" * 65536)
            response = conn.read_response()
            self.assertEqual(response.status, 413)
            time.sleep(0.2)  # the proxy has closed its side by now
            for _ in range(16):  # 1 MiB more of the body
                conn.send(b"x" * 65536)  # raises ConnectionResetError/BrokenPipeError if reset
            conn.sock.shutdown(socket.SHUT_WR)
            self.assertEqual(conn.sock.recv(100), b"", "expected the proxy's FIN")

    def test_upstream_connection_close_is_not_reused(self):
        with RawConnection(self.proxy.port) as conn:
            closing = conn.request("GET", "/close")
            after = conn.request("GET", "/echo")
        self.assertEqual((closing.status, after.status), (200, 200))
        self.assertNotEqual(closing.header("x-upstream-conn"), after.header("x-upstream-conn"),
                            "portico reused an upstream connection that said Connection: close")

    def test_idle_upstream_connection_closes_before_the_timeout_its_server_announced(self):
        # Node and Apache say "Keep-Alive: timeout=N" and close after N s idle: reusing the
        # connection near that moment is the keep-alive race, which a POST cannot survive.
        with RawConnection(self.proxy.port) as conn:  # one worker, one pool
            hinted = conn.request("GET", "/keep-alive/2")
            time.sleep(0.1)
            soon = conn.request("GET", "/keep-alive/2")
            time.sleep(1.6)  # past 2 s minus the margin (1 s), before the server's 2 s
            later = conn.request("POST", "/echo", {}, b"x" * 10)
        self.assertEqual((hinted.status, soon.status, later.status), (200, 200, 200))
        self.assertIsNone(hinted.header("keep-alive"))  # hop-by-hop: not forwarded
        self.assertEqual(hinted.header("x-upstream-conn"), soon.header("x-upstream-conn"))
        self.assertNotEqual(soon.header("x-upstream-conn"), later.header("x-upstream-conn"),
                            "reused a connection its server was about to close")

    def test_hop_by_hop_request_headers_are_not_forwarded(self):
        response = self.request("GET", "/echo", [
            ("Connection", "keep-alive, X-Hop-Named"), ("Keep-Alive", "timeout=5"),
            ("TE", "deflate"), ("Upgrade", "example/1"), ("Proxy-Connection", "keep-alive"),
            ("X-Hop-Named", "1"), ("X-End-To-End", "kept")])
        self.assertEqual(response.status, 200)
        seen = echo_headers(response)
        for name in ("keep-alive", "te", "upgrade", "proxy-connection", "x-hop-named"):
            self.assertNotIn(name, seen)
        # A Connection header of the proxy's own making is fine; the client's is not.
        self.assertIn(seen.get("connection", ["keep-alive"]), (["keep-alive"], ["close"]))
        self.assertEqual(seen["x-end-to-end"], ["kept"])

    def test_forwarded_headers_are_set(self):
        seen = echo_headers(self.request("GET", "/echo"))
        self.assertEqual(seen.get("x-forwarded-for"), ["127.0.0.1"])
        self.assertEqual(seen.get("x-forwarded-proto"), ["http"])

    def test_every_forwarded_for_hop_is_kept(self):
        # Regression: of two x-forwarded-for fields only the first was kept (one hop lost).
        seen = echo_headers(self.request("GET", "/echo", [
            ("X-Forwarded-For", "192.0.2.1"), ("X-Forwarded-For", "198.51.100.2, 192.0.2.3"),
            ("X-Forwarded-For", ""), ("X-Forwarded-Proto", "https")]))
        self.assertEqual(seen.get("x-forwarded-for"),
                         ["192.0.2.1, 198.51.100.2, 192.0.2.3, 127.0.0.1"])
        self.assertEqual(seen.get("x-forwarded-proto"), ["http"])

    def test_http10_request_without_host_reaches_the_upstream_with_one(self):
        # Regression: forwarded as HTTP/1.1 without Host, which an HTTP/1.1 server must refuse
        # (RFC 9112 3.2; our upstream does). The proxy now names the upstream, as nginx does.
        with RawConnection(self.proxy.port) as conn:
            conn.send(b"GET /echo HTTP/1.0\r\n\r\n")
            response = conn.read_response()
        self.assertEqual(response.status, 200)
        self.assertEqual(echo_headers(response).get("host"),
                         ["127.0.0.1:%d" % self.upstream.port])

    def test_only_empty_forwarded_for_fields_are_replaced(self):
        # Regression: they were kept, so the upstream read "X-Forwarded-For: , 127.0.0.1"
        # and took an empty string for the client's address.
        seen = echo_headers(self.request("GET", "/echo", [("X-Forwarded-For", "")]))
        self.assertEqual(seen.get("x-forwarded-for"), ["127.0.0.1"])

    def test_empty_host_reaches_the_upstream_as_its_address(self):
        # Regression: "Host:" (valid for a target without an authority) was forwarded empty,
        # which many upstreams refuse.
        with RawConnection(self.proxy.port) as conn:
            conn.send(b"GET /echo HTTP/1.1\r\nHost:\r\n\r\n")
            response = conn.read_response()
        self.assertEqual(response.status, 200, response.body[:200])
        self.assertEqual(echo_headers(response).get("host"),
                         ["127.0.0.1:%d" % self.upstream.port])

    def test_http10_request_keeps_its_host(self):
        with RawConnection(self.proxy.port) as conn:
            conn.send(b"GET /echo HTTP/1.0\r\nHost: example.test:8080\r\n\r\n")
            response = conn.read_response()
        self.assertEqual(echo_headers(response).get("host"), ["example.test:8080"])

    def test_request_id_is_generated_when_absent(self):
        ids = [echo_headers(self.request("GET", "/echo")).get("x-request-id", [""])
               for _ in range(2)]
        for values in ids:
            self.assertEqual(len(values), 1)
            self.assertRegex(values[0], UUID_RE)
        self.assertNotEqual(ids[0], ids[1])

    def test_request_id_is_kept_when_present(self):
        seen = echo_headers(self.request("GET", "/echo", {"X-Request-Id": "client-id-42"}))
        self.assertEqual(seen.get("x-request-id"), ["client-id-42"])


class SlowBodyReader:
    """Reads one response from a socket: slowly at first, then at full speed, keeping only
    a running sha256 of the body and the peak of `sample_rss()`."""

    def __init__(self, sock, sample_rss):
        self.sock = sock
        self.sample_rss = sample_rss
        self.head = b""
        self.body_bytes = 0
        self.digest = hashlib.sha256()
        self.peak_rss_kb = sample_rss()

    def _consume(self, data):
        if self.head.endswith(b"\r\n\r\n"):
            self.body_bytes += len(data)
            self.digest.update(data)
            return
        head, separator, rest = (self.head + data).partition(b"\r\n\r\n")
        self.head = head + separator
        if separator:
            self._consume(rest)

    def _recv(self, size):
        data = self.sock.recv(size)
        if not data:
            raise AssertionError("connection closed after %d body bytes" % self.body_bytes)
        self._consume(data)

    def _sample(self):
        self.peak_rss_kb = max(self.peak_rss_kb, self.sample_rss())

    def read(self, body_size, slow_seconds):
        slow_until = time.monotonic() + slow_seconds
        while time.monotonic() < slow_until:
            self._recv(SLOW_READ_SIZE)
            self._sample()
            time.sleep(0.02)
        reads = 0
        while self.body_bytes < body_size:
            self._recv(256 * 1024)
            reads += 1
            if reads % 16 == 0:
                self._sample()
        self._sample()


if __name__ == "__main__":
    unittest.main()
