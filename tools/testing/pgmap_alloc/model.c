// SPDX-License-Identifier: GPL-2.0
/*
 * The model-based test of pgmap_alloc (see model.h).
 *
 * The reference model is small on purpose: for each pgmap, a bitmap of the
 * offsets the test holds in service. The checks after every step:
 * - each page handed out is a page of a pgmap of that pool, in service
 *   (refcount 1, locked) and not held already;
 * - a range is consecutive pages of one range of one pgmap, at an offset
 *   aligned to its size rounded up to a power of two;
 * - the pool's size and free count agree with the model;
 * - -ENOMEM from an allocation that may sleep only if no aligned run of
 *   free offsets of that size exists in one range of the pool's pgmaps;
 * - no warning but the ones a bad-input step expects;
 * - at the end, every page back, every pgmap released or given back.
 */
#include "shim/shim.h"
#include <linux/pgmap_alloc.h>

#include "model.h"

#define MAX_POOLS	3
#define MAX_MAPS	12
#define MAX_HELD	BIT(16)

struct model_pool;

struct model_pgmap {
	struct dev_pagemap *pgmap;
	struct model_pool *pool;
	unsigned long nr_pages;
	unsigned long *in_service;
	unsigned long nr_in_service;
};

struct model_pool {
	struct pgmap_alloc *pa;
	bool has_ops;			/* ->grow and ->release */
	int grow_budget;		/* pgmaps ->grow may still add */
	struct model_pgmap *maps[MAX_MAPS];
	int nr_maps;
	unsigned long held;
};

struct held_page {
	struct page *page;
	struct model_pgmap *map;
	unsigned long offset;
};

static struct model_pool pools[MAX_POOLS];
static struct held_page *held;
static unsigned long nr_held;
static unsigned long expected_warnings;
static struct model_source *src;
static struct model_stats *stats;
static bool verbose;
static unsigned long step;

#define check(cond, fmt, ...) do {					\
	if (!(cond)) {							\
		fprintf(stderr, "model: step %lu: check failed: %s: " fmt "\n", \
			step, #cond, ##__VA_ARGS__);			\
		abort();						\
	}								\
} while (0)

#define trace(fmt, ...) do {						\
	if (verbose)							\
		fprintf(stderr, "%5lu " fmt "\n", step, ##__VA_ARGS__);	\
} while (0)

/* A number in [0, n): from the fuzzer's bytes, or from xorshift64. */
static unsigned long pick(unsigned long n)
{
	uint64_t x;

	if (n <= 1)
		return 0;
	if (src->data) {
		if (src->pos >= src->len)
			return 0;
		x = src->data[src->pos++];
		if (n > 256 && src->pos < src->len)
			x = x << 8 | src->data[src->pos++];
		return x % n;
	}
	x = src->state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	src->state = x;
	return (x >> 11) % n;
}

static bool more_steps(void)
{
	if (src->data)
		return src->pos < src->len;
	if (!src->steps_left)
		return false;
	src->steps_left--;
	return true;
}

/* === Pgmaps: the driver's part ============================================ */

static unsigned long freed_pages;

static void model_page_free(struct page *page)
{
	/* The pool must leave nothing of its own in the driver's field. */
	check(!page->zone_device_data, "pfn %lu", page_to_pfn(page));
	freed_pages++;
}

static const struct dev_pagemap_ops model_pgmap_ops = {
	.page_free = model_page_free,
};

static const unsigned long map_sizes[] = {
	16, 48, 64, 100, 512, 514, 1000, 1024, 2048, 3000, 4096,
};

static struct model_pgmap *map_create(void)
{
	int nr_range = pick(4) ? 1 : 2 + pick(2), r;
	struct model_pgmap *map;
	struct dev_pagemap *pgmap;
	void *ret;

