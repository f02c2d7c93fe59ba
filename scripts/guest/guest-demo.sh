#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash # busybox ash: shellcheck knows dash, not ash
# /init of the demo guest: load the sample driver and run the demo, which
# ends by unloading it.
# shellcheck source=guest-common.sh
. /guest-common.sh
guest_setup

if insmod /pgmap_alloc_sample.ko; then
	echo "== kernel log of the sample driver:"
	dmesg | grep pgmap_alloc
	echo "== /sys/kernel/debug/pgmap_alloc/sample/stats after loading:"
	cat /sys/kernel/debug/pgmap_alloc/sample/stats
	/pgmap_alloc_demo 8
	# The demo unloads the module itself; if it stopped early, we do.
	[ -d /sys/module/pgmap_alloc_sample ] && rmmod pgmap_alloc_sample
	[ -d /sys/module/pgmap_alloc_sample ] || echo "== sample driver unloaded"
else
	echo "pgmap_alloc demo: FAIL (insmod failed)"
fi
echo "== guest: done"
reboot -f
