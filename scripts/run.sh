#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make run: build a kernel with pgmap_alloc and its sample driver, boot it in
# QEMU, and show the allocator at work through the sample's demo.
. "$(dirname "$0")/lib/common.sh"

console=$LOGS/run-console.log
start=$(date +%s)

stage 1/5 "installing missing packages"
"$TOP/scripts/install-deps.sh"

stage 2/5 "preparing the kernel tree in $SRC"
"$TOP/scripts/prepare-source.sh"
kver=$(cat "$BUILD/kernel-version")
say "  Linux $kver"

stage 3/5 "building the kernel and the sample module (log: $LOGS/build-run.log)"
kernel=$("$TOP/scripts/build-kernel.sh" run "$TOP/configs/run.config" \
	"$TOP/configs/hmm.config")
module=$BUILD/run/samples/pgmap_alloc/pgmap_alloc_sample.ko
[ -f "$module" ] || die "the build made no $module" "see $LOGS/build-run.log"

stage 4/5 "building the demo program and a busybox initramfs"
"$TOP/scripts/build-userspace.sh"
"$TOP/scripts/make-initramfs.sh" "$BUILD/demo-initramfs.cpio.gz" \
	"$TOP/scripts/guest/guest-demo.sh" "$module" "$BUILD/bin/pgmap_alloc_demo"

stage 5/5 "booting in QEMU, 2 vCPUs (console: $console)"
"$TOP/scripts/boot-qemu.sh" "$kernel" "$BUILD/demo-initramfs.cpio.gz" "$console" 900 loglevel=5

# What the guest printed, without the kernel's boot messages.
say ""
sed -n '/^== guest: Linux/,/^== guest: done/p' "$console" | tr -d '\r'
say ""

verdict=$(grep -a -o 'pgmap_alloc demo: \(PASS\|FAIL\).*' "$console" | tail -n 1 | tr -d '\r')
reports=$(console_reports "$console" || true)
say "Summary: Linux $kver, $(($(date +%s) - start)) s"
say "  demo:          ${verdict:-did not finish}"
say "  kernel log:    ${reports:+$(echo "$reports" | wc -l) report(s), first: $(echo "$reports" | head -n 1)}${reports:-no warnings, BUGs or lockdep reports}"
say "  console:       $console"
case $verdict in
*PASS*) [ -z "$reports" ] || die "the kernel reported problems (above)" "read $console" ;;
*) die "the demo did not pass" "read $console" ;;
esac
