// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of pgmap_alloc against the allocators DEVICE_PRIVATE drivers
 * write by hand, on real DEVICE_PRIVATE pgmaps. Not a test: it only measures.
 * `make bench` loads it in QEMU; every figure is one console line
 *
 *	pgmap_alloc_bench: <name> <value> <unit>
 *
 * which the host turns into a table and build/bench.json.
 *
 * What one operation is, for each allocator: take a page, unlock it and
 * drop the reference, which frees it back (the hand-back included):
 * - floor:    zone_device_page_init() on a page chosen for free; the work no
 *             allocator can avoid.
 * - request:  pgmap_request_folio() on a page chosen for free: the mm core's
 *             part of pgmap_alloc, without the pool.
 * - freelist: a spinlock-protected LIFO list threaded through
 *             zone_device_data (lib/test_hmm.c, nouveau).
 * - bitmap:   a spinlock-protected bitmap searched with find_first_zero_bit()
 *             (powerpc's uvmem).
 * - genpool:  raw gen_pool first-fit, no layer on top.
 * - pgmap_alloc: pgmap_alloc_folio().
 * Each is measured with the pool 0%, 50% and 95% full (a random pattern of
 * pages held), on one CPU and on two at once. Fragmentation: after random
 * churn of mixed orders at 50, 75 and 90% occupancy, how much of the free
 * memory can still be had as order-9 (2 MiB) ranges.
 */

#include <linux/genalloc.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pgmap_alloc.h>
#include <linux/prandom.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

static char *sizes_gib = "1,16,64";
module_param(sizes_gib, charp, 0444);
MODULE_PARM_DESC(sizes_gib, "Device memory sizes to measure, in GiB");
static unsigned int iters = 100000;
module_param(iters, uint, 0444);
MODULE_PARM_DESC(iters, "Operations per repetition");
static bool fragmentation_only;
module_param(fragmentation_only, bool, 0444);
MODULE_PARM_DESC(fragmentation_only, "Measure only fragmentation");
static unsigned int reps = 9;
module_param(reps, uint, 0444);
MODULE_PARM_DESC(reps, "Repetitions; the median is reported");

#define BENCH_MAX_REPS	15
#define BENCH_GEN_BASE	BIT(40)		/* gen_pool address of offset 0 */

static struct {
	struct dev_pagemap pgmap;
	struct resource *res;
	unsigned long first_pfn;
	unsigned long nr_pages;
	/* The page_free of the allocator being measured */
	void (*page_free)(struct page *page);
} bench;

static void bench_report(const char *name, u64 value, const char *unit)
{
	pr_info("pgmap_alloc_bench: %s %llu %s\n", name, value, unit);
}

static struct page *bench_page(unsigned long offset)
{
	return pfn_to_page(bench.first_pfn + offset);
}

/* floor: one page per measuring thread */
static struct page *floor_pages[2];

static struct page *floor_alloc(int thread)
{
	zone_device_page_init(floor_pages[thread]);
	return floor_pages[thread];
}

/* request: pgmap_request_folio() on a page chosen for free */
static struct page *request_alloc(int thread)
{
	struct folio *folio = pgmap_request_folio(&bench.pgmap, thread, 0);

	return IS_ERR(folio) ? NULL : &folio->page;
}

/* freelist */
static DEFINE_SPINLOCK(freelist_lock);
static struct page *freelist_head;

static struct page *freelist_alloc(int thread)
{
	struct page *page;

	spin_lock(&freelist_lock);
	page = freelist_head;
	if (page)
		freelist_head = page->zone_device_data;
	spin_unlock(&freelist_lock);
	if (page)
		zone_device_page_init(page);
	return page;
}

static void freelist_free(struct page *page)
{
	spin_lock(&freelist_lock);
	page->zone_device_data = freelist_head;
	freelist_head = page;
	spin_unlock(&freelist_lock);
}

/* bitmap */
static DEFINE_SPINLOCK(bitmap_lock);
static unsigned long *bitmap;

static struct page *bitmap_alloc_page(int thread)
{
	unsigned long bit;

	spin_lock(&bitmap_lock);
	bit = find_first_zero_bit(bitmap, bench.nr_pages);
	if (bit < bench.nr_pages)
		__set_bit(bit, bitmap);
	spin_unlock(&bitmap_lock);
	if (bit >= bench.nr_pages)
		return NULL;
	zone_device_page_init(bench_page(bit));
	return bench_page(bit);
}

static void bitmap_free_page(struct page *page)
{
	spin_lock(&bitmap_lock);
	__clear_bit(page_to_pfn(page) - bench.first_pfn, bitmap);
	spin_unlock(&bitmap_lock);
}

/* genpool */
static struct gen_pool *genpool;

static struct page *genpool_alloc(int thread)
{
	unsigned long addr = gen_pool_alloc(genpool, 1);

	if (!addr)
		return NULL;
	zone_device_page_init(bench_page(addr - BENCH_GEN_BASE));
	return bench_page(addr - BENCH_GEN_BASE);
}

static void genpool_free(struct page *page)
{
	gen_pool_free(genpool, BENCH_GEN_BASE + page_to_pfn(page) - bench.first_pfn, 1);
}

/* pgmap_alloc */
static struct pgmap_alloc *pool;

static struct page *pool_alloc(int thread)
{
	struct folio *folio = pgmap_alloc_folio(pool, 0, GFP_KERNEL);

	return IS_ERR(folio) ? NULL : &folio->page;
}

struct bench_allocator {
	const char *name;
	struct page *(*alloc)(int thread);
	void (*page_free)(struct page *page);
};

static const struct bench_allocator allocators[] = {
	{ "floor", floor_alloc, NULL },
	{ "request", request_alloc, NULL },
	{ "freelist", freelist_alloc, freelist_free },
	{ "bitmap", bitmap_alloc_page, bitmap_free_page },
	{ "genpool", genpool_alloc, genpool_free },
	{ "pgmap_alloc", pool_alloc, NULL },
};

static void bench_page_free(struct page *page)
{
	if (bench.page_free)
		bench.page_free(page);
}

static vm_fault_t bench_migrate_to_ram(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct dev_pagemap_ops bench_ops = {
	.page_free = bench_page_free,
	.migrate_to_ram = bench_migrate_to_ram,
};

static int bench_map(unsigned long gib)
{
	void *addr;

	bench.res = request_free_mem_region(&iomem_resource, gib << 30, "pgmap_alloc_bench");
	if (IS_ERR(bench.res))
		return PTR_ERR(bench.res);
	memset(&bench.pgmap, 0, sizeof(bench.pgmap));
	bench.pgmap.type = MEMORY_DEVICE_PRIVATE;
	bench.pgmap.range.start = bench.res->start;
	bench.pgmap.range.end = bench.res->start + (gib << 30) - 1;
	bench.pgmap.nr_range = 1;
	bench.pgmap.ops = &bench_ops;
	bench.pgmap.owner = &bench;
	addr = memremap_pages(&bench.pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		release_mem_region(bench.res->start, resource_size(bench.res));
		return PTR_ERR(addr);
	}
	bench.first_pfn = PHYS_PFN(bench.pgmap.range.start);
	bench.nr_pages = pgmap_nr_pages(&bench.pgmap);
	return 0;
}

static void bench_unmap(void)
{
	memunmap_pages(&bench.pgmap);
	release_mem_region(bench.res->start, resource_size(bench.res));
}

/* The same random pattern of held pages for every allocator. */
static bool bench_held(unsigned long offset, unsigned int percent)
{
	return (hash_64(offset, 32) % 100) < percent;
}

/*
 * Hold @percent of the pages through allocator @a, and return how they are
 * held: pgmap_alloc's as folios in *@held; the others as allocator state.
 */
static int bench_occupy(const struct bench_allocator *a, unsigned int percent,
			struct page ***held, unsigned long *nr_held)
{
	unsigned long i, n = bench.nr_pages;
	struct page **pages = NULL;
	int ret;

	*held = NULL;
	*nr_held = 0;
	if (a->alloc == freelist_alloc) {
		freelist_head = NULL;
		for (i = n; i-- > 0; )
			if (!bench_held(i, percent))
				freelist_free(bench_page(i));
	} else if (a->alloc == bitmap_alloc_page) {
		bitmap = bitmap_zalloc(n, GFP_KERNEL);
		if (!bitmap)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			if (bench_held(i, percent))
				__set_bit(i, bitmap);
	} else if (a->alloc == genpool_alloc) {
		genpool = gen_pool_create(0, NUMA_NO_NODE);
		if (!genpool || gen_pool_add(genpool, BENCH_GEN_BASE, n, NUMA_NO_NODE))
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			struct genpool_data_fixed at = { .offset = i };

			if (bench_held(i, percent) &&
			    !gen_pool_alloc_algo(genpool, 1, gen_pool_fixed_alloc, &at))
				return -ENOMEM;
		}
	} else if (a->alloc == pool_alloc) {
		pool = pgmap_alloc_init(&bench.pgmap, "bench");
		if (IS_ERR(pool))
			return PTR_ERR(pool);
		pages = vmalloc_array(n, sizeof(*pages));
		if (!pages)
			return -ENOMEM;
		for (i = 0; i < n; i += MAX_ORDER_NR_PAGES) {
			ret = pgmap_alloc_range(pool, min(n - i, MAX_ORDER_NR_PAGES),
						GFP_KERNEL, pages + i);
			if (ret)
				return ret;
		}
		for (i = 0; i < n; i++) {
			if (bench_held(page_pgmap_offset(pages[i]), percent)) {
				pages[(*nr_held)++] = pages[i];
				continue;
			}
			unlock_page(pages[i]);
			put_page(pages[i]);
		}
		*held = pages;
	} else {
		for (i = 0; i < ARRAY_SIZE(floor_pages); i++)
			floor_pages[i] = bench_page(i);
	}
	bench.page_free = a->page_free;
	return 0;
}

static void bench_release(const struct bench_allocator *a, unsigned int percent,
			  struct page **held, unsigned long nr_held)
{
	unsigned long i;

	for (i = 0; i < nr_held; i++) {
		unlock_page(held[i]);
		put_page(held[i]);
	}
	vfree(held);
	bench.page_free = NULL;
	if (a->alloc == bitmap_alloc_page) {
		bitmap_free(bitmap);
	} else if (a->alloc == genpool_alloc) {
		/* gen_pool_destroy() insists on an empty pool. */
		for (i = 0; i < bench.nr_pages; i++)
			if (bench_held(i, percent))
				gen_pool_free(genpool, BENCH_GEN_BASE + i, 1);
		gen_pool_destroy(genpool);
	} else if (a->alloc == pool_alloc) {
		pgmap_alloc_destroy(pool);
	}
}

/* @iters operations of @a on this CPU; returns the time in ns, 0 if one failed. */
static u64 bench_loop(const struct bench_allocator *a, int thread)
{
	u64 start = ktime_get_ns();
	unsigned int i;

	for (i = 0; i < iters; i++) {
		struct page *page = a->alloc(thread);

		if (!page)
			return 0;
		unlock_page(page);
		put_page(page);
	}
	return ktime_get_ns() - start;
}

static int cmp_u64(const void *a, const void *b)
{
	u64 x = *(const u64 *)a, y = *(const u64 *)b;

	return x < y ? -1 : x > y;
}

static u64 median(u64 *v, unsigned int n)
{
	sort(v, n, sizeof(*v), cmp_u64, NULL);
	return v[n / 2];
}

struct bench_thread {
	const struct bench_allocator *a;
	struct completion *start;
	struct completion done;
	int id;
	u64 ns;
};

static int bench_thread_fn(void *data)
{
	struct bench_thread *t = data;

	wait_for_completion(t->start);
	t->ns = bench_loop(t->a, t->id);
	complete(&t->done);
	return 0;
}

/* Both CPUs at once: the time until the slower one is done. */
static u64 bench_two_cpus(const struct bench_allocator *a)
{
	struct bench_thread t[2] = {};
	struct completion start;
	struct task_struct *task;
	int i;

	init_completion(&start);
	for (i = 0; i < 2; i++) {
		t[i].a = a;
		t[i].start = &start;
		t[i].id = i;
		init_completion(&t[i].done);
		task = kthread_create(bench_thread_fn, &t[i], "pgmap_bench%d", i);
		if (IS_ERR(task))
			return 0;
		kthread_bind(task, i);
		wake_up_process(task);
	}
	complete_all(&start);
	for (i = 0; i < 2; i++)
		wait_for_completion(&t[i].done);
	if (!t[0].ns || !t[1].ns)
		return 0;
	return max(t[0].ns, t[1].ns);
}

static void bench_allocator(const struct bench_allocator *a, unsigned long gib,
			    unsigned int percent)
{
	u64 one[BENCH_MAX_REPS], two[BENCH_MAX_REPS];
	unsigned long nr_held;
	struct page **held;
	char name[96];
	unsigned int r;
	int ret;

	ret = bench_occupy(a, percent, &held, &nr_held);
	if (ret) {
		pr_err("pgmap_alloc_bench: %s at %u%% of %lu GiB: setup failed (%d)\n",
		       a->name, percent, gib, ret);
		return;
	}
	/* Untimed first: caches, TLBs and the emulator's translations warm up. */
	bench_loop(a, 0);
	for (r = 0; r < reps; r++) {
		one[r] = bench_loop(a, 0);
		two[r] = num_online_cpus() >= 2 ? bench_two_cpus(a) : 0;
	}
	bench_release(a, percent, held, nr_held);

	snprintf(name, sizeof(name), "%s/order0/%luGiB/%u%%/1cpu", a->name, gib, percent);
	bench_report(name, median(one, reps) / iters, "ns/op");
	if (two[0]) {
		/* Operations per millisecond by both CPUs together */
		snprintf(name, sizeof(name), "%s/order0/%luGiB/%u%%/2cpu", a->name, gib, percent);
		bench_report(name, 2ULL * iters * NSEC_PER_MSEC / median(two, reps), "ops/ms");
	}
}

/* Order-9 ranges from pgmap_alloc: allocate 512 pages and free them. */
static void bench_order9(unsigned long gib)
{
	struct page **pages = kmalloc_array(MAX_ORDER_NR_PAGES / 2, sizeof(*pages), GFP_KERNEL);
	u64 ns[BENCH_MAX_REPS];
	unsigned int r, i, j, n = max(iters / 512, 8U);
	char name[64];

	pool = pgmap_alloc_init(&bench.pgmap, "bench");
	if (!pages || IS_ERR(pool))
		goto out;
	for (r = 0; r < reps; r++) {
		u64 start = ktime_get_ns();

		for (i = 0; i < n; i++) {
			if (pgmap_alloc_range(pool, 512, GFP_KERNEL, pages))
				goto out;
			for (j = 0; j < 512; j++) {
				unlock_page(pages[j]);
				put_page(pages[j]);
			}
		}
		ns[r] = ktime_get_ns() - start;
	}
	snprintf(name, sizeof(name), "pgmap_alloc/order9/%luGiB/0%%/1cpu", gib);
	bench_report(name, median(ns, reps) / n, "ns/op");
out:
	if (!IS_ERR_OR_NULL(pool))
		pgmap_alloc_destroy(pool);
	kfree(pages);
}

/* Fragmentation: random churn of mixed orders, then order-9 requests. */
struct churn_ops {
	const char *name;
	bool (*alloc)(unsigned int order, unsigned long *handle);
	void (*free)(unsigned long handle, unsigned int order);
};

/* Room for the pages of the largest range churn asks for */
static struct page *churn_pages[MAX_ORDER_NR_PAGES / 2];

static bool churn_pool_alloc(unsigned int order, unsigned long *handle)
{
	if (pgmap_alloc_range(pool, 1UL << order, GFP_KERNEL, churn_pages))
		return false;
	*handle = (unsigned long)churn_pages[0];
	return true;
}

static void churn_pool_free(unsigned long handle, unsigned int order)
{
	unsigned long i;

	for (i = 0; i < 1UL << order; i++) {
		struct page *page = nth_page((struct page *)handle, i);

		unlock_page(page);
		put_page(page);
	}
}

static bool churn_genpool_alloc(unsigned int order, unsigned long *handle)
{
	struct genpool_data_align align = { .align = 1 << order };

	*handle = gen_pool_alloc_algo(genpool, 1UL << order,
				      gen_pool_first_fit_align, &align);
	return *handle;
}

static void churn_genpool_free(unsigned long handle, unsigned int order)
{
	gen_pool_free(genpool, handle, 1UL << order);
}

static const struct churn_ops churners[] = {
	{ "pgmap_alloc", churn_pool_alloc, churn_pool_free },
	{ "genpool", churn_genpool_alloc, churn_genpool_free },
};

struct churn_entry {
	unsigned long handle;
	unsigned int order;
};

static unsigned int churn_order(struct rnd_state *rnd)
{
	u32 r = prandom_u32_state(rnd) % 100;

	if (r < 50)
		return 0;
	if (r < 80)
		return 1 + r % 3;
	if (r < 95)
		return 4 + r % 3;
	return 7 + r % 3;
}

static void bench_churn(const struct churn_ops *c, unsigned int percent)
{
	unsigned long n = bench.nr_pages, target = n * percent / 100;
	unsigned long used = 0, nr = 0, possible, got = 0, op, handle;
	struct churn_entry *held = vmalloc_array(n, sizeof(*held));
	struct rnd_state rnd;
	unsigned int order;
	char name[64];

	if (!held)
		return;
	prandom_seed_state(&rnd, 42);
	for (op = 0; op < 20 * (n >> 9) + 50000; op++) {
		if (used < target || !nr) {
			order = churn_order(&rnd);
			if (!c->alloc(order, &handle))
				continue;
			held[nr].handle = handle;
			held[nr++].order = order;
			used += 1UL << order;
		} else {
			unsigned long i = prandom_u32_state(&rnd) % nr;

			c->free(held[i].handle, held[i].order);
			used -= 1UL << held[i].order;
			held[i] = held[--nr];
		}
	}

	/* How much of the free memory can still be had in 2 MiB ranges? */
	possible = (n - used) >> 9;
	pr_info("pgmap_alloc_bench: churn %s %u%%: used %lu of %lu, %lu held\n",
		c->name, percent, used, n, nr);
	while (got < possible && c->alloc(9, &handle)) {
		held[nr].handle = handle;
		held[nr++].order = 9;
		got++;
	}
	snprintf(name, sizeof(name), "%s/order9-after-churn/%u%%", c->name, percent);
	bench_report(name, possible ? got * 100 / possible : 100, "%");

	while (nr--)
		c->free(held[nr].handle, held[nr].order);
	vfree(held);
}

static void bench_fragmentation(void)
{
	static const unsigned int percents[] = { 50, 75, 90 };
	int i;

	for (i = 0; i < ARRAY_SIZE(percents); i++) {
		pool = pgmap_alloc_init(&bench.pgmap, "bench");
		if (IS_ERR(pool))
			return;
		bench_churn(&churners[0], percents[i]);
		pgmap_alloc_destroy(pool);

		genpool = gen_pool_create(0, NUMA_NO_NODE);
		if (!genpool || gen_pool_add(genpool, BENCH_GEN_BASE, bench.nr_pages,
					     NUMA_NO_NODE))
			return;
		bench_churn(&churners[1], percents[i]);
		gen_pool_destroy(genpool);
	}
}

/* A pool left in place until the module goes, for its debugfs figures. */
static struct pgmap_alloc *kept_pool;

static int __init pgmap_alloc_bench_init(void)
{
	static const unsigned int percents[] = { 0, 50, 95 };
	unsigned long gib, largest = 0;
	char *list, *cur, *tok;
	int a, p, ret = 0;

	reps = clamp(reps, 1U, (unsigned int)BENCH_MAX_REPS);
	list = kstrdup(sizes_gib, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	pr_info("pgmap_alloc_bench: %u operations x %u repetitions, %u CPUs\n",
		iters, reps, num_online_cpus());
	for (cur = list; (tok = strsep(&cur, ","));) {
		if (kstrtoul(tok, 0, &gib) || !gib)
			continue;
		ret = bench_map(gib);
		if (ret) {
			pr_err("pgmap_alloc_bench: cannot map %lu GiB: %d\n", gib, ret);
			break;
		}
		for (a = 0; a < ARRAY_SIZE(allocators) && !fragmentation_only; a++)
			for (p = 0; p < ARRAY_SIZE(percents); p++)
				bench_allocator(&allocators[a], gib, percents[p]);
		if (!fragmentation_only)
			bench_order9(gib);
		if (gib == 1)
			bench_fragmentation();
		bench_unmap();
		largest = max(largest, gib);
	}
	kfree(list);

	if (largest && !bench_map(largest)) {
		kept_pool = pgmap_alloc_init(&bench.pgmap, "bench");
		if (IS_ERR(kept_pool)) {
			kept_pool = NULL;
			bench_unmap();
		}
	}
	pr_info("pgmap_alloc_bench: done\n");
	return ret;
}

static void __exit pgmap_alloc_bench_exit(void)
{
	if (kept_pool) {
		pgmap_alloc_destroy(kept_pool);
		bench_unmap();
	}
}

module_init(pgmap_alloc_bench_init);
module_exit(pgmap_alloc_bench_exit);
MODULE_DESCRIPTION("Benchmark of pgmap_alloc against hand-written device page allocators");
MODULE_LICENSE("GPL");
