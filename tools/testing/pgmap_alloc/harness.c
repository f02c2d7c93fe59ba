// SPDX-License-Identifier: GPL-2.0
/*
 * pgmap_alloc_harness: the model test over many seeds, single-threaded,
 * under AddressSanitizer and UndefinedBehaviorSanitizer.
 *
 *   pgmap_alloc_harness [--seeds N] [--first S] [--steps N]
 *   pgmap_alloc_harness --seed S [-v]     replay one sequence, traced
 *   pgmap_alloc_harness --replay FILE...  run fuzzer inputs (regressions)
 */
#include <getopt.h>
#include <signal.h>
#include <sanitizer/common_interface_defs.h>

#include "shim/shim.h"
#include <linux/pgmap_alloc.h>

#include "model.h"

static unsigned long current_seed;
static const char *current_file;

/* A failure (a check, or a sanitizer's report) says how to replay it. */
static void say_replay(void)
{
	if (current_file)
		fprintf(stderr,
			"harness: failed on input %s; replay: ./pgmap_alloc_harness --replay %s\n",
			current_file, current_file);
	else
		fprintf(stderr,
			"harness: failed with seed %lu; replay: ./pgmap_alloc_harness --seed %lu -v\n",
			current_seed, current_seed);
}

static void on_abort(int sig)
{
	say_replay();
	signal(SIGABRT, SIG_DFL);
	abort();
}

static int replay(const char *file, struct model_stats *stats)
{
	static uint8_t buf[1 << 16];
	struct model_source src = { 0 };
	FILE *f = fopen(file, "rb");

	if (!f) {
		perror(file);
		return 2;
	}
	src.len = fread(buf, 1, sizeof(buf), f);
	src.data = buf;
	fclose(f);
	current_file = file;
	return model_run(&src, stats, false);
}

static void directed_page_free(struct page *page)
{
}

static const struct dev_pagemap_ops directed_pgmap_ops = {
	.page_free = directed_page_free,
};

/*
 * A pgmap of the ranges @ranges, filled with single pages; the pages in
 * [free[i], free[i + 1]) are freed, then a range of @nr pages must come
 * from offset @expect. Placement bugs the model test and a review found,
 * kept as cases that need no seed to reach them.
 */
static int directed(const char *name, const unsigned long *ranges, int nr_range,
		    const unsigned long *free_at, int nr_free, unsigned long nr,
		    unsigned long expect)
{
	struct dev_pagemap *pgmap = calloc(1, sizeof(*pgmap) + 3 * sizeof(struct range));
	unsigned long size = 0, off, i;
	struct page *pages[MAX_ORDER_NR_PAGES];
	struct pgmap_alloc *pa;
	struct folio *folio;
	struct page **held;
	int ret, j, failed = 0;

	pgmap->type = MEMORY_DEVICE_PRIVATE;
	pgmap->ops = &directed_pgmap_ops;
	pgmap->nr_range = nr_range;
	for (j = 0; j < nr_range; j++) {
		pgmap->ranges[j].end = PFN_PHYS(ranges[j]) - 1;
		size += ranges[j];
	}
	held = calloc(size, sizeof(*held));
	if (IS_ERR(memremap_pages(pgmap, NUMA_NO_NODE)))
		return 1;
	pa = pgmap_alloc_init(pgmap, name);
	if (IS_ERR(pa))
		return 1;
	shim_set_cpu(0, false);
	for (i = 0; i < size; i++) {
		folio = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		if (IS_ERR(folio))
			return 1;
		folio_unlock(folio);
		held[page_pgmap_offset(&folio->page)] = &folio->page;
	}
	for (j = 0; j < nr_free; j += 2) {
		for (off = free_at[j]; off < free_at[j + 1]; off++) {
			folio_put(page_folio(held[off]));
			held[off] = NULL;
		}
	}
	ret = pgmap_alloc_range(pa, nr, GFP_KERNEL, pages);
	off = ret ? 0 : page_pgmap_offset(pages[0]);
	if (ret || off != expect) {
		fprintf(stderr, "harness: %s: range of %lu pages: %d, at offset %lu, not %lu\n",
			name, nr, ret, off, expect);
		failed = 1;
	}
	for (i = 0; !ret && i < nr; i++) {
		folio_unlock(page_folio(pages[i]));
		folio_put(page_folio(pages[i]));
	}
	for (i = 0; i < size; i++)
		if (held[i])
			folio_put(page_folio(held[i]));
	pgmap_alloc_destroy(pa);
	memunmap_pages(pgmap);
	free(pgmap);
	free(held);
	return failed;
}

