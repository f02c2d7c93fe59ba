# SPDX-License-Identifier: GPL-2.0
# Sourced by test.sh: everything again on debug kernels. One with KASAN,
# KFENCE, lockdep, DEBUG_VM, DEBUG_LIST, DEBUG_OBJECTS_FREE and kmemleak runs
# the KUnit suites, the demo and hmm-tests, then a kmemleak scan; one with
# KCSAN runs the KUnit suites (their stress and race cases). Any report in
# either console fails the run.

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
	files=("$out/lib/tests/pgmap_kunit_tests.ko")
	if [ -n "$full" ]; then
		"$TOP/scripts/build-userspace.sh" "$out"
		files+=("$out/samples/pgmap_alloc/pgmap_alloc_sample.ko" "$out/lib/test_hmm.ko"
			"$BUILD/bin/pgmap_alloc_demo" "$BUILD/bin/hmm-tests")
	fi
	"$TOP/scripts/make-initramfs.sh" "$BUILD/$name-initramfs.cpio.gz" \
		"$TOP/scripts/guest-debug.sh" "${files[@]}"
	rm -f "$console"
	if ! "$TOP/scripts/boot-qemu.sh" "$kernel" "$BUILD/$name-initramfs.cpio.gz" "$console" \
		2400 loglevel=4 transparent_hugepage=madvise hugepages=16 \
		'memmap=256M!0x40000000' 'memmap=256M!0x50000000' 2>>"$LOGS/$name.err"; then
		tail -n 5 "$LOGS/$name.err"
		fail 1 "the $name guest did not finish: see $console"
		return
	fi
	debug_count "$name" "$console"
	say "  $name: $((SECONDS - start)) s"
}

debug_count() {
	local name=$1 console=$2 p f line leaks
	# KUnit: one line per suite, "# <suite>: pass:P fail:F skip:S total:T"
	while read -r p f; do
		pass "$p"
		[ "$f" -eq 0 ] || fail "$f" "$name: KUnit cases failed: see $console"
	done < <(tr -d '\r' <"$console" |
		 sed -n 's/^.*# pgmap_[a-z]*: pass:\([0-9]*\) fail:\([0-9]*\) .*/\1 \2/p')
	grep -aq '# pgmap_alloc: pass:' "$console" || fail 1 "$name: the KUnit suites did not run"
	say "  $name KUnit: $(tr -d '\r' <"$console" | grep -ao '# pgmap_[a-z]*: pass:[0-9]* fail:[0-9]*' | tr '\n' ' ')"

	if grep -aq '^== hmm-tests begin' "$console"; then
		line=$(grep -ao 'pgmap_alloc demo: \(PASS\|FAIL\) ([0-9]* checks, [0-9]* failed)' "$console")
		if [[ $line =~ \(([0-9]+)\ checks,\ ([0-9]+)\ failed\) ]]; then
			pass $((BASH_REMATCH[1] - BASH_REMATCH[2]))
			[ "${BASH_REMATCH[2]}" -eq 0 ] || fail "${BASH_REMATCH[2]}" "$name: demo checks"
		else
			fail 1 "$name: the demo did not finish"
		fi
		line=$(grep -ao '# Totals: pass:[0-9]* fail:[0-9]* xfail:[0-9]* xpass:[0-9]* skip:[0-9]*' "$console")
		if [[ $line =~ pass:([0-9]+)\ fail:([0-9]+).*skip:([0-9]+) ]]; then
			pass "${BASH_REMATCH[1]}"
			[ "${BASH_REMATCH[2]}" -eq 0 ] || fail "${BASH_REMATCH[2]}" "$name: hmm-tests failed"
			[ "${BASH_REMATCH[3]}" -eq 0 ] || fail "${BASH_REMATCH[3]}" "$name: hmm-tests skipped"
		else
			fail 1 "$name: hmm-tests did not finish"
		fi
		say "  $name demo: ${line:+ok}; hmm-tests: ${line#\# Totals: }"
	fi

	if grep -aq '^== kmemleak:' "$console"; then
		leaks=$(sed -n '/^== kmemleak:/,/^== kmemleak end/p' "$console" | tr -d '\r' |
			grep -c 'unreferenced object' || true)
		# The project's code is built in, so its frames have names.
		if sed -n '/^== kmemleak:/,/^== kmemleak end/p' "$console" |
		   grep -aE '^ +[a-z_]+\+0x' | grep -aq 'pgmap_'; then
			fail 1 "$name: kmemleak found leaks of the project's: see $console"
		else
			pass 1
			say "  $name kmemleak: nothing of the project's ($leaks unreferenced objects elsewhere)"
		fi
	fi

	if awk -f "$TOP/scripts/scan-console.awk" "$console"; then
		pass 1
		say "  $name console scan: clean"
	else
		fail 1 "$name: kernel reports in $console"
	fi
}

debug_guest debug "$TOP/configs/debug.config" with-userspace
debug_guest kcsan "$TOP/configs/kcsan.config"
