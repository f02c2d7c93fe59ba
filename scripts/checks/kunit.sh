# SPDX-License-Identifier: GPL-2.0
# Sourced by test.sh: run the KUnit suites of every .kunitconfig in the
# project through the kernel's own kunit.py, count the cases, and scan the
# console for reports. Uses pass/fail from test.sh.

kunit_run() {
	local log=$LOGS/kunit.log console=$BUILD/kunit/test.log args=() f
	local summary p=0 f_=0

	for f in ${SUITES:-$(cd "$TOP" && find . -name .kunitconfig -not -path './build/*' | sort)}; do
		args+=(--kunitconfig="${f#./}")
	done
	say "  kunitconfigs: ${args[*]#--kunitconfig=}"
	say "  output: $log"
	rm -f "$console"
	(cd "$SRC" && python3 tools/testing/kunit/kunit.py run --arch=x86_64 \
		--build_dir="$BUILD/kunit" --jobs="$(nproc)" --timeout=900 \
		--qemu_args='-smp 8 -m 2048' "${args[@]}") >"$log" 2>&1 || true

	summary=$(grep -E 'Testing complete\. Ran [0-9]+ tests' "$log" | tail -n 1)
	if [ -z "$summary" ]; then
		tail -n 30 "$log" >&2
		fail 1 "KUnit did not run to completion (build error or boot hang?): $log"
		return
	fi
	say "  ${summary#*] }"
	[[ $summary =~ passed:\ ([0-9]+) ]] && p=${BASH_REMATCH[1]}
	[[ $summary =~ failed:\ ([0-9]+) ]] && f_=${BASH_REMATCH[1]}
	[[ $summary =~ crashed:\ ([0-9]+) ]] && f_=$((f_ + BASH_REMATCH[1]))
	pass "$p"
	if [ "$f_" -gt 0 ]; then
		grep -E '\[FAILED\]|\[CRASHED\]|EXPECTATION FAILED|ASSERTION FAILED' "$log" | head -n 20
		fail "$f_" "$f_ KUnit case(s): see $log"
	fi

	if awk -f "$TOP/scripts/lib/scan-console.awk" "$console"; then
		pass 1
		say "  console scan: clean"
	else
		fail 1 "kernel reports in the KUnit console: $console"
	fi
}
kunit_run
