// SPDX-License-Identifier: GPL-2.0
/*
 * pgmap_alloc_bench: the allocator's own cost, natively, without emulation.
 *
 * The same allocators and cells as lib/tests/pgmap_alloc_bench.c, built
 * with -O2 against the shims: one operation takes a page, unlocks it and
 * drops its reference, which frees it back through the emulated
 * free_zone_device_folio():
 * - floor:    zone_device_page_init()'s work on a page chosen for free;
 * - request:  pgmap_request_folio() on a page chosen for free;
 * - freelist: a spinlock-protected LIFO list through zone_device_data;
 * - bitmap:   a spinlock-protected bitmap, find_first_zero_bit();
 * - genpool:  raw gen_pool first fit;
 * - pgmap_alloc: pgmap_alloc_folio().
 * Each at 1, 16 and 64 GiB, 0/50/95% full (the kernel benchmark's pattern
 * of held pages), on one thread and on two (pinned to two host CPUs).
 * A cell is measured RUNS times; each run is REPS interleaved repetitions
 * of every allocator, and its figure is the median of the ratios within a
 * repetition. The spread of a ratio is (max - min) / median over the runs.
 * Then the kernel benchmark's churn, same generator and seeds.
 *
 *   pgmap_alloc_bench [--sizes 1,16,64] [--runs 5] [--json FILE]
 */
#include <getopt.h>
#include <sched.h>
#include <time.h>

#include "shim/shim.h"
#include <linux/genalloc.h>
#include <linux/pgmap_alloc.h>

enum { FLOOR, REQUEST, FREELIST, BITMAP, GENPOOL, POOL, NR_ALLOCATORS };
static const char *const names[NR_ALLOCATORS] = {
	"floor", "request", "freelist", "bitmap", "genpool", "pgmap_alloc",
};

#define REPS		5
#define MAX_RUNS	9
#define ITERS		500000
#define GEN_BASE	MAX_ORDER_NR_PAGES

static struct dev_pagemap *maps[NR_ALLOCATORS];
static unsigned long map_pages[NR_ALLOCATORS];
static unsigned int runs = 5;
static FILE *json;
static bool json_first = true;

static void report(const char *name, double value, const char *unit)
{
	printf("  %-58s %10.2f %s\n", name, value, unit);
	if (json) {
		fprintf(json, "%s {\"name\": \"native/%s\", \"value\": %.3f, \"unit\": \"%s\"}",
			json_first ? "" : ",\n", name, value, unit);
		json_first = false;
	}
}

static unsigned long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000UL + ts.tv_nsec;
}

/* hash_64() of <linux/hash.h>: the kernel benchmark's pattern of held pages */
static bool held_at(unsigned long offset, unsigned int percent)
{
	return ((offset * 0x61C8864680B583EBULL) >> 32) % 100 < percent;
}

static struct page *map_page(int a, unsigned long offset)
{
	return pfn_to_page(PHYS_PFN(maps[a]->range.start) + offset);
}

/*
 * The kernel's spinlock, uncontended: one atomic to take it, a release
 * store to drop it (a pthread mutex would cost the baselines more).
 */
static void spin(int *lock)
{
	while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(lock, __ATOMIC_RELAXED))
			cpu_relax();
}

static void unspin(int *lock)
{
	__atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}

/* 6.12's zone_device_page_init(): a pgmap reference, refcount 1, locked */
static void page_init(struct page *page)
{
	__atomic_add_fetch(&page->pgmap->ref.cpu[shim_cpu].count, 1, __ATOMIC_SEQ_CST);
	atomic_set(&page->_refcount, 1);
	lock_page(page);
}

/* === The allocators ======================================================= */

static struct page *floor_alloc(int thread)
{
	page_init(map_page(FLOOR, thread));
	return map_page(FLOOR, thread);
}

static struct page *request_alloc(int thread)
{
	struct folio *folio = pgmap_request_folio(maps[REQUEST], thread, 0);

	return IS_ERR(folio) ? NULL : &folio->page;
}

static int freelist_lock;
static struct page *freelist_head;

static struct page *freelist_alloc(int thread)
{
	struct page *page;

	spin(&freelist_lock);
	page = freelist_head;
	if (page)
		freelist_head = page->zone_device_data;
	unspin(&freelist_lock);
	if (page)
		page_init(page);
	return page;
}

