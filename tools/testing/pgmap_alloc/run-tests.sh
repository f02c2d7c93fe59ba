#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make test of the harness: each check prints one line, "PASS: name" or
# "FAIL: name (why)"; the exit status is 1 if any failed.
# Usage: run-tests.sh OUT SEEDS FUZZ_SECONDS
set -u
shopt -s nullglob
out=$1 seeds=$2 fuzz_s=$3
here=$(cd "$(dirname "$0")" && pwd)
failed=0

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:exitcode=66

# check NAME CMD...: run CMD, its output in $out/NAME.log
check() {
	local name=$1
	shift
	if "$@" >"$out/$name.log" 2>&1; then
		echo "PASS: $name: $(tail -n 1 "$out/$name.log")"
	else
		echo "FAIL: $name (log: $out/$name.log)"
		tail -n 25 "$out/$name.log" | sed 's/^/    /'
		failed=1
	fi
}

# Inputs are kept as hex text (corpus/*.hex, regressions/*.hex): the bytes
# that the fuzzer and --replay read go to $out/inputs/.
unhex() {
	local f
	rm -rf "$out/inputs/$1" && mkdir -p "$out/inputs/$1"
	for f in "$here/$1"/*.hex; do
		perl -ne 's/\s+//g; print pack("H*", $_)' "$f" \
			>"$out/inputs/$1/$(basename "$f" .hex)"
	done
}

# The seeds and inputs that ever failed, then the committed corpus.
replay_all() {
	local s
	for s in $(grep -v '^#' "$here/regressions/seeds"); do
		"$out/pgmap_alloc_harness" --seed "$s" || return 1
	done
	unhex regressions && unhex corpus
	"$out/pgmap_alloc_harness" --replay "$out"/inputs/regressions/* "$out"/inputs/corpus/*
}

# A short fuzzing run from the committed corpus; a crash is a failure whose
# input belongs in regressions/ once fixed.
fuzz() {
	local log=$out/fuzz-run.log
	unhex corpus
	rm -rf "$out/fuzz-corpus-test" && mkdir -p "$out/fuzz-corpus-test" "$out/fuzz-crashes"
	if ! "$out/pgmap_alloc_fuzz" -max_total_time="$fuzz_s" -timeout=10 -max_len=512 \
		-artifact_prefix="$out/fuzz-crashes/" \
		"$out/fuzz-corpus-test" "$out/inputs/corpus" >"$log" 2>&1; then
		tail -n 40 "$log"
		echo "crash input in $out/fuzz-crashes/: replay it with"
		echo "./pgmap_alloc_harness --replay FILE; once fixed, add it as hex:"
		echo "xxd -p FILE >regressions/NAME.hex"
		return 1
	fi
	grep -E '^Done [0-9]+ runs' "$log"
}

check model "$out/pgmap_alloc_harness" --seeds "$seeds"
check regressions replay_all
check tsan "$out/pgmap_alloc_tsan" -s 10
check fuzzer fuzz
exit $failed
