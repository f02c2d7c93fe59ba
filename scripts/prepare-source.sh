#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Put a kernel tree in $SRC and bring it up to date with the project:
#   - unpack Debian's linux-source-6.12 (or copy the tree named by KSRC),
#   - apply patches/series (only what changed since the last run),
#   - copy the project's new files to their kernel paths (only changed ones).
# Re-running after editing one file touches only that file, so make
# rebuilds only what depends on it.
. "$(dirname "$0")/lib/common.sh"
. "$TOP/scripts/lib/series.sh"

STATE=$SRC/.pgmap_alloc
TARBALL=/usr/src/linux-source-$KVER_WANT.tar.xz
NEW_FILE_DIRS="include lib mm Documentation samples tools"

check_version() {
	local v
	v=$(kernel_version) || true
	case "$v" in
	"$KVER_WANT" | "$KVER_WANT".*) ;;
	*) die "$1 is Linux '${v:-unknown}', not $KVER_WANT.y" "$2" ;;
	esac
}

unpack_debian_source() {
	[ -f "$TARBALL" ] || die "$TARBALL is missing" \
		"install it: apt-get install linux-source-$KVER_WANT"
	say "unpacking $TARBALL"
	local tmp=$BUILD/linux.unpacking
	rm -rf "$tmp" && mkdir -p "$tmp"
	tar -xf "$TARBALL" -C "$tmp" ||
		die "cannot unpack $TARBALL" \
			"reinstall it: apt-get install --reinstall linux-source-$KVER_WANT"
	[ -f "$tmp/linux-source-$KVER_WANT/Makefile" ] ||
		die "$TARBALL does not hold linux-source-$KVER_WANT/" \
			"reinstall it: apt-get install --reinstall linux-source-$KVER_WANT"
	# Only a complete tree ever gets the final name.
	mv "$tmp/linux-source-$KVER_WANT" "$SRC" && rm -rf "$tmp"
	check_version "$TARBALL" "install Debian 12's linux-source-$KVER_WANT"
}

copy_user_tree() {
	if [ ! -f "$KSRC/Makefile" ] || [ ! -d "$KSRC/kernel" ] || [ ! -d "$KSRC/mm" ]; then
		die "KSRC=$KSRC is not a kernel source tree" \
			"point KSRC at the top of a Linux $KVER_WANT.y tree"
	fi
	local id
	id="$KSRC $(git -C "$KSRC" rev-parse HEAD 2>/dev/null || echo no-git)"
	if [ -f "$STATE/origin" ] && [ "$(cat "$STATE/origin")" = "$id" ]; then
		return
	fi
	say "copying $KSRC (the project never writes to KSRC)"
	rm -rf "$SRC" "$SRC.copying"
	rsync -a --exclude=.git "$KSRC/" "$SRC.copying/" ||
		die "cannot copy $KSRC" "check that it is readable"
	mv "$SRC.copying" "$SRC"
	mkdir -p "$STATE" && echo "$id" >"$STATE/origin"
	check_version "KSRC=$KSRC" "use a $KVER_WANT.y tree, or unset KSRC to use Debian's source"
}

# Revert an applied patch with the copy of it that was applied.
pop_patch() {
	local name=$1
	apply_patch "$SRC" "$STATE/patches/$name" -R >/dev/null ||
		die "cannot revert $name from $SRC" \
			"remove $SRC (rm -rf $SRC) and run again"
	rm -f "$STATE/patches/$name"
	sed -i '$d' "$STATE/applied"
}

push_patch() {
	local name=$1 file=$TOP/patches/$1 failing
	[ -f "$file" ] || die "patches/series names $name, which does not exist" \
		"add the patch or remove it from patches/series"
	failing=$(apply_patch "$SRC" "$file") ||
		die "patch $name does not apply to $SRC ($(kernel_version)); failing: $failing" \
			"refresh the patch for this kernel; the tree is left as it was before it"
	cp "$file" "$STATE/patches/$name"
	echo "$name" >>"$STATE/applied"
	say "  applied $name"
}

# The part of a patch that changes files; its changelog may change freely.
patch_diff() {
	sed -n '/^diff --git/,$p' "$1"
}

# Keep the applied patches whose diff is unchanged and that are still in the
# same place in the series; revert the rest (newest first), then apply what
# is missing.
apply_series() {
	mkdir -p "$STATE/patches"
	touch "$STATE/applied"
	local -a want have
	mapfile -t want < <(series_patches)
	mapfile -t have <"$STATE/applied"
	local keep=0
	while [ $keep -lt ${#have[@]} ] && [ $keep -lt ${#want[@]} ] &&
	      [ "${have[$keep]}" = "${want[$keep]}" ] &&
	      cmp -s <(patch_diff "$TOP/patches/${want[$keep]}") \
		     <(patch_diff "$STATE/patches/${have[$keep]}"); do
		cp "$TOP/patches/${want[$keep]}" "$STATE/patches/${have[$keep]}"
		keep=$((keep + 1))
	done
	local i
	for ((i = ${#have[@]} - 1; i >= keep; i--)); do
		pop_patch "${have[$i]}"
		say "  reverted ${have[$i]}"
	done
	for ((i = keep; i < ${#want[@]}; i++)); do
		push_patch "${want[$i]}"
	done
}

# Copy new files whose content changed; delete those the project dropped.
copy_new_files() {
	local list=$STATE/files.new f n=0
	local dirs=()
	for f in $NEW_FILE_DIRS; do
		[ -d "$TOP/$f" ] && dirs+=("$f")
	done
	(cd "$TOP" && find "${dirs[@]}" -type f | sort) >"$list"
	while read -r f; do
		if ! cmp -s "$TOP/$f" "$SRC/$f"; then
			install -D -m 644 "$TOP/$f" "$SRC/$f"
			n=$((n + 1))
		fi
	done <"$list"
	if [ -f "$STATE/files" ]; then
		comm -23 "$STATE/files" "$list" | while read -r f; do
			rm -f "$SRC/$f"
		done
	fi
	mv "$list" "$STATE/files"
	say "  $n new or changed project files copied"
}

if [ -n "${KSRC:-}" ]; then
	copy_user_tree
elif [ ! -f "$SRC/Makefile" ]; then
	unpack_debian_source
fi
check_version "$SRC" "remove $SRC and run again"
apply_series
copy_new_files
kernel_version >"$BUILD/kernel-version"
