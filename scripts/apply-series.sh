#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make apply KSRC=<tree>: apply the series to your own 6.12.y git tree as
# commits on its current branch. Refuses a dirty tree, and leaves the tree
# as it was if the series does not apply.
. "$(dirname "$0")/lib/common.sh"

target=${KSRC:-}
[ -n "$target" ] || die "no tree given" "make apply KSRC=/path/to/your/linux-6.12.y"
git -C "$target" rev-parse --git-dir >/dev/null 2>&1 ||
	die "KSRC=$target is not a git tree" "make apply needs a git tree to commit to"
[ -z "$(git -C "$target" status --porcelain --untracked-files=no)" ] ||
	die "KSRC=$target has uncommitted changes" "commit or stash them first"

# make-series.sh applies patches/ to a copy of this tree's HEAD the way
# prepare-source.sh does (apply_patch, lib/series.sh); what it formats is
# then applied here as mail, with git am, so that the commits you get are
# the series a maintainer would get, and the series step of make test checks.
"$TOP/scripts/make-series.sh"
patches=("$BUILD"/series/000[1-9]*.patch)
if ! git -C "$target" am -3 "${patches[@]}"; then
	git -C "$target" am --abort 2>/dev/null || true
	die "the series does not apply to $target ($(git -C "$target" log -1 --format=%h\ %s))" \
		"use a 6.12.y tree; the tree is unchanged"
fi
say "applied ${#patches[@]} patches to $target"