	pgmap = calloc(1, sizeof(*pgmap) + 3 * sizeof(struct range));
	map = calloc(1, sizeof(*map));
	pgmap->type = MEMORY_DEVICE_PRIVATE;
	pgmap->ops = &model_pgmap_ops;
	pgmap->owner = map;
	pgmap->nr_range = nr_range;
	for (r = 0; r < nr_range; r++) {
		unsigned long nr = map_sizes[pick(ARRAY_SIZE(map_sizes))];

		pgmap->ranges[r].start = 0;	/* the shim gives it pfns */
		pgmap->ranges[r].end = PFN_PHYS(nr) - 1;
		map->nr_pages += nr;
	}
	ret = memremap_pages(pgmap, NUMA_NO_NODE);
	check(!IS_ERR(ret), "memremap_pages: %ld", PTR_ERR(ret));
	map->pgmap = pgmap;
	map->in_service = calloc(BITS_TO_LONGS(map->nr_pages), sizeof(long));
	stats->pgmaps++;
	return map;
}

static void map_destroy(struct model_pgmap *map)
{
	check(!map->nr_in_service, "%lu pages", map->nr_in_service);
	memunmap_pages(map->pgmap);
	free(map->pgmap);
	free(map->in_service);
	free(map);
}

static void pool_forget_map(struct model_pool *pool, struct model_pgmap *map)
{
	int i;

	for (i = 0; i < pool->nr_maps; i++) {
		if (pool->maps[i] == map) {
			pool->maps[i] = pool->maps[--pool->nr_maps];
			return;
		}
	}
	check(0, "pgmap not in its pool");
}

static int pool_add_map(struct model_pool *pool, struct model_pgmap *map)
{
	unsigned long failed = shim_allocs_failed;
	int ret;

	ret = pgmap_alloc_add_pgmap(pool->pa, map->pgmap);
	if (ret) {
		check(ret == -ENOMEM && shim_allocs_failed != failed,
		      "pgmap_alloc_add_pgmap: %d", ret);
		map_destroy(map);
		return ret;
	}
	check(pool->nr_maps < MAX_MAPS, "too many pgmaps");
	map->pool = pool;
	pool->maps[pool->nr_maps++] = map;
	return 0;
}

static int model_grow(struct pgmap_alloc *pa, void *data)
{
	struct model_pool *pool = data;

	check(pool->pa == pa, "->grow of another pool");
	if (pool->grow_budget <= 0 || pool->nr_maps >= MAX_MAPS)
		return -ENOMEM;
	pool->grow_budget--;
	trace("grow");
	return pool_add_map(pool, map_create());
}

static void model_release(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
			  void *data)
{
	struct model_pool *pool = data;
	struct model_pgmap *map = pgmap->owner;

	check(map->pool == pool, "->release of a pgmap of another pool");
	check(!pgmap->allocator, "released while the pool hands back to it");
	trace("release pgmap of %lu pages", map->nr_pages);
	stats->releases++;
	pool_forget_map(pool, map);
	map_destroy(map);
}

static const struct pgmap_alloc_ops model_ops = {
	.grow = model_grow,
	.release = model_release,
};

/* === Checks =============================================================== */

static struct model_pool *pool_of(struct page *page)
{
	struct model_pgmap *map;
	int i;

	check(page->pgmap, "not a device page");
	map = page->pgmap->owner;
	for (i = 0; i < map->pool->nr_maps; i++)
		if (map->pool->maps[i] == map)
			return map->pool;
	return NULL;
}

/* A page the pool handed out: check it, and hold it in the model. */
static void take(struct model_pool *pool, struct page *page)
{
	struct model_pgmap *map = page->pgmap->owner;
	unsigned long offset;

	check(pool_of(page) == pool, "pfn %lu is not of this pool", page_to_pfn(page));
	check(folio_ref_count(page_folio(page)) == 1, "refcount %d",
	      folio_ref_count(page_folio(page)));
	check(folio_test_locked(page_folio(page)), "not locked");
	offset = page_pgmap_offset(page);
	check(offset < map->nr_pages, "offset %lu", offset);
	check(!test_bit(offset, map->in_service), "offset %lu handed out twice", offset);
	set_bit(offset, map->in_service);
	map->nr_in_service++;
	pool->held++;
	check(nr_held < MAX_HELD, "too many pages held");
	held[nr_held++] = (struct held_page){ page, map, offset };
	folio_unlock(page_folio(page));
	stats->allocs++;
}

