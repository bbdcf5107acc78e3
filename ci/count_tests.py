#!/usr/bin/env python3
"""Counts unit test cases: prints "<passed> <failed>".

    count_tests.py TESTLOGS BAZEL_OUTPUT TARGETS_FILE

TARGETS_FILE lists every test target (`bazel query 'tests(//test/...)'`), BAZEL_OUTPUT is what
`bazel test --keep_going` printed. Each target's cases come from its JUnit XML; a target that
did not build, has no status line, or whose XML is missing or unreadable counts as one failure,
and so does a FAILED target whose XML shows no failing case (a crash after the last case).
Skipped cases (GTEST_SKIP, disabled) count neither way.
"""
import pathlib
import re
import sys
import xml.etree.ElementTree as ET

# Longer statuses first: "FAILED TO BUILD" must not read as "FAILED" (whose stale XML from an
# earlier run would then be counted).
STATUS = re.compile(r"^(//\S+)\s+(?:\(cached\)\s+)?(FAILED TO BUILD|NO STATUS|PASSED|FAILED|"
                    r"TIMEOUT|FLAKY|SKIPPED)(?=[\s,]|$)")


def count_xml(path):
    """(passed, failed) of one JUnit XML file; None if it is missing or unreadable."""
    try:
        tree = ET.parse(path)
    except (OSError, ET.ParseError):
        return None
    passed = failed = 0
    cases = list(tree.iter("testcase"))
    if not cases:
        suites = list(tree.iter("testsuite"))
        bad = not suites or any(
            int(s.get("failures", 0)) + int(s.get("errors", 0)) > 0 for s in suites)
        return (0, 1) if bad else (1, 0)
    for case in cases:
        if case.find("failure") is not None or case.find("error") is not None:
            failed += 1
        elif (case.get("status", "run") == "notrun" or case.get("result") == "skipped"
              or case.find("skipped") is not None):
            continue
        else:
            passed += 1
    return passed, failed


def count(testlogs, output, targets):
    statuses = {}
    for line in output.splitlines():
        m = STATUS.match(line.strip())
        if m:
            statuses[m.group(1)] = m.group(2)
    passed = failed = 0
    for target in targets:
        status = statuses.get(target)
        if status not in ("PASSED", "FAILED", "FLAKY"):
            print("unit tests: %s: %s" % (target, status or "no result"), file=sys.stderr)
            failed += 1
            continue
        package, name = target[2:].split(":", 1)
        result = count_xml(pathlib.Path(testlogs, package, name, "test.xml"))
        if result is None:
            print("unit tests: %s: no readable test.xml" % target, file=sys.stderr)
            failed += 1
            continue
        p, f = result
        if status == "FAILED" and f == 0:
            f = 1
        passed += p
        failed += f
    return passed, failed


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    targets = [t.strip() for t in open(sys.argv[3]) if t.strip()]
    p, f = count(sys.argv[1], open(sys.argv[2]).read(), targets)
    if not targets:
        f += 1  # no test target at all: something is wrong with the query
    print(p, f)
