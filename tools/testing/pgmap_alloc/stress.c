// SPDX-License-Identifier: GPL-2.0
/*
 * pgmap_alloc_tsan: many threads on one pool, under ThreadSanitizer.
 *
 * Each of SHIM_NR_CPUS threads is one CPU: it allocates folios and ranges
 * and frees pages that any thread allocated, and runs its CPU's work. One
 * more thread is a hard interrupt that frees pages and allocates with
 * GFP_ATOMIC. CPU 0 also moves time, adds pgmaps and applies memory
 * pressure, so that idle pgmaps leave the pool while the others allocate.
 *
 * Invariants: no page is handed out twice (a flag per pfn, set and cleared
 * with atomic exchanges); a range is consecutive pages; at the end every
 * page is back, every pgmap released, and no warning was issued. Any
 * ThreadSanitizer report fails the run (halt_on_error).
 *
 *   pgmap_alloc_tsan [--seconds S] [--seed N]
 */
#include <getopt.h>
#include <unistd.h>

#include "shim/shim.h"
#include <linux/pgmap_alloc.h>

#define NR_THREADS	(SHIM_NR_CPUS + 1)
#define IRQ_THREAD	SHIM_NR_CPUS
#define BAG_SIZE	4096
#define MAX_PFNS	BIT(20)

static struct pgmap_alloc *pa;
static unsigned char *owned;		/* per pfn: handed out, not yet freed */
static struct page *bag[BAG_SIZE];	/* pages in service, for anyone to free */
static unsigned int bag_nr;
static pthread_mutex_t bag_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stop;
static unsigned long nr_allocs, nr_frees, nr_grown, nr_released;
static int grow_budget = 6;
static unsigned long seconds = 10;

#define fail(fmt, ...) do {						\
	fprintf(stderr, "stress: " fmt "\n", ##__VA_ARGS__);		\
	abort();							\
} while (0)

static void stress_page_free(struct page *page)
{
}

static const struct dev_pagemap_ops stress_pgmap_ops = {
	.page_free = stress_page_free,
};

static struct dev_pagemap *new_pgmap(unsigned long nr, int nr_range)
{
	struct dev_pagemap *pgmap = calloc(1, sizeof(*pgmap) + 2 * sizeof(struct range));
	int r;

	pgmap->type = MEMORY_DEVICE_PRIVATE;
	pgmap->ops = &stress_pgmap_ops;
	pgmap->nr_range = nr_range;
	for (r = 0; r < nr_range; r++)
		pgmap->ranges[r].end = PFN_PHYS(nr / nr_range) - 1;
	if (IS_ERR(memremap_pages(pgmap, NUMA_NO_NODE)))
		fail("memremap_pages");
	return pgmap;
}

static int stress_grow(struct pgmap_alloc *pool, void *data)
{
	struct dev_pagemap *pgmap;
	int ret;

	if (__atomic_sub_fetch(&grow_budget, 1, __ATOMIC_RELAXED) < 0) {
		__atomic_add_fetch(&grow_budget, 1, __ATOMIC_RELAXED);
		return -ENOMEM;
	}
	pgmap = new_pgmap(1024, 1);
	ret = pgmap_alloc_add_pgmap(pool, pgmap);
	if (ret) {
		memunmap_pages(pgmap);
		free(pgmap);
	} else {
		__atomic_add_fetch(&nr_grown, 1, __ATOMIC_RELAXED);
	}
	return ret;
}

static void stress_release(struct pgmap_alloc *pool, struct dev_pagemap *pgmap, void *data)
{
	memunmap_pages(pgmap);
	free(pgmap);
	__atomic_add_fetch(&nr_released, 1, __ATOMIC_RELAXED);
}

static const struct pgmap_alloc_ops stress_ops = {
	.grow = stress_grow,
	.release = stress_release,
};

static unsigned long next_rand(unsigned long *state)
{
	unsigned long x = *state;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	*state = x;
	return x >> 11;
}

static void own(struct page *page)
{
	unsigned long pfn = page_to_pfn(page);

	if (pfn >= MAX_PFNS)
		fail("pfn %lu out of range", pfn);
	if (__atomic_exchange_n(&owned[pfn], 1, __ATOMIC_SEQ_CST))
		fail("pfn %lu handed out twice", pfn);
	if (folio_ref_count(page_folio(page)) != 1)
		fail("pfn %lu has refcount %d", pfn, folio_ref_count(page_folio(page)));
	folio_unlock(page_folio(page));
	__atomic_add_fetch(&nr_allocs, 1, __ATOMIC_RELAXED);
}

static void disown_and_put(struct page *page)
{
	if (!__atomic_exchange_n(&owned[page_to_pfn(page)], 0, __ATOMIC_SEQ_CST))
		fail("pfn %lu freed but not handed out", page_to_pfn(page));
	folio_put(page_folio(page));
	__atomic_add_fetch(&nr_frees, 1, __ATOMIC_RELAXED);
}

