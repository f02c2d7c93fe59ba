# SPDX-License-Identifier: GPL-2.0
# The one parser of the test results the guests print: KTAP (the KUnit
# module, kselftest's hmm-tests) and the demo's checks. Reads the part of a
# console log from the first line that matches the regexp `from` to the next
# one that matches `to`, and prints one line per result at nesting level
# `depth`, "pass NAME", "fail NAME" or "skip NAME", then a last line
# "total PASSED FAILED SKIPPED COMPLETE".
#
#   format=ktap  "ok 3 name", "not ok 3 name", "ok 3 name # SKIP why", each
#                level of nesting indented by four more spaces; the plan
#                "1..N" of level 0 says how many level-0 results to expect.
#   format=demo  "  ok    what" and "  FAIL  what", all at level 0; the plan
#                is in the demo's last line, "pgmap_alloc demo: PASS (N
#                checks, M failed)".
#
# COMPLETE is 1 when a plan was seen and as many level-0 results followed:
# a run that crashed or hung stops short of it, and its counts mean nothing.
# The format is chosen by the caller, not guessed, so that the lines of one
# program are never counted for another when the first stops early.
# Usage: awk -v from=RE -v to=RE -v format=ktap|demo -v depth=N -f results.awk LOG

function result(kind, level, name)
{
	top += (level == 0)
	if (level != depth)
		return
	n[kind]++
	print kind, name
}

{ sub(/\r$/, "") }

!inside {
	if ($0 !~ from)
		next
	inside = 1
}

format == "ktap" && /^ *(not )?ok [0-9]+( |$)/ {
	match($0, /^ */)
	if (RLENGTH % 4)
		next
	level = RLENGTH / 4
	name = $0
	sub(/^ *(not )?ok [0-9]+ */, "", name)
	sub(/ +# .*$/, "", name)
	kind = /^ *not ok/ ? "fail" : (/ # SKIP/ ? "skip" : "pass")
	result(kind, level, name)
}

format == "ktap" && /^1\.\.[0-9]+/ {
	plan += substr($1, 4)
	planned = 1
}

format == "demo" && /^  (ok  |FAIL)  / {
	result($1 == "ok" ? "pass" : "fail", 0, substr($0, 9))
}

format == "demo" && /^pgmap_alloc demo: (PASS|FAIL) \([0-9]+ checks/ {
	plan += substr($4, 2)
	planned = 1
}

to != "" && $0 ~ to { exit }

END {
	printf "total %d %d %d %d\n", n["pass"], n["fail"], n["skip"],
	       planned && top == plan
}
