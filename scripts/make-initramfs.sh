#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Make a busybox initramfs whose /init is GUEST_SCRIPT, with FILES in /.
# Usage: make-initramfs.sh OUTPUT GUEST_SCRIPT [FILE...]
. "$(dirname "$0")/lib/common.sh"

out=$1 init=$2
shift 2
busybox=/bin/busybox
[ -x "$busybox" ] || busybox=$(command -v busybox || true)
[ -x "$busybox" ] || die "busybox not found" "apt-get install busybox-static"

root=$(mktemp -d "$BUILD/initramfs.XXXXXX")
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,dev,proc,sys,tmp}
cp "$busybox" "$root/bin/busybox"
install -m 755 "$init" "$root/init"
cp "$TOP/scripts/guest/guest-common.sh" "$root/"
for f in "$@"; do
	cp "$f" "$root/"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out.tmp"
mv "$out.tmp" "$out"
