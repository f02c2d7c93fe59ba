#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash # busybox ash: shellcheck knows dash, not ash
# /init of the debug guests (KASAN, lockdep, kmemleak... or KCSAN): run the
# KUnit suites as a module, then, if present, the demo and hmm-tests, then a
# kmemleak scan. The host scans the console for any report.
# shellcheck source=guest-common.sh
. /guest-common.sh
guest_setup

# Let fault injection fail sleeping allocations too, quietly; the KUnit
# fault-injection case arms it per allocation with fail-nth.
for f in failslab fail_page_alloc; do
	d=/sys/kernel/debug/$f
	[ -d $d ] || continue
	echo N > $d/ignore-gfp-wait
	echo 0 > $d/verbose
	[ -f $d/ignore-gfp-highmem ] && echo N > $d/ignore-gfp-highmem
	[ -f $d/min-order ] && echo 0 > $d/min-order
done
echo "== kunit begin"
dmesg -c >/dev/null
insmod /genalloc_kunit.ko
insmod /pgmap_kunit_tests.ko
# The console shows warnings only; KUnit's report is at info level.
dmesg -c
echo "== kunit end"
rmmod pgmap_kunit_tests genalloc_kunit

if [ -f /pgmap_alloc_sample.ko ]; then
	# The demo ends by unloading the module; if it stopped early, we do.
	insmod /pgmap_alloc_sample.ko && /pgmap_alloc_demo 8
	[ -d /sys/module/pgmap_alloc_sample ] && rmmod pgmap_alloc_sample
	[ -d /sys/module/pgmap_alloc_sample ] || echo "== sample driver unloaded"
fi
if [ -f /hmm-tests ]; then
	echo "== hmm-tests begin: debug"
	insmod /test_hmm.ko spm_addr_dev0=0x40000000 spm_addr_dev1=0x50000000 &&
		/hmm-tests
	rmmod test_hmm && echo "== test_hmm unloaded: debug"
	echo "== hmm-tests end: debug"
fi
if [ -f /sys/kernel/debug/kmemleak ]; then
	# Two scans: an object is only reported once it has been seen twice.
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	echo "== kmemleak:"
	cat /sys/kernel/debug/kmemleak
	echo "== kmemleak end"
fi
echo "== guest: done"
reboot -f