static void put_held(unsigned long i, int cpu, bool irq)
{
	struct held_page hp = held[i];

	held[i] = held[--nr_held];
	clear_bit(hp.offset, hp.map->in_service);
	hp.map->nr_in_service--;
	hp.map->pool->held--;
	shim_set_cpu(cpu, false);
	shim_in_irq = irq;
	folio_put(page_folio(hp.page));
	shim_in_irq = false;
	stats->frees++;
}

/* Is there an aligned run of @nr free offsets in one range of @pool? */
static bool model_has_fit(struct model_pool *pool, unsigned long nr)
{
	unsigned long align = roundup_pow_of_two(nr), start, end, off;
	int i, r;

	for (i = 0; i < pool->nr_maps; i++) {
		struct model_pgmap *map = pool->maps[i];

		start = 0;
		for (r = 0; r < map->pgmap->nr_range; r++) {
			end = start + PHYS_PFN(range_len(&map->pgmap->ranges[r]));
			for (off = ALIGN(start, align); off + nr <= end; off += align) {
				if (find_next_bit(map->in_service, off + nr, off) >= off + nr) {
					fprintf(stderr,
						"model: free: offsets %lu-%lu of pgmap %d (%lu pages, range %d)\n",
						off, off + nr - 1, i, map->nr_pages, r);
					return true;
				}
			}
			start = end;
		}
	}
	return false;
}

static void check_pools(void)
{
	unsigned long size;
	int p, i;

	for (p = 0; p < MAX_POOLS; p++) {
		struct model_pool *pool = &pools[p];

		if (!pool->pa)
			continue;
		size = 0;
		for (i = 0; i < pool->nr_maps; i++)
			size += pool->maps[i]->nr_pages;
		check(pgmap_alloc_size(pool->pa) == size, "pool %d size %lu, model %lu",
		      p, pgmap_alloc_size(pool->pa), size);
		check(pgmap_alloc_free_pages(pool->pa) == size - pool->held,
		      "pool %d free %lu, model %lu", p,
		      pgmap_alloc_free_pages(pool->pa), size - pool->held);
	}
	check(shim_warnings == expected_warnings, "%lu warnings, %lu expected",
	      shim_warnings, expected_warnings);
}

/* === Steps ================================================================ */

static struct model_pool *pick_pool(void)
{
	struct model_pool *pool = &pools[pick(MAX_POOLS)];

	return pool->pa ? pool : NULL;
}

static int pick_online_cpu(void)
{
	int cpu = pick(SHIM_NR_CPUS), i;

	for (i = 0; i < SHIM_NR_CPUS; i++, cpu = (cpu + 1) % SHIM_NR_CPUS)
		if (cpu_online(cpu))
			return cpu;
	check(0, "no CPU online");
	return 0;
}

/* The context of an allocation or a free: a CPU, maybe an interrupt. */
static gfp_t pick_context(int *cpu, bool *irq)
{
	*cpu = pick_online_cpu();
	*irq = false;
	switch (pick(4)) {
	case 0:
		*irq = true;
		return GFP_ATOMIC;
	case 1:
		return GFP_NOWAIT;
	case 2:
		return GFP_NOFS;
	default:
		return GFP_KERNEL;
	}
}

static void after_alloc_failure(struct model_pool *pool, int ret, gfp_t gfp,
				unsigned long nr, unsigned long failed)
{
	stats->enomem++;
	check(ret == -ENOMEM, "allocation of %lu: %d", nr, ret);
	/* A sleeping allocation empties every cache and grows if it can. */
	if (gfpflags_allow_blocking(gfp) && shim_allocs_failed == failed)
		check(!model_has_fit(pool, nr),
		      "-ENOMEM for %lu pages, with room in the pool", nr);
}

