"""Routing: virtual hosts, route matching, rewrites, direct responses, redirects, header
manipulation and load balancing."""

import collections
import threading
import unittest

from harness import (PorticoTestCase, RawConnection, bootstrap, cluster, echo_headers,
                     free_port, listener, route_to, virtual_host)

SLOW_LATENCY_MS = 300


def header_option(key, value, append=False):
    option = {"key": key, "value": value}
    if append:
        option["append"] = True
    return option


def tagged_host(name, domains, routes, **options):
    """A virtual host that adds `x-vhost: <name>` to requests, so /echo tells which matched."""
    return virtual_host(name, domains, routes,
                        request_headers_to_add=[header_option("x-vhost", name)], **options)


def routes():
    return [
        route_to("b", {"path": "/exact"}),
        route_to("b", {"prefix": "/prefix/"}),
        route_to("c", {"safe_regex": "/regex/[0-9]+"}),
        route_to("b", {"prefix": "/hdr", "headers": [{"name": "x-route", "exact_match": "yes"}]}),
        route_to("c", {"prefix": "/query",
                       "query_parameters": [{"name": "flavor", "exact_match": "mint"}]}),
        route_to("c", {"path": "/CaseInsensitive", "case_sensitive": False}),
        route_to("a", {"prefix": "/api/"}, prefix_rewrite="/rewritten/"),
        route_to("a", {"prefix": "/hostrw"}, host_rewrite_literal="rewritten.internal"),
        {"match": {"prefix": "/direct"},
         "direct_response": {"status": 418, "body": "short and stout\n",
                             "content_type": "application/x-teapot"}},
        {"match": {"prefix": "/redirect-https"}, "redirect": {"https_redirect": True}},
        {"match": {"prefix": "/redirect"},
         "redirect": {"host_redirect": "new.example.org", "path_redirect": "/moved",
                      "response_code": 302, "strip_query": True}},
        {**route_to("a", {"prefix": "/headers"}),
         "request_headers_to_add": [header_option("x-route-added", "route"),
                                    header_option("x-replaced", "proxy"),
                                    header_option("x-appended", "proxy", append=True)],
         "request_headers_to_remove": ["x-remove-me"],
         "response_headers_to_add": [header_option("x-resp-route", "route")],
         "response_headers_to_remove": ["x-upstream-conn"]},
        route_to(None, {"prefix": "/weighted"},
                 weighted_clusters={"clusters": [{"name": "a", "weight": 75},
                                                 {"name": "b", "weight": 25}]}),
        route_to("pair_rr", {"prefix": "/rr"}),
        route_to("pair_weighted", {"prefix": "/wrr"}),
        route_to("pair_lr", {"prefix": "/lr"}),
        route_to("a", {"prefix": "/"}),
    ]


class RoutingTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        a, b, c = (env.start_upstream(name) for name in "abc")
        slow = env.start_upstream("slow", latency_ms=SLOW_LATENCY_MS)
        virtual_hosts = [
            tagged_host("exact", ["api.example.com"], [route_to("a")]),
            tagged_host("suffix", ["*.example.com"], [route_to("a")]),
            tagged_host("deep-suffix", ["*.deep.example.com"], [route_to("a")]),
            tagged_host("prefix", ["api.*"], [route_to("a")]),
            tagged_host("default", ["*"], routes(),
                        response_headers_to_add=[header_option("x-resp-vhost", "default")]),
        ]
        route_config_options = {
            "request_headers_to_add": [header_option("x-route-config", "local")],
            "response_headers_to_add": [header_option("x-resp-route-config", "local")],
        }
        clusters = [cluster("a", [a]), cluster("b", [b]), cluster("c", [c]),
                    cluster("pair_rr", [a, b]),
                    cluster("pair_weighted", [a, b], weights=[3, 1]),
                    cluster("pair_lr", [a, slow], lb_policy="LEAST_REQUEST")]
        config = bootstrap([listener("ingress", free_port(), virtual_hosts,
                                     route_config_options=route_config_options)], clusters)
        # One worker: least-request counts are per worker, and the busy-endpoint test below
        # wants one view of all its clients' requests (with two, each worker sees half and the
        # slow endpoint's share drifts toward the 40 % bound).
        cls.proxy = env.start_portico(config, concurrency=1)

    def upstream_of(self, path, headers=()):
        response = self.get(path, headers)
        self.assertEqual(response.status, 200, "%s: %s" % (path, response.body[:200]))
        return response.header("x-upstream")

    def upstreams_over_one_connection(self, path, count):
        with RawConnection(self.proxy.port) as conn:
            return [conn.request("GET", path).header("x-upstream") for _ in range(count)]

    def test_virtual_host_by_host_header(self):
        cases = {"api.example.com": "exact", "API.Example.COM:8080": "exact",
                 "foo.example.com": "suffix", "x.deep.example.com": "deep-suffix",
                 "api.other.org": "prefix", "other.org": "default",
                 "127.0.0.1:%d" % self.proxy.port: "default"}
        for host, expected in cases.items():
            with self.subTest(host=host):
                response = self.get("/echo", {"Host": host})
                self.assertEqual(response.status, 200)
                self.assertEqual(echo_headers(response).get("x-vhost"), [expected])

    def assert_routes(self, cases):
        for path, expected in cases.items():
            headers = ()
            if isinstance(path, tuple):
                path, headers = path
            with self.subTest(path=path, headers=headers):
                self.assertEqual(self.upstream_of(path, headers), expected)

    def test_fields_the_upstream_names_in_connection_go_but_not_those_the_proxy_adds(self):
        # Regression (reviewer): hop-by-hop fields were stripped after the route's header ops,
        # so an upstream naming x-resp-vhost in Connection removed the proxy's own field too.
        response = self.get("/connection-names/x-resp-vhost,x-hop")
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header_values("x-resp-vhost"), ["default"])
        self.assertIsNone(response.header("x-hop"))
        self.assertIsNone(response.header("connection"))

    def test_exact_path_route(self):
        self.assert_routes({"/exact": "b", "/exact?q=1": "b", "/exact/more": "a",
                            "/EXACT": "a"})

    def test_prefix_route(self):
        self.assert_routes({"/prefix/": "b", "/prefix/x/y": "b", "/prefixx": "a"})

    def test_regex_route_matches_whole_path(self):
        self.assert_routes({"/regex/123": "c", "/regex/12a": "a", "/regex/123/x": "a",
                            "/x/regex/123": "a"})

    def test_header_route(self):
        self.assert_routes({("/hdr", (("X-Route", "yes"),)): "b",
                            ("/hdr", (("X-Route", "no"),)): "a", "/hdr": "a"})

    def test_query_parameter_route(self):
        self.assert_routes({"/query?flavor=mint": "c", "/query?a=1&flavor=mint": "c",
                            "/query?flavor=lemon": "a", "/query": "a"})

    def test_case_insensitive_route(self):
        self.assert_routes({"/caseinsensitive": "c", "/CASEINSENSITIVE": "c"})

    def test_prefix_rewrite(self):
        response = self.get("/api/v1/items?x=1")
        self.assertEqual(response.json()["path"], "/rewritten/v1/items?x=1")

    def test_host_rewrite_literal(self):
        response = self.get("/hostrw", {"Host": "original.example.net"})
        self.assertEqual(echo_headers(response).get("host"), ["rewritten.internal"])

    def test_direct_response(self):
        response = self.get("/direct")
        self.assertEqual((response.status, response.body), (418, b"short and stout\n"))
        self.assertEqual(response.header("content-type"), "application/x-teapot")
        self.assertIsNone(response.header("x-upstream"))

    def test_redirect(self):
        response = self.get("/redirect/old?q=1", {"Host": "www.example.org"})
        self.assertEqual(response.status, 302)
        self.assertEqual(response.header("location"), "http://new.example.org/moved")

    def test_https_redirect_defaults_to_301(self):
        response = self.get("/redirect-https?q=1", {"Host": "www.example.org"})
        self.assertEqual(response.status, 301)
        self.assertEqual(response.header("location"), "https://www.example.org/redirect-https?q=1")

    def test_an_https_redirect_without_a_host_is_refused(self):
        # Regression (reviewer): an HTTP/1.0 request without Host got "Location: /path", which
        # sends the client to the same http URL again, for ever.
        with RawConnection(self.proxy.port) as conn:
            conn.send(b"GET /redirect-https?q=1 HTTP/1.0\r\n\r\n")
            response = conn.read_response()
        self.assertEqual(response.status, 400)
        self.assertIsNone(response.header("location"))

    def test_request_and_response_header_manipulation(self):
        response = self.get("/headers", [("X-Remove-Me", "1"), ("X-Replaced", "client"),
                                         ("X-Appended", "client")])
        self.assertEqual(response.status, 200)
        seen = echo_headers(response)
        self.assertEqual(seen.get("x-route-added"), ["route"])
        self.assertEqual(seen.get("x-vhost"), ["default"])
        self.assertEqual(seen.get("x-route-config"), ["local"])
        self.assertNotIn("x-remove-me", seen)
        self.assertEqual(seen.get("x-replaced"), ["proxy"])
        self.assertEqual(sorted(seen.get("x-appended", [])), ["client", "proxy"])
        self.assertEqual(response.header("x-resp-route"), "route")
        self.assertEqual(response.header("x-resp-vhost"), "default")
        self.assertEqual(response.header("x-resp-route-config"), "local")
        self.assertIsNone(response.header("x-upstream-conn"))
        self.assertEqual(response.header("x-upstream"), "a")

    def test_weighted_clusters(self):
        counts = collections.Counter(self.upstreams_over_one_connection("/weighted", 200))
        self.assertEqual(set(counts), {"a", "b"}, counts)
        self.assertTrue(120 <= counts["a"] <= 180, "75/25 weights gave %s" % counts)

    def test_round_robin_alternates(self):
        seen = self.upstreams_over_one_connection("/rr", 10)
        self.assertEqual(set(seen), {"a", "b"}, seen)
        for previous, current in zip(seen, seen[1:]):
            self.assertNotEqual(previous, current, seen)

    def test_endpoint_weights(self):
        counts = collections.Counter(self.upstreams_over_one_connection("/wrr", 200))
        self.assertTrue(135 <= counts["a"] <= 165, "3:1 endpoint weights gave %s" % counts)

    def test_least_request_avoids_busy_endpoint(self):
        # "slow" holds every request for 300 ms, so it is nearly always the busier endpoint:
        # round robin or random would send it half the requests.
        clients, per_client = 8, 16
        results = []

        def client():
            results.extend(self.upstreams_over_one_connection("/lr", per_client))

        threads = [threading.Thread(target=client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        counts = collections.Counter(results)
        self.assertEqual(len(results), clients * per_client, counts)
        self.assertLess(counts["slow"], 0.4 * len(results), counts)


class PathNormalizationTest(PorticoTestCase):
    """normalize_path and merge_slashes: a route that keeps clients away from /admin also
    sees /%61dmin, /x/../admin and //admin."""

    @classmethod
    def start_class_env(cls, env):
        upstream = env.start_upstream("a")
        routes = [{"match": {"prefix": "/admin"},
                   "direct_response": {"status": 403, "body": "no\n"}},
                  route_to("a", {"prefix": "/"})]
        listeners = [listener("plain", free_port(), [virtual_host("all", ["*"], routes)]),
                     listener("normalized", free_port(), [virtual_host("all", ["*"], routes)],
                              normalize_path=True, merge_slashes=True)]
        for action in ("REJECT_REQUEST", "UNESCAPE_AND_REDIRECT", "UNESCAPE_AND_FORWARD"):
            listeners.append(listener(action.lower(), free_port(),
                                      [virtual_host("all", ["*"], routes)], normalize_path=True,
                                      path_with_escaped_slashes_action=action))
        cls.proxy = env.start_portico(bootstrap(listeners, [cluster("a", [upstream])]))

    def get_on(self, listener_name, target):
        with RawConnection(self.proxy.ports[listener_name]) as conn:
            return conn.request("GET", target)

    def test_disguised_paths_reach_the_deny_route(self):
        for target in ("/admin", "/%61dmin", "/x/../admin", "//admin", "/%2e%2e/admin/x"):
            with self.subTest(target=target):
                self.assertEqual(self.get_on("normalized", target).status, 403)
        # Without normalisation they pass the deny route (to an upstream that may normalise).
        for target in ("/%61dmin", "/x/../admin", "//admin"):
            with self.subTest(plain=target):
                self.assertEqual(self.get_on("plain", target).status, 200)

    def test_the_upstream_gets_the_normalized_path_and_the_query_as_sent(self):
        echo = self.get_on("normalized", "/a/./b/../%7euser//x?q=/../%zz").json()
        self.assertEqual(echo["path"], "/a/~user/x?q=/../%zz")

    def test_a_malformed_escape_is_400(self):
        response = self.get_on("normalized", "/bad%zz")
        self.assertEqual(response.status, 400)
        self.assertIsNone(response.header("x-upstream"))
        self.assertGreaterEqual(
            self.proxy.counter("http.normalized.downstream_rq_failed_path_normalization"), 1)

    def test_a_backslash_is_a_slash_when_normalizing(self):
        self.assertEqual(self.get_on("normalized", "/x/..\\admin").status, 403)
        self.assertEqual(self.get_on("plain", "/x/..\\admin").status, 200)

    def test_escaped_slashes_kept_by_default(self):
        # Routes see %2F as an ordinary character: /x%2F..%2Fadmin is not /admin here.
        echo = self.get_on("normalized", "/x%2F..%2Fadmin").json()
        self.assertEqual(echo["path"], "/x%2F..%2Fadmin")

    def test_escaped_slashes_refused(self):
        for target in ("/x%2F..%2Fadmin", "/a%5cb", "/a%2fb"):
            with self.subTest(target=target):
                response = self.get_on("reject_request", target)
                self.assertEqual(response.status, 400)
                self.assertIsNone(response.header("x-upstream"))
        self.assertEqual(self.get_on("reject_request", "/a/b?x=%2F").status, 200)

    def test_escaped_slashes_decoded_and_forwarded(self):
        self.assertEqual(self.get_on("unescape_and_forward", "/x%2F..%2Fadmin").status, 403)
        self.assertEqual(self.get_on("unescape_and_forward", "/x%5C..%5Cadmin").status, 403)
        echo = self.get_on("unescape_and_forward", "/a%2Fb%5Cc?q=%2F").json()
        self.assertEqual(echo["path"], "/a/b/c?q=%2F")

    def test_escaped_slashes_redirect_to_the_decoded_path(self):
        before = self.proxy.counter(
            "http.unescape_and_redirect.downstream_rq_redirected_with_normalized_path")
        response = self.get_on("unescape_and_redirect", "/x%2F..%2Fadmin?q=1")
        self.assertEqual(response.status, 307)
        self.assertEqual(response.header("location"), "/admin?q=1")
        self.assertIsNone(response.header("x-upstream"))
        # No open redirect: "//evil.example/" would name another host.
        response = self.get_on("unescape_and_redirect", "/%2Fevil.example/")
        self.assertEqual(response.status, 307)
        self.assertEqual(response.header("location"), "/evil.example/")
        self.assertEqual(self.get_on("unescape_and_redirect", "/a/../b").json()["path"], "/b")
        self.assertEqual(self.proxy.counter(
            "http.unescape_and_redirect.downstream_rq_redirected_with_normalized_path"),
            before + 2)


if __name__ == "__main__":
    unittest.main()
