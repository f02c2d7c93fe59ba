# SPDX-License-Identifier: GPL-2.0
# Sourced by every host script in scripts/: paths, progress messages, errors.
# Source it; do not run it.

set -euo pipefail

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-$TOP/build}
LOGS=$BUILD/logs
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
