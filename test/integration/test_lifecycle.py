"""Process lifecycle: graceful drain on SIGTERM, config validation and the command line."""

import datetime
import os
import resource
import shutil
import signal
import subprocess
import threading
import time
import unittest
from pathlib import Path

from harness import (PorticoTestCase, RawConnection, bootstrap, cluster, format_request,
                     free_port, http_get, json_lines, listener, listener_closed, portico_bin,
                     route_to, run_portico, to_yaml, virtual_host, wait_until)

DRAIN_TIMEOUT_S = 8
IN_FLIGHT = 5
# Long enough that all five are in flight together even on a loaded sanitized build; short
# enough that the drain ends well within DRAIN_TIMEOUT_S.
SLOW_PATH = "/delay/3000"


def good_config():
    return bootstrap(
        [listener("ingress", free_port(),
                  [virtual_host("all", ["*"], [route_to("backend")])])],
        [cluster("backend", [free_port()])],
        admin_port=free_port())


class DrainTest(PorticoTestCase):
    def test_sigterm_drains_in_flight_requests(self):
        env = self.new_env()
        proxy, (upstream,) = env.start_basic(drain_timeout="%ds" % DRAIN_TIMEOUT_S, timeout="10s")
        statuses = [None] * IN_FLIGHT

        def slow_request(index):
            with RawConnection(proxy.port, timeout=DRAIN_TIMEOUT_S + 3) as conn:
                statuses[index] = conn.request("GET", SLOW_PATH).status

        threads = [threading.Thread(target=slow_request, args=(i,)) for i in range(IN_FLIGHT)]
        for thread in threads:
            thread.start()
        wait_until(lambda: upstream.stats()["in_flight"] == IN_FLIGHT, 2.5,
                   message="%d requests in flight at the upstream" % IN_FLIGHT)

        signalled = time.monotonic()
        proxy.send_signal(signal.SIGTERM)
        wait_until(lambda: listener_closed(proxy.port), 5,
                   message="new connections to be refused after SIGTERM")
        for thread in threads:
            thread.join(DRAIN_TIMEOUT_S + 3)
        self.assertEqual(statuses, [200] * IN_FLIGHT)

        exit_code = proxy.wait(max(0.1, DRAIN_TIMEOUT_S + 2 - (time.monotonic() - signalled)))
        self.assertEqual(exit_code, 0, "exit code after SIGTERM (None: still running %.1fs "
                         "after the signal)" % (time.monotonic() - signalled))


    def test_sigterm_answers_a_request_whose_head_is_still_arriving(self):
        # Regression (reviewer): the drain closed every connection without a request in
        # flight, including one halfway through sending its head, within the drain window.
        env = self.new_env()
        proxy, _ = env.start_basic(drain_timeout="%ds" % DRAIN_TIMEOUT_S)
        with RawConnection(proxy.port, timeout=DRAIN_TIMEOUT_S + 3) as conn:
            conn.send(b"GET /echo HTTP/1.1\r\nHost: x\r\n")
            time.sleep(0.2)
            proxy.send_signal(signal.SIGTERM)
            # The workers have begun their drain once their listeners are closed.
            wait_until(lambda: listener_closed(proxy.port), 5, message="the drain to begin")
            conn.send(b"\r\n")
            response = conn.read_response()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.header("connection"), "close")
        self.assertEqual(proxy.wait(DRAIN_TIMEOUT_S + 2), 0)

    def test_sigterm_with_an_access_log_drains_and_the_log_is_complete(self):
        # The access log writer is a thread started while the config is built; SIGTERM must
        # still reach the main loop's drain (it once could land on that thread and kill the
        # process with a crash report), and every request must be in the file at exit.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        proxy, _ = env.start_basic(drain_timeout="2s",
                                   access_log={"path": str(log_path), "json": True})
        for _ in range(20):
            self.assertEqual(http_get(proxy.port, "/logged").status, 200)
        for _ in range(5):  # a process-directed signal picks any thread that does not block it
            proxy.send_signal(signal.SIGTERM)
        self.assertEqual(proxy.wait(5), 0, "exit code after SIGTERM")
        self.assertNotIn("SIGTERM received", proxy.output())
        lines = json_lines(log_path)
        self.assertEqual(len([l for l in lines if l["path"] == "/logged"]), 20)


    def test_connections_queued_when_the_listener_closes_are_served(self):
        # Regression (reviewer): the drain closed the listening socket with connections still
        # in its accept queue, and the kernel reset them, requests sent and all. The proxy is
        # stopped while they connect, so they wait in that queue when the SIGTERM is handled.
        env = self.new_env()
        proxy, _ = env.start_basic(concurrency=1)
        proxy.send_signal(signal.SIGSTOP)
        try:
            clients = [RawConnection(proxy.port, timeout=10) for _ in range(5)]
            for conn in clients:
                # Slow enough that every answer starts after the drain has begun.
                conn.send(format_request("GET", "/delay/500"))
            proxy.send_signal(signal.SIGTERM)
        finally:
            proxy.send_signal(signal.SIGCONT)
        for conn in clients:
            with conn:
                response = conn.read_response()
                self.assertEqual(response.status, 200)
                self.assertEqual(response.header("connection"), "close")
        self.assertEqual(proxy.wait(5), 0)

    def test_the_drain_waits_for_a_client_still_sending_after_its_answer(self):
        # Regression (reviewer): the drain counted only open connections. One answered early
        # (a 404 while its upload goes on) is closed the lingering way, to read and drop the
        # rest so the client gets its answer; the exit closed it at once, with a reset.
        env = self.new_env()
        upstream = env.start_upstream("u1")
        proxy = env.start_portico(bootstrap(
            [listener("ingress", free_port(),
                      [virtual_host("all", ["*"], [route_to("backend", {"prefix": "/only"})])])],
            [cluster("backend", [upstream])], drain_timeout="10s"))
        with RawConnection(proxy.port) as conn:
            conn.send(format_request("POST", "/nope", [("Content-Length", str(1 << 30))]))
            conn.send(b"u" * 65536)
            self.assertEqual(conn.read_response().status, 404)
            proxy.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 1.0
            while time.monotonic() < deadline:  # the upload goes on, and nothing resets it
                conn.send(b"u" * 4096)
                time.sleep(0.01)
            self.assertTrue(proxy.running(), "exited while the client was still sending")
        self.assertEqual(proxy.wait(5), 0, "exit code once the client is gone")

    def test_an_access_log_nobody_reads_does_not_keep_the_proxy_from_exiting(self):
        # Regression (reviewer): the writer thread blocked in fwrite() on a full pipe (stdout
        # piped to a paused reader), and the exit joined it without a bound: the process hung
        # after the drain, ignoring later signals, until SIGKILL.
        env = self.new_env()
        fifo = Path(env.dir, "access.fifo")
        os.mkfifo(fifo)
        reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # open, and never read
        try:
            proxy, _ = env.start_basic(drain_timeout="1s",
                                       access_log={"path": str(fifo), "json": True})
            with RawConnection(proxy.port) as conn:
                for _ in range(1000):  # ~300 KiB of lines against a 64 KiB pipe
                    conn.send(format_request("GET", "/logged"))
                    self.assertEqual(conn.read_response().status, 200)
            proxy.send_signal(signal.SIGTERM)
            start = time.monotonic()
            code = proxy.wait(20)
            self.assertIsNotNone(code, "still running 20 s after SIGTERM")
            self.assertEqual(code, 0)
            self.assertLess(time.monotonic() - start, 12)
            self.assertIn("still blocked after 5 s", proxy.output())
        finally:
            os.close(reader)

    def test_a_request_cut_off_by_the_drain_deadline_is_logged(self):
        # Regression (reviewer): a request still in flight when the drain ran out was dropped
        # with its connection and never reached the access log.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        proxy, (upstream,) = env.start_basic(drain_timeout="300ms",
                                             access_log={"path": str(log_path), "json": True})
        with RawConnection(proxy.port, timeout=5) as conn:
            conn.send(b"GET /delay/4000 HTTP/1.1\r\nHost: x\r\n\r\n")
            wait_until(lambda: upstream.stats()["in_flight"] == 1, 3, message="in flight")
            proxy.send_signal(signal.SIGTERM)
            self.assertEqual(proxy.wait(5), 0, "exit code after SIGTERM")
        lines = json_lines(log_path)
        cut = [l for l in lines if l["path"] == "/delay/4000"]
        self.assertEqual(len(cut), 1, lines)
        self.assertEqual(cut[0]["response_code_details"], "proxy_shutdown")

    def test_access_log_is_reopened_after_rotation(self):
        # logrotate renames the file, then asks the proxy to reopen it (SIGUSR1, like nginx and
        # Envoy, or POST /reopen_logs). Before, lines kept going to the renamed file forever.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        proxy, _ = env.start_basic(access_log={"path": str(log_path), "json": True})

        def paths(path):
            return [line["path"] for line in json_lines(path)]

        self.assertEqual(http_get(proxy.port, "/before").status, 200)
        wait_until(lambda: paths(log_path) == ["/before"], 5, message="first line logged")
        rotated = Path(env.dir, "access.log.1")
        log_path.rename(rotated)
        proxy.send_signal(signal.SIGUSR1)
        wait_until(log_path.exists, 5, message="log file reopened after SIGUSR1")
        self.assertEqual(http_get(proxy.port, "/after-signal").status, 200)
        wait_until(lambda: paths(log_path) == ["/after-signal"], 5, message="line in the new file")
        log_path.rename(Path(env.dir, "access.log.2"))
        self.assertEqual(proxy.admin_post("/reopen_logs").status, 200)
        wait_until(log_path.exists, 5, message="log file reopened after /reopen_logs")
        self.assertEqual(http_get(proxy.port, "/after-admin").status, 200)
        wait_until(lambda: paths(log_path) == ["/after-admin"], 5, message="line in the newest file")
        self.assertEqual(paths(rotated), ["/before"])
        self.assertEqual(proxy.admin_get("/reopen_logs").status, 405)
        self.assertTrue(proxy.running(), "the proxy exited")

    def test_access_log_start_time_is_now_for_answered_and_reset_requests(self):
        # The wall-clock start is computed when the line is written (now minus the time
        # taken). Regression: a request the client reset was logged as starting in 1970.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        proxy, _ = env.start_basic(access_log={"path": str(log_path), "json": True})
        self.assertEqual(http_get(proxy.port, "/answered").status, 200)
        with RawConnection(proxy.port) as conn:
            conn.send(b"GET /delay/500 HTTP/1.1\r\nHost: x\r\n\r\n")
            time.sleep(0.2)  # the request is upstream when the client goes
        def lines():
            return json_lines(log_path)

        wait_until(lambda: len(lines()) == 2, 5, message="both requests logged")
        by_path = {line["path"]: line for line in lines()}
        self.assertEqual(by_path["/delay/500"]["response_code_details"], "downstream_reset")
        for line in by_path.values():
            start = datetime.datetime.strptime(line["start_time"], "%Y-%m-%dT%H:%M:%S.%fZ")
            age = datetime.datetime.utcnow() - start
            self.assertLess(abs(age.total_seconds()), 60, line)

    def test_a_response_the_client_walks_away_from_is_logged_as_cut(self):
        # Regression: a client that closed halfway through a 200 response was logged with
        # "via_upstream", which reads as if the whole body had been sent.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        proxy, _ = env.start_basic(access_log={"path": str(log_path), "json": True})
        with RawConnection(proxy.port) as conn:
            conn.send(b"GET /bytes/100000000 HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(conn.read_response(head=True).status, 200)
        def lines():
            return json_lines(log_path)

        wait_until(lambda: len(lines()) == 1, 5, message="the request logged")
        line = lines()[0]
        self.assertEqual(line["response_code"], 200)
        self.assertEqual(line["response_code_details"], "downstream_reset")
        self.assertLess(line["bytes_sent"], 100000000)

    def test_requests_refused_before_their_head_ended_are_logged(self):
        # Regression: a head refused by the parser (400) or cut by the request-headers timeout
        # (408) was counted in downstream_rq_4xx but never logged, and the timeout was also
        # counted as a protocol error.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        proxy, _ = env.start_basic(access_log={"path": str(log_path), "json": True},
                                   request_headers_timeout="300ms")
        with RawConnection(proxy.port) as conn:
            conn.send(b"GET /\x01 HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(conn.read_response().status, 400)
        with RawConnection(proxy.port) as conn:
            conn.send(b"GET /slow HTTP/1.1\r\nHost: x\r\n")
            self.assertEqual(conn.read_response().status, 408)
        def lines():
            return json_lines(log_path)

        wait_until(lambda: len(lines()) == 2, 5, message="both refusals logged")
        by_code = {line["response_code"]: line for line in lines()}
        self.assertEqual(by_code[400]["response_code_details"], "protocol_error")
        self.assertEqual(by_code[408]["response_code_details"], "request_headers_timeout")
        self.assertGreaterEqual(by_code[408]["duration_ms"], 250)
        for line in by_code.values():
            self.assertIsNone(line["method"])
            self.assertRegex(line["downstream_address"], r"^127\.0\.0\.1:\d+$")
        self.assertEqual(proxy.counter("http.ingress.downstream_cx_protocol_error"), 1)
        self.assertEqual(proxy.counter("http.ingress.downstream_rq_headers_timeout"), 1)
        self.assertEqual(proxy.counter("http.ingress.downstream_rq_4xx"), 2)

    def test_a_framing_error_after_a_closing_local_reply_is_not_a_second_request(self):
        # Regression (reviewer): a 404 sent from the head closed the connection, but the codec
        # went on parsing the rest of the packet; a bad chunk there counted and logged a 400
        # nobody was sent.
        env = self.new_env()
        log_path = Path(env.dir, "access.log")
        upstream = env.start_upstream("u1")
        config = bootstrap(
            [listener("ingress", free_port(),
                      [virtual_host("all", ["*"], [route_to("backend", {"prefix": "/api"})])],
                      access_log={"path": str(log_path), "json": True})],
            [cluster("backend", [upstream])])
        proxy = env.start_portico(config, 1)
        with RawConnection(proxy.port) as conn:
            conn.send(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"zz\r\n")
            self.assertEqual(conn.read_response().status, 404)
        wait_until(lambda: len(json_lines(log_path)) >= 1, 5, message="the 404 logged")
        time.sleep(0.3)  # a second line would have been written by now
        self.assertEqual([line["response_code"] for line in json_lines(log_path)], [404])
        self.assertEqual(proxy.counter("http.ingress.downstream_rq_total"), 1)
        self.assertEqual(proxy.counter("http.ingress.downstream_cx_protocol_error"), 0)

    def test_the_open_files_limit_is_raised_to_the_hard_limit(self):
        # Regression (reviewer): a soft limit of 1024 capped the proxy at a few hundred
        # clients however high the hard limit was.
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard <= 256:
            self.skipTest("hard limit %d" % hard)
        env = self.new_env()
        admin_port = free_port()
        config_path = Path(env.dir, "admin-only.yaml")
        config_path.write_text(to_yaml(bootstrap([], [], admin_port=admin_port)))
        proxy = subprocess.Popen(  # prlimit: a soft limit of 256 for the proxy alone
            ["prlimit", "--nofile=256:%d" % hard, str(portico_bin()), "--config",
             str(config_path), "--concurrency", "1"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            def ready():
                try:
                    return http_get(admin_port, "/ready").status == 200
                except OSError:
                    return False
            wait_until(ready, 10, message="the proxy ready")
            limits = Path("/proc/%d/limits" % proxy.pid).read_text()
            line = next(l for l in limits.splitlines() if l.startswith("Max open files"))
            self.assertEqual(line.split()[3], str(hard), line)
        finally:
            proxy.kill()
            proxy.wait(10)

    def test_access_log_failures_are_counted_in_stats(self):
        # Before, a full disk or a failed reopen was only logged: nothing a dashboard or an
        # alert could see.
        env = self.new_env()
        log_dir = Path(env.dir, "logs")
        log_dir.mkdir()
        proxy, _ = env.start_basic(access_log={"path": str(log_dir / "access.log")})
        stats = lambda: proxy.admin_get("/stats?filter=access_log.").body.decode()
        self.assertIn("access_log.reopen_failed: 0", stats())
        self.assertIn("access_log.write_failed: 0", stats())
        self.assertIn("access_log.dropped_lines: 0", stats())
        shutil.rmtree(log_dir)  # the reopen cannot create the file again
        self.assertEqual(proxy.admin_post("/reopen_logs").status, 200)
        wait_until(lambda: "access_log.reopen_failed: 1" in stats(), 5,
                   message="the failed reopen counted")
        prometheus = proxy.admin_get("/stats/prometheus").body.decode()
        self.assertIn("portico_access_log_reopen_failed 1\n", prometheus)

        # A device that refuses every write: each batch fails, the proxy keeps serving.
        full_env = self.new_env()
        proxy, _ = full_env.start_basic(access_log={"path": "/dev/full"})
        for _ in range(3):
            self.assertEqual(http_get(proxy.port, "/lost").status, 200)
        wait_until(lambda: "access_log.write_failed: 0" not in
                   proxy.admin_get("/stats?filter=access_log.").body.decode(), 5,
                   message="the failed writes counted")
        self.assertTrue(proxy.running(), "the proxy exited")


class CommandLineTest(PorticoTestCase):
    def write(self, name, text):
        path = Path(self.new_env().dir, name)
        path.write_text(text)
        return path

    def validate(self, config_text):
        done = run_portico("--validate", self.write("config.yaml", config_text))
        return done.returncode, done.stdout + done.stderr

    def test_validate_good_config(self):
        code, output = self.validate(to_yaml(good_config()))
        self.assertEqual(code, 0, output)

    def test_validate_rejects_bad_configs(self):
        for name, (text, expected_words) in bad_configs().items():
            with self.subTest(name):
                code, output = self.validate(text)
                self.assertEqual(code, 1, output)
                self.assertTrue(output.strip(), "no message")
                for word in expected_words:
                    self.assertIn(word, output)

    def test_validate_checks_the_access_log_path_without_creating_the_file(self):
        # Regression: --validate opened (created) every access-log file it named.
        log_dir = Path(self.new_env().dir)
        log_path = log_dir / "access.log"
        code, output = self.validate(edited(lambda c: c["static_resources"]["listeners"][0]["http"]
                                            .update(access_log={"path": str(log_path)})))
        self.assertEqual(code, 0, output)
        self.assertFalse(log_path.exists())
        code, output = self.validate(edited(lambda c: c["static_resources"]["listeners"][0]["http"]
                                            .update(access_log={"path": str(log_dir / "no/a.log")})))
        self.assertEqual(code, 1, output)
        self.assertIn("listeners[0].http.access_log.path", output)

    def test_help(self):
        done = run_portico("--help")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("--config", done.stdout + done.stderr)

    def test_version(self):
        done = run_portico("--version")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue((done.stdout + done.stderr).strip())


def edited(edit):
    """good_config() changed in place by edit(config), as YAML."""
    config = good_config()
    edit(config)
    return to_yaml(config)


def first_cluster(config):
    return config["static_resources"]["clusters"][0]


def first_route(config):
    http = config["static_resources"]["listeners"][0]["http"]
    return http["route_config"]["virtual_hosts"][0]["routes"][0]


def set_endpoint_port(config, port):
    first_cluster(config)["load_assignment"]["endpoints"][0]["address"]["port"] = port


def bad_configs():
    """{name: (YAML text, words the error message must contain)}."""
    return {
        "yaml syntax error": (to_yaml(good_config()) + "extra: [unclosed, {\n", []),
        "unknown field": (edited(lambda c: first_cluster(c).update(bogus_field=1)),
                          ["bogus_field"]),
        "port out of range": (edited(lambda c: set_endpoint_port(c, 70000)),
                              ["clusters[0]", "port"]),
        "unknown cluster": (edited(lambda c: first_route(c)["route"].update(
            cluster="no_such_cluster")), ["no_such_cluster"]),
        "bad regex": (edited(lambda c: first_route(c).update(
            match={"safe_regex": "/(unclosed"})), ["safe_regex"]),
        # Regression: these passed --validate and then failed at startup.
        "control plane without port": (edited(lambda c: c.update(dynamic_resources={
            "control_plane": [{"address": "127.0.0.1"}]})), ["control_plane[0]", "port"]),
        "control plane TLS without CA": (edited(lambda c: c.update(dynamic_resources={
            "control_plane": [{"address": "127.0.0.1", "port": 18000}],
            "tls": {"server_name": "x"}})), ["tls.ca_file"]),
        # Regression (reviewer): the control plane refuses such a stream, again and again.
        "control plane without a node id": (edited(lambda c: c.update(dynamic_resources={
            "control_plane": [{"address": "127.0.0.1", "port": 18000}]})), ["node.id"]),
        # Regression (reviewer): without a name any certificate of the CA was accepted.
        "control plane TLS without a server name": (edited(lambda c: c.update(dynamic_resources={
            "control_plane": [{"address": "127.0.0.1", "port": 18000}],
            "tls": {"ca_file": "/etc/ssl/certs/ca-certificates.crt"}})), ["tls.server_name"]),
        # Regression (reviewer): validated, then every connect failed on it, for ever.
        "control plane TLS with a missing CA file": (edited(lambda c: c.update(
            node={"id": "n"}, dynamic_resources={
                "control_plane": [{"address": "127.0.0.1", "port": 18000}],
                "tls": {"ca_file": "/nonexistent/ca.pem", "server_name": "cp"}})),
            ["tls.ca_file", "/nonexistent/ca.pem"]),
    }


if __name__ == "__main__":
    unittest.main()
