# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The harness step of test.sh: tools/testing/pgmap_alloc, the allocator
# built natively against shims: the model test under ASan and UBSan, the
# placement cases, the seeds and inputs that once failed, the
# ThreadSanitizer stress and a short fuzzing run. One check each, and one
# for the build. No kernel build, no QEMU: seconds.
# Source it; do not run it. test.sh calls check_harness.

check_harness() {
	local log=$LOGS/harness.log dir=$SRC/tools/testing/pgmap_alloc line
	if ! make -C "$dir" -j2 all >"$log" 2>&1; then
		tail -n 20 "$log"
		fail 1 "harness: build (log: $log)"
		return
	fi
	pass 1
	make -s -C "$dir" test >>"$log" 2>&1 || true
	while read -r line; do
		case "$line" in
		PASS:*) pass 1 ;;
		FAIL:*) fail 1 "harness: ${line#FAIL: }" ;;
		*) continue ;;
		esac
		say "  $line"
	done < <(grep -E '^(PASS|FAIL):' "$log")
	grep -qE '^(PASS|FAIL): fuzzer' "$log" || fail 1 "harness: the checks did not all run (log: $log)"
}
