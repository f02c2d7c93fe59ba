#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Build the static programs the guests run into build/bin/: the sample's
# demo and the kernel's own hmm-tests selftest (from the prepared tree).
. "$(dirname "$0")/lib/common.sh"

bin=$BUILD/bin
mkdir -p "$bin"
run_logged "$LOGS/build-demo.log" gcc -static -O2 -Wall -Werror \
	-I"$TOP/samples/pgmap_alloc" -o "$bin/pgmap_alloc_demo" \
	"$TOP/samples/pgmap_alloc/pgmap_alloc_demo.c"
run_logged "$LOGS/build-hmm-tests.log" gcc -static -O2 -I"$SRC" \
	-I"$SRC/tools/testing/selftests" -I"$SRC/tools/include/uapi" \
	-o "$bin/hmm-tests" "$SRC/tools/testing/selftests/mm/hmm-tests.c" -lpthread
