#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Count the test cases in the JSON that `kunit.py run --json=FILE` writes,
the way kunit.py's own summary line counts them: only tests without
subtests count (the cases, and each parameter of a parameterised case);
PASS is passed, SKIP skipped, FAIL and ERROR (crashed) failed. Prints the
lines results.awk prints, "pass|fail|skip NAME" per case, then "total
PASSED FAILED SKIPPED COMPLETE"; COMPLETE is 0 if no case ran at all.
Usage: kunit-results.py FILE"""
import json
import sys

KINDS = {"PASS": "pass", "SKIP": "skip"}  # anything else failed
counts = {"pass": 0, "fail": 0, "skip": 0}


def walk(group, path):
    for case in group.get("test_cases", []):
        kind = KINDS.get(case.get("status"), "fail")
        counts[kind] += 1
        print(kind, ".".join(path + [case.get("name") or "?"]))
    for sub in group.get("sub_groups", []):
        walk(sub, path + [sub.get("name") or "?"])


with open(sys.argv[1]) as f:
    walk(json.load(f), [])  # the top group is kunit.py's, not a suite
print("total", counts["pass"], counts["fail"], counts["skip"],
      int(sum(counts.values()) > 0))
