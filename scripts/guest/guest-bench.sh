#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=dash # busybox ash: shellcheck knows dash, not ash
# /init of the benchmark guest: load pgmap_alloc_bench with the sizes given
# as bench_sizes= on the kernel command line, show the kept pool's figures.
# shellcheck source=guest-common.sh
. /guest-common.sh
guest_setup

sizes=1,16,64
# shellcheck disable=SC2013 # the command line is words, not lines
for arg in $(cat /proc/cmdline); do
	case $arg in
	bench_sizes=*) sizes=${arg#bench_sizes=} ;;
	bench_args=*) BENCH_ARGS=$(echo "${arg#bench_args=}" | tr , ' ') ;;
	esac
done
# shellcheck disable=SC2086 # one module parameter per word
insmod /pgmap_alloc_bench.ko sizes_gib="$sizes" $BENCH_ARGS
dmesg | grep "pgmap_alloc_bench:"
echo "== stats of the largest pool:"
sed 's/^/pgmap_alloc_bench_stats: /' /sys/kernel/debug/pgmap_alloc/bench/stats
# The memmap burst's pool, free and kept mapped: the shrinkers give it back.
burst=/sys/kernel/debug/pgmap_alloc/bench-burst/stats
if [ -f $burst ]; then
	start=$(cut -d' ' -f1 /proc/uptime)
	echo 2 > /proc/sys/vm/drop_caches
	n=0
	while [ "$(sed -n 's/^pgmaps: //p' $burst)" != 1 ] && [ $n -lt 250 ]; do
		usleep 20000
		n=$((n + 1))
	done
	end=$(cut -d' ' -f1 /proc/uptime)
	echo "pgmap_alloc_bench: memmap/after-drop-caches-bytes $(sed -n 's/^memmap_bytes: //p' $burst) bytes"
	echo "pgmap_alloc_bench: memmap/after-drop-caches-ms $(echo "$start $end" | awk '{ printf "%d", ($2 - $1) * 1000 }') ms"
fi
rmmod pgmap_alloc_bench
echo "== guest: done"
reboot -f
