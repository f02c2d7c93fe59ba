#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# /init of the benchmark guest: load pgmap_alloc_bench with the sizes given
# as bench_sizes= on the kernel command line, show the kept pool's figures.
. /guest-common.sh

sizes=1,16,64
for arg in $(cat /proc/cmdline); do
	case $arg in
	bench_sizes=*) sizes=${arg#bench_sizes=} ;;
	bench_args=*) BENCH_ARGS=$(echo "${arg#bench_args=}" | tr , ' ') ;;
	esac
done
insmod /pgmap_alloc_bench.ko sizes_gib="$sizes" $BENCH_ARGS
dmesg | grep "pgmap_alloc_bench:"
echo "== stats of the largest pool:"
sed 's/^/pgmap_alloc_bench_stats: /' /sys/kernel/debug/pgmap_alloc/bench/stats
rmmod pgmap_alloc_bench
echo "== guest: done"
reboot -f