static int directed_cases(void)
{
	/*
	 * Bottom-up: the free pageblock at 0 is stepped over for the hole at
	 * 768, which crosses the end of range 0 (1000).
	 */
	static const unsigned long up_ranges[] = { 1000, 64 };
	static const unsigned long up_free[] = { 0, 512, 768, 1064 };
	/*
	 * Top-down: the lowest hole in the pageblock, at 96, crosses the end
	 * of range 0 (100); the one at 128 does not.
	 */
	static const unsigned long down_ranges[] = { 100, 64 };
	static const unsigned long down_free[] = { 96, 150 };
	/*
	 * Bottom-up, three ranges: the first fit in the free pageblock, at 0,
	 * crosses the end of range 0 (16), and the hole at 512 the end of
	 * range 1 (530); the fit at 32 must not be lost.
	 */
	static const unsigned long three_ranges[] = { 16, 514, 494 };
	static const unsigned long three_free[] = { 0, 560 };
	int failed = 0;

	failed |= directed("fit_up_across_ranges", up_ranges, 2, up_free, 4, 237, 0);
	failed |= directed("fit_down_across_ranges", down_ranges, 2, down_free, 2, 22, 128);
	failed |= directed("fit_up_three_ranges", three_ranges, 3, three_free, 2, 32, 32);
	if (!failed)
		printf("harness: 3 placement cases passed\n");
	return failed;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "seeds", required_argument, NULL, 'n' },
		{ "first", required_argument, NULL, 'f' },
		{ "steps", required_argument, NULL, 't' },
		{ "replay", no_argument, NULL, 'r' },
		{ "verbose", no_argument, NULL, 'v' },
		{ }
	};
	unsigned long first = 1, nr_seeds = 100, steps = 2000, s;
	struct model_stats stats = { 0 };
	bool verbose = false, files = false;
	int c;

	while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			first = strtoul(optarg, NULL, 0);
			nr_seeds = 1;
			break;
		case 'n':
			nr_seeds = strtoul(optarg, NULL, 0);
			break;
		case 'f':
			first = strtoul(optarg, NULL, 0);
			break;
		case 't':
			steps = strtoul(optarg, NULL, 0);
			break;
		case 'r':
			files = true;
			break;
		case 'v':
			verbose = true;
			break;
		default:
			return 2;
		}
	}
	__sanitizer_set_death_callback(say_replay);
	signal(SIGABRT, on_abort);
	model_init();

	if (!files && directed_cases())
		return 1;
	if (files) {
		int nr_files = argc - optind;

		for (; optind < argc; optind++)
			if (replay(argv[optind], &stats))
				return 1;
		printf("harness: %d inputs replayed, %lu steps, %lu allocations\n",
		       nr_files, stats.steps, stats.allocs);
		return 0;
	}
	for (s = first; s < first + nr_seeds; s++) {
		struct model_source src;

		current_seed = s;
		model_seed(&src, s, steps);
		if (model_run(&src, &stats, verbose))
			return 1;
	}
	fprintf(stdout,
		"harness: %lu seeds of %lu steps passed: %lu allocations, %lu frees, %lu -ENOMEM, %lu pools, %lu pgmaps (%lu released), %lu CPUs offlined, %lu work items\n",
		nr_seeds, steps, stats.allocs, stats.frees, stats.enomem, stats.pools,
		stats.pgmaps, stats.releases, stats.offlines, stats.work);
	return 0;
}
