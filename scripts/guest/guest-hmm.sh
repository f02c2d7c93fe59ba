#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash # busybox ash: shellcheck knows dash, not ash
# /init of the hmm-tests guest: for each /hmm/<variant>/test_hmm.ko, load it
# with two DEVICE_COHERENT ranges (reserved by memmap= on the kernel command
# line), run the kernel's hmm-tests selftest, and unload it.
# shellcheck source=guest-common.sh
. /guest-common.sh
guest_setup

for dir in /hmm/*/; do
	variant=$(basename "$dir")
	echo "== hmm-tests begin: $variant"
	if insmod "$dir/test_hmm.ko" spm_addr_dev0=0x40000000 spm_addr_dev1=0x50000000; then
		ls /dev/hmm_dmirror*
		/hmm-tests
		rmmod test_hmm && echo "== test_hmm unloaded: $variant"
	else
		echo "not ok 1 insmod test_hmm ($variant)"
	fi
	echo "== hmm-tests end: $variant"
done
echo "== guest: done"
reboot -f