static void freelist_free(struct page *page)
{
	spin(&freelist_lock);
	page->zone_device_data = freelist_head;
	freelist_head = page;
	unspin(&freelist_lock);
}

static int bitmap_lock;
static unsigned long *bitmap;

static struct page *bitmap_alloc(int thread)
{
	unsigned long bit;

	spin(&bitmap_lock);
	bit = find_first_zero_bit(bitmap, map_pages[BITMAP]);
	if (bit < map_pages[BITMAP])
		__set_bit(bit, bitmap);
	unspin(&bitmap_lock);
	if (bit >= map_pages[BITMAP])
		return NULL;
	page_init(map_page(BITMAP, bit));
	return map_page(BITMAP, bit);
}

static void bitmap_free_page(struct page *page)
{
	spin(&bitmap_lock);
	__clear_bit(page_to_pfn(page) - PHYS_PFN(maps[BITMAP]->range.start), bitmap);
	unspin(&bitmap_lock);
}

static struct gen_pool *genpool;

static struct page *genpool_alloc(int thread)
{
	unsigned long addr = gen_pool_alloc(genpool, 1);

	if (!addr)
		return NULL;
	page_init(map_page(GENPOOL, addr - GEN_BASE));
	return map_page(GENPOOL, addr - GEN_BASE);
}

static void genpool_free(struct page *page)
{
	gen_pool_free(genpool, GEN_BASE + page_to_pfn(page) -
		      PHYS_PFN(maps[GENPOOL]->range.start), 1);
}

static struct pgmap_alloc *pool;

static struct page *pool_alloc(int thread)
{
	struct folio *folio = pgmap_alloc_folio(pool, 0, GFP_KERNEL);

	return IS_ERR(folio) ? NULL : &folio->page;
}

static struct page *(*const alloc_fn[NR_ALLOCATORS])(int thread) = {
	floor_alloc, request_alloc, freelist_alloc, bitmap_alloc, genpool_alloc, pool_alloc,
};

/* ->page_free: the driver's allocator takes the page back. */
static void bench_page_free(struct page *page)
{
	struct dev_pagemap *pgmap = page->pgmap;

	if (pgmap == maps[FREELIST])
		freelist_free(page);
	else if (pgmap == maps[BITMAP])
		bitmap_free_page(page);
	else if (pgmap == maps[GENPOOL])
		genpool_free(page);
}

static const struct dev_pagemap_ops bench_pgmap_ops = {
	.page_free = bench_page_free,
};

/* === Setting up a cell ==================================================== */

static struct page **held_pages;
static unsigned long nr_held;

static void map_all(unsigned long nr_pages)
{
	int a;

	for (a = 0; a < NR_ALLOCATORS; a++) {
		map_pages[a] = a <= REQUEST ? 2 : nr_pages;
		maps[a] = calloc(1, sizeof(*maps[a]) + sizeof(struct range));
		maps[a]->type = MEMORY_DEVICE_PRIVATE;
		maps[a]->ops = &bench_pgmap_ops;
		maps[a]->nr_range = 1;
		maps[a]->range.end = PFN_PHYS(map_pages[a]) - 1;
		if (IS_ERR(memremap_pages(maps[a], NUMA_NO_NODE))) {
			fprintf(stderr, "bench: cannot map %lu pages\n", map_pages[a]);
			exit(2);
		}
	}
}

static void unmap_all(void)
{
	int a;

	for (a = 0; a < NR_ALLOCATORS; a++) {
		memunmap_pages(maps[a]);
		free(maps[a]);
	}
}

