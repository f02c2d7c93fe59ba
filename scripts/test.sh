#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make test: every check the project has, ending in one line
# "N passed, N failed"; exits non-zero if anything failed.
# Usage: test.sh [harness] [kunit] [demo] [hmm] [debug] [style] [series]
#   (default: all)
#   SUITES=lib/tests/.kunitconfig  runs only these kunitconfigs
. "$(dirname "$0")/lib/common.sh"
. "$TOP/scripts/lib/results.sh"
# Each step is a function, check_<step>, in checks/<step>.sh.
. "$TOP/scripts/checks/harness.sh"
. "$TOP/scripts/checks/kunit.sh"
. "$TOP/scripts/checks/demo.sh"
. "$TOP/scripts/checks/hmm.sh"
. "$TOP/scripts/checks/debug.sh"
. "$TOP/scripts/checks/style.sh"
. "$TOP/scripts/checks/series.sh"

declare -A what=(
	[harness]="tools/testing/pgmap_alloc: the allocator natively, model test, TSan, fuzzer"
	[kunit]="KUnit suites: build, then boot in QEMU (8 vCPUs on this machine's cores)"
	[demo]="the sample driver's demo in QEMU (make run)"
	[hmm]="the kernel's hmm-tests selftest against the converted test_hmm"
	[debug]="again on debug kernels: KASAN, lockdep, kmemleak...; and KCSAN"
	[style]="checkpatch --strict and kernel-doc -Wall on the project's files"
	[series]="the patch series: git am, bisect builds, checkpatch, W=1, sparse, htmldocs"
)
steps=("$@")
[ $# -gt 0 ] || steps=(harness kunit demo hmm debug style series)
for step in "${steps[@]}"; do
	[ -n "${what[$step]:-}" ] || die "unknown step '$step'" "use: harness kunit demo hmm debug style series"
done

# The count the steps add to, through pass N and fail N WHY.
passed=0
failed=0
failures=()
pass() { passed=$((passed + $1)); }
fail() { failed=$((failed + $1)); failures+=("$2"); }

total=$((2 + ${#steps[@]}))
n=2
stage 1/$total "installing missing packages"
"$TOP/scripts/install-deps.sh"

stage 2/$total "preparing the kernel tree in $SRC"
"$TOP/scripts/prepare-source.sh"
say "  Linux $(cat "$BUILD/kernel-version")"

for step in "${steps[@]}"; do
	n=$((n + 1))
	stage $n/$total "${what[$step]}"
	"check_$step"
done

say ""
say "Linux $(cat "$BUILD/kernel-version"); logs in $LOGS"
for f in "${failures[@]}"; do
	say "FAILED: $f"
done
say "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