static void step_alloc_folio(void)
{
	struct model_pool *pool = pick_pool();
	unsigned long failed = shim_allocs_failed;
	struct folio *folio;
	bool irq;
	int cpu;
	gfp_t gfp;

	if (!pool)
		return;
	gfp = pick_context(&cpu, &irq);
	shim_set_cpu(cpu, false);
	shim_in_irq = irq;
	folio = pgmap_alloc_folio(pool->pa, 0, gfp);
	shim_in_irq = false;
	trace("alloc folio cpu %d irq %d gfp %#x: %ld", cpu, irq, gfp,
	      IS_ERR(folio) ? PTR_ERR(folio) : 0L);
	if (IS_ERR(folio))
		after_alloc_failure(pool, PTR_ERR(folio), gfp, 1, failed);
	else
		take(pool, &folio->page);
}

static const unsigned long range_sizes[] = {
	1, 2, 3, 4, 5, 8, 16, 31, 32, 33, 64, 100, 256, 511, 512, 513, 1024,
};

static void step_alloc_range(void)
{
	struct model_pool *pool = pick_pool();
	unsigned long failed = shim_allocs_failed;
	struct page *pages[MAX_ORDER_NR_PAGES];
	unsigned long nr, i, offset;
	bool irq;
	int cpu, ret;
	gfp_t gfp;

	if (!pool)
		return;
	nr = pick(3) ? range_sizes[pick(ARRAY_SIZE(range_sizes))] :
		       1 + pick(MAX_ORDER_NR_PAGES);
	gfp = pick_context(&cpu, &irq);
	shim_set_cpu(cpu, false);
	shim_in_irq = irq;
	ret = pgmap_alloc_range(pool->pa, nr, gfp, pages);
	shim_in_irq = false;
	trace("alloc range %lu cpu %d irq %d gfp %#x: %d", nr, cpu, irq, gfp, ret);
	if (ret) {
		after_alloc_failure(pool, ret, gfp, nr, failed);
		return;
	}
	offset = page_pgmap_offset(pages[0]);
	check(IS_ALIGNED(offset, roundup_pow_of_two(nr)), "range of %lu at %lu", nr, offset);
	for (i = 0; i < nr; i++) {
		/* One range of a pgmap: consecutive pfns, hence struct pages. */
		check(pages[i] == pages[0] + i, "page %lu of %lu not consecutive", i, nr);
		check(pages[i]->pgmap == pages[0]->pgmap, "page %lu of another pgmap", i);
		take(pool, pages[i]);
	}
}

static void step_free(unsigned long count)
{
	bool irq;
	int cpu;

	while (count-- && nr_held) {
		pick_context(&cpu, &irq);
		put_held(pick(nr_held), cpu, irq);
	}
}

static void pool_free_all(struct model_pool *pool)
{
	unsigned long i;
	bool irq;
	int cpu;

	for (i = nr_held; i-- > 0;) {
		if (held[i].map->pool != pool)
			continue;
		pick_context(&cpu, &irq);
		put_held(i, cpu, irq);
	}
}

static void step_create(void)
{
	struct model_pool *pool = &pools[pick(MAX_POOLS)];
	unsigned long failed = shim_allocs_failed;
	struct model_pgmap *map;
	int kind = pick(3), n;

	if (pool->pa)
		return;
	memset(pool, 0, sizeof(*pool));
	shim_set_cpu(pick_online_cpu(), false);
	if (!kind) {
		/* pgmap_alloc_init(): one pgmap, no callbacks */
		map = map_create();
		pool->pa = pgmap_alloc_init(map->pgmap, "model");
		if (IS_ERR(pool->pa)) {
			check(PTR_ERR(pool->pa) == -ENOMEM && shim_allocs_failed != failed,
			      "pgmap_alloc_init: %ld", PTR_ERR(pool->pa));
			pool->pa = NULL;
			map_destroy(map);
			return;
		}
		map->pool = pool;
		pool->maps[pool->nr_maps++] = map;
	} else {
		pool->pa = pgmap_alloc_create("model", &model_ops, pool);
		if (IS_ERR(pool->pa)) {
			check(PTR_ERR(pool->pa) == -ENOMEM && shim_allocs_failed != failed,
			      "pgmap_alloc_create: %ld", PTR_ERR(pool->pa));
			pool->pa = NULL;
			return;
		}
		pool->has_ops = true;
		pool->grow_budget = kind == 2 ? pick(5) : 0;
		for (n = pick(3); n > 0; n--)
			pool_add_map(pool, map_create());
	}
	stats->pools++;
	trace("create pool %ld kind %d", pool - pools, kind);
}

