# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The patch series in patches/: its patches in order, and the one way one
# of them is applied to a kernel tree. prepare-source.sh applies them to the
# build tree (incrementally), make-series.sh to a pristine git tree, one
# commit per patch, from which it formats the mailable series: so a patch
# that applies for `make run` also makes the series, and the other way
# round. The mailable series is then applied with git am, by the series
# step of make test and by make apply, as a maintainer would apply it: that
# is what they check and what they give you. (hmm-tests.sh --before also
# reverts test_hmm.c's part of a patch with apply_patch.)
# Source it; do not run it. It needs common.sh, sourced first.

# series_patches: the names of the patches, in the order of patches/series.
series_patches() {
	grep -v -e '^#' -e '^[[:space:]]*$' "$TOP/patches/series" || true
}

# apply_patch DIR PATCH [-R]: apply PATCH to the tree in DIR (or revert it,
# with -R), all or nothing: a dry run first, so that a patch that does not
# apply leaves DIR as it was. Then it fails, with each hunk that failed on
# stderr and the names of the files on stdout. Fuzz is allowed, as patch
# allows it by default; no .orig files are left behind.
apply_patch() {
	local dir=$1 file=$2 out
	shift 2
	if ! out=$(patch -p1 -d "$dir" -f --dry-run "$@" <"$file" 2>&1); then
		printf '%s\n' "$out" | awk '
			/^checking file / { f = substr($0, 15) }
			/^\|\+\+\+ / { f = $2; sub(/^b\//, "", f) }
			/FAILED at|Skipping patch/ {
				print "  " f ": " $0 >"/dev/stderr"
				if (!(f in seen)) { seen[f] = 1; list = list sep f; sep = ", " }
			}
			NF { last = $0 }
			END {
				if (list == "") {
					print "  " last >"/dev/stderr"
					list = "none named (see above)"
				}
				print list
			}'
		return 1
	fi
	patch -s -p1 -d "$dir" -f --no-backup-if-mismatch "$@" <"$file" >/dev/null
}
