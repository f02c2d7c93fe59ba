#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: measure pgmap_alloc against hand-written allocators in QEMU
# (2 vCPUs, TCG), print a table and write build/bench.json.
#   BENCH_SIZES=1,16,64   device memory sizes in GiB
#   BENCH_ARGS=a=1,b=2    more parameters of pgmap_alloc_bench
#   QEMU_MEM=9G           guest RAM: four allocators each get a pgmap of the
#                         largest size, 1 GiB of struct pages per 64 GiB
. "$(dirname "$0")/lib/common.sh"

sizes=${BENCH_SIZES:-1,16,64}
console=$LOGS/bench-console.log

stage 1/4 "installing missing packages and preparing $SRC"
"$TOP/scripts/install-deps.sh"
"$TOP/scripts/prepare-source.sh" >/dev/null
stage 2/4 "building the kernel (log: $LOGS/build-run.log)"
kernel=$("$TOP/scripts/build-kernel.sh" run "$TOP/configs/run.config" \
	"$TOP/configs/hmm.config")
stage 3/4 "making the initramfs"
"$TOP/scripts/make-initramfs.sh" "$BUILD/bench-initramfs.cpio.gz" \
	"$TOP/scripts/guest/guest-bench.sh" "$BUILD/run/lib/tests/pgmap_alloc_bench.ko"
# No THP: the eviction figures migrate a process's buffer page by page.
stage 4/4 "running the benchmark in QEMU, 2 vCPUs, sizes $sizes GiB (console: $console)"
QEMU_MEM=${QEMU_MEM:-9G} "$TOP/scripts/boot-qemu.sh" "$kernel" \
	"$BUILD/bench-initramfs.cpio.gz" "$console" 5400 "bench_sizes=$sizes" \
	transparent_hugepage=never \
	${BENCH_ARGS:+"bench_args=$BENCH_ARGS"}
grep -aq 'pgmap_alloc_bench: done' "$console" ||
	die "the benchmark did not finish" "see $console"
python3 "$TOP/scripts/bench-report.py" "$console" "$BUILD/bench.json" \
	"$(cat "$BUILD/kernel-version")"