static void occupy(unsigned int percent)
{
	unsigned long n = map_pages[POOL], i;
	struct page **pages;

	freelist_head = NULL;
	for (i = n; i-- > 0;)
		if (!held_at(i, percent))
			freelist_free(map_page(FREELIST, i));
	bitmap = calloc(BITS_TO_LONGS(n), sizeof(long));
	for (i = 0; i < n; i++)
		if (held_at(i, percent))
			__set_bit(i, bitmap);
	genpool = gen_pool_create(0, NUMA_NO_NODE);
	if (!genpool || gen_pool_add(genpool, GEN_BASE, n, NUMA_NO_NODE))
		exit(2);
	for (i = 0; i < n; i++) {
		struct genpool_data_fixed at = { .offset = i };

		if (held_at(i, percent) &&
		    !gen_pool_alloc_algo(genpool, 1, gen_pool_fixed_alloc, &at))
			exit(2);
	}
	pool = pgmap_alloc_init(maps[POOL], "bench");
	pages = malloc(n * sizeof(*pages));
	if (IS_ERR(pool) || !pages)
		exit(2);
	for (i = 0; i < n; i += MAX_ORDER_NR_PAGES)
		if (pgmap_alloc_range(pool, min(n - i, MAX_ORDER_NR_PAGES), GFP_KERNEL, pages + i))
			exit(2);
	nr_held = 0;
	for (i = 0; i < n; i++) {
		folio_unlock(page_folio(pages[i]));
		if (held_at(page_pgmap_offset(pages[i]), percent))
			pages[nr_held++] = pages[i];
		else
			folio_put(page_folio(pages[i]));
	}
	held_pages = pages;
}

static void release(unsigned int percent)
{
	unsigned long i;

	while (nr_held)
		folio_put(page_folio(held_pages[--nr_held]));
	free(held_pages);
	pgmap_alloc_destroy(pool);
	free(bitmap);
	for (i = 0; i < map_pages[GENPOOL]; i++)
		if (held_at(i, percent))
			gen_pool_free(genpool, GEN_BASE + i, 1);
	gen_pool_destroy(genpool);
}

/* === Measuring ============================================================ */

static unsigned long loop(int a, int thread)
{
	unsigned long start = now_ns();
	unsigned int i;

	for (i = 0; i < ITERS; i++) {
		struct page *page = alloc_fn[a](thread);

		if (!page) {
			fprintf(stderr, "bench: %s failed\n", names[a]);
			exit(2);
		}
		folio_unlock(page_folio(page));
		folio_put(page_folio(page));
	}
	return now_ns() - start;
}

struct bench_thread {
	pthread_t thread;
	pthread_barrier_t *start;
	int a, id;
	unsigned long ns;
};

static void *thread_fn(void *data)
{
	struct bench_thread *t = data;
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(t->id, &set);
	sched_setaffinity(0, sizeof(set), &set);
	shim_thread_start();
	shim_set_cpu(t->id, true);
	pthread_barrier_wait(t->start);
	t->ns = loop(t->a, t->id);
	shim_release_cpu(t->id);
	shim_thread_stop();
	return NULL;
}

