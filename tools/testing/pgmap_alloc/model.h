/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The model-based test: a sequence of operations on pools, driven by a
 * seeded generator or by a fuzzer's bytes, checked after every step
 * against a reference model of which offsets are in service.
 */
#ifndef PGMAP_ALLOC_MODEL_H
#define PGMAP_ALLOC_MODEL_H

#include <stddef.h>
#include <stdint.h>

struct model_source {
	uint64_t state;			/* xorshift state, for seeded runs */
	const uint8_t *data;		/* fuzzer input, or NULL */
	size_t len, pos;
	unsigned long steps_left;	/* seeded runs stop after this many */
};

struct model_stats {
	unsigned long steps, allocs, frees, enomem, pools, pgmaps, releases, offlines, work;
};

/* Once, before any sequence: the kernel's initcall and this thread. */
void model_init(void);
/*
 * Run one sequence to its end, check that every page came back and every
 * pgmap was released. Returns 0, or 1 after printing what failed.
 */
int model_run(struct model_source *src, struct model_stats *stats, bool verbose);

static inline void model_seed(struct model_source *src, uint64_t seed,
			      unsigned long steps)
{
	src->state = seed * 0x9e3779b97f4a7c15ULL + 1;
	src->data = NULL;
	src->steps_left = steps;
}

#endif
