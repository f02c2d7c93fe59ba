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
 * pages held), on one CPU and on two at once, each on a pgmap of its own so
 * that their repetitions can be interleaved. Fragmentation: after random
 * churn of mixed orders at 50, 75 and 90% occupancy, how much of the free
 * memory can still be had as order-9 (2 MiB) ranges, for pgmap_alloc, gen_pool
 * first fit and a model of order-segregated placement. Lifecycle: eviction
 * against a hand-written loop, and a pgmap joining and leaving a pool
 * against mapping and unmapping it alone.
 */

#include <linux/delay.h>
#include <linux/genalloc.h>
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mman.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pgmap_alloc.h>
#include <linux/prandom.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/uaccess.h>
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

static unsigned int churn_seeds = 7;
module_param(churn_seeds, uint, 0444);
MODULE_PARM_DESC(churn_seeds, "Random churns per occupancy; the median is reported");

#define BENCH_MAX_REPS	15
#define BENCH_GEN_BASE	BIT(40)		/* gen_pool address of offset 0 */
/* The pool's default idle time, so that the figures show what drivers get */
#define PGMAP_BENCH_IDLE_MS	5000

/* One DEVICE_PRIVATE pgmap, owned by one allocator */
struct bench_map {
	struct dev_pagemap pgmap;
	struct resource *res;
	unsigned long first_pfn;
	unsigned long nr_pages;
	/* The page_free of the allocator that owns the map */
	void (*page_free)(struct page *page);
};

enum {
	BENCH_FLOOR,
	BENCH_REQUEST,
	BENCH_FREELIST,
	BENCH_BITMAP,
	BENCH_GENPOOL,
	BENCH_POOL,
	NR_BENCH_ALLOCATORS
};

/*
 * Each allocator has a pgmap of its own, so that all of them can be set up
 * at once and their repetitions interleaved: a slow spell of the host then
 * costs every allocator alike, instead of skewing the ratios of the one that
 * happened to run in it. floor and request need two pages only.
 */
static struct bench_map maps[NR_BENCH_ALLOCATORS];

static void bench_report(const char *name, u64 value, const char *unit)
{
	pr_info("pgmap_alloc_bench: %s %llu %s\n", name, value, unit);
}

static struct page *bench_page(const struct bench_map *m, unsigned long offset)
{
	return pfn_to_page(m->first_pfn + offset);
}

/* floor: one page per measuring thread */
static struct page *floor_alloc(int thread)
{
	struct page *page = bench_page(&maps[BENCH_FLOOR], thread);

	zone_device_page_init(page);
	return page;
}

/* request: pgmap_request_folio() on a page chosen for free */
static struct page *request_alloc(int thread)
{
	struct folio *folio = pgmap_request_folio(&maps[BENCH_REQUEST].pgmap,
						  thread, 0);

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
	const struct bench_map *m = &maps[BENCH_BITMAP];
	unsigned long bit;

	spin_lock(&bitmap_lock);
	bit = find_first_zero_bit(bitmap, m->nr_pages);
	if (bit < m->nr_pages)
		__set_bit(bit, bitmap);
	spin_unlock(&bitmap_lock);
	if (bit >= m->nr_pages)
		return NULL;
	zone_device_page_init(bench_page(m, bit));
	return bench_page(m, bit);
}

static void bitmap_free_page(struct page *page)
{
	spin_lock(&bitmap_lock);
	__clear_bit(page_to_pfn(page) - maps[BENCH_BITMAP].first_pfn, bitmap);
	spin_unlock(&bitmap_lock);
}

/* genpool */
static struct gen_pool *genpool;

/* An empty gen_pool of @nr_pages pages in genpool; 0 or -ENOMEM */
static int genpool_create(unsigned long nr_pages)
{
	genpool = gen_pool_create(0, NUMA_NO_NODE);
	if (!genpool)
		return -ENOMEM;
	if (gen_pool_add(genpool, BENCH_GEN_BASE, nr_pages, NUMA_NO_NODE)) {
		gen_pool_destroy(genpool);
		return -ENOMEM;
	}
	return 0;
}

static struct page *genpool_alloc(int thread)
{
	unsigned long addr = gen_pool_alloc(genpool, 1);

	if (!addr)
		return NULL;
	zone_device_page_init(bench_page(&maps[BENCH_GENPOOL], addr - BENCH_GEN_BASE));
	return bench_page(&maps[BENCH_GENPOOL], addr - BENCH_GEN_BASE);
}