/* Into the bag; if it is full, free the page here. */
static void give(struct page *page)
{
	pthread_mutex_lock(&bag_lock);
	if (bag_nr < BAG_SIZE) {
		bag[bag_nr++] = page;
		page = NULL;
	}
	pthread_mutex_unlock(&bag_lock);
	if (page)
		disown_and_put(page);
}

static bool take_and_free(unsigned long *rnd)
{
	struct page *page = NULL;

	pthread_mutex_lock(&bag_lock);
	if (bag_nr) {
		unsigned int i = next_rand(rnd) % bag_nr;

		page = bag[i];
		bag[i] = bag[--bag_nr];
	}
	pthread_mutex_unlock(&bag_lock);
	if (page)
		disown_and_put(page);
	return page;
}

static void alloc_some(unsigned long *rnd, gfp_t gfp)
{
	static const unsigned long sizes[] = { 2, 3, 8, 16, 32, 64, 200, 512 };
	struct page *pages[512];
	struct folio *folio;
	unsigned long nr, i;

	if (next_rand(rnd) % 4) {
		folio = pgmap_alloc_folio(pa, 0, gfp);
		if (IS_ERR(folio)) {
			if (PTR_ERR(folio) != -ENOMEM)
				fail("pgmap_alloc_folio: %ld", PTR_ERR(folio));
			return;
		}
		own(&folio->page);
		give(&folio->page);
		return;
	}
	nr = sizes[next_rand(rnd) % ARRAY_SIZE(sizes)];
	if (pgmap_alloc_range(pa, nr, gfp, pages))
		return;
	for (i = 0; i < nr; i++) {
		if (pages[i] != pages[0] + i)
			fail("range of %lu not consecutive at %lu", nr, i);
		own(pages[i]);
	}
	for (i = 0; i < nr; i++)
		give(pages[i]);
}

static void *cpu_thread(void *arg)
{
	int cpu = (long)arg;
	unsigned long rnd = 0x9e3779b97f4a7c15UL * (cpu + 1), n = 0;

	shim_thread_start();
	shim_set_cpu(cpu, true);
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		unsigned long what = next_rand(&rnd) % 100;

		if (what < 45)
			alloc_some(&rnd, what < 5 ? GFP_NOWAIT : GFP_KERNEL);
		else
			take_and_free(&rnd);
		if (!(++n % 64))
			shim_run_work();
		if (cpu == 0 && !(n % 4096)) {
			shim_advance(200);
			if (!(n % 32768))
				shim_shrink();
			if (!(n % 65536))
				stress_grow(pa, NULL);
		}
	}
	/* This CPU's work, to the end: the others may wait for it. */
	shim_release_cpu(cpu);
	shim_thread_stop();
	return NULL;
}

static void *irq_thread(void *arg)
{
	unsigned long rnd = 12345, n = 0;

	shim_thread_start();
	shim_set_cpu(0, false);
	shim_in_irq = true;
	while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
		if (++n % 8)
			take_and_free(&rnd);
		else
			alloc_some(&rnd, GFP_ATOMIC);
	}
	shim_in_irq = false;
	shim_thread_stop();
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[NR_THREADS];
	unsigned long size;
	int i, c;

	while ((c = getopt(argc, argv, "s:")) != -1)
		if (c == 's')
			seconds = strtoul(optarg, NULL, 0);
	owned = calloc(MAX_PFNS, 1);
	shim_thread_start();
	if (shim_core_initcall())
		fail("initcall");
	pa = pgmap_alloc_create("stress", &stress_ops, NULL);
	if (IS_ERR(pa))
		fail("pgmap_alloc_create");
	pgmap_alloc_set_idle(pa, 500, 1024);
	if (pgmap_alloc_add_pgmap(pa, new_pgmap(2048, 1)) ||
	    pgmap_alloc_add_pgmap(pa, new_pgmap(1600, 2)))
		fail("pgmap_alloc_add_pgmap");

	for (i = 0; i < SHIM_NR_CPUS; i++)
		pthread_create(&threads[i], NULL, cpu_thread, (void *)(long)i);
	pthread_create(&threads[IRQ_THREAD], NULL, irq_thread, NULL);
	sleep(seconds);
	__atomic_store_n(&stop, true, __ATOMIC_RELEASE);
	for (i = 0; i < NR_THREADS; i++)
		pthread_join(threads[i], NULL);

	shim_set_cpu(0, false);
	while (bag_nr)
		disown_and_put(bag[--bag_nr]);
	shim_advance(10000);
	shim_run_work();
	size = pgmap_alloc_size(pa);
	if (pgmap_alloc_free_pages(pa) != size)
		fail("%lu of %lu pages free at the end", pgmap_alloc_free_pages(pa), size);
	pgmap_alloc_destroy(pa);
	shim_run_work();
	if (nr_released != 2 + nr_grown)
		fail("%lu pgmaps released of %lu", nr_released, 2 + nr_grown);
	if (shim_warnings)
		fail("%lu warnings", shim_warnings);
	fprintf(stdout,
		"stress: %d threads, %lu s: %lu allocations, %lu frees, %lu pgmaps grown, %lu released\n",
		NR_THREADS, seconds, nr_allocs, nr_frees, nr_grown, nr_released);
	return 0;
}