static void pool_destroy(struct model_pool *pool)
{
	int i;

	trace("destroy pool %ld", pool - pools);
	pool_free_all(pool);
	shim_set_cpu(pick_online_cpu(), false);
	pgmap_alloc_destroy(pool->pa);
	if (pool->has_ops) {
		/* ->release came for each of them. */
		check(!pool->nr_maps, "%d pgmaps not released", pool->nr_maps);
	} else {
		for (i = 0; i < pool->nr_maps; i++) {
			check(!pool->maps[i]->pgmap->allocator, "pgmap still has its allocator");
			map_destroy(pool->maps[i]);
		}
	}
	memset(pool, 0, sizeof(*pool));
}

static void step_add(void)
{
	struct model_pool *pool = pick_pool();

	if (!pool || pool->nr_maps >= MAX_MAPS)
		return;
	shim_set_cpu(pick_online_cpu(), false);
	pool_add_map(pool, map_create());
	trace("add pgmap");
}

static void step_cpu_hotplug(void)
{
	int cpu = pick(SHIM_NR_CPUS), other;

	shim_set_cpu(pick_online_cpu(), false);
	if (!cpu_online(cpu)) {
		shim_cpu_online(cpu);
		trace("cpu %d online", cpu);
		return;
	}
	if (num_online_cpus() == 1)
		return;
	/* The teardown runs on another CPU: the next one online. */
	for (other = (cpu + 1) % SHIM_NR_CPUS; !cpu_online(other);
	     other = (other + 1) % SHIM_NR_CPUS)
		;
	shim_set_cpu(other, false);
	shim_cpu_offline(cpu);
	stats->offlines++;
	trace("cpu %d offline", cpu);
}

static void step_time(void)
{
	static const unsigned long ms[] = { 1, 50, 200, 1000, 6000 };
	unsigned long j = ms[pick(ARRAY_SIZE(ms))];
	int n;

	shim_advance(j);
	shim_set_cpu(pick_online_cpu(), false);
	n = shim_run_work();
	stats->work += n;
	trace("time +%lu ms: %d work items ran", j, n);
}

static void step_shrink(void)
{
	shim_set_cpu(pick_online_cpu(), false);
	trace("shrink: %lu", shim_shrink());
	shim_run_work();
}

static void step_set_idle(void)
{
	static const unsigned int ms[] = { 0, 10, 100, 5000 };
	struct model_pool *pool = pick_pool();

	if (!pool)
		return;
	pgmap_alloc_set_idle(pool->pa, ms[pick(ARRAY_SIZE(ms))], pick(5000));
}

/* Bad input: each gets its error and exactly the warnings it should. */
static void step_bad_input(void)
{
	struct model_pool *pool = pick_pool();
	struct page *pages[1];
	struct folio *folio;
	int ret;

	if (!pool)
		return;
	shim_set_cpu(pick_online_cpu(), false);
	shim_quiet_warnings = true;
	switch (pick(6)) {
	case 0:
		ret = pgmap_alloc_range(pool->pa, 0, GFP_KERNEL, pages);
		check(ret == -EINVAL, "range of 0: %d", ret);
		expected_warnings++;
		break;
	case 1:
		ret = pgmap_alloc_range(pool->pa, MAX_ORDER_NR_PAGES + 1, GFP_KERNEL, pages);
		check(ret == -EINVAL, "range too large: %d", ret);
		expected_warnings++;
		break;
	case 2:
		folio = pgmap_alloc_folio(pool->pa, MAX_PAGE_ORDER + 1, GFP_KERNEL);
		check(folio == ERR_PTR(-EINVAL), "order too large: %ld", PTR_ERR(folio));
		expected_warnings++;
		break;
	case 3:
		folio = pgmap_alloc_folio(pool->pa, 1, GFP_KERNEL);
		check(folio == ERR_PTR(-E2BIG), "order 1: %ld", PTR_ERR(folio));
		break;
	case 4:
		folio = pgmap_alloc_folio(NULL, 0, GFP_KERNEL);
		check(folio == ERR_PTR(-EINVAL), "no pool: %ld", PTR_ERR(folio));
		expected_warnings++;
		break;
	default:
		/* A pgmap already in a pool */
		if (!pool->nr_maps)
			break;
		ret = pgmap_alloc_add_pgmap(pool->pa, pool->maps[pick(pool->nr_maps)]->pgmap);
		check(ret == -EBUSY, "pgmap added twice: %d", ret);
		expected_warnings++;
		break;
	}
	shim_quiet_warnings = false;
}

