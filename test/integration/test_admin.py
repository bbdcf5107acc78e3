"""The admin interface: readiness, stats (text and Prometheus), dumps, logging and the
POST-only control endpoints."""

import collections
import json
import os
import re
import socket
import time
import unittest
from urllib.parse import quote

from harness import (PorticoTestCase, RawConnection, curl, http_get, listener_closed,
                     wait_until)

POST_ONLY = ("/healthcheck/fail", "/healthcheck/ok", "/drain_listeners", "/reset_counters",
             "/reopen_logs",
             "/quitquitquit")
STAT_LINE_RE = re.compile(r"^(\S+): (\S.*)$")
METRIC_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
TYPE_RE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % METRIC_NAME)
SAMPLE_RE = re.compile(r"^(%s)(?:\{(.*)\})? (\S+)(?: -?\d+)?$" % METRIC_NAME)
LABEL_RE = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class AdminTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        cls.proxy, (cls.upstream,) = env.start_basic(concurrency=2)

    def setUp(self):
        super().setUp()
        self.assertEqual(curl(self.proxy.url("/echo")).status, 200)  # traffic for the stats

    def admin_text(self, path, status=200):
        response = self.proxy.admin_get(path)
        self.assertEqual(response.status, status, "GET %s: %s" % (path, response.body[:300]))
        return response.text()

    def test_ready(self):
        self.admin_text("/ready")

    def test_stats_text(self):
        lines = [line for line in self.admin_text("/stats").splitlines() if line.strip()]
        bad = [line for line in lines if not STAT_LINE_RE.match(line)]
        self.assertEqual(bad, [], "lines not in 'name: value' form")
        stats = self.proxy.stats()
        for name in ("http.ingress.downstream_rq_total", "http.ingress.downstream_cx_total",
                     "cluster.backend.upstream_rq_total", "cluster.backend.upstream_cx_total"):
            with self.subTest(name):
                self.assertIn(name, stats)
                self.assertGreaterEqual(int(stats[name]), 1)

    def test_stats_json_in_envoys_shape(self):
        document = json.loads(self.admin_text("/stats?format=json"))
        plain = [e for e in document["stats"] if "name" in e]
        names = [e["name"] for e in plain]
        self.assertEqual(names, sorted(names))
        values = {e["name"]: e["value"] for e in plain}
        self.assertGreaterEqual(values["http.ingress.downstream_rq_total"], 1)
        histograms = [e["histograms"] for e in document["stats"] if "histograms" in e]
        self.assertEqual(len(histograms), 1)
        self.assertEqual(histograms[0]["supported_quantiles"],
                         [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100])
        for h in histograms[0]["computed_quantiles"]:
            self.assertEqual(len(h["values"]), 10, h["name"])
        # The filter applies; an unknown format is refused.
        filtered = json.loads(self.admin_text("/stats?format=json&filter=downstream_rq_total"))
        self.assertTrue(all("downstream_rq_total" in e.get("name", "downstream_rq_total")
                            for e in filtered["stats"]), filtered)
        self.admin_text("/stats?format=xml", status=400)

    def test_stats_filter_is_a_regex_and_usedonly_drops_what_never_counted(self):
        # As Envoy's /stats. Regression (reviewer): the filter was a substring, so Envoy users'
        # regexes silently matched nothing, and ?usedonly was ignored.
        def names(path):
            return [line.split(":")[0] for line in self.admin_text(path).splitlines() if line]
        matched = names("/stats?filter=" + quote(r"^cluster\.backend\.upstream_rq_(total|2xx)$"))
        self.assertEqual(matched, ["cluster.backend.upstream_rq_2xx",
                                   "cluster.backend.upstream_rq_total"])
        every = names("/stats?filter=" + quote("^http\\.ingress\\."))
        used = names("/stats?usedonly&filter=" + quote("^http\\.ingress\\."))
        self.assertIn("http.ingress.downstream_rq_total", used)
        self.assertIn("http.ingress.downstream_rq_5xx", every)
        self.assertNotIn("http.ingress.downstream_rq_5xx", used)
        self.assertTrue(set(used) < set(every))
        prometheus = self.admin_text("/stats/prometheus?usedonly")
        self.assertIn('portico_http_downstream_rq_total{http_conn_manager_prefix="ingress"}',
                      prometheus)
        self.assertNotIn("portico_http_downstream_rq_5xx", prometheus)
        for path in ("/stats?filter=(", "/stats/prometheus?filter=(",
                     "/stats?format=json&filter=[z-a]"):
            with self.subTest(path=path):
                self.assertIn("not a valid regex", self.admin_text(path, status=400))

    def test_prometheus_format(self):
        text = self.admin_text("/stats/prometheus")
        families = check_prometheus(self, text)
        self.assertIn("counter", families.values())
        self.assertIn("histogram", families.values(), "no histogram exported")
        # Clusters and listeners are labels of one family each, as in Envoy's exposition.
        cluster_rq = 'portico_cluster_upstream_rq_total{cluster_name="backend"} '
        self.assertIn(cluster_rq, text)
        self.assertIn('portico_http_downstream_rq_time_bucket{http_conn_manager_prefix="ingress",'
                      'le="+Inf"} ', text)
        # ?filter= applies here too (it was ignored: every series came back).
        for path in ("/stats/prometheus?filter=downstream_rq_total",
                     "/stats?format=prometheus&filter=downstream_rq_total"):
            with self.subTest(path=path):
                filtered = check_prometheus(self, self.admin_text(path))
                self.assertTrue(filtered, "nothing matched")
                self.assertTrue(all("downstream_rq_total" in name for name in filtered), filtered)

    def test_config_dump(self):
        dump = json.loads(self.admin_text("/config_dump"))
        strings = set(json_strings(dump))
        self.assertIn("ingress", strings)
        self.assertIn("backend", strings)

    def test_clusters(self):
        host = "127.0.0.1:%d" % self.upstream.port
        metrics = {}
        for line in self.admin_text("/clusters").splitlines():
            parts = line.split("::")  # layout: not bound
            if len(parts) == 4 and parts[:2] == ["backend", host]:
                metrics[parts[2]] = parts[3]
        for metric in ("rq_active", "rq_total", "cx_active", "weight"):
            with self.subTest(metric):
                self.assertRegex(metrics.get(metric, ""), r"^\d+$",
                                 "no backend::%s::%s::<number> line" % (host, metric))
        self.assertGreaterEqual(int(metrics["rq_total"]), 1)
        self.assertEqual(metrics["weight"], "1")

    def test_clusters_json_in_envoys_shape(self):
        document = json.loads(self.admin_text("/clusters?format=json"))
        backend = [c for c in document["cluster_statuses"] if c["name"] == "backend"]
        self.assertEqual(len(backend), 1, document)
        host = backend[0]["host_statuses"][0]
        self.assertEqual(host["address"]["socket_address"],
                         {"address": "127.0.0.1", "port_value": self.upstream.port})
        self.assertEqual(host["health_status"]["eds_health_status"], "HEALTHY")
        self.assertEqual(host["weight"], 1)
        stats = {s["name"]: int(s["value"]) for s in host["stats"]}
        self.assertGreaterEqual(stats["rq_total"], 1)
        self.assertEqual(set(stats), {"cx_active", "rq_active", "rq_total"})
        self.admin_text("/clusters?format=yaml", status=400)

    def test_listeners(self):
        lines = self.admin_text("/listeners").splitlines()
        self.assertIn("ingress::127.0.0.1:%d" % self.proxy.port, lines)
        # Each listener's filter chain follows its line.
        index = lines.index("ingress::127.0.0.1:%d" % self.proxy.port)
        self.assertEqual(lines[index + 1], "  http filters: router")

    def test_server_info(self):
        info = json.loads(self.admin_text("/server_info"))
        self.assertIsInstance(info.get("version"), str)
        self.assertTrue(info["version"])
        self.assertEqual(info.get("state"), "LIVE")
        self.assertGreaterEqual(float(info.get("uptime_seconds", -1)), 0)
        self.assertEqual(int(info.get("concurrency", 0)), 2)
        # Wake-up coalescing: an idle worker never naps.
        self.assertEqual(info.get("workers_napping"), 0)

    def test_logging_level(self):
        self.assertIn("info", self.admin_text("/logging"))
        self.addCleanup(self.proxy.admin_post, "/logging?level=info")
        self.assertEqual(self.proxy.admin_post("/logging?level=debug").status, 200)
        self.assertIn("debug", self.admin_text("/logging"))

    def test_post_only_endpoints_reject_get(self):
        for path in POST_ONLY:
            with self.subTest(path):
                self.assertEqual(self.proxy.admin_get(path).status, 405)
        self.assertTrue(self.proxy.running())
        self.admin_text("/ready")
        self.assertFalse(listener_closed(self.proxy.port), "GET drained the listeners")
        self.assertEqual(http_get(self.proxy.port, "/echo").status, 200)

    def test_405_says_which_methods_are_allowed(self):  # RFC 9110 15.5.6
        self.assertEqual(self.proxy.admin_get("/healthcheck/fail").header("allow"), "POST")
        with RawConnection(self.proxy.admin_port) as conn:
            response = conn.request("DELETE", "/stats")
        self.assertEqual(response.status, 405)
        self.assertEqual(response.header("allow"), "GET, HEAD, POST")

    def test_requests_a_browser_sends_for_another_site_are_refused(self):
        # A page the operator has open must not POST /quitquitquit here (no body needed), nor
        # read /config_dump through DNS rebinding (a name of its own resolved to 127.0.0.1).
        self.addCleanup(self.proxy.admin_post, "/healthcheck/ok")
        port = self.proxy.admin_port
        refused = [
            ("POST", "/healthcheck/fail", [("Origin", "http://evil.example")], None),
            ("POST", "/healthcheck/fail", [("Sec-Fetch-Site", "cross-site")], None),
            ("POST", "/healthcheck/fail", [("Origin", "null")], None),
            ("GET", "/config_dump", [("Sec-Fetch-Site", "same-origin"),
                                     ("Sec-Fetch-Mode", "cors")], "evil.example:%d" % port),
            # A form posted from another site is a navigation too, but not a GET.
            ("POST", "/healthcheck/fail", [("Sec-Fetch-Site", "cross-site"),
                                           ("Sec-Fetch-Mode", "navigate")], None),
            # Regression (reviewer): the rebound page opening the admin in a frame is a
            # same-origin navigation, and the page can read the frame.
            ("GET", "/config_dump", [("Sec-Fetch-Site", "same-origin"),
                                     ("Sec-Fetch-Mode", "navigate")], "evil.example:%d" % port),
            # A browser without Sec-Fetch-* sends Origin, equal to the rebound Host.
            ("POST", "/healthcheck/fail", [("Origin", "http://evil.example:%d" % port)],
             "evil.example:%d" % port),
        ]
        for method, path, headers, host in refused:
            with self.subTest(headers=headers, host=host):
                with RawConnection(port) as conn:
                    response = conn.request(method, path, headers, host=host)
                self.assertEqual(response.status, 403, response.body)
        self.admin_text("/ready")  # still healthy: no /healthcheck/fail went through
        allowed = [
            ([("Origin", "http://127.0.0.1:%d" % port), ("Sec-Fetch-Site", "same-origin")],
             None),
            ([("Sec-Fetch-Site", "none")], None),  # typed into the address bar
            # A link from a dashboard, or the admin opened by name: the operator looks.
            ([("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Mode", "navigate")], None),
            ([("Sec-Fetch-Site", "none"), ("Sec-Fetch-Mode", "navigate")],
             "proxy-1.example:%d" % port),
        ]
        for headers, host in allowed:
            with self.subTest(headers=headers, host=host):
                with RawConnection(port) as conn:
                    response = conn.request("GET", "/ready", headers, host=host)
                self.assertEqual(response.status, 200)
                self.assertEqual(response.header("x-frame-options"), "DENY")
                self.assertEqual(response.header("x-content-type-options"), "nosniff")
        for host in ("localhost:%d" % port, "[::1]:%d" % port, "127.0.0.1"):
            with self.subTest(host=host):
                with RawConnection(port) as conn:
                    response = conn.request("GET", "/ready", [("Sec-Fetch-Site", "none")],
                                            host=host)
                    self.assertEqual(response.status, 200)
        # Not a browser (no Sec-Fetch-*): a scraper may use a DNS name.
        with RawConnection(port) as conn:
            self.assertEqual(conn.request("GET", "/ready", host="admin.internal:%d" % port).status,
                             200)

    def test_healthcheck_fail_and_ok(self):
        self.addCleanup(self.proxy.admin_post, "/healthcheck/ok")
        self.assertEqual(self.proxy.admin_post("/healthcheck/fail").status, 200)
        self.admin_text("/ready", status=503)
        self.assertEqual(self.proxy.admin_post("/healthcheck/ok").status, 200)
        self.admin_text("/ready")


