# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The style step of test.sh: checkpatch.pl --strict and kernel-doc -none
# -Wall on every C file and header the project owns, one check per file and
# tool.
# Source it; do not run it. test.sh calls check_style.

check_style() {
	local f log=$LOGS/style.log
	: >"$log"
	for f in $(cd "$TOP" && git ls-files --cached --others --exclude-standard \
			'*.c' '*.h' | grep -v '^build/'); do
		style_check "$log" checkpatch "$f" perl scripts/checkpatch.pl --strict --no-tree \
			--terse --show-types -f "$TOP/$f"
		style_check "$log" kernel-doc "$f" perl scripts/kernel-doc -none -Wall "$TOP/$f"
	done
	say "  $(wc -l <"$log") findings (log: $log)"
}

# style_check LOG TOOL FILE CMD...: one check, that CMD, run in the kernel
# tree, finds nothing to say about FILE (checkpatch's "total:" line aside);
# what it says goes to LOG too.
style_check() {
	local log=$1 tool=$2 file=$3 out
	shift 3
	out=$(cd "$SRC" && { "$@" 2>&1 | grep -v '^total:' || true; })
	if [ -n "$out" ]; then
		printf '%s\n' "$out" | tee -a "$log"
		fail 1 "$tool: $file"
	else
		pass 1
	fi
}
