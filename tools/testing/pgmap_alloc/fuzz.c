// SPDX-License-Identifier: GPL-2.0
/*
 * pgmap_alloc_fuzz: libFuzzer drives the model test (model.c) with its
 * input bytes in place of the seeded generator, under AddressSanitizer and
 * UndefinedBehaviorSanitizer. A failed check aborts, which libFuzzer saves
 * as a crash input; copied to regressions/, make test replays it.
 */
#include "shim/shim.h"
#include "model.h"

/* libFuzzer's entry point, LLVMFuzzerTestOneInput() */
int fuzz_one_input(const uint8_t *data, size_t size) __asm__("LLVMFuzzerTestOneInput");

int fuzz_one_input(const uint8_t *data, size_t size)
{
	static struct model_stats stats;
	struct model_source src = { .data = data, .len = size };

	model_init();
	model_run(&src, &stats, false);
	return 0;
}
