#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Put the static programs the guests run into build/bin/: the sample's
# demo, which kbuild builds with the kernel, from that kernel's build
# directory, and the kernel's own hmm-tests selftest (from the prepared tree).
# Usage: build-userspace.sh [KERNEL_BUILD_DIR]   (default: build/run)
. "$(dirname "$0")/lib/common.sh"

bin=$BUILD/bin
mkdir -p "$bin"
demo=${1:-$BUILD/run}/samples/pgmap_alloc/pgmap_alloc_demo
[ -f "$demo" ] || die "the kernel build made no $demo" "build that kernel first"
cp "$demo" "$bin/pgmap_alloc_demo"
run_logged "$LOGS/build-hmm-tests.log" gcc -static -O2 -I"$SRC" \
	-I"$SRC/tools/testing/selftests" -I"$SRC/tools/include/uapi" \
	-o "$bin/hmm-tests" "$SRC/tools/testing/selftests/mm/hmm-tests.c" -lpthread
