# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# The series step of test.sh: make the series, apply it with git am to a
# pristine tree, build every patch on its own, and run checkpatch on each
# patch, W=1 and sparse on the project's C files, and Sphinx on its rst
# page.
# Source it; do not run it. test.sh calls check_series.

check_series() {
	local repo=$BUILD/series-git wt=$BUILD/series-am out=$BUILD/bisect
	local log=$LOGS/series.log i=0 c n p files
	: >"$log"
	if ! "$TOP/scripts/make-series.sh" >>"$log" 2>&1; then
		tail -n 5 "$log"
		fail 1 "make series failed: see $log"
		return
	fi

	# make-series.sh made the commits with apply_patch, as prepare-source.sh
	# applies patches/; what is checked from here on is the mailable series,
	# so it is applied as mail, with git am, as a maintainer would.
	git -C "$repo" worktree remove --force "$wt" >/dev/null 2>&1 || rm -rf "$wt"
	git -C "$repo" worktree prune
	git -C "$repo" worktree add -q --detach "$wt" base >>"$log" 2>&1
	if git -C "$wt" -c user.name=ci -c user.email=ci@localhost \
		am -q "$BUILD"/series/000[1-9]*.patch >>"$log" 2>&1; then
		pass 1
		say "  git am: the series applies to a pristine Linux $(cat "$BUILD/kernel-version")"
	else
		fail 1 "git am of build/series/ on a pristine tree: see $log"
		return
	fi

	for p in "$BUILD"/series/000[1-9]*.patch; do
		if (cd "$SRC" && perl scripts/checkpatch.pl --strict --terse --no-tree "$p") >>"$log" 2>&1; then
			pass 1
		else
			fail 1 "checkpatch --strict: $(basename "$p")"
		fi
	done

	# Bisectable: each patch builds, with everything the series can enable.
	mkdir -p "$out"
	n=$(git -C "$wt" rev-list --count base..HEAD)
	for c in $(git -C "$wt" rev-list --reverse base..HEAD); do
		i=$((i + 1))
		git -C "$wt" checkout -q "$c"
		cat "$TOP/configs/run.config" "$TOP/configs/hmm.config" "$TOP/lib/tests/.kunitconfig" \
			>"$out/.config"
		if make -C "$wt" O="$out" ARCH=x86_64 olddefconfig >>"$log" 2>&1 &&
		   make -C "$wt" O="$out" ARCH=x86_64 -j"$(nproc)" bzImage modules >>"$log" 2>&1; then
			pass 1
			say "  patch $i/$n builds: $(git -C "$wt" log -1 --format=%s)"
		else
			fail 1 "patch $i/$n does not build: $(git -C "$wt" log -1 --format=%s) (see $log)"
		fi
	done

	# W=1 and sparse on every object of the project's own C files.
	files=(mm/pgmap_folio.o lib/pgmap_alloc.o lib/tests/ samples/pgmap_alloc/)
	make -C "$wt" O="$out" ARCH=x86_64 W=1 C=2 "${files[@]}" >"$LOGS/w1-sparse.log" 2>&1 || true
	if grep -E '(warning|error):' "$LOGS/w1-sparse.log" |
	   grep -E 'pgmap_folio|pgmap_alloc|lib/tests/pgmap' >"$LOGS/w1-sparse-ours.log"; then
		cat "$LOGS/w1-sparse-ours.log"
		fail 1 "W=1 or sparse warnings in the project's files: $LOGS/w1-sparse-ours.log"
	elif grep -q 'CHECK.*pgmap_alloc.c' "$LOGS/w1-sparse.log"; then
		pass 1
		say "  W=1 and sparse: clean"
	else
		fail 1 "sparse did not run: see $LOGS/w1-sparse.log"
	fi

	if ! "$TOP/scripts/make-docs.sh" >>"$log" 2>&1; then
		fail 1 "htmldocs failed: see $LOGS/htmldocs.log"
	elif grep -E 'pgmap_alloc|pgmap_folio' "$LOGS/htmldocs.log" | grep -iE 'warning|error' >&2; then
		fail 1 "Sphinx warnings from pgmap_alloc.rst: see $LOGS/htmldocs.log"
	elif [ -f "$BUILD/docs/Documentation/output/core-api/pgmap_alloc.html" ]; then
		pass 1
		say "  htmldocs: core-api/pgmap_alloc.html without warnings"
	else
		fail 1 "htmldocs made no pgmap_alloc.html: see $LOGS/htmldocs.log"
	fi
}
