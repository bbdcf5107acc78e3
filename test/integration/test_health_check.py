"""The health_check HTTP filter: probes on the listener's port answered from the proxy's
health state (admin /healthcheck/fail and /healthcheck/ok), pass-through mode, and that
other traffic is untouched."""

import unittest

from harness import (PorticoTestCase, bootstrap, cluster, echo_headers, free_port, listener,
                     route_to, virtual_host)


class HealthCheckTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        upstream = env.start_upstream("a")
        routes = [route_to("a")]
        local = [{"name": "probe", "health_check": {"path": "/healthz"}}]
        passing = [{"name": "probe", "health_check": {"path": "/healthz", "pass_through": True}}]
        cls.pass_port = free_port()
        config = bootstrap(
            [listener("ingress", free_port(), [virtual_host("all", ["*"], routes)],
                      http_filters=local),
             listener("passing", cls.pass_port, [virtual_host("all", ["*"], routes)],
                      http_filters=passing)],
            [cluster("a", [upstream])], admin_port=free_port())
        cls.proxy = env.start_portico(config)

    def set_healthy(self, healthy):
        path = "/healthcheck/ok" if healthy else "/healthcheck/fail"
        self.assertEqual(self.proxy.admin_post(path).status, 200)

    def test_probe_is_answered_by_the_proxy(self):
        for path in ("/healthz", "/healthz?from=lb"):
            with self.subTest(path=path):
                response = self.get(path)
                self.assertEqual(response.status, 200)
                self.assertEqual(response.text(), "OK\n")
                self.assertIsNone(response.header("x-upstream"))  # never reached the upstream
        # Only the exact path: the rest is proxied as usual.
        for path in ("/healthz/deeper", "/echo"):
            with self.subTest(path=path):
                response = self.get(path)
                self.assertEqual(response.status, 200)
                self.assertEqual(response.header("x-upstream"), "a")

    def test_failing_health_answers_503_until_ok(self):
        try:
            self.set_healthy(False)
            response = self.get("/healthz")
            self.assertEqual(response.status, 503)
            self.assertEqual(response.text(), "unhealthy\n")
            # Traffic still flows: only the probe says the proxy is going away.
            self.assertEqual(self.get("/echo").status, 200)
        finally:
            self.set_healthy(True)
        self.assertEqual(self.get("/healthz").status, 200)

    def test_pass_through_forwards_while_healthy(self):
        response = self.get("/healthz", port=self.pass_port)
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("x-upstream"), "a")
        self.assertEqual(echo_headers(response)["x-forwarded-proto"], ["http"])
        try:
            self.set_healthy(False)
            response = self.get("/healthz", port=self.pass_port)
            self.assertEqual(response.status, 503)
            self.assertIsNone(response.header("x-upstream"))
        finally:
            self.set_healthy(True)

    def test_admin_lists_the_filter_chain(self):
        lines = self.proxy.admin_get("/listeners").text().splitlines()
        self.assertIn("  http filters: probe (health_check), router", lines)

    def test_probe_counters(self):
        def counter(name):
            for line in self.proxy.admin_get("/stats").text().splitlines():
                if line.startswith("http.ingress.health_check.probe.%s:" % name):
                    return int(line.split(":")[1])
            self.fail("no health_check stats")
        ok, failed = counter("ok"), counter("failed")
        self.get("/healthz")
        try:
            self.set_healthy(False)
            self.get("/healthz")
        finally:
            self.set_healthy(True)
        self.assertEqual((counter("ok"), counter("failed")), (ok + 1, failed + 1))


if __name__ == "__main__":
    unittest.main()