static void genpool_free(struct page *page)
{
	gen_pool_free(genpool, BENCH_GEN_BASE + page_to_pfn(page) -
		      maps[BENCH_GENPOOL].first_pfn, 1);
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

static const struct bench_allocator allocators[NR_BENCH_ALLOCATORS] = {
	[BENCH_FLOOR]	 = { "floor", floor_alloc, NULL },
	[BENCH_REQUEST]	 = { "request", request_alloc, NULL },
	[BENCH_FREELIST] = { "freelist", freelist_alloc, freelist_free },
	[BENCH_BITMAP]	 = { "bitmap", bitmap_alloc_page, bitmap_free_page },
	[BENCH_GENPOOL]	 = { "genpool", genpool_alloc, genpool_free },
	[BENCH_POOL]	 = { "pgmap_alloc", pool_alloc, NULL },
};

static void bench_page_free(struct page *page)
{
	struct bench_map *m = container_of(page->pgmap, struct bench_map, pgmap);

	if (m->page_free)
		m->page_free(page);
}

static vm_fault_t bench_migrate_to_ram(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct dev_pagemap_ops bench_ops = {
	.page_free = bench_page_free,
	.migrate_to_ram = bench_migrate_to_ram,
};

static int bench_map(struct bench_map *m, unsigned long size)
{
	void *addr;

	memset(m, 0, sizeof(*m));
	m->res = request_free_mem_region(&iomem_resource, size, "pgmap_alloc_bench");
	if (IS_ERR(m->res))
		return PTR_ERR(m->res);
	m->pgmap.type = MEMORY_DEVICE_PRIVATE;
	m->pgmap.range.start = m->res->start;
	m->pgmap.range.end = m->res->start + size - 1;
	m->pgmap.nr_range = 1;
	m->pgmap.ops = &bench_ops;
	m->pgmap.owner = maps;
	addr = memremap_pages(&m->pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		release_mem_region(m->res->start, resource_size(m->res));
		m->res = NULL;
		return PTR_ERR(addr);
	}
	m->first_pfn = PHYS_PFN(m->pgmap.range.start);
	m->nr_pages = pgmap_nr_pages(&m->pgmap);
	return 0;
}

static void bench_unmap(struct bench_map *m)
{
	if (!m->res)
		return;
	memunmap_pages(&m->pgmap);
	release_mem_region(m->res->start, resource_size(m->res));
	m->res = NULL;
}

static void bench_unmap_all(void)
{
	int a;

	for (a = 0; a < NR_BENCH_ALLOCATORS; a++)
		bench_unmap(&maps[a]);
}

/* @gib of device memory for each allocator, two pages for floor and request */
static int bench_map_all(unsigned long gib)
{
	int a, ret = 0;

	for (a = 0; a < NR_BENCH_ALLOCATORS && !ret; a++) {
		if (a == BENCH_FLOOR || a == BENCH_REQUEST)
			ret = bench_map(&maps[a], PAGES_PER_SUBSECTION << PAGE_SHIFT);
		else
			ret = bench_map(&maps[a], gib << 30);
	}
	if (ret)
		bench_unmap_all();
	return ret;
}

/* The same random pattern of held pages for every allocator. */
static bool bench_held(unsigned long offset, unsigned int percent)
{
	return (hash_64(offset, 32) % 100) < percent;
}

/* What one allocator holds while it is measured */
struct bench_held {
	struct page **pages;	/* pgmap_alloc's, as folios */
	unsigned long nr;
};

static void bench_release(int a, unsigned int percent, struct bench_held *held)
{
	unsigned long i;

	for (i = 0; i < held->nr; i++) {
		unlock_page(held->pages[i]);
		put_page(held->pages[i]);
	}
	vfree(held->pages);
	maps[a].page_free = NULL;
	switch (a) {
	case BENCH_BITMAP:
		bitmap_free(bitmap);
		break;
	case BENCH_GENPOOL:
		/* gen_pool_destroy() insists on an empty pool. */
		for (i = 0; i < maps[a].nr_pages; i++)
			if (bench_held(i, percent))
				gen_pool_free(genpool, BENCH_GEN_BASE + i, 1);
		gen_pool_destroy(genpool);
		break;
	case BENCH_POOL:
		pgmap_alloc_destroy(pool);
		break;
	}
}

/*
 * Hold @percent of the pages of allocator @a's pgmap: pgmap_alloc's as
 * folios in @held; the others' as allocator state. Nothing is left set up
 * on failure.
 */
static int bench_occupy(int a, unsigned int percent, struct bench_held *held)
{
	const struct bench_map *m = &maps[a];
	unsigned long i, n = m->nr_pages;
	struct page **pages;
	int ret;

	held->pages = NULL;
	held->nr = 0;
	switch (a) {
	case BENCH_FREELIST:
		freelist_head = NULL;
		for (i = n; i-- > 0; )
			if (!bench_held(i, percent))
				freelist_free(bench_page(m, i));
		break;
	case BENCH_BITMAP:
		bitmap = bitmap_zalloc(n, GFP_KERNEL);
		if (!bitmap)
			return -ENOMEM;
		for (i = 0; i < n; i++)
			if (bench_held(i, percent))
				__set_bit(i, bitmap);
		break;
	case BENCH_GENPOOL:
		if (genpool_create(n))
			return -ENOMEM;
		for (i = 0; i < n; i++) {
			struct genpool_data_fixed at = { .offset = i };

			if (bench_held(i, percent) &&
			    !gen_pool_alloc_algo(genpool, 1, gen_pool_fixed_alloc, &at))
				break;
		}
		if (i < n) {
			while (i-- > 0)
				if (bench_held(i, percent))
					gen_pool_free(genpool, BENCH_GEN_BASE + i, 1);
			gen_pool_destroy(genpool);
			return -ENOMEM;
		}
		break;
	case BENCH_POOL:
		pool = pgmap_alloc_init(&maps[a].pgmap, "bench");
		if (IS_ERR(pool))
			return PTR_ERR(pool);
		pages = vmalloc_array(n, sizeof(*pages));
		if (!pages) {
			pgmap_alloc_destroy(pool);
			return -ENOMEM;
		}
		for (i = 0; i < n; i += MAX_ORDER_NR_PAGES) {
			ret = pgmap_alloc_range(pool, min(n - i, MAX_ORDER_NR_PAGES),
						GFP_KERNEL, pages + i);
			if (ret) {
				held->pages = pages;
				held->nr = i;
				bench_release(a, percent, held);
				return ret;
			}
		}
		for (i = 0; i < n; i++) {
			if (bench_held(page_pgmap_offset(pages[i]), percent)) {
				pages[held->nr++] = pages[i];
				continue;
			}
			unlock_page(pages[i]);
			put_page(pages[i]);
		}
		held->pages = pages;
		break;
	}
	maps[a].page_free = allocators[a].page_free;
	return 0;
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

/*
 * The median over the repetitions of t[@a][r] / t[@b][r], in percent: each
 * ratio is of two timings taken one right after the other, so it holds up
 * better than the ratio of two medians when the host's speed drifts. For
 * throughput, pass the allocators the other way round.
 */
static void bench_paired(u64 t[][BENCH_MAX_REPS], int a, int b,
			 const char *label, unsigned long gib, unsigned int percent)
{
	u64 ratios[BENCH_MAX_REPS];
	char name[96];
	unsigned int r;

	for (r = 0; r < reps; r++) {
		if (!t[a][r] || !t[b][r])
			return;
		ratios[r] = div64_u64(t[a][r] * 100, t[b][r]);
	}
	snprintf(name, sizeof(name), "ratio/%s/%luGiB/%u%%", label, gib, percent);
	bench_report(name, median(ratios, reps), "%");
}

/*
 * Every allocator at @percent occupancy of @gib, with repetition r of all
 * of them run before repetition r + 1 of any.
 */
static void bench_occupancy(unsigned long gib, unsigned int percent)
{
	static u64 one[NR_BENCH_ALLOCATORS][BENCH_MAX_REPS];
	static u64 two[NR_BENCH_ALLOCATORS][BENCH_MAX_REPS];
	struct bench_held held[NR_BENCH_ALLOCATORS];
	bool two_cpus = num_online_cpus() >= 2;
	int a, ready, ret = 0;
	char name[96];
	unsigned int r;

	for (ready = 0; ready < NR_BENCH_ALLOCATORS && !ret; ready++) {
		ret = bench_occupy(ready, percent, &held[ready]);
		if (ret)
			pr_err("pgmap_alloc_bench: %s at %u%% of %lu GiB: setup failed (%d)\n",
			       allocators[ready].name, percent, gib, ret);
	}
	if (ret)
		goto out;

	/* Untimed first: caches, TLBs and the emulator's translations warm up. */
	for (a = 0; a < NR_BENCH_ALLOCATORS; a++)
		bench_loop(&allocators[a], 0);
	for (r = 0; r < reps; r++) {
		for (a = 0; a < NR_BENCH_ALLOCATORS; a++) {
			one[a][r] = bench_loop(&allocators[a], 0);
			two[a][r] = two_cpus ? bench_two_cpus(&allocators[a]) : 0;
		}
	}

	/* Paired ratios first: median() below sorts each row in place. */
	bench_paired(one, BENCH_POOL, BENCH_FLOOR, "pgmap_alloc-vs-floor-1cpu",
		     gib, percent);
	bench_paired(one, BENCH_POOL, BENCH_FREELIST, "pgmap_alloc-vs-freelist-1cpu",
		     gib, percent);
	if (two_cpus) {
		/* Throughput: the inverse of the time both CPUs took */
		bench_paired(two, BENCH_FREELIST, BENCH_POOL,
			     "pgmap_alloc-vs-freelist-2cpu-throughput", gib, percent);
		bench_paired(two, BENCH_FREELIST, BENCH_FLOOR,
			     "floor-vs-freelist-2cpu-throughput", gib, percent);
	}
	for (a = 0; a < NR_BENCH_ALLOCATORS; a++) {
		snprintf(name, sizeof(name), "%s/order0/%luGiB/%u%%/1cpu",
			 allocators[a].name, gib, percent);
		bench_report(name, median(one[a], reps) / iters, "ns/op");
		if (!two[a][0])
			continue;
		/* Operations per millisecond by both CPUs together */
		snprintf(name, sizeof(name), "%s/order0/%luGiB/%u%%/2cpu",
			 allocators[a].name, gib, percent);
		bench_report(name, 2ULL * iters * NSEC_PER_MSEC / median(two[a], reps),
			     "ops/ms");
	}
out:
	/* The one that failed, if any, is not set up. */
	for (a = 0; a < ready - !!ret; a++)
		bench_release(a, percent, &held[a]);
}

/* Order-9 ranges from pgmap_alloc: allocate 512 pages and free them. */
static void bench_order9(unsigned long gib)
{
	struct page **pages = kmalloc_array(MAX_ORDER_NR_PAGES / 2, sizeof(*pages), GFP_KERNEL);
	u64 ns[BENCH_MAX_REPS];
	unsigned int r, i, j, n = max(iters / 512, 8U);
	char name[64];

	pool = pgmap_alloc_init(&maps[BENCH_POOL].pgmap, "bench");
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
	/* An empty allocator over pgmap_alloc's pgmap; cleans up on failure */
	int (*setup)(void);
	void (*teardown)(void);
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

/*
 * segregated: a model of the best placement we know that uses nothing but
 * the request's order, to tell what placement alone can do in this churn.
 * Each pageblock holds ranges of one order only, and a request goes to the
 * fullest pageblock of its order with room, a free pageblock only when none
 * has any. It needs a free count and an order per pageblock and scans all of
 * them, so it is no allocator for drivers; only a yardstick.
 */
static struct {
	unsigned long *map;
	unsigned int *nr_free;		/* per pageblock */
	u8 *order;			/* per pageblock in use */
	unsigned long nr_blocks;
} seg;

static unsigned long seg_fit(unsigned long block, unsigned int order)
{
	unsigned long start = block * pageblock_nr_pages;

	return bitmap_find_next_zero_area(seg.map, start + pageblock_nr_pages,
					  start, 1UL << order, (1UL << order) - 1);
}

static bool churn_seg_alloc(unsigned int order, unsigned long *handle)
{
	unsigned long b, best = seg.nr_blocks, bit, nr = 1UL << order;

	for (b = 0; b < seg.nr_blocks; b++) {
		if (seg.nr_free[b] == pageblock_nr_pages || seg.order[b] != order ||
		    seg.nr_free[b] < nr ||
		    (best < seg.nr_blocks && seg.nr_free[b] >= seg.nr_free[best]))
			continue;
		if (seg_fit(b, order) < (b + 1) * pageblock_nr_pages)
			best = b;
	}
	for (b = 0; best == seg.nr_blocks && b < seg.nr_blocks; b++)
		if (seg.nr_free[b] == pageblock_nr_pages)
			best = b;
	if (best == seg.nr_blocks)
		return false;
	bit = seg_fit(best, order);
	bitmap_set(seg.map, bit, nr);
	seg.nr_free[best] -= nr;
	seg.order[best] = order;
	*handle = bit;
	return true;
}

static void churn_seg_free(unsigned long handle, unsigned int order)
{
	bitmap_clear(seg.map, handle, 1UL << order);
	seg.nr_free[handle / pageblock_nr_pages] += 1UL << order;
}

static void churn_seg_teardown(void)
{
	bitmap_free(seg.map);
	kvfree(seg.nr_free);
	kvfree(seg.order);
}

static int churn_seg_setup(void)
{
	unsigned long b;

	seg.nr_blocks = maps[BENCH_POOL].nr_pages / pageblock_nr_pages;
	seg.map = bitmap_zalloc(maps[BENCH_POOL].nr_pages, GFP_KERNEL);
	seg.nr_free = kvmalloc_array(seg.nr_blocks, sizeof(*seg.nr_free), GFP_KERNEL);
	seg.order = kvzalloc(seg.nr_blocks, GFP_KERNEL);
	if (!seg.map || !seg.nr_free || !seg.order) {
		churn_seg_teardown();
		return -ENOMEM;
	}
	for (b = 0; b < seg.nr_blocks; b++)
		seg.nr_free[b] = pageblock_nr_pages;
	return 0;
}

static int churn_pool_setup(void)
{
	pool = pgmap_alloc_init(&maps[BENCH_POOL].pgmap, "bench");
	return PTR_ERR_OR_ZERO(pool);
}

static void churn_pool_teardown(void)
{
	pgmap_alloc_destroy(pool);
}

static int churn_genpool_setup(void)
{
	return genpool_create(maps[BENCH_POOL].nr_pages);
}

static void churn_genpool_teardown(void)
{
	gen_pool_destroy(genpool);
}

/*
 * The churn with compaction: the same sequences, but every range is mapped
 * into this process (insmod's), as a driver's migrations map its pages, so
 * that compaction may move it. A range that finds no room compacts once,
 * with a budget of the range's own size, and is tried again: what
 * pgmap_alloc_range() does by itself with GFP_KERNEL, called here so that
 * each compaction can be timed and counted. Frees unmap.
 */
static struct pgmap_alloc *compact_pool;

static struct {
	u64 ns;			/* in pgmap_alloc_compact() */
	unsigned long calls, blocks_freed, pages_moved, pages_in_freed;
} compact_stats;

/* The benchmark's device keeps no data: there is nothing to copy. */
static int churn_compact_copy(struct pgmap_alloc *pa, struct page **dst,
			      struct page **src, unsigned long nr, void *data)
{
	return 0;
}

static const struct pgmap_alloc_ops churn_compact_ops = {
	.copy = churn_compact_copy,
};

/* Map the @nr pages in service at @addr, an empty part of our mm. */
static bool churn_map(unsigned long addr, unsigned long nr, struct page **pages)
{
	unsigned long src[64], dst[64], done, i;
	bool mapped = true;

	mmap_read_lock(current->mm);
	for (done = 0; done < nr; done += ARRAY_SIZE(src)) {
		struct migrate_vma args = {
			.vma = vma_lookup(current->mm, addr),
			.start = addr + (done << PAGE_SHIFT),
			.end = addr + (min(nr, done + ARRAY_SIZE(src)) << PAGE_SHIFT),
			.src = src,
			.dst = dst,
			.pgmap_owner = maps,
			.flags = MIGRATE_VMA_SELECT_SYSTEM,
		};

		/* The pages not mapped go back to the pool in finalize. */
		if (!args.vma || migrate_vma_setup(&args)) {
			for (i = done; i < nr; i++) {
				unlock_page(pages[i]);
				put_page(pages[i]);
			}
			mapped = false;
			break;
		}
		for (i = 0; i < args.npages; i++) {
			dst[i] = migrate_pfn(page_to_pfn(pages[done + i])) | MIGRATE_PFN_WRITE;
			mapped &= !!(src[i] & MIGRATE_PFN_MIGRATE);
		}
		migrate_vma_pages(&args);
		for (i = 0; i < args.npages; i++)
			mapped &= !!(src[i] & MIGRATE_PFN_MIGRATE);
		migrate_vma_finalize(&args);
	}
	mmap_read_unlock(current->mm);
	return mapped;
}

static bool churn_compact_alloc(unsigned int order, unsigned long *handle)
{
	struct pgmap_alloc_compact_result res;
	unsigned long nr = 1UL << order, addr;
	u64 start;

	if (pgmap_alloc_range(compact_pool, nr, GFP_NOWAIT, churn_pages)) {
		start = ktime_get_ns();
		pgmap_alloc_compact(compact_pool, order, nr, &res);
		compact_stats.ns += ktime_get_ns() - start;
		compact_stats.calls++;
		compact_stats.blocks_freed += res.blocks_freed;
		compact_stats.pages_moved += res.pages_moved;
		compact_stats.pages_in_freed += res.pages_in_freed;
		if (pgmap_alloc_range(compact_pool, nr, GFP_NOWAIT, churn_pages))
			return false;
	}
	addr = vm_mmap(NULL, 0, nr << PAGE_SHIFT, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(addr)) {
		churn_pool_free((unsigned long)churn_pages[0], order);
		return false;
	}
	if (!churn_map(addr, nr, churn_pages)) {
		vm_munmap(addr, nr << PAGE_SHIFT);
		return false;
	}
	*handle = addr;
	return true;
}

static void churn_compact_free(unsigned long handle, unsigned int order)
{
	vm_munmap(handle, PAGE_SIZE << order);
}

static int churn_compact_setup(void)
{
	if (!current->mm)
		return -EINVAL;
	compact_pool = pgmap_alloc_create("bench-compact", &churn_compact_ops, NULL);
	if (IS_ERR(compact_pool))
		return PTR_ERR(compact_pool);
	if (pgmap_alloc_add_pgmap(compact_pool, &maps[BENCH_POOL].pgmap)) {
		pgmap_alloc_destroy(compact_pool);
		return -EINVAL;
	}
	return 0;
}

static void churn_compact_teardown(void)
{
	pgmap_alloc_destroy(compact_pool);
}

static const struct churn_ops churners[] = {
	{ "pgmap_alloc", churn_pool_alloc, churn_pool_free,
	  churn_pool_setup, churn_pool_teardown },
	{ "genpool", churn_genpool_alloc, churn_genpool_free,
	  churn_genpool_setup, churn_genpool_teardown },
	{ "segregated", churn_seg_alloc, churn_seg_free,
	  churn_seg_setup, churn_seg_teardown },
	{ "pgmap_alloc+compaction", churn_compact_alloc, churn_compact_free,
	  churn_compact_setup, churn_compact_teardown },
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

/*
 * Churn @c at @percent occupancy with random seed @seed, then return how
 * much of the free memory (in %) can still be had as order-9 ranges, or -1.
 */
static int bench_churn(const struct churn_ops *c, unsigned int percent, u64 seed)
{
	unsigned long n = maps[BENCH_POOL].nr_pages, target = n * percent / 100;
	unsigned long used = 0, nr = 0, possible, got = 0, op, handle;
	struct churn_entry *held = vmalloc_array(n, sizeof(*held));
	struct rnd_state rnd;
	unsigned int order;

	if (!held)
		return -1;
	if (c->setup()) {
		vfree(held);
		return -1;
	}
	prandom_seed_state(&rnd, seed);
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
	while (got < possible && c->alloc(9, &handle)) {
		held[nr].handle = handle;
		held[nr++].order = 9;
		got++;
	}
	while (nr--)
		c->free(held[nr].handle, held[nr].order);
	vfree(held);
	c->teardown();
	return possible ? got * 100 / possible : 100;
}

/*
 * What the compactions of the churns at @percent cost, over all seeds:
 * pages moved per block made free against the pages that were in use in
 * those blocks (the least any compaction moves; x100), the time per
 * compaction, and its share of the churns' time (per mille).
 */
static void bench_compaction_cost(unsigned int percent, u64 churn_ns)
{
	char name[64];

	pr_info("pgmap_alloc_bench: compaction %u%%: %lu calls, %lu blocks made free, %lu pages moved for %lu in use in them\n",
		percent, compact_stats.calls, compact_stats.blocks_freed,
		compact_stats.pages_moved, compact_stats.pages_in_freed);
	snprintf(name, sizeof(name), "compaction/moved-vs-least-x100/%u%%", percent);
	bench_report(name, compact_stats.pages_in_freed ?
		     div64_u64(compact_stats.pages_moved * 100, compact_stats.pages_in_freed) : 0,
		     "x100");
	snprintf(name, sizeof(name), "compaction/ns-per-compaction/%u%%", percent);
	bench_report(name, div64_u64(compact_stats.ns, compact_stats.calls), "ns");
	snprintf(name, sizeof(name), "compaction/share-of-churn/%u%%", percent);
	bench_report(name, div64_u64(compact_stats.ns * 1000, churn_ns), "permille");
}

/*
 * Each allocator goes through the same churns, one per seed; the outcome
 * varies a lot from seed to seed, so the median is the figure and the
 * range is printed beside it.
 */
static void bench_fragmentation(void)
{
	u64 start;
	static const unsigned int percents[] = { 50, 75, 90 };
	u64 got[BENCH_MAX_REPS];
	unsigned int nr_seeds = clamp(churn_seeds, 1U, (unsigned int)BENCH_MAX_REPS);
	unsigned int i, c, s;
	char name[64];
	int ret;

	for (i = 0; i < ARRAY_SIZE(percents); i++) {
		for (c = 0; c < ARRAY_SIZE(churners); c++) {
			memset(&compact_stats, 0, sizeof(compact_stats));
			start = ktime_get_ns();
			for (s = 0; s < nr_seeds; s++) {
				ret = bench_churn(&churners[c], percents[i], 42 + s);
				if (ret < 0) {
					pr_err("pgmap_alloc_bench: churn of %s failed\n",
					       churners[c].name);
					return;
				}
				got[s] = ret;
			}
			snprintf(name, sizeof(name), "%s/order9-after-churn/%u%%",
				 churners[c].name, percents[i]);
			bench_report(name, median(got, nr_seeds), "%");
			/* median() sorted them */
			pr_info("pgmap_alloc_bench: churn %s %u%%: %llu..%llu%% over %u seeds\n",
				churners[c].name, percents[i], got[0],
				got[nr_seeds - 1], nr_seeds);
			if (compact_stats.calls)
				bench_compaction_cost(percents[i], ktime_get_ns() - start);
		}
	}
}

/*
 * The life of device memory: eviction by pgmap_alloc_evict() against the
 * loop lib/test_hmm.c had before its conversion (every pfn of the pgmap in
 * one migrate_device_range() call, one alloc_page() per page), and the cost
 * of a pgmap joining and leaving a pool against mapping and unmapping it
 * alone. Pages are really mapped: the module's init runs in insmod, whose
 * mm gets a buffer that is migrated to the device before each eviction.
 */
static unsigned int lifecycle_mib = 1024;
module_param(lifecycle_mib, uint, 0444);
MODULE_PARM_DESC(lifecycle_mib, "MiB of process memory to evict, 0 to skip");

/* The device's memory behind each device page: a page of RAM, as test_hmm */
static void lifecycle_page_free(struct page *page)
{
	__free_page(page->zone_device_data);
}

static int lifecycle_copy(struct pgmap_alloc *pa, struct page **dst,
			  struct page **src, unsigned long nr, void *data)
{
	unsigned long i;

	for (i = 0; i < nr; i++)
		copy_highpage(dst[i], src[i]->zone_device_data);
	return 0;
}

static const struct pgmap_alloc_ops lifecycle_ops = {
	.copy = lifecycle_copy,
};

/* Migrate @nr pages at @addr of our mm to the device; returns how many. */
static unsigned long lifecycle_to_device(struct pgmap_alloc *pa,
					 unsigned long addr, unsigned long nr)
{
	unsigned long src[64], dst[64], done = 0, i, end = addr + (nr << PAGE_SHIFT);

	mmap_read_lock(current->mm);
	while (addr < end) {
		struct migrate_vma args = {
			.vma = vma_lookup(current->mm, addr),
			.start = addr,
			.end = min(end, addr + ARRAY_SIZE(src) * PAGE_SIZE),
			.src = src,
			.dst = dst,
			.pgmap_owner = maps,
			.flags = MIGRATE_VMA_SELECT_SYSTEM,
		};

		if (!args.vma || migrate_vma_setup(&args))
			break;
		for (i = 0; i < args.npages; i++) {
			struct page *spage = migrate_pfn_to_page(src[i]);
			struct page *backing;
			struct folio *folio;

			if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
				continue;
			backing = alloc_page(GFP_HIGHUSER);
			if (!backing)
				break;
			folio = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
			if (IS_ERR(folio)) {
				__free_page(backing);
				break;
			}
			copy_highpage(backing, spage);
			folio->page.zone_device_data = backing;
			dst[i] = migrate_pfn(folio_pfn(folio)) | MIGRATE_PFN_WRITE;
			done++;
		}
		migrate_vma_pages(&args);
		migrate_vma_finalize(&args);
		addr = args.end;
	}
	mmap_read_unlock(current->mm);
	return done;
}

/* The eviction drivers wrote by hand before pgmap_alloc_evict(). */
static void lifecycle_evict_by_hand(struct dev_pagemap *pgmap)
{
	unsigned long first = PHYS_PFN(pgmap->range.start), i;
	unsigned long nr = pgmap_nr_pages(pgmap);
	unsigned long *src = kvcalloc(nr, sizeof(*src), GFP_KERNEL | __GFP_NOFAIL);
	unsigned long *dst = kvcalloc(nr, sizeof(*dst), GFP_KERNEL | __GFP_NOFAIL);

	migrate_device_range(src, first, nr);
	for (i = 0; i < nr; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct page *dpage;

		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		dpage = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL);
		lock_page(dpage);
		copy_highpage(dpage, spage->zone_device_data);
		dst[i] = migrate_pfn(page_to_pfn(dpage)) | (src[i] & MIGRATE_PFN_WRITE);
	}
	migrate_device_pages(src, dst, nr);
	migrate_device_finalize(src, dst, nr);
	kvfree(src);
	kvfree(dst);
}

static u64 lifecycle_per_mib(u64 ns)
{
	return div64_u64(ns, lifecycle_mib);
}

static void lifecycle_eviction(struct bench_map *m, struct pgmap_alloc *pa,
			       unsigned long addr, unsigned long nr)
{
	u64 t[2][BENCH_MAX_REPS], ratios[BENCH_MAX_REPS], start;
	/* Each repetition moves the buffer four times: fewer of them */
	unsigned int r, way, n = min(reps, 5U);
	unsigned long left;

	for (r = 0; r < n; r++) {
		/* Alternate which goes first, so that drift favours neither */
		for (way = 0; way < 2; way++) {
			int by_hand = (way + r) % 2;

			if (lifecycle_to_device(pa, addr, nr) != nr) {
				pr_err("pgmap_alloc_bench: cannot migrate %lu pages\n", nr);
				return;
			}
			start = ktime_get_ns();
			if (by_hand)
				lifecycle_evict_by_hand(&m->pgmap);
			else
				pgmap_alloc_evict(pa, &m->pgmap, &left);
			t[by_hand][r] = ktime_get_ns() - start;
			if (pgmap_alloc_free_pages(pa) != pgmap_alloc_size(pa)) {
				pr_err("pgmap_alloc_bench: eviction left pages on the device\n");
				return;
			}
		}
	}
	/* Speed, so by hand over pgmap_alloc: above 100% is faster. */
	for (r = 0; r < n; r++)
		ratios[r] = div64_u64(t[1][r] * 100, t[0][r]);
	bench_report("ratio/evict-speed-pgmap_alloc-vs-by-hand", median(ratios, n), "%");
	/* median() sorted them */
	pr_info("pgmap_alloc_bench: evict speed ratios %llu..%llu%% over %u repetitions\n",
		ratios[0], ratios[n - 1], n);
	bench_report("lifecycle/evict-pgmap_alloc",
		     div64_u64((u64)nr * NSEC_PER_SEC, median(t[0], n)), "pages/s");
	bench_report("lifecycle/evict-by-hand",
		     div64_u64((u64)nr * NSEC_PER_SEC, median(t[1], n)), "pages/s");
}

/*
 * A pgmap of @lifecycle_mib joining and leaving a pool, against mapping and
 * unmapping it with no pool: what pgmap_alloc adds to growing and giving
 * back.
 */
static void lifecycle_grow_release(void)
{
	u64 t[4][BENCH_MAX_REPS], start;
	struct bench_map *m = &maps[BENCH_POOL];
	struct pgmap_alloc *pa;
	unsigned int r;

	pa = pgmap_alloc_create("bench-lifecycle", NULL, NULL);
	if (IS_ERR(pa))
		return;
	for (r = 0; r < reps; r++) {
		start = ktime_get_ns();
		if (bench_map(m, (unsigned long)lifecycle_mib << 20))
			goto out;
		t[0][r] = ktime_get_ns() - start;
		start = ktime_get_ns();
		bench_unmap(m);
		t[1][r] = ktime_get_ns() - start;

		start = ktime_get_ns();
		if (bench_map(m, (unsigned long)lifecycle_mib << 20))
			goto out;
		if (pgmap_alloc_add_pgmap(pa, &m->pgmap)) {
			bench_unmap(m);
			goto out;
		}
		t[2][r] = ktime_get_ns() - start;
		start = ktime_get_ns();
		if (pgmap_alloc_remove_pgmap(pa, &m->pgmap, NULL))
			goto out;
		bench_unmap(m);
		t[3][r] = ktime_get_ns() - start;
	}
	bench_report("lifecycle/map-alone", lifecycle_per_mib(median(t[0], reps)), "ns/MiB");
	bench_report("lifecycle/unmap-alone", lifecycle_per_mib(median(t[1], reps)), "ns/MiB");
	bench_report("lifecycle/grow", lifecycle_per_mib(median(t[2], reps)), "ns/MiB");
	bench_report("lifecycle/give-back", lifecycle_per_mib(median(t[3], reps)), "ns/MiB");
out:
	pgmap_alloc_destroy(pa);
}

static void bench_lifecycle(void)
{
	unsigned long nr = (unsigned long)lifecycle_mib << (20 - PAGE_SHIFT), addr, i;
	struct bench_map *m = &maps[BENCH_POOL];
	struct pgmap_alloc *pa;

	if (!lifecycle_mib || !current->mm)
		return;
	lifecycle_grow_release();
	/* A subsection more than the buffer: memremap_pages() maps those. */
	if (bench_map(m, ALIGN(nr, PAGES_PER_SUBSECTION) << PAGE_SHIFT))
		return;
	m->page_free = lifecycle_page_free;
	pa = pgmap_alloc_create("bench-evict", &lifecycle_ops, NULL);
	if (IS_ERR(pa) || pgmap_alloc_add_pgmap(pa, &m->pgmap))
		goto unmap;
	addr = vm_mmap(NULL, 0, nr << PAGE_SHIFT, PROT_READ | PROT_WRITE,
		       MAP_ANONYMOUS | MAP_PRIVATE, 0);
	if (IS_ERR_VALUE(addr))
		goto destroy;
	for (i = 0; i < nr; i++)
		if (put_user(i, (unsigned long __user *)(addr + (i << PAGE_SHIFT))))
			goto munmap;
	lifecycle_eviction(m, pa, addr, nr);
munmap:
	vm_munmap(addr, nr << PAGE_SHIFT);
destroy:
	if (!IS_ERR(pa))
		pgmap_alloc_destroy(pa);
unmap:
	bench_unmap(m);
}

/*
 * The memmap after a burst: a growing pool of 64 MiB pgmaps takes
 * @burst_mib of pages, gives them back, and shrinks to its first pgmap
 * after the idle time. Then a second burst is freed with no idle time, and
 * the pool is kept for the guest to run the shrinker (drop_caches) on it.
 */
static unsigned int burst_mib = 1024;
module_param(burst_mib, uint, 0444);
MODULE_PARM_DESC(burst_mib, "MiB of device memory in the memmap burst, 0 to skip");

#define BURST_PGMAP_SIZE	SZ_64M

static struct pgmap_alloc *burst_pool;

static int burst_grow(struct pgmap_alloc *pa, void *data)
{
	struct bench_map *m = kzalloc(sizeof(*m), GFP_KERNEL);
	int ret;

	if (!m)
		return -ENOMEM;
	ret = bench_map(m, BURST_PGMAP_SIZE);
	if (!ret) {
		ret = pgmap_alloc_add_pgmap(pa, &m->pgmap);
		if (ret)
			bench_unmap(m);
	}
	if (ret)
		kfree(m);
	return ret;
}

static void burst_release(struct pgmap_alloc *pa, struct dev_pagemap *pgmap, void *data)
{
	struct bench_map *m = container_of(pgmap, struct bench_map, pgmap);

	bench_unmap(m);
	kfree(m);
}

static const struct pgmap_alloc_ops burst_ops = {
	.grow = burst_grow,
	.release = burst_release,
};

/* Allocate @nr pages, one folio at a time, then free them all. */
static int burst_fill(struct pgmap_alloc *pa, struct folio **folios, unsigned long nr)
{
	unsigned long i, got;

	for (got = 0; got < nr; got++) {
		folios[got] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		if (IS_ERR(folios[got]))
			break;
	}
	bench_report("memmap/peak-bytes", pgmap_alloc_size(pa) * sizeof(struct page), "bytes");
	for (i = 0; i < got; i++) {
		folio_unlock(folios[i]);
		folio_put(folios[i]);
	}
	return got == nr ? 0 : -ENOMEM;
}

static void bench_memmap_burst(void)
{
	unsigned long nr = (unsigned long)burst_mib << (20 - PAGE_SHIFT);
	struct folio **folios;
	struct pgmap_alloc *pa;
	u64 start, first = 0;
	unsigned long peak;

	if (!burst_mib)
		return;
	folios = kvmalloc_array(nr, sizeof(*folios), GFP_KERNEL);
	pa = pgmap_alloc_create("bench-burst", &burst_ops, NULL);
	if (!folios || IS_ERR(pa))
		goto out;
	bench_report("memmap/idle-ms", PGMAP_BENCH_IDLE_MS, "ms");
	pgmap_alloc_set_idle(pa, PGMAP_BENCH_IDLE_MS, 1);
	if (burst_fill(pa, folios, nr))
		goto out;
	start = ktime_get_ns();
	peak = pgmap_alloc_size(pa);
	/* Down to the first pgmap: the pool's minimum of one page keeps it */
	while (pgmap_alloc_size(pa) > BURST_PGMAP_SIZE >> PAGE_SHIFT &&
	       ktime_get_ns() - start < 30 * NSEC_PER_SEC) {
		if (!first && pgmap_alloc_size(pa) < peak)
			first = ktime_get_ns() - start;
		msleep(20);
	}
	bench_report("memmap/first-give-back-ms", div_u64(first, NSEC_PER_MSEC), "ms");
	bench_report("memmap/after-idle-bytes", pgmap_alloc_size(pa) * sizeof(struct page),
		     "bytes");
	bench_report("memmap/after-idle-ms", div_u64(ktime_get_ns() - start, NSEC_PER_MSEC),
		     "ms");

	/* Now only memory pressure gives pgmaps back: the guest's drop_caches */
	pgmap_alloc_set_idle(pa, 0, 1);
	if (burst_fill(pa, folios, nr))
		goto out;
	/* Longer than the per-CPU caches keep pages */
	msleep(2000);
	bench_report("memmap/before-drop-caches-bytes",
		     pgmap_alloc_size(pa) * sizeof(struct page), "bytes");
	burst_pool = pa;
	pa = NULL;
out:
	if (!IS_ERR_OR_NULL(pa))
		pgmap_alloc_destroy(pa);
	kvfree(folios);
}

/* A pool left in place until the module goes, for its debugfs figures. */
static struct pgmap_alloc *kept_pool;

static int __init pgmap_alloc_bench_init(void)
{
	static const unsigned int percents[] = { 0, 50, 95 };
	unsigned long gib, largest = 0;
	char *list, *cur, *tok;
	int p, ret = 0;

	reps = clamp(reps, 1U, (unsigned int)BENCH_MAX_REPS);
	list = kstrdup(sizes_gib, GFP_KERNEL);
	if (!list)
		return -ENOMEM;
	pr_info("pgmap_alloc_bench: %u operations x %u repetitions, %u CPUs\n",
		iters, reps, num_online_cpus());
	for (cur = list; (tok = strsep(&cur, ","));) {
		if (kstrtoul(tok, 0, &gib) || !gib)
			continue;
		if (fragmentation_only)
			ret = bench_map(&maps[BENCH_POOL], gib << 30);
		else
			ret = bench_map_all(gib);
		if (ret) {
			pr_err("pgmap_alloc_bench: cannot map %lu GiB: %d\n", gib, ret);
			break;
		}
		for (p = 0; p < ARRAY_SIZE(percents) && !fragmentation_only; p++)
			bench_occupancy(gib, percents[p]);
		if (!fragmentation_only)
			bench_order9(gib);
		if (gib == 1)
			bench_fragmentation();
		bench_unmap_all();
		largest = max(largest, gib);
	}
	kfree(list);
	bench_lifecycle();
	bench_memmap_burst();

	if (largest && !bench_map(&maps[BENCH_POOL], largest << 30)) {
		kept_pool = pgmap_alloc_init(&maps[BENCH_POOL].pgmap, "bench");
		if (IS_ERR(kept_pool)) {
			kept_pool = NULL;
			bench_unmap(&maps[BENCH_POOL]);
		}
	}
	pr_info("pgmap_alloc_bench: done\n");
	return ret;
}

static void __exit pgmap_alloc_bench_exit(void)
{
	pgmap_alloc_destroy(burst_pool);
	if (kept_pool) {
		pgmap_alloc_destroy(kept_pool);
		bench_unmap(&maps[BENCH_POOL]);
	}
}

module_init(pgmap_alloc_bench_init);
module_exit(pgmap_alloc_bench_exit);
MODULE_DESCRIPTION("Benchmark of pgmap_alloc against hand-written device page allocators");
MODULE_LICENSE("GPL");
