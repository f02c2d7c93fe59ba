# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The hmm step of test.sh: the kernel's hmm-tests selftest against the
# converted lib/test_hmm.c, counted case by case, the module's unload, and
# the console scanned for reports.
# Source it; do not run it. test.sh calls check_hmm.

check_hmm() {
	local log=$LOGS/hmm.log console=$LOGS/hmm-console.log
	rm -f "$console"
	if ! "$TOP/scripts/hmm-tests.sh" >"$log" 2>&1; then
		tail -n 20 "$log"
		fail 1 "hmm-tests did not run: see $log"
		return
	fi
	count_results hmm-tests "$console" hmm-tests after || true
	expect_line "$console" '^== test_hmm unloaded: after' "test_hmm did not unload"
	scan_console "$console" hmm-tests
}
