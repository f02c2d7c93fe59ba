# SPDX-License-Identifier: GPL-2.0
# Sourced by test.sh: the hmm-tests selftest against the converted
# lib/test_hmm.c, counted case by case, plus unload and console scan.

hmm_check() {
	local log=$LOGS/hmm.log console=$LOGS/hmm-console.log line
	rm -f "$console"
	if ! "$TOP/scripts/hmm-tests.sh" >"$log" 2>&1; then
		tail -n 20 "$log"
		fail 1 "hmm-tests did not run: see $log"
		return
	fi
	line=$(grep '^after: ' "$LOGS/hmm-results.txt")
	say "  hmm-tests $line"
	[[ $line =~ ([0-9]+)\ passed,\ ([0-9]+)\ failed,\ ([0-9]+)\ skipped ]] || {
		fail 1 "no hmm-tests results: see $console"
		return
	}
	pass "${BASH_REMATCH[1]}"
	[ "${BASH_REMATCH[2]}" -eq 0 ] || fail "${BASH_REMATCH[2]}" "hmm-tests cases: see $LOGS/hmm-results.txt"
	[ "${BASH_REMATCH[3]}" -eq 0 ] || fail "${BASH_REMATCH[3]}" "hmm-tests skipped cases: see $LOGS/hmm-results.txt"
	if grep -aq '^== test_hmm unloaded: after' "$console"; then
		pass 1
	else
		fail 1 "test_hmm did not unload: see $console"
	fi
	if awk -f "$TOP/scripts/lib/scan-console.awk" "$console"; then
		pass 1
		say "  console scan: clean"
	else
		fail 1 "kernel reports in the hmm-tests console: $console"
	fi
}
hmm_check
