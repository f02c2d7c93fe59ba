# SPDX-License-Identifier: GPL-2.0
# Sourced by test.sh: checkpatch.pl --strict and kernel-doc -none -Wall on
# every C file and header the project owns, one check per file and tool.

style_checks() {
	local f out log=$LOGS/style.log
	: >"$log"
	for f in $(cd "$TOP" && git ls-files --cached --others --exclude-standard \
			'*.c' '*.h' | grep -v '^build/'); do
		out=$(cd "$SRC" && perl scripts/checkpatch.pl --strict --no-tree \
			--terse --show-types -f "$TOP/$f" 2>&1 | grep -v '^total:' || true)
		if [ -n "$out" ]; then
			printf '%s\n' "$out" | tee -a "$log"
			fail 1 "checkpatch: $f"
		else
			pass 1
		fi
		out=$(cd "$SRC" && perl scripts/kernel-doc -none -Wall "$TOP/$f" 2>&1 || true)
		if [ -n "$out" ]; then
			printf '%s\n' "$out" | tee -a "$log"
			fail 1 "kernel-doc: $f"
		else
			pass 1
		fi
	done
	say "  $(wc -l <"$log") findings (log: $log)"
}
style_checks
