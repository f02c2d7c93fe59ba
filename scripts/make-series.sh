#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make series: turn patches/ and the project's new files into a git
# format-patch series with a cover letter, in build/series/, made as commits
# on a pristine 6.12 tree in build/series-git.
. "$(dirname "$0")/lib/common.sh"
. "$TOP/scripts/lib/series.sh"

repo=$BUILD/series-git
out=$BUILD/series
TARBALL=/usr/src/linux-source-$KVER_WANT.tar.xz
GIT=(git -C "$repo" -c user.name="pgmap_alloc developers" -c user.email=pgmap-alloc@localhost)

# A git repository holding the pristine tree as one commit, tagged "base".
make_base() {
	"${GIT[@]}" rev-parse -q --verify base >/dev/null 2>&1 && return
	say "  making a git repository of the pristine tree (once)"
	rm -rf "$repo" && mkdir -p "$repo"
	if [ -n "${KSRC:-}" ]; then
		git -C "$KSRC" archive HEAD | tar -x -C "$repo" ||
			die "cannot export $KSRC" "KSRC must be a git tree for make series"
	else
		tar -xf "$TARBALL" -C "$repo" --strip-components=1 ||
			die "cannot unpack $TARBALL" "apt-get install --reinstall linux-source-$KVER_WANT"
	fi
	"${GIT[@]}" init -q
	"${GIT[@]}" add -A -f
	"${GIT[@]}" commit -q -m "Linux $(make -s -C "$repo" kernelversion)"
	"${GIT[@]}" tag base
}

# The new files (globs expanded) that belong to patch $1.
new_files_of() {
	local f
	# shellcheck disable=SC2013 # words (paths and globs), not lines
	for f in $(awk -v p="$1" '$1 == p { $1 = ""; print }' "$TOP/patches/new-files"); do
		# shellcheck disable=SC2086 # $f may be a glob, to expand here
		(cd "$TOP" && ls -d $f 2>/dev/null) || die "patches/new-files: $f does not exist"
	done
}

# Commit one patch: its diff, applied as prepare-source.sh applies it, its
# new files, its changelog and author.
commit_patch() {
	local name=$1 file=$TOP/patches/$1 msg=$BUILD/series-msg f author failing
	author=$(sed -n 's/^From: //p;/^$/q' "$file" | head -n 1)
	{
		sed -n 's/^Subject: \(\[PATCH[^]]*\] \)\{0,1\}//p;/^$/q' "$file" | head -n 1
		echo
		sed -n '/^$/,/^---$/p' "$file" | sed '1d;$d'
		echo
		echo "Signed-off-by: $author"
	} >"$msg"
	if grep -q '^diff --git' "$file"; then
		failing=$(apply_patch "$repo" "$file") ||
			die "patch $name does not apply to the pristine tree; failing: $failing" \
				"refresh the patch for Linux $KVER_WANT"
		"${GIT[@]}" add -A
	fi
	for f in $(new_files_of "$name"); do
		install -D -m 644 "$TOP/$f" "$repo/$f"
		"${GIT[@]}" add -f "$f"
	done
	"${GIT[@]}" commit -q --author="$author" -F "$msg"
}

# Every new file must be in exactly one patch, or the series is incomplete.
check_coverage() {
	local all listed
	all=$(cd "$TOP" && find include lib mm Documentation samples tools -type f | sort)
	listed=$(series_patches | while read -r p; do new_files_of "$p"; done | sort)
	if [ "$all" != "$(echo "$listed" | sort -u)" ] || [ "$listed" != "$(echo "$listed" | sort -u)" ]; then
		die "patches/new-files does not list each new file exactly once:
$(diff <(echo "$all") <(echo "$listed") | grep '^[<>]')" "fix patches/new-files"
	fi
}

check_coverage
make_base
"${GIT[@]}" reset -q --hard base
"${GIT[@]}" clean -q -fdx
mapfile -t patches < <(series_patches)
for p in "${patches[@]}"; do
	commit_patch "$p"
done

rm -rf "$out"
"${GIT[@]}" format-patch -q --cover-letter --base=base -o "$out" base
cover=$(ls "$out"/0000-cover-letter.patch)
subject=$(head -n 1 "$TOP/patches/cover-letter")
python3 - "$cover" "$subject" "$TOP/patches/cover-letter" <<'PY'
import sys
path, subject, blurb = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
text = open(path).read()
text = text.replace("*** SUBJECT HERE ***", subject)
text = text.replace("*** BLURB HERE ***", blurb.split("\n", 2)[2].rstrip())
open(path, "w").write(text)
PY
say "  $(find "$out" -type f | wc -l) files in $out (base: $("${GIT[@]}" log -1 --format=%s base))"
