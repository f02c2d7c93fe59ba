#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make test: every check the project has, ending in one line
# "N passed, N failed"; exits non-zero if anything failed.
# Usage: test.sh [kunit] [demo] [style]   (default: all of them)
#   SUITES=lib/tests/.kunitconfig  runs only these kunitconfigs
. "$(dirname "$0")/common.sh"

steps=${*:-kunit demo style}
passed=0
failed=0
failures=()
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }

stage 1/3 "installing missing packages"
"$TOP/scripts/install-deps.sh"

stage 2/3 "preparing the kernel tree in $SRC"
"$TOP/scripts/prepare-source.sh"
say "  Linux $(cat "$BUILD/kernel-version")"

for step in $steps; do
	case $step in
	kunit)
		stage 3/3 "KUnit suites: build, then boot in QEMU (2 vCPUs)"
		. "$TOP/scripts/kunit-run.sh" ;;
	demo)
		stage 3/3 "the sample driver's demo in QEMU (make run)"
		. "$TOP/scripts/demo-check.sh" ;;
	style)
		stage 3/3 "checkpatch --strict and kernel-doc -Wall on the project's files"
		. "$TOP/scripts/style-checks.sh" ;;
	*)
		die "unknown step '$step'" "use: kunit demo style" ;;
	esac
done

say ""
say "Linux $(cat "$BUILD/kernel-version"); logs in $LOGS"
for f in "${failures[@]}"; do
	say "FAILED: $f"
done
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
