#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build an x86_64 kernel and its modules out of tree in build/NAME from
# Kconfig fragments (the rest is Kconfig defaults). Incremental: an
# unchanged config and tree rebuild nothing.
# Usage: build-kernel.sh NAME FRAGMENT...
. "$(dirname "$0")/lib/common.sh"

name=$1
shift
out=$BUILD/$name
log=$LOGS/build-$name.log
mkdir -p "$out"

# Regenerate .config only when a fragment changed, so make keeps its work.
cat "$@" >"$out/config.fragment.new"
if ! cmp -s "$out/config.fragment.new" "$out/config.fragment" || [ ! -f "$out/.config" ]; then
	cp "$out/config.fragment.new" "$out/.config"
	run_logged "$log" make -C "$SRC" O="$out" ARCH=x86_64 olddefconfig
	missing=$(grep -h '^CONFIG_' "$@" | while read -r line; do
		grep -qx "$line" "$out/.config" || echo "$line"
	done)
	[ -z "$missing" ] || die "these options did not stick (unmet dependencies?): $missing" \
		"check the fragments: $*"
	mv "$out/config.fragment.new" "$out/config.fragment"
fi

run_logged "$log" make -C "$SRC" O="$out" ARCH=x86_64 -j"$(nproc)" bzImage modules
echo "$out/arch/x86/boot/bzImage"
