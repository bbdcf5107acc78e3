"""Response compression (the compressor HTTP filter): curl --compressed and Python's gzip
against the real binary, a multi-megabyte streamed body, a route that switches it off, HEAD,
clients without gzip, and the filter's stats."""

import gzip
import hashlib
import json
import subprocess
import tempfile
import unittest
from pathlib import Path

from harness import (PorticoTestCase, bootstrap, cluster, free_port, listener, route_to,
                     virtual_host)
from upstream import pattern_sha256

BIG = 3_000_000  # bytes of the upstream's /bytes pattern, sent in 64 KiB writes


class CompressionTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        upstream = env.start_upstream("a")
        routes = [{**route_to("a", {"prefix": "/plain/"}, prefix_rewrite="/"),
                   "disabled_filters": ["gzip"]},
                  # The usual set-up when the proxy, not the upstream, is to compress.
                  {**route_to("a", {"prefix": "/strip/"}, prefix_rewrite="/"),
                   "request_headers_to_remove": ["accept-encoding"]},
                  {**route_to("a", {"prefix": "/force/"}, prefix_rewrite="/"),
                   "request_headers_to_add": [{"key": "accept-encoding", "value": "gzip"}]},
                  route_to("a", {"prefix": "/"})]
        filters = [{"name": "gzip",
                    "compressor": {"content_types": ["application/json",
                                                     "application/octet-stream"],
                                   "compression_level": 1}}]
        config = bootstrap([listener("ingress", free_port(), [virtual_host("all", ["*"], routes)],
                                     http_filters=filters)],
                           [cluster("a", [upstream])], admin_port=free_port())
        cls.proxy = env.start_portico(config)

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.proxy.port, path)

    def curl(self, *args):
        done = subprocess.run(["curl", "-sS", "--max-time", "30", *args], capture_output=True,
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr.decode(errors="replace"))
        return done.stdout

    def test_curl_compressed_streams_a_large_body_intact(self):
        with tempfile.TemporaryDirectory() as d:
            raw, headers = Path(d) / "raw", Path(d) / "headers"
            self.curl("-H", "accept-encoding: gzip", "-D", str(headers), "-o", str(raw),
                      self.url("/bytes/%d" % BIG))
            head = headers.read_text().lower()
            self.assertIn("content-encoding: gzip", head)
            self.assertIn("transfer-encoding: chunked", head)
            self.assertNotIn("content-length", head)
            # The pattern repeats every 256 bytes: it must shrink a lot.
            self.assertLess(raw.stat().st_size, BIG // 10)
            body = gzip.decompress(raw.read_bytes())
        self.assertEqual(len(body), BIG)
        self.assertEqual(hashlib.sha256(body).hexdigest(), pattern_sha256(BIG))
        # And curl's own decoder agrees.
        decoded = self.curl("--compressed", self.url("/bytes/%d" % BIG))
        self.assertEqual(hashlib.sha256(decoded).hexdigest(), pattern_sha256(BIG))

    def test_json_from_the_upstream_is_compressed_for_gzip_clients(self):
        response = self.get("/echo", {"Accept-Encoding": "br;q=1, gzip;q=0.5"})
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("content-encoding"), "gzip")
        self.assertEqual(response.header("vary"), "accept-encoding")
        document = json.loads(gzip.decompress(response.body))
        self.assertEqual(document["upstream"], "a")
        # The upstream was asked as usual (the filter only touches the response).
        self.assertIn(["accept-encoding", "br;q=1, gzip;q=0.5"], document["headers"])

    def test_what_the_client_accepts_is_read_before_the_route_edits_the_request(self):
        # Regression: the filter read accept-encoding after the route's header ops: a route
        # that strips it (so the upstream sends plain bodies) never compressed, and one that
        # adds it sent gzip to clients that had not asked for it.
        stripped = self.get("/strip/echo", {"Accept-Encoding": "gzip"})
        self.assertEqual(stripped.header("content-encoding"), "gzip")
        document = json.loads(gzip.decompress(stripped.body))
        self.assertNotIn("accept-encoding", [name for name, _ in document["headers"]])
        forced = self.get("/force/echo")
        self.assertIsNone(forced.header("content-encoding"))
        self.assertIn(["accept-encoding", "gzip"], forced.json()["headers"])

    def test_clients_without_gzip_get_it_plain_with_vary(self):
        for accept in (None, "gzip;q=0", "identity"):
            with self.subTest(accept=accept):
                headers = {"Accept-Encoding": accept} if accept else {}
                response = self.get("/bytes/5000", headers)
                self.assertEqual(response.status, 200)
                self.assertIsNone(response.header("content-encoding"))
                self.assertEqual(response.header("content-length"), "5000")
                self.assertEqual(response.header("vary"), "accept-encoding")
                self.assertEqual(len(response.body), 5000)

    def test_route_can_switch_it_off(self):
        response = self.get("/plain/bytes/5000", {"Accept-Encoding": "gzip"})
        self.assertEqual(response.status, 200)
        self.assertIsNone(response.header("content-encoding"))
        self.assertIsNone(response.header("vary"))
        self.assertEqual(len(response.body), 5000)

    def test_head_keeps_the_uncompressed_length(self):
        out = self.curl("-I", "-H", "accept-encoding: gzip", self.url("/bytes/5000"))
        head = out.decode().lower()
        self.assertIn("content-length: 5000", head)
        self.assertNotIn("content-encoding", head)

    def test_small_and_unlisted_responses_are_left_alone(self):
        response = self.get("/status/200", {"Accept-Encoding": "gzip"})  # text/plain, 11 bytes
        self.assertEqual(response.status, 200)
        self.assertIsNone(response.header("content-encoding"))
        self.assertEqual(response.text(), "status 200\n")

    def test_stats_count_compressed_responses(self):
        before = self.compressed_count()
        for _ in range(3):
            self.assertEqual(self.get("/echo", {"Accept-Encoding": "gzip"}).status, 200)
        self.assertEqual(self.compressed_count(), before + 3)

    def compressed_count(self):
        text = self.proxy.admin_get("/stats").text()
        for line in text.splitlines():
            if line.startswith("http.ingress.compressor.gzip.compressed:"):
                return int(line.split(":")[1])
        self.fail("no compressor stats in /stats:\n" + text[:2000])


if __name__ == "__main__":
    unittest.main()
