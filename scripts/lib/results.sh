# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Reading what the guests printed: their test results (one parser,
# results.awk) and their kernel's reports (scan-console.awk), and adding
# them to the count of test.sh, which defines pass N and fail N WHY.
# Source it; do not run it. It needs common.sh, sourced first.

# results LOG KIND [RUN]: the results of one program in a console log, one
# line each, "pass|fail|skip NAME", then "total PASSED FAILED SKIPPED
# COMPLETE" (see results.awk). KIND is the program, which the guest scripts
# mark off in the console:
#   kunit      the KUnit module (guest-debug.sh): the cases of its suites
#   hmm-tests  the kselftest hmm-tests, the run named RUN (guest-hmm.sh,
#              guest-debug.sh)
#   demo       the sample driver's demo (guest-demo.sh, guest-debug.sh)
results() {
	local log=$1 kind=$2 from to format=ktap depth=0
	case $kind in
	kunit) from='^== kunit begin' to='^== kunit end' depth=1 ;;
	hmm-tests) from="^== hmm-tests begin: $3\$" to="^== hmm-tests end: $3\$" ;;
	demo) from='^pgmap_alloc demo: device memory' to='^pgmap_alloc demo: (PASS|FAIL) [(]'
	      format=demo ;;
	*) die "results: unknown kind '$kind'" "use kunit, hmm-tests or demo" ;;
	esac
	if [ -f "$log" ]; then
		awk -v from="$from" -v to="$to" -v format="$format" -v depth="$depth" \
			-f "$TOP/scripts/lib/results.awk" "$log"
	else
		echo "total 0 0 0 0"
	fi
}

# tally LABEL LOG SKIPS <RESULTS: add results in the format of results() to
# the count and say what they were. A passed case is a pass and a failed one
# a failure; a skipped one is a failure too, unless SKIPS is "ok" (KUnit
# skips what the kernel's config cannot run; hmm-tests must not skip). A run
# that did not finish is one failure, whatever it passed before it stopped;
# tally then returns 1, for the caller to show more.
tally() {
	local label=$1 log=$2 skips=$3 kind name p=0 f=0 s=0 complete=0 bad=()
	while read -r kind name; do
		case $kind in
		total) read -r p f s complete <<<"$name" ;;
		fail) bad+=("$name") ;;
		skip) [ "$skips" = ok ] || bad+=("$name (skipped)") ;;
		esac
	done
	if [ "$complete" != 1 ]; then
		say "  $label: did not run to the end"
		fail 1 "$label did not run to the end: see $log"
		return 1
	fi
	say "  $label: $p passed, $f failed, $s skipped"
	[ ${#bad[@]} -eq 0 ] || printf '    not ok: %s\n' "${bad[@]:0:20}"
	[ ${#bad[@]} -le 20 ] || say "    and $((${#bad[@]} - 20)) more"
	pass "$p"
	[ "$f" -eq 0 ] || fail "$f" "$label: $f failed: see $log"
	[ "$skips" = ok ] || [ "$s" -eq 0 ] || fail "$s" "$label: $s skipped: see $log"
}

# count_results LABEL LOG KIND [RUN]: count one program's results in a
# console log (see results and tally).
count_results() {
	local label=$1 log=$2 kind=$3 skips=fail
	[ "$kind" != kunit ] || skips=ok
	tally "$label" "$log" "$skips" < <(results "$log" "$kind" "${4:-}")
}

# expect_line LOG REGEX WHAT: one check, that the guest printed a line
# matching the extended REGEX, such as a module's unload.
expect_line() {
	if grep -aEq "$2" "$1" 2>/dev/null; then
		pass 1
	else
		fail 1 "$3: see $1"
	fi
}

# scan_console LOG LABEL: one check, that the kernel of a guest reported no
# warning, BUG, KASAN, lockdep... (scan-console.awk); the reports are shown.
scan_console() {
	local log=$1 label=$2
	if [ ! -f "$log" ]; then
		fail 1 "$label: no console log to scan: $log"
	elif console_reports "$log"; then
		pass 1
		say "  $label console scan: clean"
	else
		fail 1 "$label: kernel reports in the console: $log"
	fi
}