/* The next step's allocations in the kernel code fail after a few. */
static void step_inject(void)
{
	shim_fail_countdown = 1 + pick(4);
	switch (pick(4)) {
	case 0:
		step_create();
		break;
	case 1:
		step_add();
		break;
	case 2:
		step_alloc_range();
		break;
	default:
		step_alloc_folio();
		break;
	}
	shim_fail_countdown = 0;
}

static void one_step(void)
{
	unsigned long what = pick(100);
	struct model_pool *pool;
	int p;

	/* Most steps need a pool: make sure there is one. */
	for (p = 0; p < MAX_POOLS && !pools[p].pa; p++)
		;
	if (p == MAX_POOLS)
		what = 75;
	if (what < 28) {
		step_alloc_folio();
	} else if (what < 42) {
		step_alloc_range();
	} else if (what < 70) {
		step_free(1);
	} else if (what < 74) {
		step_free(1 + pick(64));
	} else if (what < 77) {
		step_create();
	} else if (what < 79) {
		pool = pick_pool();
		if (pool)
			pool_destroy(pool);
	} else if (what < 82) {
		step_add();
	} else if (what < 84) {
		step_cpu_hotplug();
	} else if (what < 90) {
		step_time();
	} else if (what < 92) {
		step_shrink();
	} else if (what < 93) {
		step_set_idle();
	} else if (what < 96) {
		step_bad_input();
	} else {
		step_inject();
	}
}

/* === A sequence =========================================================== */

void model_init(void)
{
	static bool done;

	if (done)
		return;
	done = true;
	shim_thread_start();
	if (shim_core_initcall()) {
		fprintf(stderr, "model: the initcall failed\n");
		exit(2);
	}
	held = calloc(MAX_HELD, sizeof(*held));
}

int model_run(struct model_source *source, struct model_stats *st, bool verb)
{
	unsigned long frees_before = st->frees;
	int p, cpu;

	src = source;
	stats = st;
	verbose = verb;
	step = 0;
	nr_held = 0;
	freed_pages = 0;
	shim_warnings = 0;
	expected_warnings = 0;
	memset(pools, 0, sizeof(pools));
	/*
	 * Time starts where the sequence says, around the wrap as the kernel's
	 * INITIAL_JIFFIES does, so that a replay sees the same times.
	 */
	shim_jiffies = -300UL * HZ + pick(600 * HZ);
	trace("jiffies %ld", (long)jiffies);

	while (more_steps()) {
		step++;
		one_step();
		check_pools();
	}

	/* The end: every page back, every pool gone, all CPUs up again. */
	step++;
	for (cpu = 0; cpu < SHIM_NR_CPUS; cpu++)
		if (!cpu_online(cpu))
			shim_cpu_online(cpu);
	for (p = 0; p < MAX_POOLS; p++) {
		if (!pools[p].pa)
			continue;
		pool_free_all(&pools[p]);
		check_pools();
		pool_destroy(&pools[p]);
	}
	shim_set_cpu(0, false);
	shim_advance(10000);
	shim_run_work();
	check(!nr_held, "%lu pages still held", nr_held);
	check(freed_pages == stats->frees - frees_before,
	      "page_free ran %lu times for %lu frees", freed_pages,
	      stats->frees - frees_before);
	check(shim_warnings == expected_warnings, "%lu warnings, %lu expected",
	      shim_warnings, expected_warnings);
	stats->steps += step;
	return 0;
}
