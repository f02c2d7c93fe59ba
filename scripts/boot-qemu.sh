#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Boot KERNEL with INITRD in QEMU (2 vCPUs, TCG) until the guest reboots,
# the console in LOG. A guest that does not finish within TIMEOUT seconds
# is killed and the tail of its console shown. QEMU is never left running.
# Usage: boot-qemu.sh KERNEL INITRD LOG [TIMEOUT] [extra kernel args]
. "$(dirname "$0")/lib/common.sh"

kernel=$1 initrd=$2 log=$3 limit=${4:-600}
shift 4 || shift $#
command -v qemu-system-x86_64 >/dev/null ||
	die "qemu-system-x86_64 is missing" "apt-get install qemu-system-x86"

# KVM guests hang on these machines; use KVM only if asked and it works.
accel=(-accel tcg)
if [ "${PGMAP_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then
	accel=(-accel kvm -cpu host)
fi

status=0
timeout --kill-after=10 "$limit" qemu-system-x86_64 "${accel[@]}" \
	-smp 2 -m "${QEMU_MEM:-2G}" -nographic -no-reboot \
	-bios qboot.rom -kernel "$kernel" -initrd "$initrd" \
	-append "console=ttyS0 panic=-1 oops=panic loglevel=6 $*" \
	</dev/null >"$log" 2>&1 || status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	tail -n 20 "$log" >&2
	die "the guest did not finish within ${limit}s (console above, all of it in $log)" \
		"a hang or a very slow machine: see the console"
fi
[ "$status" -eq 0 ] || die "qemu-system-x86_64 failed (status $status); see $log"
