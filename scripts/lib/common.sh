# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# Sourced by every host script in scripts/: paths, progress messages, errors.
# Source it; do not run it.
#
# Besides definitions it does two things, on purpose: it is the first line
# of each script, so it turns on strict mode for that script and makes sure
# the log directory exists before anything writes there.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
LOGS=$BUILD/logs
# shellcheck disable=SC2034 # used by the scripts that source this file
KVER_WANT=6.12
mkdir -p "$LOGS"

# The kernel tree the project is applied to: the unpacked Debian source, or
# a copy of the user's own tree when KSRC is given (we never write to KSRC).
if [ -n "${KSRC:-}" ]; then
	SRC=$BUILD/linux-ksrc
else
	SRC=$BUILD/linux
fi

say() { printf '%s\n' "$*"; }
stage() { printf '[%s] %s\n' "$1" "$2"; }
die() {
	printf 'error: %s\n' "$1" >&2
	[ $# -gt 1 ] && printf '  what to do: %s\n' "$2" >&2
	exit 1
}

# run LOGFILE CMD...: run a noisy command with its output in LOGFILE; on
# failure show the end of the log and where the whole log is.
run_logged() {
	local log=$1
	shift
	if ! "$@" >"$log" 2>&1; then
		tail -n 25 "$log" >&2
		die "'$*' failed" "read the full log: $log"
	fi
}

kernel_version() {
	make -s -C "$SRC" kernelversion 2>/dev/null
}

# console_reports LOG: print the reports of the kernel in a guest's console
# that fail a run (scan-console.awk says which); false if there is one.
console_reports() {
	awk -f "$TOP/scripts/lib/scan-console.awk" "$1"
}
