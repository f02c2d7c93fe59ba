# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The debug step of test.sh: everything again on debug kernels. One with
# KASAN, KFENCE, lockdep, DEBUG_VM, DEBUG_LIST, DEBUG_OBJECTS_FREE and
# kmemleak runs the KUnit suites, the demo and hmm-tests, then a kmemleak
# scan; one with KCSAN runs the KUnit suites (their stress and race cases).
# Any report in either console fails the run. These guests boot our own
# initramfs (guest-debug.sh), not kunit.py, so their KTAP is read from the
# console.
# Source it; do not run it. test.sh calls check_debug.

check_debug() {
	debug_guest debug "$TOP/configs/debug.config" with-userspace
	debug_guest kcsan "$TOP/configs/kcsan.config"
}

# debug_guest NAME CONFIG_FRAGMENT [with-userspace]
debug_guest() {
	local name=$1 fragment=$2 full=${3:-} out=$BUILD/$1 kernel files console
	console=$LOGS/$name-console.log
	local start=$SECONDS

	# The guest with userspace runs hmm-tests too; test_hmm needs THP, which
	# PREEMPT_RT (the KCSAN kernel) cannot have.
	local base=("$TOP/configs/run.config" "$TOP/configs/kunit-module.config")
	[ -z "$full" ] || base+=("$TOP/configs/hmm.config")
	if ! kernel=$("$TOP/scripts/build-kernel.sh" "$name" "${base[@]}" \
			"$fragment" 2>"$LOGS/$name.err"); then
		cat "$LOGS/$name.err"
		fail 1 "the $name kernel does not build: see $LOGS/build-$name.log"
		return
	fi
	files=("$out/lib/tests/genalloc_kunit.ko" "$out/lib/tests/pgmap_kunit_tests.ko")
	if [ -n "$full" ]; then
		"$TOP/scripts/build-userspace.sh" "$out"
		files+=("$out/samples/pgmap_alloc/pgmap_alloc_sample.ko" "$out/lib/test_hmm.ko"
			"$BUILD/bin/pgmap_alloc_demo" "$BUILD/bin/hmm-tests")
	fi
	"$TOP/scripts/make-initramfs.sh" "$BUILD/$name-initramfs.cpio.gz" \
		"$TOP/scripts/guest/guest-debug.sh" "${files[@]}"
	rm -f "$console"
	if ! "$TOP/scripts/boot-qemu.sh" "$kernel" "$BUILD/$name-initramfs.cpio.gz" "$console" \
		2400 loglevel=4 transparent_hugepage=madvise hugepages=16 \
		'memmap=256M!0x40000000' 'memmap=256M!0x50000000' 2>>"$LOGS/$name.err"; then
		tail -n 5 "$LOGS/$name.err"
		fail 1 "the $name guest did not finish: see $console"
		return
	fi

	count_results "$name KUnit" "$console" kunit || true
	if [ -n "$full" ]; then
		count_results "$name demo" "$console" demo || true
		count_results "$name hmm-tests" "$console" hmm-tests debug || true
	fi
	debug_kmemleak "$name" "$console"
	scan_console "$console" "$name"
	say "  $name: $((SECONDS - start)) s"
}

# debug_kmemleak NAME CONSOLE: one check, if the guest ran kmemleak, that
# none of the leaks it found is the project's.
debug_kmemleak() {
	local name=$1 console=$2 leaks
	grep -aq '^== kmemleak:' "$console" || return 0
	leaks=$(sed -n '/^== kmemleak:/,/^== kmemleak end/p' "$console" | tr -d '\r' |
		grep -c 'unreferenced object' || true)
	# The project's code is built in, so its frames have names. (Not grep
	# -q: it would stop reading, and pipefail count the writer's SIGPIPE.)
	if sed -n '/^== kmemleak:/,/^== kmemleak end/p' "$console" |
	   grep -aE '^ +[a-z_]+\+0x' | grep -a 'pgmap_' >/dev/null; then
		fail 1 "$name: kmemleak found leaks of the project's: see $console"
	else
		pass 1
		say "  $name kmemleak: nothing of the project's ($leaks unreferenced objects elsewhere)"
	fi
}
