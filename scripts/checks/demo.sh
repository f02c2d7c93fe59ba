# SPDX-License-Identifier: GPL-2.0
# Sourced by test.sh: run `make run` and count the demo's checks and the
# console scan. Uses pass/fail from test.sh.

demo_check() {
	local log=$LOGS/demo.log console=$LOGS/run-console.log line n m
	rm -f "$console"
	"$TOP/scripts/run.sh" >"$log" 2>&1 || true
	line=$(grep -a -o 'pgmap_alloc demo: \(PASS\|FAIL\) ([0-9]* checks, [0-9]* failed)' \
		"$console" 2>/dev/null | tail -n 1)
	if [[ $line =~ \(([0-9]+)\ checks,\ ([0-9]+)\ failed\) ]]; then
		n=${BASH_REMATCH[1]} m=${BASH_REMATCH[2]}
		pass $((n - m))
		[ "$m" -eq 0 ] || fail "$m" "demo checks: see $log"
		say "  $line"
	else
		tail -n 20 "$log"
		fail 1 "the demo did not run to the end: see $log"
	fi
	if grep -aq '^== sample driver unloaded' "$console" 2>/dev/null; then
		pass 1
	else
		fail 1 "the sample driver did not unload: see $console"
	fi
	if [ -f "$console" ] && awk -f "$TOP/scripts/lib/scan-console.awk" "$console"; then
		pass 1
		say "  console scan: clean"
	else
		fail 1 "kernel reports in the demo's console: $console"
	fi
}
demo_check
