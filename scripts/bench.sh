#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# make bench: measure pgmap_alloc against hand-written allocators natively
# (tools/testing/pgmap_alloc, no emulation) and in QEMU (2 vCPUs, TCG),
# print tables and write build/bench.json (native figures as native/...).
#   BENCH_SIZES=1,16,64   device memory sizes in GiB
#   BENCH_NATIVE_ONLY=1   only the native part (a minute or two, no kernel)
#   BENCH_RUNS=5          native runs per cell, for the spread of the ratios
#   BENCH_ARGS=a=1,b=2    more parameters of pgmap_alloc_bench
#   QEMU_MEM=9G           guest RAM: four allocators each get a pgmap of the
#                         largest size, 1 GiB of struct pages per 64 GiB
. "$(dirname "$0")/lib/common.sh"

sizes=${BENCH_SIZES:-1,16,64}
console=$LOGS/bench-console.log

stage 1/5 "installing missing packages and preparing $SRC"
"$TOP/scripts/install-deps.sh"
"$TOP/scripts/prepare-source.sh" >/dev/null
native=$BUILD/bench-native.json
stage 2/5 "the native benchmark, sizes $sizes GiB (log: $LOGS/bench-native.log)"
make -s -C "$SRC/tools/testing/pgmap_alloc" pgmap_alloc_bench >"$LOGS/bench-native.log" 2>&1 ||
	die "the native benchmark does not build" "see $LOGS/bench-native.log"
"$SRC/tools/testing/pgmap_alloc/pgmap_alloc_bench" --sizes "$sizes" \
	--runs "${BENCH_RUNS:-5}" --json "$native" | tee -a "$LOGS/bench-native.log"
if [ -n "${BENCH_NATIVE_ONLY:-}" ]; then
	python3 "$TOP/scripts/bench-merge.py" "$BUILD/bench.json" "$native"
	exit 0
fi
stage 3/5 "building the kernel (log: $LOGS/build-run.log)"
kernel=$("$TOP/scripts/build-kernel.sh" run "$TOP/configs/run.config" \
	"$TOP/configs/hmm.config")
stage 4/5 "making the initramfs"
"$TOP/scripts/make-initramfs.sh" "$BUILD/bench-initramfs.cpio.gz" \
	"$TOP/scripts/guest/guest-bench.sh" "$BUILD/run/lib/tests/pgmap_alloc_bench.ko"
# No THP: the eviction figures migrate a process's buffer page by page.
stage 5/5 "running the benchmark in QEMU, 2 vCPUs, sizes $sizes GiB (console: $console)"
QEMU_MEM=${QEMU_MEM:-9G} "$TOP/scripts/boot-qemu.sh" "$kernel" \
	"$BUILD/bench-initramfs.cpio.gz" "$console" 5400 "bench_sizes=$sizes" \
	transparent_hugepage=never \
	${BENCH_ARGS:+"bench_args=$BENCH_ARGS"}
grep -aq 'pgmap_alloc_bench: done' "$console" ||
	die "the benchmark did not finish" "see $console"
python3 "$TOP/scripts/bench-report.py" "$console" "$BUILD/bench.json" \
	"$(cat "$BUILD/kernel-version")"
python3 "$TOP/scripts/bench-merge.py" "$BUILD/bench.json" "$native"
