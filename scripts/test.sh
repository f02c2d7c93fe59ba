#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make test: every check the project has, ending in one line
# "N passed, N failed"; exits non-zero if anything failed.
# Usage: test.sh [kunit] [demo] [hmm] [debug] [style] [series]   (default: all)
#   SUITES=lib/tests/.kunitconfig  runs only these kunitconfigs
. "$(dirname "$0")/lib/common.sh"

steps=${*:-kunit demo hmm debug style series}
passed=0
failed=0
failures=()
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }

total=$((2 + $(echo $steps | wc -w)))
n=2
stage 1/$total "installing missing packages"
"$TOP/scripts/install-deps.sh"

stage 2/$total "preparing the kernel tree in $SRC"
"$TOP/scripts/prepare-source.sh"
say "  Linux $(cat "$BUILD/kernel-version")"

for step in $steps; do
	n=$((n + 1))
	case $step in
	kunit)
		stage $n/$total "KUnit suites: build, then boot in QEMU (8 vCPUs on this machine's cores)"
		. "$TOP/scripts/checks/kunit.sh" ;;
	demo)
		stage $n/$total "the sample driver's demo in QEMU (make run)"
		. "$TOP/scripts/checks/demo.sh" ;;
	hmm)
		stage $n/$total "the kernel's hmm-tests selftest against the converted test_hmm"
		. "$TOP/scripts/checks/hmm.sh" ;;
	debug)
		stage $n/$total "again on debug kernels: KASAN, lockdep, kmemleak...; and KCSAN"
		. "$TOP/scripts/checks/debug.sh" ;;
	style)
		stage $n/$total "checkpatch --strict and kernel-doc -Wall on the project's files"
		. "$TOP/scripts/checks/style.sh" ;;
	series)
		stage $n/$total "the patch series: git am, bisect builds, checkpatch, W=1, sparse, htmldocs"
		. "$TOP/scripts/checks/series.sh" ;;
	*)
		die "unknown step '$step'" "use: kunit demo hmm debug style series" ;;
	esac
done

say ""
say "Linux $(cat "$BUILD/kernel-version"); logs in $LOGS"
for f in "${failures[@]}"; do
	say "FAILED: $f"
done
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
