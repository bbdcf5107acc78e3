#!/usr/bin/env python3
"""Counts test cases in Bazel's JUnit XML files: prints "<passed> <failed>".

A target whose XML is missing or unreadable (crash, timeout) counts as one failure.
"""
import pathlib
import sys
import xml.etree.ElementTree as ET


def count(root):
    passed = failed = 0
    for xml in pathlib.Path(root).rglob("test.xml"):
        try:
            tree = ET.parse(xml)
        except ET.ParseError:
            failed += 1
            continue
        cases = list(tree.iter("testcase"))
        if not cases:
            suites = list(tree.iter("testsuite"))
            bad = any(int(s.get("failures", 0)) + int(s.get("errors", 0)) > 0 for s in suites)
            failed += 1 if bad or not suites else 0
            passed += 0 if bad or not suites else 1
            continue
        for case in cases:
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.get("status", "run") == "notrun":
                continue
            else:
                passed += 1
    return passed, failed


if __name__ == "__main__":
    p, f = count(sys.argv[1] if len(sys.argv) > 1 else "bazel-testlogs")
    print(p, f)
