# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The demo step of test.sh: `make run`, its demo counted check by check,
# the driver's unload, and the console scanned for reports.
# Source it; do not run it. test.sh calls check_demo.

check_demo() {
	local log=$LOGS/demo.log console=$LOGS/run-console.log
	rm -f "$console"
	"$TOP/scripts/run.sh" >"$log" 2>&1 || true
	count_results demo "$console" demo || tail -n 20 "$log"
	expect_line "$console" '^== sample driver unloaded' "the sample driver did not unload"
	scan_console "$console" demo
}