class AdminControlTest(PorticoTestCase):
    """Endpoints that change the proxy for good each get a proxy of their own."""

    def start(self):
        proxy, _ = self.new_env().start_basic()
        self.assertEqual(curl(proxy.url("/echo")).status, 200)
        return proxy

    def test_drain_listeners(self):
        proxy = self.start()
        self.assertEqual(proxy.admin_post("/drain_listeners").status, 200)
        wait_until(lambda: listener_closed(proxy.port), 5,
                   message="new connections to fail after /drain_listeners")

    def test_reset_counters(self):
        proxy = self.start()
        self.assertGreaterEqual(proxy.counter("http.ingress.downstream_rq_total"), 1)
        self.assertEqual(proxy.admin_post("/reset_counters").status, 200)
        self.assertEqual(proxy.counter("http.ingress.downstream_rq_total"), 0)
        self.assertEqual(proxy.counter("cluster.backend.upstream_rq_total"), 0)
        # A counter that counted before the reset is still used (?usedonly) after it.
        self.assertIn("http.ingress.downstream_rq_total: 0",
                      proxy.admin_get("/stats?usedonly&filter=downstream_rq_total").text())

    def test_pipelined_requests_wait_for_the_client_to_read(self):
        # Regression (reviewer): every pipelined request was answered at once, on the main
        # thread, and the answers kept in memory however little the client read.
        proxy = self.start()
        one = b"GET /stats/prometheus HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        size = len(proxy.admin_get("/stats/prometheus").body)
        count = max(200, (64 << 20) // size)  # 64 MiB of answers if all were rendered
        rss_before = proxy.rss_kb()
        with RawConnection(proxy.admin_port, rcvbuf=4096) as conn:
            conn.sock.settimeout(3)
            try:
                conn.send(one * count)
            except socket.timeout:
                pass  # the proxy stopped reading: what we want
            time.sleep(1)
            self.assertEqual(proxy.admin_get("/ready", timeout=2).status, 200)
            grown = proxy.rss_kb() - rss_before
            if not (os.environ.get("ASAN_OPTIONS") or os.environ.get("TSAN_OPTIONS")):
                # Under a sanitizer RSS is its quarantine and shadow memory.
                self.assertLess(grown, 24 << 10, "RSS grew by %d KiB (%d answers of %d bytes)"
                                % (grown, count, size))
            for _ in range(50):  # reading lets it go on
                self.assertEqual(conn.read_response().status, 200)

    def test_requests_behind_a_connection_close_are_not_served(self):
        # Also while the responses before it wait for the client to read them (RFC 9112 9.6).
        proxy = self.start()
        filler = b"GET /stats/prometheus HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n" * 100
        last = (b"GET /ready HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
                b"POST /healthcheck/fail HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Length: 0\r\n\r\n")
        with RawConnection(proxy.admin_port, rcvbuf=4096) as conn:
            conn.send(filler + last)
            time.sleep(0.5)
            data, closed = conn.read_until_close(20)
        self.assertTrue(closed)
        self.assertEqual(data.count(b"HTTP/1.1 200"), 101)
        self.assertEqual(proxy.admin_get("/ready").status, 200, "the POST behind it ran")

    def test_quitquitquit(self):
        proxy = self.start()
        self.assertEqual(proxy.admin_post("/quitquitquit").status, 200)
        self.assertEqual(proxy.wait(5), 0, "portico did not exit 0 within 5s")


def json_strings(value):
    """Every string (keys included) in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)
    elif isinstance(value, str):
        yield value


def parse_labels(text):
    labels, position = {}, 0
    while position < len(text):
        match = LABEL_RE.match(text, position)
        if not match:
            raise AssertionError("bad labels {%s}" % text)
        labels[match.group(1)] = match.group(2)
        position = match.end()
    return labels


def sample_family(name, families):
    """The declared family a sample belongs to (histogram/summary samples have suffixes)."""
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[:-len(suffix)]
        if name.endswith(suffix) and families.get(base) in ("histogram", "summary"):
            return base
    return None


def check_prometheus(test, text):
    """Asserts the Prometheus text format; returns {family: type}."""
    families = {}
    buckets = collections.defaultdict(list)  # (family, labels without le) -> [(le, value)]
    counts = {}
    for line in text.splitlines():
        if not line.strip() or (line.startswith("#") and not line.startswith("# TYPE")):
            continue
        type_match = TYPE_RE.match(line)
        if type_match:
            test.assertNotIn(type_match.group(1), families, "TYPE repeated: " + line)
            families[type_match.group(1)] = type_match.group(2)
            continue
        sample = SAMPLE_RE.match(line)
        test.assertIsNotNone(sample, "not a sample line: %r" % line)
        name, labels, value = sample.group(1), parse_labels(sample.group(2) or ""), \
            float(sample.group(3))
        family = sample_family(name, families)
        test.assertIsNotNone(family, "sample without a preceding # TYPE: %r" % line)
        key = (family, tuple(sorted((k, v) for k, v in labels.items() if k != "le")))
        if name == family + "_bucket":
            test.assertIn("le", labels, line)
            buckets[key].append((float(labels["le"]), value))
        elif name == family + "_count":
            counts[key] = value
    for key, series in buckets.items():
        bounds = [le for le, _ in series]
        values = [value for _, value in series]
        test.assertEqual(bounds, sorted(bounds), "buckets out of order: %s" % (key,))
        test.assertEqual(values, sorted(values), "buckets not cumulative: %s" % (key,))
        test.assertEqual(bounds[-1], float("inf"), "no le=\"+Inf\" bucket: %s" % (key,))
        test.assertEqual(values[-1], counts.get(key), "+Inf bucket != _count: %s" % (key,))
    return families


if __name__ == "__main__":
    unittest.main()
