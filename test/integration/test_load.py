"""Short load runs through portico with real load generators (bounded in time and count)."""

import re
import subprocess
import unittest

from harness import PorticoTestCase

WRK_DURATION_S = 3
H2LOAD_REQUESTS = 2000


def run_tool(command, timeout):
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)
    return done.returncode, done.stdout + done.stderr


def wrk_summary(output):
    """Requests/sec, non-2xx/3xx responses and socket errors from wrk's report."""
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                       output)
    return (float(rate.group(1)) if rate else None,
            int(non_2xx.group(1)) if non_2xx else 0,
            sum(map(int, errors.groups())) if errors else 0)


class LoadTest(PorticoTestCase):
    @classmethod
    def start_class_env(cls, env):
        cls.proxy, (cls.upstream,) = env.start_basic()

    def test_wrk_keepalive(self):
        code, output = run_tool(["wrk", "-t1", "-c20", "-d%ds" % WRK_DURATION_S,
                                 self.proxy.url("/bytes/64")], timeout=WRK_DURATION_S + 20)
        self.assertEqual(code, 0, output)
        rate, non_2xx, socket_errors = wrk_summary(output)
        print("\n  wrk -t1 -c20 -d%ds: %s req/s" % (WRK_DURATION_S, rate))
        self.assertIsNotNone(rate, output)
        self.assertGreater(rate, 0, output)
        self.assertEqual(non_2xx, 0, output)
        self.assertEqual(socket_errors, 0, output)

    def test_h2load_pipelined_http1(self):
        code, output = run_tool(["h2load", "--h1", "-n%d" % H2LOAD_REQUESTS, "-c4", "-m4",
                                 self.proxy.url("/echo")], timeout=60)
        self.assertEqual(code, 0, output)
        done = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, "
                         r"(\d+) failed, (\d+) errored, (\d+) timeout", output)
        codes = re.search(r"status codes: (\d+) 2xx", output)
        rate = re.search(r"finished in [\d.]+\w+, ([\d.]+) req/s", output)
        print("\n  h2load --h1 -c4 -m4 (pipelined): %s req/s" % (rate.group(1) if rate else "?"))
        self.assertIsNotNone(done, output)
        self.assertEqual(int(done.group(1)), H2LOAD_REQUESTS, output)
        self.assertEqual(sum(map(int, done.groups()[1:])), 0, output)
        self.assertEqual(int(codes.group(1)) if codes else 0, H2LOAD_REQUESTS, output)


if __name__ == "__main__":
    unittest.main()
