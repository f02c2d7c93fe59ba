# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The kunit step of test.sh: the KUnit suites of every .kunitconfig in the
# project through the kernel's own kunit.py, counted case by case from its
# JSON, and the console scanned for reports.
# Source it; do not run it. test.sh calls check_kunit.

check_kunit() {
	local log=$LOGS/kunit.log json=$LOGS/kunit.json console=$BUILD/kunit/test.log
	local args=() f

	for f in ${SUITES:-$(cd "$TOP" && find . -name .kunitconfig -not -path './build/*' | sort)}; do
		args+=(--kunitconfig="${f#./}")
	done
	say "  kunitconfigs: ${args[*]#--kunitconfig=}"
	say "  output: $log"
	rm -f "$console" "$json"
	(cd "$SRC" && python3 tools/testing/kunit/kunit.py run --arch=x86_64 \
		--build_dir="$BUILD/kunit" --jobs="$(nproc)" --timeout=900 \
		--qemu_args='-smp 8 -m 2048' --json="$json" "${args[@]}") >"$log" 2>&1 || true

	# kunit.py writes the JSON once it has parsed the guest's output, even
	# of a guest that crashed; without it, the build or the boot failed.
	if [ ! -f "$json" ]; then
		tail -n 30 "$log" >&2
		fail 1 "KUnit did not run to completion (build error or boot hang?): $log"
		return
	fi
	tally KUnit "$log" ok < <(python3 "$TOP/scripts/lib/kunit-results.py" "$json") || true
	grep -E 'EXPECTATION FAILED|ASSERTION FAILED' "$log" | head -n 20 || true
	scan_console "$console" KUnit
}