/* Both threads at once: the time until the slower one is done. */
static unsigned long two_threads(int a)
{
	struct bench_thread t[2] = { 0 };
	pthread_barrier_t start;
	int i;

	pthread_barrier_init(&start, NULL, 2);
	for (i = 0; i < 2; i++) {
		t[i] = (struct bench_thread){ .start = &start, .a = a, .id = i };
		pthread_create(&t[i].thread, NULL, thread_fn, &t[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i].thread, NULL);
	pthread_barrier_destroy(&start);
	return max(t[0].ns, t[1].ns);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, unsigned int n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return v[n / 2];
}

/* A ratio's median over the runs, and its spread in percent */
static void report_ratio(const char *label, double *per_run)
{
	char name[128];
	double mid, lo, hi;

	qsort(per_run, runs, sizeof(*per_run), cmp_double);
	lo = per_run[0];
	hi = per_run[runs - 1];
	mid = per_run[runs / 2];
	report(label, mid, "x");
	snprintf(name, sizeof(name), "%s/spread", label);
	report(name, (hi - lo) * 100 / mid, "%");
}

static void cell(unsigned long gib, unsigned int percent)
{
	double one[NR_ALLOCATORS][REPS], two[NR_ALLOCATORS][REPS];
	double vs_list[MAX_RUNS], vs_floor[MAX_RUNS], tp_floor[MAX_RUNS];
	double ns_one[NR_ALLOCATORS][MAX_RUNS], ops_two[NR_ALLOCATORS][MAX_RUNS];
	double ratios[REPS];
	unsigned int run, r, a;
	char name[128];

	occupy(percent);
	shim_set_cpu(0, false);
	for (a = 0; a < NR_ALLOCATORS; a++)
		loop(a, 0);	/* warm up */
	for (run = 0; run < runs; run++) {
		for (r = 0; r < REPS; r++) {
			for (a = 0; a < NR_ALLOCATORS; a++) {
				one[a][r] = loop(a, 0);
				two[a][r] = two_threads(a);
			}
		}
		for (r = 0; r < REPS; r++)
			ratios[r] = one[POOL][r] / one[FREELIST][r];
		vs_list[run] = median(ratios, REPS);
		for (r = 0; r < REPS; r++)
			ratios[r] = one[POOL][r] / one[FLOOR][r];
		vs_floor[run] = median(ratios, REPS);
		/* Throughput on two threads: the inverse of the time */
		for (r = 0; r < REPS; r++)
			ratios[r] = two[FLOOR][r] / two[POOL][r];
		tp_floor[run] = median(ratios, REPS);
		for (a = 0; a < NR_ALLOCATORS; a++) {
			ns_one[a][run] = median(one[a], REPS) / ITERS;
			ops_two[a][run] = 2.0 * ITERS * 1e6 / median(two[a], REPS);
		}
	}
	shim_set_cpu(0, false);
	release(percent);

	printf(" %lu GiB, %u%% full:\n", gib, percent);
	for (a = 0; a < NR_ALLOCATORS; a++) {
		snprintf(name, sizeof(name), "%s/order0/%luGiB/%u%%/1cpu", names[a], gib, percent);
		report(name, median(ns_one[a], runs), "ns/op");
		snprintf(name, sizeof(name), "%s/order0/%luGiB/%u%%/2cpu", names[a], gib, percent);
		report(name, median(ops_two[a], runs), "ops/ms");
	}
	snprintf(name, sizeof(name), "ratio/pgmap_alloc-vs-freelist-1cpu/%luGiB/%u%%",
		 gib, percent);
	report_ratio(name, vs_list);
	snprintf(name, sizeof(name), "ratio/pgmap_alloc-vs-floor-1cpu/%luGiB/%u%%", gib, percent);
	report_ratio(name, vs_floor);
	snprintf(name, sizeof(name), "ratio/pgmap_alloc-vs-floor-2cpu-throughput/%luGiB/%u%%",
		 gib, percent);
	report_ratio(name, tp_floor);
}

/* === The kernel benchmark's churn ========================================= */

/*
 * prandom_u32_state() and prandom_seed_state() of the kernel: L'Ecuyer's
 * four-component Tausworthe generator (LFSR113), so that the churn makes
 * the same requests as the kernel benchmark's, seed for seed.
 */
struct lfsr113 {
	u32 s[4];
};

static u32 lfsr113_seed_one(u32 x, u32 min)
{
	return x < min ? x + min : x;
}

static void lfsr113_seed(struct lfsr113 *st, u64 seed)
{
	u32 i = (u32)((seed >> 32) ^ (seed << 10) ^ seed);

	st->s[0] = lfsr113_seed_one(i, 2);
	st->s[1] = lfsr113_seed_one(i, 8);
	st->s[2] = lfsr113_seed_one(i, 16);
	st->s[3] = lfsr113_seed_one(i, 128);
}

static u32 lfsr113_step(u32 s, int a, int b, u32 mask, int d)
{
	return ((s & mask) << d) ^ (((s << a) ^ s) >> b);
}

static u32 lfsr113_next(struct lfsr113 *st)
{
	st->s[0] = lfsr113_step(st->s[0], 6, 13, 4294967294U, 18);
	st->s[1] = lfsr113_step(st->s[1], 2, 27, 4294967288U, 2);
	st->s[2] = lfsr113_step(st->s[2], 13, 21, 4294967280U, 7);
	st->s[3] = lfsr113_step(st->s[3], 3, 12, 4294967168U, 13);
	return st->s[0] ^ st->s[1] ^ st->s[2] ^ st->s[3];
}

static unsigned int churn_order(struct lfsr113 *rnd)
{
	u32 r = lfsr113_next(rnd) % 100;

	if (r < 50)
		return 0;
	if (r < 80)
		return 1 + r % 3;
	if (r < 95)
		return 4 + r % 3;
	return 7 + r % 3;
}

struct churn_entry {
	struct page *first;
	unsigned int order;
};

static void churn_free(struct churn_entry *e)
{
	unsigned long i;

	for (i = 0; i < 1UL << e->order; i++) {
		folio_unlock(page_folio(e->first + i));
		folio_put(page_folio(e->first + i));
	}
}

/* The kernel benchmark's bench_churn() for pgmap_alloc: order-9 share in % */
static unsigned long churn(unsigned int percent, u64 seed)
{
	unsigned long n = map_pages[POOL], target = n * percent / 100;
	unsigned long used = 0, nr = 0, possible, got = 0, op, i;
	struct churn_entry *held = malloc(n * sizeof(*held));
	struct page *pages[MAX_ORDER_NR_PAGES / 2];
	struct lfsr113 rnd;
	unsigned int order;

	pool = pgmap_alloc_init(maps[POOL], "churn");
	if (IS_ERR(pool) || !held)
		exit(2);
	lfsr113_seed(&rnd, seed);
	for (op = 0; op < 20 * (n >> 9) + 50000; op++) {
		if (used < target || !nr) {
			order = churn_order(&rnd);
			if (pgmap_alloc_range(pool, 1UL << order, GFP_KERNEL, pages))
				continue;
			held[nr++] = (struct churn_entry){ pages[0], order };
			used += 1UL << order;
		} else {
			i = lfsr113_next(&rnd) % nr;
			churn_free(&held[i]);
			used -= 1UL << held[i].order;
			held[i] = held[--nr];
		}
	}
	possible = (n - used) >> 9;
	while (got < possible && !pgmap_alloc_range(pool, 512, GFP_KERNEL, pages)) {
		held[nr++] = (struct churn_entry){ pages[0], 9 };
		got++;
	}
	while (nr--)
		churn_free(&held[nr]);
	free(held);
	pgmap_alloc_destroy(pool);
	return possible ? got * 100 / possible : 100;
}

static void fragmentation(void)
{
	static const unsigned int percents[] = { 50, 75, 90 };
	double got[7];
	unsigned int i, s;
	char name[96];

	map_all(SZ_1G >> PAGE_SHIFT);
	shim_set_cpu(0, false);
	printf(" churn, 1 GiB, 7 seeds (42..48), order-9 requests that succeed:\n");
	for (i = 0; i < ARRAY_SIZE(percents); i++) {
		for (s = 0; s < 7; s++)
			got[s] = churn(percents[i], 42 + s);
		snprintf(name, sizeof(name), "pgmap_alloc/order9-after-churn/%u%%", percents[i]);
		report(name, median(got, 7), "%");
		printf("    %.0f..%.0f%% over 7 seeds\n", got[0], got[6]);
	}
	unmap_all();
}

int main(int argc, char **argv)
{
	static const unsigned int percents[] = { 0, 50, 95 };
	char sizes[64] = "1,16,64", *tok, *json_file = NULL;
	unsigned long gib;
	unsigned int i;
	int c;

	while ((c = getopt_long(argc, argv, "", (const struct option[]){
			{ "sizes", required_argument, NULL, 's' },
			{ "runs", required_argument, NULL, 'r' },
			{ "json", required_argument, NULL, 'j' },
			{ } }, NULL)) != -1) {
		if (c == 's')
			snprintf(sizes, sizeof(sizes), "%s", optarg);
		else if (c == 'r')
			runs = clamp(atoi(optarg), 1, MAX_RUNS);
		else if (c == 'j')
			json_file = optarg;
		else
			return 2;
	}
	if (json_file) {
		json = fopen(json_file, "w");
		if (!json) {
			perror(json_file);
			return 2;
		}
		fprintf(json, "[\n");
	}
	shim_thread_start();
	if (shim_core_initcall())
		return 2;
	fprintf(stdout,
		"pgmap_alloc native benchmark (-O2, %u runs of %u repetitions of %u operations per cell)\n",
		runs, REPS, ITERS);
	for (tok = strtok(sizes, ","); tok; tok = strtok(NULL, ",")) {
		gib = strtoul(tok, NULL, 0);
		map_all(gib * (SZ_1G >> PAGE_SHIFT));
		for (i = 0; i < ARRAY_SIZE(percents); i++)
			cell(gib, percents[i]);
		unmap_all();
	}
	fragmentation();
	if (json) {
		fprintf(json, "\n]\n");
		fclose(json);
	}
	return 0;
}
