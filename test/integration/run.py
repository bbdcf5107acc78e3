#!/usr/bin/python3
"""Runs Portico's integration tests: every test_*.py module beside this file.

Prints one line per test and, at the end, "N passed, N failed" (", N skipped" when tests
were skipped). Exits non-zero when a test failed or none ran.

  run.py                     all tests
  run.py -k smuggling -k 504 tests whose id contains either word (case-insensitive)
  run.py --list              the test ids only
Environment: PORTICO_BIN (default <repo>/bazel-bin/source/server/portico).
"""

import argparse
import fnmatch
import importlib
import os
import re
import signal
import sys
import time
import traceback
import unittest
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

DEFAULT_TEST_TIMEOUT = 90


class TestTimeout(Exception):
    pass


def iter_tests(suite):
    for item in suite:
        if isinstance(item, unittest.TestSuite):
            yield from iter_tests(item)
        else:
            yield item


def matches(test_id, patterns):
    test_id = test_id.lower()
    return not patterns or any(
        fnmatch.fnmatch(test_id, p.lower()) if any(c in p for c in "*?[") else p.lower() in test_id
        for p in patterns)


def load_tests(patterns):
    """The selected tests, one module after another, each class's tests together."""
    loader = unittest.TestLoader()
    tests = []
    for path in sorted(HERE.glob("test_*.py")):
        try:
            module = importlib.import_module(path.stem)
        except Exception:  # reported as a failing test rather than a crash
            tests.append(ImportFailure(path.stem, traceback.format_exc()))
            continue
        tests += [t for t in iter_tests(loader.loadTestsFromModule(module))
                  if matches(t.id(), patterns)]
    return tests


class ImportFailure(unittest.TestCase):
    def __init__(self, module, error):
        super().__init__("runTest")
        self.module, self.error = module, error

    def id(self):
        return "%s (import)" % self.module

    def runTest(self):
        self.fail(self.error)


class Result(unittest.TestResult):
    """Prints a line per test and sorts tests into passed/failed/skipped; a test with a
    failing subtest, or an error in its setUp/tearDown/cleanups, failed."""

    def __init__(self, tests, test_timeout):
        super().__init__()
        self.tests = tests
        self.test_timeout = test_timeout
        self.passed, self.failed, self.skipped = [], [], []
        self.problems = []  # (title, formatted traceback)
        self._verdict = None
        self._started = 0.0
        self.current = None  # the id of the test running (or last run)

    def _alarm(self, _signum, _frame):
        raise TestTimeout("test took longer than %ds" % self.test_timeout)

    def _set_verdict(self, verdict):
        order = ["ok", "expected failure", "skipped", "FAIL", "unexpected success", "ERROR"]
        if self._verdict is None or order.index(verdict) > order.index(self._verdict):
            self._verdict = verdict

    def _problem(self, kind, name, err, test):
        self.problems.append(("%s: %s" % (kind, name), self._exc_info_to_string(err, test)))

    def startTest(self, test):
        super().startTest(test)
        self.current = test.id()
        self._verdict = None
        self._skip_reason = ""
        self._started = time.monotonic()
        print("%s ..." % test.id(), flush=True)
        signal.signal(signal.SIGALRM, self._alarm)
        signal.alarm(self.test_timeout)

    def stopTest(self, test):
        signal.alarm(0)
        super().stopTest(test)
        verdict = self._verdict or "ok"
        bucket = {"ok": self.passed, "expected failure": self.passed,
                  "skipped": self.skipped}.get(verdict, self.failed)
        bucket.append(test.id())
        detail = ": " + self._skip_reason if verdict == "skipped" else ""
        print("%s ... %s%s (%.1fs)" % (test.id(), verdict, detail,
                                       time.monotonic() - self._started), flush=True)

    def addSuccess(self, test):
        super().addSuccess(test)
        self._set_verdict("ok")

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._problem("FAIL", test.id(), err, test)
        self._set_verdict("FAIL")

    def addError(self, test, err):
        super().addError(test, err)
        self._problem("ERROR", str(test), err, test)
        if isinstance(test, unittest.TestCase):
            self._set_verdict("ERROR")
        else:
            self._fixture_failed(str(test))

    def _fixture_failed(self, description):
        """A setUpClass error fails every selected test of the class (they did not run);
        any other fixture error (tearDownClass, module fixtures) counts as one failure."""
        match = re.match(r"^setUpClass \((.+)\)$", description)
        prefix = match.group(1) + "." if match else None
        victims = [t.id() for t in self.tests if prefix and t.id().startswith(prefix)]
        for test_id in victims or [description]:
            self.failed.append(test_id)
            print("%s ... ERROR (%s)" % (test_id, description), flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self._skip_reason = reason
        self._set_verdict("skipped")

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._problem("FAIL", subtest.id(), err, test)
            print("  %s ... FAIL" % subtest.id(), flush=True)
            self._set_verdict("FAIL")

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self._set_verdict("expected failure")

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self._set_verdict("unexpected success")


def terminated(_signum, _frame):
    # os.write, not print: the signal may land inside a print.
    os.write(2, b"run.py: terminated (SIGTERM)\n")
    raise KeyboardInterrupt


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-k", dest="patterns", action="append", default=[],
                        metavar="PATTERN", help="run tests whose id contains PATTERN "
                        "(or matches it as a glob); repeatable")
    parser.add_argument("--list", action="store_true", help="list the selected tests")
    parser.add_argument("--test-timeout", type=int, default=DEFAULT_TEST_TIMEOUT,
                        help="seconds before a single test is aborted")
    options = parser.parse_args()
    # `timeout` (ci/test.sh) ends a run with SIGTERM: stop as on Ctrl-C (unittest passes
    # KeyboardInterrupt on; a SystemExit would only fail the current test), so the harness's
    # atexit hook stops the proxies and upstreams (each in its own session).
    signal.signal(signal.SIGTERM, terminated)

    tests = load_tests(options.patterns)
    if options.list:
        print("\n".join(test.id() for test in tests))
        return 0
    if not tests:
        print("no tests match %s" % options.patterns)
        return 2

    result = Result(tests, options.test_timeout)
    started = time.monotonic()
    try:
        unittest.TestSuite(tests).run(result)
    except KeyboardInterrupt:
        # Stopped from outside (a CI time limit, Ctrl-C): the test that was running fails,
        # and the summary still says what ran.
        if result.current is not None and result.current not in result.failed:
            if result.current in result.passed:
                result.passed.remove(result.current)
            result.failed.append(result.current)
        result.problems.append(("FAIL: run.py interrupted during %s" % result.current,
                                "the run was stopped (SIGTERM or Ctrl-C)\n"))
    for title, text in result.problems:
        print("\n%s\n%s\n%s" % ("=" * 70, title, text), end="")
    counted = len(result.passed) + len(result.failed) + len(result.skipped)
    print("\n%d tests in %.1fs" % (counted, time.monotonic() - started))
    summary = "%d passed, %d failed" % (len(result.passed), len(result.failed))
    if result.skipped:
        summary += ", %d skipped" % len(result.skipped)
    print(summary, flush=True)
    return 1 if result.failed else 0


if __name__ == "__main__":
    sys.exit(main())
