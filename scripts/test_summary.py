#!/usr/bin/python3
"""Adds up the meson test logs and the pytest JUnit report of one test run.

Prints one line per source and, last, "total: N passed, N failed, N skipped".
Steps that failed outright (a build, the formatting check) count as failures.
Exits 1 when anything failed.
"""
import glob
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def tap_counts(stdout):
    """Counts the TAP results in a test's output; None if it has none."""
    passed = failed = skipped = 0
    seen = False
    for line in stdout.splitlines():
        m = re.match(r"(not ok|ok)\b[^#]*(#\s*(\w+))?", line)
        if not m:
            continue
        seen = True
        directive = (m.group(3) or "").upper()
        if directive == "SKIP":
            skipped += 1
        elif m.group(1) == "ok" or directive == "TODO":
            passed += 1
        else:
            failed += 1
    return (passed, failed, skipped) if seen else None


def meson_counts(path):
    """Counts a meson test log: TAP subtests where a test prints TAP."""
    passed = failed = skipped = 0
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            test = json.loads(line)
            result = test.get("result", "")
            sub = tap_counts(test.get("stdout", ""))
            if result in ("OK", "EXPECTEDFAIL") and sub and not sub[1]:
                passed += sub[0]
                skipped += sub[2]
            elif result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                # A failed binary counts its failed cases, at least one.
                failed += max(1, sub[1] if sub else 1)
                if sub:
                    passed += sub[0]
    return passed, failed, skipped


def pytest_counts(path):
    root = ET.parse(path).getroot()
    suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
    passed = failed = skipped = 0
    for s in suites:
        tests = int(s.get("tests", 0))
        fail = int(s.get("failures", 0)) + int(s.get("errors", 0))
        skip = int(s.get("skipped", 0))
        passed += tests - fail - skip
        failed += fail
        skipped += skip
    return passed, failed, skipped


def main(out):
    total = [0, 0, 0]
    rows = []
    for path in sorted(glob.glob(os.path.join(out, "meson-*.json"))):
        rows.append((os.path.basename(path), meson_counts(path)))
    for path in sorted(glob.glob(os.path.join(out, "pytest*.xml"))):
        name = os.path.basename(path)[:-len(".xml")]
        rows.append((name, pytest_counts(path)))
    steps = os.path.join(out, "failed-steps")
    if os.path.exists(steps):
        with open(steps) as f:
            n = sum(1 for line in f if line.strip())
        rows.append(("failed steps", (0, n, 0)))
    for name, (p, f, s) in rows:
        print(f"{name}: {p} passed, {f} failed, {s} skipped")
        total = [total[0] + p, total[1] + f, total[2] + s]
    print(f"total: {total[0]} passed, {total[1]} failed, {total[2]} skipped")
    return 1 if total[1] or not rows else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build-test-results"))
