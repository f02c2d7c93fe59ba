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
#include "model.h"

static unsigned long current_seed;
static const char *current_file;

/* A failure (a check, or a sanitizer's report) says how to replay it. */
static void say_replay(void)
{
	if (current_file)
		fprintf(stderr, "harness: failed on input %s; replay: ./pgmap_alloc_harness --replay %s\n",
			current_file, current_file);
	else
		fprintf(stderr, "harness: failed with seed %lu; replay: ./pgmap_alloc_harness --seed %lu -v\n",
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
	printf("harness: %lu seeds of %lu steps passed: %lu allocations, %lu frees, %lu -ENOMEM, %lu pools, %lu pgmaps (%lu released), %lu CPUs offlined, %lu work items\n",
	       nr_seeds, steps, stats.allocs, stats.frees, stats.enomem, stats.pools,
	       stats.pgmaps, stats.releases, stats.offlines, stats.work);
	return 0;
}
