// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for lib/pgmap_alloc.c on real DEVICE_PRIVATE pgmaps:
 * functional cases, a table of bad input, growth, teardown, and a stress
 * test that checks with a shadow bitmap that no page is handed out twice.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/highmem.h>
#include <linux/kthread.h>
#include <linux/hrtimer.h>
#include <linux/mman.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/pgmap_alloc.h>
#include <linux/prandom.h>
#include <linux/random.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "pgmap_kunit.h"

static struct pgmap_kunit_dev *one_range(struct kunit *test, unsigned long nr)
{
	return pgmap_kunit_create(test, 1, &nr);
}

static void destroy_pool(void *pa)
{
	pgmap_alloc_destroy(pa);
}

/*
 * A pool on @dev, destroyed when the test ends: before the pgmap is
 * unmapped, since kunit actions run in reverse order.
 */
static struct pgmap_alloc *pool_on(struct kunit *test,
				   struct pgmap_kunit_dev *dev)
{
	struct pgmap_alloc *pa = pgmap_alloc_init(&dev->pgmap, test->name);

	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(pa), "%ld", PTR_ERR(pa));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_pool, pa), 0);
	return pa;
}

/*
 * For tests of growth, not of giving back: a growing pool would otherwise
 * give its free pgmaps back after a few seconds, or to the shrinker.
 */
static void keep_pgmaps(struct pgmap_alloc *pa)
{
	pgmap_alloc_set_idle(pa, 0, ULONG_MAX);
}

static void put_page_folio(struct page *page)
{
	folio_unlock(page_folio(page));
	folio_put(page_folio(page));
}

static void pgmap_alloc_one_folio(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 1024);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct folio *folio;

	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(pa), 1024);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1024);

	folio = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	KUNIT_EXPECT_PTR_EQ(test, folio->page.pgmap, &dev->pgmap);
	KUNIT_EXPECT_LT(test, folio_pgmap_offset(folio), 1024);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	KUNIT_EXPECT_TRUE(test, folio_test_locked(folio));
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1023);

	/* The hand-back needs no call from the driver, and happens once. */
	folio_unlock(folio);
	folio_get(folio);
	folio_put(folio);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1023);
	folio_put(folio);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1024);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 1);
}

/* Take every page, fail on the next, give all back, and do it again. */
static void pgmap_alloc_exhaust_and_recover(struct kunit *test)
{
	const unsigned long nr = 1024;
	struct pgmap_kunit_dev *dev = one_range(test, nr);
	struct pgmap_alloc *pa = pool_on(test, dev);
	unsigned long *seen, i;
	struct folio **folios;
	int round;

	seen = kunit_kzalloc(test, BITS_TO_LONGS(nr) * sizeof(long), GFP_KERNEL);
	folios = kunit_kcalloc(test, nr, sizeof(*folios), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, seen);
	KUNIT_ASSERT_NOT_NULL(test, folios);

	for (round = 0; round < 2; round++) {
		bitmap_zero(seen, nr);
		for (i = 0; i < nr; i++) {
			folios[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
			KUNIT_ASSERT_FALSE(test, IS_ERR(folios[i]));
			KUNIT_EXPECT_FALSE(test, __test_and_set_bit(folio_pgmap_offset(folios[i]),
								    seen));
		}
		KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 0);
		KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)),
				-ENOMEM);
		for (i = 0; i < nr; i++)
			put_page_folio(&folios[i]->page);
		KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), nr);
	}
}

/* A page freed on a CPU is the next one that CPU gets: it is warm. */
static void pgmap_alloc_reuses_warm_page(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 1024);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct folio *first, *again;
	pgoff_t offset;

	migrate_disable();
	first = pgmap_alloc_folio(pa, 0, GFP_NOWAIT);
	if (!IS_ERR(first)) {
		offset = folio_pgmap_offset(first);
		put_page_folio(&first->page);
		again = pgmap_alloc_folio(pa, 0, GFP_NOWAIT);
	}
	migrate_enable();
	KUNIT_ASSERT_FALSE(test, IS_ERR(first));
	KUNIT_ASSERT_FALSE(test, IS_ERR(again));
	KUNIT_EXPECT_EQ(test, folio_pgmap_offset(again), offset);
	put_page_folio(&again->page);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1024);
}

struct put_shares_ctx {
	struct folio **folios;
	unsigned long nr;
	unsigned int nr_threads;
};

/* Thread i puts folios i, i + nr_threads, ...: a share on every CPU. */
static void put_share(void *arg, unsigned int i)
{
	struct put_shares_ctx *ctx = arg;
	unsigned long n;

	for (n = i; n < ctx->nr; n += ctx->nr_threads)
		put_page_folio(&ctx->folios[n]->page);
}

/* Pages cached by other CPUs never make an allocation fail. */
static void pgmap_alloc_cached_elsewhere(struct kunit *test)
{
	const unsigned long nr = 512;
	struct pgmap_kunit_dev *dev = one_range(test, nr);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct put_shares_ctx ctx = { .nr = nr, .nr_threads = num_online_cpus() };
	unsigned long i;

	pgmap_kunit_need_cpus(test, 2, "to free pages on another");
	ctx.folios = kunit_kcalloc(test, nr, sizeof(*ctx.folios), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx.folios);
	for (i = 0; i < nr; i++) {
		ctx.folios[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR(ctx.folios[i]));
	}

	/* Free them on every CPU, whose caches keep some of them... */
	pgmap_kunit_run_threads(test, ctx.nr_threads, put_share, &ctx);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), nr);

	/* ...and still every page can be allocated from here. */
	for (i = 0; i < nr; i++) {
		ctx.folios[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(ctx.folios[i]), "page %lu of %lu", i, nr);
	}
	for (i = 0; i < nr; i++)
		put_page_folio(&ctx.folios[i]->page);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), nr);
}

static void pgmap_alloc_aligned_ranges(struct kunit *test)
{
	static const unsigned long sizes[] = { 1, 3, 4, 100, 512, 1024 };
	struct pgmap_kunit_dev *dev = one_range(test, 4096);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct page **pages;
	int s;

	pages = kunit_kcalloc(test, MAX_ORDER_NR_PAGES + 1, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);

	/* Hold a page so that the ranges do not all start at 0. */
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 1, GFP_KERNEL, pages), 0);

	for (s = 0; s < ARRAY_SIZE(sizes); s++) {
		unsigned long nr = sizes[s], i;
		pgoff_t first;

		KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, nr, GFP_KERNEL, pages + 1), 0);
		first = page_pgmap_offset(pages[1]);
		KUNIT_EXPECT_EQ_MSG(test, first % roundup_pow_of_two(nr), 0,
				    "range of %lu at %lu", nr, first);
		for (i = 0; i < nr; i++) {
			KUNIT_EXPECT_EQ(test, page_pgmap_offset(pages[1 + i]), first + i);
			KUNIT_EXPECT_EQ(test, page_ref_count(pages[1 + i]), 1);
		}
		for (i = 0; i < nr; i++)
			put_page_folio(pages[1 + i]);
		KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 4095);
	}
	put_page_folio(pages[0]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 4096);
}

/* Several pgmaps behind one pool, as a driver adding memory in chunks has. */
static void pgmap_alloc_several_pgmaps(struct kunit *test)
{
	static const unsigned long two[] = { 512, 1024 };
	struct pgmap_kunit_dev *a = one_range(test, 512);
	struct pgmap_kunit_dev *b = pgmap_kunit_create(test, 2, two);
	struct pgmap_alloc *pa = pool_on(test, a);
	unsigned long from_a = 0, from_b = 0, i;
	struct folio **folios;

	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(pa, &b->pgmap), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(pa), 2048);

	folios = kunit_kcalloc(test, 2048, sizeof(*folios), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, folios);
	for (i = 0; i < 2048; i++) {
		folios[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR(folios[i]));
		if (folios[i]->page.pgmap == &a->pgmap)
			from_a++;
		else if (folios[i]->page.pgmap == &b->pgmap)
			from_b++;
	}
	KUNIT_EXPECT_EQ(test, from_a, 512);
	KUNIT_EXPECT_EQ(test, from_b, 1536);
	for (i = 0; i < 2048; i++)
		put_page_folio(&folios[i]->page);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 2048);
}

/*
 * The smallest pool memremap_pages() can give: one 2 MiB subsection. A pool
 * of a single page cannot exist, but one with a single free page can: it
 * hands that page out, then refuses, and takes it back.
 */
static void pgmap_alloc_last_free_page(struct kunit *test)
{
	const unsigned long nr = PAGES_PER_SUBSECTION;
	struct pgmap_kunit_dev *dev = one_range(test, nr);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct page *pages[2], **held;
	struct folio *last, *again;
	unsigned long i;

	held = kunit_kcalloc(test, nr, sizeof(*held), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, held);
	for (i = 0; i < nr - 1; i++)
		KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 1, GFP_KERNEL, &held[i]), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1);

	last = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(last));
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)), -ENOMEM);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_range(pa, 2, GFP_KERNEL, pages), -ENOMEM);
	put_page_folio(&last->page);
	again = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(again));
	KUNIT_EXPECT_EQ(test, folio_pgmap_offset(again), folio_pgmap_offset(last));
	put_page_folio(&again->page);

	/* Full recovery: the whole pool as one range again. */
	for (i = 0; i < nr - 1; i++)
		put_page_folio(held[i]);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, nr, GFP_KERNEL, held), 0);
	KUNIT_EXPECT_EQ(test, page_pgmap_offset(held[0]), 0);
	for (i = 0; i < nr; i++)
		put_page_folio(held[i]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), nr);
}

/*
 * A pool of more than 4 GiB: offsets above 1 << 20 pages, every range order
 * from 0 to MAX_PAGE_ORDER at both ends of it, and page_pgmap_offset() the
 * inverse of the allocation all the way.
 */
static void pgmap_alloc_large_pool(struct kunit *test)
{
	const unsigned long nr = (SZ_4G + SZ_1G) >> PAGE_SHIFT;
	struct pgmap_kunit_dev *dev = one_range(test, nr);
	struct pgmap_alloc *pa = pool_on(test, dev);
	unsigned long first_pfn = PHYS_PFN(dev->pgmap.range.start);
	unsigned long above_4g = 0, i;
	struct page **pages;
	unsigned int order;
	pgoff_t offset;

	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(pa), nr);
	pages = kunit_kcalloc(test, 2 * MAX_ORDER_NR_PAGES, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);

	for (order = 0; order <= MAX_PAGE_ORDER; order++) {
		unsigned long n = 1UL << order;

		/* Small ranges are placed from the top, large from the bottom. */
		KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, n, GFP_KERNEL, pages), 0);
		KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, n, GFP_KERNEL, pages + n), 0);
		for (i = 0; i < 2 * n; i++) {
			offset = page_pgmap_offset(pages[i]);
			KUNIT_EXPECT_EQ(test, offset, page_pgmap_offset(pages[i - i % n]) + i % n);
			KUNIT_EXPECT_EQ(test, page_to_pfn(pages[i]), first_pfn + offset);
			above_4g += offset >= SZ_4G >> PAGE_SHIFT;
		}
		KUNIT_EXPECT_EQ_MSG(test, page_pgmap_offset(pages[0]) % n, 0, "order %u", order);
		KUNIT_EXPECT_EQ_MSG(test, page_pgmap_offset(pages[n]) % n, 0, "order %u", order);
		for (i = 0; i < 2 * n; i++)
			put_page_folio(pages[i]);
	}
	KUNIT_EXPECT_GT(test, above_4g, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), nr);
}

struct grow_ctx {
	struct kunit *test;
	int nr_grown;			/* ->grow() calls are serialised */
	int max_grown;
	int nr_released;
	struct pgmap_kunit_dev *spare;	/* added by grow_by_spare() */
	struct completion entered, resume;
	int grow_error;
	struct pgmap_alloc *pa;		/* for the threads of a test */
	int alloc_error;
};

static int grow_by_one_pgmap(struct pgmap_alloc *pa, void *data)
{
	struct grow_ctx *ctx = data;
	struct pgmap_kunit_dev *dev;

	if (ctx->nr_grown == ctx->max_grown)
		return -ENOSPC;
	dev = one_range(ctx->test, 512);
	ctx->nr_grown++;
	return pgmap_alloc_add_pgmap(pa, &dev->pgmap);
}

/* The pgmaps belong to the test, which unmaps them when it ends. */
static void count_released_pgmap(struct pgmap_alloc *pa,
				 struct dev_pagemap *pgmap, void *data)
{
	struct grow_ctx *ctx = data;

	ctx->nr_released++;
}

static const struct pgmap_alloc_ops grow_ops = {
	.grow = grow_by_one_pgmap,
	.release = count_released_pgmap,
};

static int count_pgmaps(struct dev_pagemap *pgmap, void *arg)
{
	int *count = arg;

	return ++*count == 2 ? 42 : 0;
}

/*
 * The pool is created empty, so the test's pgmaps are unmapped before it is
 * destroyed; the test destroys it itself, after every page is back.
 */
static struct pgmap_alloc *growing_pool(struct kunit *test,
					struct grow_ctx *ctx, int max_grown)
{
	struct pgmap_alloc *pa;

	ctx->test = test;
	ctx->max_grown = max_grown;
	pa = pgmap_alloc_create(test->name, &grow_ops, ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
	keep_pgmaps(pa);
	return pa;
}

static void pgmap_alloc_grows_on_demand(struct kunit *test)
{
	struct grow_ctx ctx = {};
	struct pgmap_alloc *pa = growing_pool(test, &ctx, 3);
	struct folio **folios;
	int i;

	/* Without permission to sleep, the pool does not grow. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_NOWAIT)), -ENOMEM);
	KUNIT_EXPECT_EQ(test, ctx.nr_grown, 0);

	folios = kunit_kcalloc(test, 3 * 512, sizeof(*folios), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, folios);
	for (i = 0; i < 3 * 512; i++) {
		folios[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR(folios[i]));
	}
	KUNIT_EXPECT_EQ(test, ctx.nr_grown, 3);
	/* The callback's error comes back when it cannot grow any more. */
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)), -ENOSPC);

	for (i = 0; i < 3 * 512; i++)
		put_page_folio(&folios[i]->page);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 3 * 512);

	/* The driver needs no list of its own: the pool walks its pgmaps... */
	i = 0;
	KUNIT_EXPECT_EQ(test, pgmap_alloc_walk_pgmaps(pa, count_pgmaps, &i), 42);
	KUNIT_EXPECT_EQ(test, i, 2);
	/* ...and hands each back to the driver when it is destroyed. */
	pgmap_alloc_destroy(pa);
	KUNIT_EXPECT_EQ(test, ctx.nr_released, 3);
}

struct grow_race_ctx {
	struct pgmap_alloc *pa;
	struct folio *folios[2][1024];
	unsigned int nr[2];
};

/* Allocate up to 1024 folios, until the pool cannot grow any more. */
static void allocate_until_full(void *arg, unsigned int i)
{
	struct grow_race_ctx *ctx = arg;

	for (ctx->nr[i] = 0; ctx->nr[i] < ARRAY_SIZE(ctx->folios[i]); ctx->nr[i]++) {
		struct folio *folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);

		if (IS_ERR(folio))
			break;
		ctx->folios[i][ctx->nr[i]] = folio;
	}
}

/* Two threads that run dry together grow the pool just as much as needed. */
static void pgmap_alloc_grows_under_concurrency(struct kunit *test)
{
	struct grow_ctx grow = {};
	struct grow_race_ctx *ctx;
	struct xarray seen;
	int i, j;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pa = growing_pool(test, &grow, 8);
	pgmap_kunit_run_threads(test, 2, allocate_until_full, ctx);

	KUNIT_EXPECT_EQ(test, ctx->nr[0] + ctx->nr[1], 2048);
	KUNIT_EXPECT_EQ(test, grow.nr_grown, 4);
	xa_init(&seen);
	for (i = 0; i < 2; i++) {
		for (j = 0; j < ctx->nr[i]; j++) {
			struct folio *folio = ctx->folios[i][j];

			KUNIT_EXPECT_EQ(test, xa_insert(&seen, folio_pfn(folio),
							folio, GFP_KERNEL), 0);
			put_page_folio(&folio->page);
		}
	}
	xa_destroy(&seen);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), 2048);
	pgmap_alloc_destroy(ctx->pa);
}

/* Destroying a pool with folios out reports them and stays safe. */
static void pgmap_alloc_destroy_with_folios_out(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pgmap_alloc_init(&dev->pgmap, test->name);
	struct folio *folios[3];
	int i;

	KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
	for (i = 0; i < 3; i++) {
		folios[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR(folios[i]));
	}
	PGMAP_KUNIT_EXPECT_WARN_DO(test, pgmap_alloc_destroy(pa));

	/* The pool is leaked, not freed: it still refuses allocations... */
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)), -ENODEV);
	/* ...and takes its pages back. */
	for (i = 0; i < 3; i++)
		put_page_folio(&folios[i]->page);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 3);
}

/* A folio the driver put into service itself is reported, not taken. */
static void pgmap_alloc_foreign_folio(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct folio *folio;

	folio = pgmap_request_folio(&dev->pgmap, 7, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	folio_unlock(folio);
	PGMAP_KUNIT_EXPECT_WARN_DO(test, folio_put(folio));
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 1);
}

/* A pgmap that starts dying fails allocations cleanly. */
static void pgmap_alloc_dying_pgmap(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pgmap_alloc_init(&dev->pgmap, test->name);
	struct page *pages[4];
	struct folio *held;

	KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
	held = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(held));
	pgmap_kunit_unmap_async(dev);
	KUNIT_EXPECT_FALSE(test, pgmap_kunit_wait_unmapped(dev, HZ / 5));

	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)), -ENODEV);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_range(pa, 4, GFP_KERNEL, pages), -ENODEV);
	/* Nothing of the failed allocations stays reserved. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 511);

	put_page_folio(&held->page);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_wait_unmapped(dev, 10 * HZ));
	/* After memunmap_pages(), before the pgmap is freed: the documented order. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	pgmap_alloc_destroy(pa);
}

struct churn_ctx {
	struct pgmap_alloc *pa;
	struct completion holding[2];	/* thread i holds 8 folios */
	struct completion release;	/* the threads may free what they hold */
	unsigned long allocated[2];
	int error[2];			/* what stopped thread i */
};

/*
 * Allocate and free until the pool refuses with anything but -ENOMEM,
 * holding up to 8 folios at a time, and free them once ctx->release is
 * completed.
 */
static void churn_until_refused(void *arg, unsigned int t)
{
	struct churn_ctx *ctx = arg;
	struct folio *held[8] = {};
	unsigned int i = 0;

	for (;;) {
		struct folio *folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);

		if (IS_ERR(folio) && PTR_ERR(folio) != -ENOMEM) {
			ctx->error[t] = PTR_ERR(folio);
			break;
		}
		if (held[i % 8])
			put_page_folio(&held[i % 8]->page);
		held[i++ % 8] = IS_ERR(folio) ? NULL : folio;
		ctx->allocated[t] += !IS_ERR(folio);
		if (ctx->allocated[t] == 8)
			complete(&ctx->holding[t]);
		cond_resched();
	}
	wait_for_completion(&ctx->release);
	for (i = 0; i < 8; i++)
		if (held[i])
			put_page_folio(&held[i]->page);
}

/* Two threads churning on @pa; the test may release them at once. */
static struct churn_ctx *start_churning(struct kunit *test, struct pgmap_alloc *pa,
					bool release, struct pgmap_kunit_threads **threads)
{
	struct churn_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pa = pa;
	init_completion(&ctx->holding[0]);
	init_completion(&ctx->holding[1]);
	init_completion(&ctx->release);
	if (release)
		complete_all(&ctx->release);
	*threads = pgmap_kunit_start_threads(test, 2, churn_until_refused, ctx);
	return ctx;
}

/*
 * The device goes away while two threads allocate and free: their
 * allocations start failing with -ENODEV, memunmap_pages() waits for the
 * folios they still hold and returns, and every page is back.
 */
static void pgmap_alloc_unmap_while_allocating(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pgmap_alloc_init(&dev->pgmap, test->name);
	struct pgmap_kunit_threads *threads;
	struct churn_ctx *ctx;
	int i;

	KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
	/* They may free their folios as soon as they are refused. */
	ctx = start_churning(test, pa, true, &threads);
	msleep(100);
	pgmap_kunit_unmap_async(dev);
	KUNIT_ASSERT_TRUE(test, pgmap_kunit_threads_done(threads, 30 * HZ));
	for (i = 0; i < 2; i++) {
		KUNIT_EXPECT_EQ(test, ctx->error[i], -ENODEV);
		KUNIT_EXPECT_GT(test, ctx->allocated[i], 0);
	}
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_wait_unmapped(dev, 10 * HZ));
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free),
			ctx->allocated[0] + ctx->allocated[1]);
	pgmap_alloc_destroy(pa);
}

/*
 * The pool is destroyed while two threads allocate and free. They hold
 * folios, so it is reported and leaked, which is also what makes their
 * calls after the destroy legal; those fail with -ENODEV, and the folios
 * they free afterwards still come back. Several rounds, the destroy landing
 * at different points.
 */
static void pgmap_alloc_destroy_while_allocating(struct kunit *test)
{
	static const unsigned int delays_ms[] = { 1, 20, 100 };
	int round, i;

	for (round = 0; round < ARRAY_SIZE(delays_ms); round++) {
		struct pgmap_kunit_dev *dev = one_range(test, 512);
		struct pgmap_alloc *pa = pgmap_alloc_init(&dev->pgmap, test->name);
		struct pgmap_kunit_threads *threads;
		struct churn_ctx *ctx;

		KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
		ctx = start_churning(test, pa, false, &threads);
		for (i = 0; i < 2; i++)
			KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ctx->holding[i],
									    10 * HZ));
		msleep(delays_ms[round]);
		PGMAP_KUNIT_EXPECT_WARN_DO(test, pgmap_alloc_destroy(pa));
		complete_all(&ctx->release);
		KUNIT_ASSERT_TRUE(test, pgmap_kunit_threads_done(threads, 30 * HZ));
		for (i = 0; i < 2; i++)
			KUNIT_EXPECT_EQ(test, ctx->error[i], -ENODEV);
		KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)), -ENODEV);
		KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
		KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free),
				ctx->allocated[0] + ctx->allocated[1]);
	}
	kunit_info(test, "%d destroys raced allocating threads\n", round);
}

/* Grows by adding ctx->spare, once ctx->resume is completed. */
static int grow_by_spare(struct pgmap_alloc *pa, void *data)
{
	struct grow_ctx *ctx = data;

	ctx->nr_grown++;
	complete(&ctx->entered);
	wait_for_completion(&ctx->resume);
	ctx->grow_error = pgmap_alloc_add_pgmap(pa, &ctx->spare->pgmap);
	return ctx->grow_error;
}

static const struct pgmap_alloc_ops grow_by_spare_ops = {
	.grow = grow_by_spare,
	.release = count_released_pgmap,
};

/* Allocate one folio and put it back: the allocation's error, or 0. */
static int alloc_and_put_folio(struct pgmap_alloc *pa)
{
	struct folio *folio = pgmap_alloc_folio(pa, 0, GFP_KERNEL);

	if (IS_ERR(folio))
		return PTR_ERR(folio);
	put_page_folio(&folio->page);
	return 0;
}

static void alloc_one_folio(void *arg, unsigned int i)
{
	struct grow_ctx *ctx = arg;

	ctx->alloc_error = alloc_and_put_folio(ctx->pa);
}

static void destroy_pool_thread(void *arg, unsigned int i)
{
	struct grow_ctx *ctx = arg;

	pgmap_alloc_destroy(ctx->pa);
}

/*
 * Destroy waits for an allocation that is growing the pool, and growing a
 * pool that is being destroyed fails cleanly: the grow callback's
 * pgmap_alloc_add_pgmap() gets -ENODEV and the pgmap stays free.
 */
static void pgmap_alloc_destroy_waits_for_grow(struct kunit *test)
{
	struct pgmap_kunit_threads *allocator, *destroyer;
	struct grow_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->test = test;
	ctx->spare = one_range(test, 512);
	init_completion(&ctx->entered);
	init_completion(&ctx->resume);
	ctx->pa = pgmap_alloc_create(test->name, &grow_by_spare_ops, ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pa));
	keep_pgmaps(ctx->pa);
	allocator = pgmap_kunit_start_threads(test, 1, alloc_one_folio, ctx);
	KUNIT_ASSERT_TRUE(test, wait_for_completion_timeout(&ctx->entered, 10 * HZ));

	/* The allocation is inside ->grow(): destroy must wait for it. */
	destroyer = pgmap_kunit_start_threads(test, 1, destroy_pool_thread, ctx);
	KUNIT_EXPECT_FALSE(test, pgmap_kunit_threads_done(destroyer, HZ / 5));

	complete(&ctx->resume);
	KUNIT_ASSERT_TRUE(test, pgmap_kunit_threads_done(allocator, 10 * HZ));
	KUNIT_ASSERT_TRUE(test, pgmap_kunit_threads_done(destroyer, 10 * HZ));
	KUNIT_EXPECT_EQ(test, ctx->grow_error, -ENODEV);
	KUNIT_EXPECT_EQ(test, ctx->alloc_error, -ENODEV);
	KUNIT_EXPECT_NULL(test, ctx->spare->pgmap.allocator);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 0);
}

/* Can fail-nth fail sleeping allocations here? Skips the test if not. */
static bool fault_injection_ready(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	void *probe;

	current->fail_nth = 1;
	probe = kmalloc(8, GFP_KERNEL);
	current->fail_nth = 0;
	kfree(probe);
	if (!probe)
		return true;
	kunit_skip(test, "%s",
		   "failslab does not fail sleeping allocations: write N to failslab/ignore-gfp-wait");
#else
	kunit_skip(test, "needs CONFIG_FAULT_INJECTION");
#endif
	return false;
}

/*
 * Make each allocation of pgmap_alloc_create() and pgmap_alloc_add_pgmap()
 * fail in turn (fail-nth, with failslab and fail_page_alloc armed for
 * sleeping allocations). Each failure is a clean -ENOMEM and leaves the
 * pgmap free for another pool; leaks are kmemleak's to find.
 */
static void pgmap_alloc_fault_injection(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	unsigned int nth, nr_failed = 0, nr_absorbed = 0;
	bool all_tried = false;
	struct pgmap_alloc *pa;
	struct folio *folio;
	int ret;

	if (!fault_injection_ready(test))
		return;
	for (nth = 1; nth < 200; nth++) {
		current->fail_nth = nth;
		pa = pgmap_alloc_create(test->name, NULL, NULL);
		ret = IS_ERR(pa) ? PTR_ERR(pa) : pgmap_alloc_add_pgmap(pa, &dev->pgmap);
		/* Still armed: there were fewer than nth allocations to fail. */
		all_tried = current->fail_nth;
		current->fail_nth = 0;
		if (all_tried)
			break;

		if (!IS_ERR(pa))
			pgmap_alloc_destroy(pa);
		if (ret) {
			KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "allocation %u", nth);
			nr_failed++;
		} else {
			/* debugfs files are optional: their failure is absorbed */
			nr_absorbed++;
		}
		KUNIT_EXPECT_NULL(test, dev->pgmap.allocator);
	}
	KUNIT_ASSERT_TRUE(test, all_tried);
	KUNIT_ASSERT_EQ(test, ret, 0);
	KUNIT_EXPECT_GT(test, nr_failed, 0);
	kunit_info(test, "%u allocations failed by injection, %u absorbed\n",
		   nr_failed, nr_absorbed);

	/* With nothing failing, the pool works. */
	folio = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
	KUNIT_EXPECT_FALSE(test, IS_ERR(folio));
	if (!IS_ERR(folio))
		put_page_folio(&folio->page);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	pgmap_alloc_destroy(pa);
#else
	fault_injection_ready(test);
#endif
}

/*
 * The same through the growth path: an allocation from an empty pool whose
 * grow callback adds a pgmap, with each allocation along the way (the
 * allocation path's and pgmap_alloc_add_pgmap()'s) failing in turn, on a
 * fresh pool each time. Each failure is a clean -ENOMEM from
 * pgmap_alloc_range(), with the pool left empty and the pgmap free, or is
 * absorbed by a fallback (kvmalloc() falls back to vmalloc).
 */
static void pgmap_alloc_fault_injection_grow(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	struct grow_ctx ctx = { .test = test };
	unsigned int nth, nr_failed = 0, nr_absorbed = 0;
	bool all_tried = false;
	struct pgmap_alloc *pa;
	struct page *pages[4];
	int ret, i;

	if (!fault_injection_ready(test))
		return;
	ctx.spare = one_range(test, 512);
	/* grow_by_spare() without the wait: it may grow at once */
	init_completion(&ctx.entered);
	init_completion(&ctx.resume);
	complete_all(&ctx.resume);

	for (nth = 1; nth < 200 && !all_tried; nth++) {
		pa = pgmap_alloc_create(test->name, &grow_by_spare_ops, &ctx);
		KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
		keep_pgmaps(pa);
		current->fail_nth = nth;
		ret = pgmap_alloc_range(pa, 4, GFP_KERNEL, pages);
		/* Still armed: there were fewer than nth allocations to fail. */
		all_tried = current->fail_nth;
		current->fail_nth = 0;

		if (ret) {
			KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "allocation %u", nth);
			KUNIT_EXPECT_NULL(test, ctx.spare->pgmap.allocator);
			KUNIT_EXPECT_EQ(test, pgmap_alloc_size(pa), 0);
			nr_failed++;
		} else {
			for (i = 0; i < 4; i++)
				put_page_folio(pages[i]);
			KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
			nr_absorbed += !all_tried;
		}
		pgmap_alloc_destroy(pa);
		/* Whatever happened, the pgmap is free for the next pool. */
		KUNIT_EXPECT_NULL(test, ctx.spare->pgmap.allocator);
	}
	KUNIT_EXPECT_TRUE(test, all_tried);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_GT(test, nr_failed, 0);
	kunit_info(test, "%u allocations failed by injection, %u absorbed\n",
		   nr_failed, nr_absorbed);
#else
	fault_injection_ready(test);
#endif
}

/* Bad input, each a clear error and nothing taken. */
struct bad_input {
	const char *desc;
	int (*run)(struct kunit *test, struct pgmap_kunit_dev *dev,
		   struct pgmap_alloc *pa);
	bool warns;
	bool *site_warned;	/* a WARN_ON_ONCE() site shared with another case */
	int error;
};

/* One WARN_ON_ONCE() site each: see PGMAP_KUNIT_EXPECT_WARN_ONCE(). */
static bool pgmap_in_a_pool_warned, range_size_warned, in_service_without_pool_warned;
static bool compact_input_warned, removal_from_walk_warned;

static int init_other_type(struct kunit *test, struct pgmap_kunit_dev *dev,
			   struct pgmap_alloc *pa)
{
	struct dev_pagemap *pgmap = pgmap_kunit_unmapped_pgmap(test, MEMORY_DEVICE_FS_DAX);

	return PTR_ERR(pgmap_alloc_init(pgmap, "bad"));
}

static int init_unmapped(struct kunit *test, struct pgmap_kunit_dev *dev,
			 struct pgmap_alloc *pa)
{
	struct dev_pagemap *pgmap = pgmap_kunit_unmapped_pgmap(test, MEMORY_DEVICE_PRIVATE);

	return PTR_ERR(pgmap_alloc_init(pgmap, "bad"));
}

static int init_twice(struct kunit *test, struct pgmap_kunit_dev *dev,
		      struct pgmap_alloc *pa)
{
	return PTR_ERR(pgmap_alloc_init(&dev->pgmap, "bad"));
}

static int add_to_second_pool(struct kunit *test, struct pgmap_kunit_dev *dev,
			      struct pgmap_alloc *pa)
{
	struct pgmap_alloc *other = pgmap_alloc_create("bad", NULL, NULL);
	int ret;

	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	ret = pgmap_alloc_add_pgmap(other, &dev->pgmap);
	pgmap_alloc_destroy(other);
	return ret;
}

static int folio_order_too_big(struct kunit *test, struct pgmap_kunit_dev *dev,
			       struct pgmap_alloc *pa)
{
	return PTR_ERR(pgmap_alloc_folio(pa, MAX_PAGE_ORDER + 1, GFP_KERNEL));
}

static int folio_order_one(struct kunit *test, struct pgmap_kunit_dev *dev,
			   struct pgmap_alloc *pa)
{
	return PTR_ERR(pgmap_alloc_folio(pa, 1, GFP_KERNEL));
}

static int range_of_zero(struct kunit *test, struct pgmap_kunit_dev *dev,
			 struct pgmap_alloc *pa)
{
	struct page *page;

	return pgmap_alloc_range(pa, 0, GFP_KERNEL, &page);
}

static int range_too_big(struct kunit *test, struct pgmap_kunit_dev *dev,
			 struct pgmap_alloc *pa)
{
	struct page *page;

	return pgmap_alloc_range(pa, MAX_ORDER_NR_PAGES + 1, GFP_KERNEL, &page);
}

static int range_bigger_than_pool(struct kunit *test, struct pgmap_kunit_dev *dev,
				  struct pgmap_alloc *pa)
{
	struct page **pages = kunit_kcalloc(test, 1024, sizeof(*pages), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, pages);
	return pgmap_alloc_range(pa, 1024, GFP_KERNEL, pages);
}

static int range_without_array(struct kunit *test, struct pgmap_kunit_dev *dev,
			       struct pgmap_alloc *pa)
{
	return pgmap_alloc_range(pa, 1, GFP_KERNEL, NULL);
}

static int null_pool(struct kunit *test, struct pgmap_kunit_dev *dev,
		     struct pgmap_alloc *pa)
{
	return PTR_ERR(pgmap_alloc_folio(NULL, 0, GFP_KERNEL));
}

static int evict_other_pgmap(struct kunit *test, struct pgmap_kunit_dev *dev,
			     struct pgmap_alloc *pa)
{
	struct dev_pagemap *pgmap = pgmap_kunit_unmapped_pgmap(test, MEMORY_DEVICE_PRIVATE);

	return pgmap_alloc_evict(pa, pgmap, NULL);
}

static int evict_without_copy(struct kunit *test, struct pgmap_kunit_dev *dev,
			      struct pgmap_alloc *pa)
{
	return pgmap_alloc_evict(pa, &dev->pgmap, NULL);
}

static int remove_other_pgmap(struct kunit *test, struct pgmap_kunit_dev *dev,
			      struct pgmap_alloc *pa)
{
	struct dev_pagemap *pgmap = pgmap_kunit_unmapped_pgmap(test, MEMORY_DEVICE_PRIVATE);

	return pgmap_alloc_remove_pgmap(pa, pgmap, NULL);
}

static int walk_removes(struct dev_pagemap *pgmap, void *pa)
{
	return pgmap_alloc_remove_pgmap(pa, pgmap, NULL);
}

static int remove_from_walk_callback(struct kunit *test, struct pgmap_kunit_dev *dev,
				     struct pgmap_alloc *pa)
{
	return pgmap_alloc_walk_pgmaps(pa, walk_removes, pa);
}

static int compact_null_pool(struct kunit *test, struct pgmap_kunit_dev *dev,
			     struct pgmap_alloc *pa)
{
	return pgmap_alloc_compact(NULL, 9, 512, NULL);
}

static int compact_order_too_big(struct kunit *test, struct pgmap_kunit_dev *dev,
				 struct pgmap_alloc *pa)
{
	return pgmap_alloc_compact(pa, MAX_PAGE_ORDER + 1, 512, NULL);
}

static int compact_without_copy(struct kunit *test, struct pgmap_kunit_dev *dev,
				struct pgmap_alloc *pa)
{
	return pgmap_alloc_compact(pa, 9, 512, NULL);
}

static int walk_compacts(struct dev_pagemap *pgmap, void *pa)
{
	return pgmap_alloc_compact(pa, 9, 512, NULL);
}

static int compact_from_walk_callback(struct kunit *test, struct pgmap_kunit_dev *dev,
				      struct pgmap_alloc *pa)
{
	return pgmap_alloc_walk_pgmaps(pa, walk_compacts, pa);
}

static const struct bad_input bad_inputs[] = {
	{ "init on a pgmap of another type", init_other_type, true, NULL, -EOPNOTSUPP },
	{ "init on a pgmap not mapped", init_unmapped, true, NULL, -EINVAL },
	{ "init twice on one pgmap", init_twice, true, &pgmap_in_a_pool_warned, -EBUSY },
	{ "one pgmap in two pools", add_to_second_pool, true, &pgmap_in_a_pool_warned, -EBUSY },
	{ "folio order above MAX_PAGE_ORDER", folio_order_too_big, true, NULL, -EINVAL },
	{ "folio order 1, not buildable here", folio_order_one, false, NULL, -E2BIG },
	{ "range of 0 pages", range_of_zero, true, &range_size_warned, -EINVAL },
	{ "range above MAX_ORDER_NR_PAGES", range_too_big, true, &range_size_warned, -EINVAL },
	{ "range larger than the pool", range_bigger_than_pool, false, NULL, -ENOMEM },
	{ "range without a page array", range_without_array, true, NULL, -EINVAL },
	{ "NULL pool", null_pool, true, NULL, -EINVAL },
	{ "evict a pgmap of no pool", evict_other_pgmap, true, NULL, -EINVAL },
	{ "evict without a copy callback", evict_without_copy, true, NULL, -EOPNOTSUPP },
	{ "remove a pgmap of no pool", remove_other_pgmap, true, NULL, -EINVAL },
	{ "remove from a walk callback", remove_from_walk_callback, true,
	  &removal_from_walk_warned, -EDEADLK },
	{ "compact a NULL pool", compact_null_pool, true, &compact_input_warned, -EINVAL },
	{ "compact above MAX_PAGE_ORDER", compact_order_too_big, true,
	  &compact_input_warned, -EINVAL },
	{ "compact without a copy callback", compact_without_copy, true, NULL, -EOPNOTSUPP },
	{ "compact from a walk callback", compact_from_walk_callback, true,
	  &removal_from_walk_warned, -EDEADLK },
};

static void bad_input_desc(const struct bad_input *t, char *desc)
{
	strscpy(desc, t->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bad_input, bad_inputs, bad_input_desc);

static void pgmap_alloc_bad_input(struct kunit *test)
{
	const struct bad_input *t = test->param_value;
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct page **pages;
	int ret, i;

	pages = kunit_kcalloc(test, 512, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	if (t->warns) {
		ret = PGMAP_KUNIT_EXPECT_WARN_ONCE(test, t->site_warned, t->run(test, dev, pa));
	} else {
		unsigned long warnings = pgmap_kunit_nr_warnings();

		ret = t->run(test, dev, pa);
		KUNIT_EXPECT_EQ_MSG(test, pgmap_kunit_nr_warnings(), warnings, "warned");
	}
	KUNIT_EXPECT_EQ(test, ret, t->error);
	/* Nothing was taken, and the pool still works. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_range(pa, 512, GFP_KERNEL, pages), 0);
	for (i = 0; i < 512; i++)
		put_page_folio(pages[i]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
}

/*
 * A range that fails part way is undone without ->page_free: the driver never
 * got those pages. Page 511 is put into service behind the pool's back (a
 * driver bug, reported), so a range of the whole pool fails at its last page.
 */
static void pgmap_alloc_range_undone_without_page_free(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct folio *foreign;
	struct page **pages;

	pages = kunit_kcalloc(test, 512, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	foreign = pgmap_request_folio(&dev->pgmap, 511, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(foreign));

	KUNIT_EXPECT_EQ(test, PGMAP_KUNIT_EXPECT_WARN_ONCE(test, &in_service_without_pool_warned,
							   pgmap_alloc_range(pa, 512, GFP_KERNEL,
									     pages)),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 511);
	KUNIT_EXPECT_EQ(test, page_ref_count(pages[0]), 0);

	/* The driver's page comes back to the pool when the driver frees it. */
	put_page_folio(&foreign->page);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 1);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
}

struct undo_walker_ctx {
	struct page *page;
	atomic_t round;			/* the requester's, from 1 */
	atomic_t stop;
	long refs;
};

/*
 * A pfn walker that, once a round, takes a reference on its page as soon as
 * it can and holds it a while before it lets go.
 */
static void undo_walker(void *arg, unsigned int i)
{
	struct undo_walker_ctx *ctx = arg;
	unsigned long spins = 0;
	int done = 0;

	while (!atomic_read(&ctx->stop)) {
		if (atomic_read(&ctx->round) != done &&
		    get_page_unless_zero(ctx->page)) {
			ctx->refs++;
			usleep_range(200, 400);
			put_page(ctx->page);
			done = atomic_read(&ctx->round);
		}
		if (!(++spins % 1024))
			cond_resched();
	}
}

struct undo_ctx {
	struct kunit *test;
	struct pgmap_kunit_dev *dev;
	struct pgmap_alloc *pa;
	struct page **pages;
	struct undo_walker_ctx walker;
};

/*
 * Each round, the driver takes page 511 itself, so that a range of the whole
 * pool fails at its last page; then frees it, and it goes back to the pool,
 * as do the pages the walker held, once it let go.
 */
static void undo_requester(struct undo_ctx *ctx)
{
	struct folio *foreign;
	int round, waited;

	for (round = 1; round <= 50; round++) {
		atomic_set(&ctx->walker.round, round);
		foreign = pgmap_request_folio(&ctx->dev->pgmap, 511, 0);
		KUNIT_EXPECT_FALSE(ctx->test, IS_ERR(foreign));
		if (IS_ERR(foreign))
			break;
		KUNIT_EXPECT_EQ(ctx->test, pgmap_alloc_range(ctx->pa, 512, GFP_KERNEL,
							     ctx->pages), -EBUSY);
		put_page_folio(&foreign->page);
		for (waited = 0; waited < 5000 && pgmap_alloc_free_pages(ctx->pa) != 512;
		     waited++)
			usleep_range(1000, 2000);
		KUNIT_EXPECT_EQ(ctx->test, pgmap_alloc_free_pages(ctx->pa), 512);
	}
	atomic_set(&ctx->walker.stop, 1);
}

static void undo_thread(void *arg, unsigned int i)
{
	struct undo_ctx *ctx = arg;

	if (i == 0)
		undo_requester(ctx);
	else
		undo_walker(&ctx->walker, i);
}

/*
 * The same, while a pfn walker on another CPU takes references on a page of
 * the range as soon as it is in service: the undo waits for the walker
 * instead of leaving the last put, and so ->page_free, to it.
 */
static void pgmap_alloc_range_undone_past_a_walker(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct undo_ctx *ctx;

	pgmap_kunit_need_cpus(test, 2, "to race");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pages = kunit_kcalloc(test, 512, sizeof(*ctx->pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->pages);
	ctx->test = test;
	ctx->dev = dev;
	ctx->pa = pa;
	ctx->walker.page = pfn_to_page(PHYS_PFN(dev->pgmap.range.start) + 5);

	PGMAP_KUNIT_EXPECT_WARN_ONCE(test, &in_service_without_pool_warned,
				     ({ pgmap_kunit_run_threads(test, 2, undo_thread, ctx); 0; }));
	kunit_info(test, "the walker took %ld references\n", ctx->walker.refs);
	KUNIT_EXPECT_GT(test, ctx->walker.refs, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
	/* ->page_free ran for the driver's own page only, once a round. */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 50);
	KUNIT_EXPECT_EQ(test, page_ref_count(ctx->walker.page), 0);
}

/*
 * Single-threaded, an allocation fails with -ENOMEM only if no aligned free
 * range of its size exists: checked against a shadow bitmap of the pages
 * out, over random ranges allocated and freed in random order.
 */
#define MODEL_PAGES	1024
#define MODEL_HELD	48

static void pgmap_alloc_enomem_only_when_full(struct kunit *test)
{
	struct pgmap_alloc *pa = pool_on(test, one_range(test, MODEL_PAGES));
	struct { struct page *first; pgoff_t offset; unsigned long nr; } *held;
	unsigned long *shadow, nr, i;
	long nr_held = 0, failed = 0, spurious = 0;
	struct rnd_state rnd;
	struct page **pages;
	int op;

	shadow = kunit_kzalloc(test, BITS_TO_LONGS(MODEL_PAGES) * sizeof(long), GFP_KERNEL);
	held = kunit_kcalloc(test, MODEL_HELD, sizeof(*held), GFP_KERNEL);
	pages = kunit_kcalloc(test, 64, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, shadow);
	KUNIT_ASSERT_NOT_NULL(test, held);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	prandom_seed_state(&rnd, 14);

	for (op = 0; op < 20000; op++) {
		u32 r = prandom_u32_state(&rnd);

		if (nr_held == MODEL_HELD || (nr_held && r % 3 == 0)) {
			long slot = (r >> 2) % nr_held;

			for (i = 0; i < held[slot].nr; i++) {
				clear_bit(held[slot].offset + i, shadow);
				put_page_folio(nth_page(held[slot].first, i));
			}
			held[slot] = held[--nr_held];
			continue;
		}
		nr = 1 + (r >> 2) % (r & 2 ? 64 : 8);
		if (pgmap_alloc_range(pa, nr, GFP_KERNEL, pages)) {
			failed++;
			/* Was there an aligned free range of this size? */
			if (bitmap_find_next_zero_area(shadow, MODEL_PAGES, 0, nr,
						       roundup_pow_of_two(nr) - 1) < MODEL_PAGES)
				spurious++;
			continue;
		}
		held[nr_held].first = pages[0];
		held[nr_held].offset = page_pgmap_offset(pages[0]);
		held[nr_held].nr = nr;
		for (i = 0; i < nr; i++)
			KUNIT_EXPECT_FALSE(test, test_and_set_bit(held[nr_held].offset + i,
								  shadow));
		nr_held++;
	}
	while (nr_held--)
		for (i = 0; i < held[nr_held].nr; i++)
			put_page_folio(nth_page(held[nr_held].first, i));
	kunit_info(test, "%ld allocations failed, %ld of them with room\n", failed, spurious);
	KUNIT_EXPECT_GT(test, failed, 0);
	KUNIT_EXPECT_EQ(test, spurious, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), MODEL_PAGES);
}

/*
 * Two CPUs allocate and free ranges of up to 64 pages in a pool that always
 * has room: each holds at most 4 ranges, so at most 2 * 4 held, 2 in flight
 * and 8 cached pages touch at most 18 of its 32 aligned 64-page blocks. The
 * pool must then never call ->grow nor fail.
 */
#define ROOM_PAGES	2048
#define ROOM_HELD	4

struct room_ctx {
	struct pgmap_alloc *pa;
	atomic_t nr_grow, nr_failed;
	atomic_long_t nr_allocated;
};

static int count_grow(struct pgmap_alloc *pa, void *data)
{
	struct room_ctx *ctx = data;

	atomic_inc(&ctx->nr_grow);
	return -ENOSPC;
}

static const struct pgmap_alloc_ops count_grow_ops = {
	.grow = count_grow,
};

static void room_thread(void *arg, unsigned int id)
{
	struct room_ctx *ctx = arg;
	struct { struct page *first; unsigned long nr; } held[ROOM_HELD];
	struct page *pages[64];
	int nr_held = 0, op;
	struct rnd_state rnd;
	unsigned long i;

	prandom_seed_state(&rnd, 100 + id);
	for (op = 0; op < 20000; op++) {
		u32 r = prandom_u32_state(&rnd);
		unsigned long nr = 1 + (r >> 8) % (r & 1 ? 64 : 4);

		if (nr_held == ROOM_HELD || (nr_held && (r & 6) == 0)) {
			int slot = (r >> 3) % nr_held;

			for (i = 0; i < held[slot].nr; i++)
				put_page_folio(nth_page(held[slot].first, i));
			held[slot] = held[--nr_held];
			continue;
		}
		if (pgmap_alloc_range(ctx->pa, nr, GFP_KERNEL, pages)) {
			atomic_inc(&ctx->nr_failed);
			continue;
		}
		atomic_long_inc(&ctx->nr_allocated);
		held[nr_held].first = pages[0];
		held[nr_held++].nr = nr;
		if (!(op % 256))
			cond_resched();
	}
	while (nr_held--)
		for (i = 0; i < held[nr_held].nr; i++)
			put_page_folio(nth_page(held[nr_held].first, i));
}

static void pgmap_alloc_no_grow_while_room(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, ROOM_PAGES);
	struct room_ctx *ctx;

	pgmap_kunit_need_cpus(test, 2, "to race");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pa = pgmap_alloc_create(test->name, &count_grow_ops, ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pa));
	keep_pgmaps(ctx->pa);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_pool, ctx->pa), 0);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &dev->pgmap), 0);

	pgmap_kunit_run_threads(test, 2, room_thread, ctx);
	kunit_info(test, "%ld ranges allocated; %d calls of ->grow, %d failures\n",
		   atomic_long_read(&ctx->nr_allocated), atomic_read(&ctx->nr_grow),
		   atomic_read(&ctx->nr_failed));
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->nr_grow), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->nr_failed), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), ROOM_PAGES);
}

/*
 * A range never crosses from one range of a multi-range pgmap to the next:
 * its pfns are consecutive. With ranges of 512 and 1536 pages, the only
 * 1024-page range lies at offset 1024; with 512, 1024 and 512 there is none.
 */
static void pgmap_alloc_range_within_one_range(struct kunit *test)
{
	static const unsigned long two[] = { 512, 1536 }, three[] = { 512, 1024, 512 };
	struct pgmap_kunit_dev *dev = pgmap_kunit_create(test, 2, two);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct page **pages, *firsts[4];
	unsigned long i, jumps = 0;
	int ret;

	pages = kunit_kcalloc(test, 1024, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 1024, GFP_KERNEL, pages), 0);
	KUNIT_EXPECT_EQ(test, page_pgmap_offset(pages[0]), 1024);
	for (i = 0; i < 1024; i++)
		jumps += page_to_pfn(pages[i]) != page_to_pfn(pages[0]) + i;
	KUNIT_EXPECT_EQ(test, jumps, 0);
	for (i = 0; i < 1024; i++)
		put_page_folio(pages[i]);

	dev = pgmap_kunit_create(test, 3, three);
	pa = pool_on(test, dev);
	ret = pgmap_alloc_range(pa, 1024, GFP_KERNEL, pages);
	KUNIT_EXPECT_EQ(test, ret, -ENOMEM);
	for (i = 0; !ret && i < 1024; i++)
		put_page_folio(pages[i]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 2048);
	/* Ranges of 512 fill it, each inside one range. */
	for (i = 0; i < 4; i++) {
		KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 512, GFP_KERNEL, pages + 512 * (i & 1)),
				0);
		firsts[i] = pages[512 * (i & 1)];
		KUNIT_EXPECT_EQ(test, page_to_pfn(pages[512 * (i & 1) + 511]),
				page_to_pfn(firsts[i]) + 511);
	}
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 0);
	for (i = 0; i < 4 * 512; i++)
		put_page_folio(nth_page(firsts[i / 512], i % 512));
}

/*
 * Calls into the pool that would deadlock fail instead, with a warning:
 * allocating from the pool inside its own ->grow, destroying it from there,
 * and allocating (and so growing) from a pgmap_alloc_walk_pgmaps() callback,
 * which holds the lock that growing needs. Each runs in a thread, so that on
 * a pool that deadlocks the test reports it instead of hanging.
 */
struct reentry_ctx {
	struct kunit *test;
	struct pgmap_alloc *pa;
	struct pgmap_kunit_dev *dev;
	int (*grow)(struct reentry_ctx *ctx);
	int inner_error, outer_error;
};

static int reentry_grow(struct pgmap_alloc *pa, void *data)
{
	struct reentry_ctx *ctx = data;

	return ctx->grow(ctx);
}

static const struct pgmap_alloc_ops reentry_ops = {
	.grow = reentry_grow,
};

static void reentry_alloc(void *arg, unsigned int i)
{
	struct reentry_ctx *ctx = arg;

	ctx->outer_error = alloc_and_put_folio(ctx->pa);
}

/* Run @fn in a thread: false if it did not return within 20 s. */
static bool reentry_start_and_wait(struct kunit *test, pgmap_kunit_thread_fn fn,
				   void *arg)
{
	return pgmap_kunit_threads_done(pgmap_kunit_start_threads(test, 1, fn, arg),
					20 * HZ);
}

/* Returns false, leaking the pool, if the call deadlocked. */
static bool reentry_run(struct kunit *test, pgmap_kunit_thread_fn fn, void *arg)
{
	/* The thread warns: start it inside the markers. */
	if (PGMAP_KUNIT_EXPECT_WARN(test, reentry_start_and_wait(test, fn, arg)))
		return true;
	KUNIT_FAIL(test, "deadlocked: leaking the pool and the thread");
	return false;
}

static struct reentry_ctx *reentry_pool(struct kunit *test,
					int (*grow)(struct reentry_ctx *ctx))
{
	struct reentry_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->test = test;
	ctx->grow = grow;
	ctx->pa = pgmap_alloc_create(test->name, &reentry_ops, ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pa));
	keep_pgmaps(ctx->pa);
	return ctx;
}

static int grow_allocates(struct reentry_ctx *ctx)
{
	struct folio *folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);

	ctx->inner_error = PTR_ERR_OR_ZERO(folio);
	return -ENOSPC;
}

static void pgmap_alloc_grow_allocates_from_its_pool(struct kunit *test)
{
	struct reentry_ctx *ctx = reentry_pool(test, grow_allocates);

	if (!reentry_run(test, reentry_alloc, ctx))
		return;
	KUNIT_EXPECT_EQ(test, ctx->inner_error, -EDEADLK);
	KUNIT_EXPECT_EQ(test, ctx->outer_error, -ENOSPC);
	pgmap_alloc_destroy(ctx->pa);
}

static int grow_adds_pgmap(struct reentry_ctx *ctx)
{
	return pgmap_alloc_add_pgmap(ctx->pa, &one_range(ctx->test, 512)->pgmap);
}

static int grow_destroys(struct reentry_ctx *ctx)
{
	pgmap_alloc_destroy(ctx->pa);
	return -ENOSPC;
}

static void pgmap_alloc_grow_destroys_its_pool(struct kunit *test)
{
	struct reentry_ctx *ctx = reentry_pool(test, grow_destroys);
	struct folio *folio;

	if (!reentry_run(test, reentry_alloc, ctx))
		return;
	/* The destroy was refused: the pool is alive, and still grows. */
	KUNIT_EXPECT_EQ(test, ctx->outer_error, -ENOSPC);
	ctx->grow = grow_adds_pgmap;
	folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	put_page_folio(&folio->page);
	pgmap_alloc_destroy(ctx->pa);
}

static int walk_allocates(struct dev_pagemap *pgmap, void *arg)
{
	struct reentry_ctx *ctx = arg;
	struct folio *folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);

	ctx->inner_error = PTR_ERR_OR_ZERO(folio);
	if (!IS_ERR(folio))
		put_page_folio(&folio->page);
	return 1;
}

static void reentry_walk(void *arg, unsigned int i)
{
	struct reentry_ctx *ctx = arg;

	ctx->outer_error = pgmap_alloc_walk_pgmaps(ctx->pa, walk_allocates, ctx);
}

static void pgmap_alloc_walk_callback_allocates(struct kunit *test)
{
	struct reentry_ctx *ctx = reentry_pool(test, grow_adds_pgmap);
	struct page **pages;
	int i;

	ctx->dev = one_range(test, 512);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev->pgmap), 0);
	pages = kunit_kcalloc(test, 512, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(ctx->pa, 512, GFP_KERNEL, pages), 0);

	/* Full, so the callback's allocation would have to grow the pool. */
	if (!reentry_run(test, reentry_walk, ctx))
		return;
	KUNIT_EXPECT_EQ(test, ctx->inner_error, -EDEADLK);
	KUNIT_EXPECT_EQ(test, ctx->outer_error, 1);
	for (i = 0; i < 512; i++)
		put_page_folio(pages[i]);
	pgmap_alloc_destroy(ctx->pa);
}

/* What a walk callback tries: each is refused, with a warning of its own. */
enum walk_reentry_call { WALK_IN_WALK, ADD_PGMAP_IN_WALK, DESTROY_IN_WALK };

struct walk_reentry {
	struct reentry_ctx *ctx;
	struct pgmap_kunit_dev *other;
	enum walk_reentry_call call;
	int error;
};

static int walk_nothing(struct dev_pagemap *pgmap, void *arg)
{
	return 0;
}

static int walk_reenters(struct dev_pagemap *pgmap, void *arg)
{
	struct walk_reentry *w = arg;
	struct pgmap_alloc *pa = w->ctx->pa;

	switch (w->call) {
	case WALK_IN_WALK:
		w->error = pgmap_alloc_walk_pgmaps(pa, walk_nothing, NULL);
		break;
	case ADD_PGMAP_IN_WALK:
		w->error = pgmap_alloc_add_pgmap(pa, &w->other->pgmap);
		break;
	case DESTROY_IN_WALK:
		pgmap_alloc_destroy(pa);	/* returns nothing: checked below */
		break;
	}
	return 1;
}

static void reentry_walk_reenters(void *arg, unsigned int i)
{
	struct walk_reentry *w = arg;

	w->ctx->outer_error = pgmap_alloc_walk_pgmaps(w->ctx->pa, walk_reenters, w);
}

static void walk_callback_reenters(struct kunit *test, enum walk_reentry_call call)
{
	struct reentry_ctx *ctx = reentry_pool(test, grow_adds_pgmap);
	struct walk_reentry *w = kunit_kzalloc(test, sizeof(*w), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, w);
	w->ctx = ctx;
	w->other = one_range(test, 512);
	w->call = call;
	ctx->dev = one_range(test, 512);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev->pgmap), 0);
	if (!reentry_run(test, reentry_walk_reenters, w))
		return;
	if (call != DESTROY_IN_WALK)
		KUNIT_EXPECT_EQ(test, w->error, -EDEADLK);
	KUNIT_EXPECT_EQ(test, ctx->outer_error, 1);
	/* Not destroyed, and the other pgmap belongs to no pool. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 512);
	KUNIT_EXPECT_NULL(test, w->other->pgmap.allocator);
	pgmap_alloc_destroy(ctx->pa);
}

static void pgmap_alloc_walk_from_walk_callback(struct kunit *test)
{
	walk_callback_reenters(test, WALK_IN_WALK);
}

static void pgmap_alloc_add_pgmap_from_walk_callback(struct kunit *test)
{
	walk_callback_reenters(test, ADD_PGMAP_IN_WALK);
}

static void pgmap_alloc_destroy_from_walk_callback(struct kunit *test)
{
	walk_callback_reenters(test, DESTROY_IN_WALK);
}

/* ->grow runs in the allocation's gfp scope: no fs or io recursion. */
struct scope_ctx {
	unsigned int flags;
};

static int grow_records_scope(struct pgmap_alloc *pa, void *data)
{
	struct scope_ctx *ctx = data;

	ctx->flags = current->flags & (PF_MEMALLOC_NOFS | PF_MEMALLOC_NOIO);
	return -ENOSPC;
}

static const struct pgmap_alloc_ops scope_ops = {
	.grow = grow_records_scope,
};

static void pgmap_alloc_grow_in_gfp_scope(struct kunit *test)
{
	struct scope_ctx ctx = {};
	struct pgmap_alloc *pa = pgmap_alloc_create(test->name, &scope_ops, &ctx);

	KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_pool, pa), 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_NOFS)), -ENOSPC);
	KUNIT_EXPECT_EQ(test, ctx.flags, PF_MEMALLOC_NOFS);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_NOIO)), -ENOSPC);
	KUNIT_EXPECT_EQ(test, ctx.flags, PF_MEMALLOC_NOIO);
	KUNIT_EXPECT_EQ(test, PTR_ERR(pgmap_alloc_folio(pa, 0, GFP_KERNEL)), -ENOSPC);
	KUNIT_EXPECT_EQ(test, ctx.flags, 0);
	/* The caller's own flags are as they were. */
	KUNIT_EXPECT_FALSE(test, current->flags & (PF_MEMALLOC_NOFS | PF_MEMALLOC_NOIO));
}

/*
 * A PF_MEMALLOC task (one in reclaim) finds the pool's last page cached on
 * another CPU: emptying that cache must not flush a workqueue that reclaim
 * cannot rely on (check_flush_dependency() warns).
 */
struct memalloc_ctx {
	struct pgmap_alloc *pa;
	struct folio *folio;
	struct completion cached;
	int error;
};

static void memalloc_thread(void *arg, unsigned int i)
{
	struct memalloc_ctx *ctx = arg;
	unsigned int noreclaim;
	struct folio *folio;

	if (i == 1) {
		put_page_folio(&ctx->folio->page);
		complete(&ctx->cached);
		return;
	}
	wait_for_completion(&ctx->cached);
	noreclaim = memalloc_noreclaim_save();
	folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
	memalloc_noreclaim_restore(noreclaim);
	ctx->error = PTR_ERR_OR_ZERO(folio);
	if (!IS_ERR(folio))
		put_page_folio(&folio->page);
}

static void pgmap_alloc_drain_from_reclaim(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct memalloc_ctx ctx = { .pa = pa };
	struct page **pages;
	int i, round;

	pgmap_kunit_need_cpus(test, 2, "to cache the page on another");
	pages = kunit_kcalloc(test, 512, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	for (round = 0; round < 20; round++) {
		KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 512, GFP_KERNEL, pages), 0);
		ctx.folio = page_folio(pages[round]);
		init_completion(&ctx.cached);
		pgmap_kunit_run_threads(test, 2, memalloc_thread, &ctx);
		KUNIT_EXPECT_EQ(test, ctx.error, 0);
		for (i = 0; i < 512; i++)
			if (i != round)
				put_page_folio(pages[i]);
	}
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
}

/*
 * Pages cached on CPUs that stop allocating do not stay there: the caches
 * hold at most a sixteenth of the pool, and an idle cache is emptied after
 * a short delay, so that allocations that may not sleep (and so cannot
 * empty other CPUs' caches) find every free page again.
 */
struct idle_ctx {
	struct pgmap_alloc *pa;
	struct page **pages;		/* the whole pool, from one range */
	struct page **got;		/* taken again without sleeping */
	unsigned int nr_cpus, per_cpu;
};

static void idle_thread(void *arg, unsigned int i)
{
	struct idle_ctx *ctx = arg;
	unsigned int j;

	/* Thread i frees its share on CPU i... */
	for (j = 0; j < ctx->per_cpu; j++)
		put_page_folio(ctx->pages[i * ctx->per_cpu + j]);
}

static long idle_take_all(struct idle_ctx *ctx, long n)
{
	while (n < ctx->nr_cpus * ctx->per_cpu) {
		struct folio *folio = pgmap_alloc_folio(ctx->pa, 0, GFP_NOWAIT);

		if (IS_ERR(folio))
			break;
		ctx->got[n++] = &folio->page;
	}
	return n;
}

static void pgmap_alloc_idle_caches_emptied(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 512);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct idle_ctx ctx = { .pa = pa, .per_cpu = 8 };
	long n, at_once, i;
	int waited_ms;

	ctx.nr_cpus = min(num_online_cpus(), 512 / ctx.per_cpu);
	ctx.pages = kunit_kcalloc(test, 512, sizeof(*ctx.pages), GFP_KERNEL);
	ctx.got = kunit_kcalloc(test, 512, sizeof(*ctx.got), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx.pages);
	KUNIT_ASSERT_NOT_NULL(test, ctx.got);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 512, GFP_KERNEL, ctx.pages), 0);
	pgmap_kunit_run_threads(test, ctx.nr_cpus, idle_thread, &ctx);

	/* ...then, without sleeping, this CPU gets what is not cached elsewhere. */
	n = idle_take_all(&ctx, 0);
	at_once = n;
	for (waited_ms = 0; n < ctx.nr_cpus * ctx.per_cpu && waited_ms < 5000;
	     waited_ms += 100) {
		msleep(100);
		n = idle_take_all(&ctx, n);
	}
	kunit_info(test, "%u CPUs freed %u pages each: %ld taken at once, %ld after %d ms\n",
		   ctx.nr_cpus, ctx.per_cpu, at_once, n, waited_ms);
	KUNIT_EXPECT_GE(test, at_once, (long)ctx.nr_cpus * ctx.per_cpu - 512 / 16);
	KUNIT_EXPECT_EQ(test, n, (long)ctx.nr_cpus * ctx.per_cpu);
	for (i = 0; i < n; i++)
		put_page_folio(ctx.got[i]);
	for (i = ctx.nr_cpus * ctx.per_cpu; i < 512; i++)
		put_page_folio(ctx.pages[i]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 512);
}

#define HARDIRQ_PAGES		1024
#define HARDIRQ_ALLOCS		5000	/* per thread */
#define HARDIRQ_QUEUE		256	/* a power of two, well below the pool */
#define HARDIRQ_PERIOD_NS	(100 * NSEC_PER_USEC)

/*
 * Folios waiting for the timer, in a ring under a raw spinlock: a
 * spinlock_t would sleep on PREEMPT_RT, which hard IRQ context must not.
 */
struct hardirq_ctx {
	struct pgmap_alloc *pa;
	struct hrtimer timer;
	raw_spinlock_t lock;
	unsigned int head, tail;		/* queued: tail to head - 1 */
	struct folio *queue[HARDIRQ_QUEUE];
	DECLARE_BITMAP(shadow, HARDIRQ_PAGES);	/* set while a page is out */
	atomic_long_t allocated, failed, twice, errors;
	atomic_long_t irq_puts, task_puts, not_in_hardirq;
};

static bool hardirq_queue(struct hardirq_ctx *ctx, struct folio *folio)
{
	unsigned long flags;
	bool queued;

	raw_spin_lock_irqsave(&ctx->lock, flags);
	queued = ctx->head - ctx->tail < HARDIRQ_QUEUE;
	if (queued)
		ctx->queue[ctx->head++ % HARDIRQ_QUEUE] = folio;
	raw_spin_unlock_irqrestore(&ctx->lock, flags);
	return queued;
}

static struct folio *hardirq_dequeue(struct hardirq_ctx *ctx)
{
	struct folio *folio = NULL;
	unsigned long flags;

	raw_spin_lock_irqsave(&ctx->lock, flags);
	if (ctx->head != ctx->tail)
		folio = ctx->queue[ctx->tail++ % HARDIRQ_QUEUE];
	raw_spin_unlock_irqrestore(&ctx->lock, flags);
	return folio;
}

/* The last put: the page goes back to the pool from here. */
static void hardirq_put(struct hardirq_ctx *ctx, struct folio *folio)
{
	pgoff_t offset = folio_pgmap_offset(folio);

	/* Clear before the put: once put, another CPU may get it. */
	if (offset >= HARDIRQ_PAGES || !test_and_clear_bit(offset, ctx->shadow))
		atomic_long_inc(&ctx->twice);
	folio_put(folio);
}

static enum hrtimer_restart hardirq_timer_fn(struct hrtimer *timer)
{
	struct hardirq_ctx *ctx = container_of(timer, struct hardirq_ctx, timer);
	struct folio *folio;
	int n;

	for (n = 0; n < HARDIRQ_QUEUE; n++) {
		folio = hardirq_dequeue(ctx);
		if (!folio)
			break;
		if (!in_hardirq())
			atomic_long_inc(&ctx->not_in_hardirq);
		hardirq_put(ctx, folio);
		atomic_long_inc(&ctx->irq_puts);
	}
	hrtimer_forward_now(timer, ns_to_ktime(HARDIRQ_PERIOD_NS));
	return HRTIMER_RESTART;
}

/* Stop the timer and put what it left: at the end, or when the test aborts. */
static void hardirq_stop(void *arg)
{
	struct hardirq_ctx *ctx = arg;
	struct folio *folio;

	hrtimer_cancel(&ctx->timer);
	while ((folio = hardirq_dequeue(ctx))) {
		hardirq_put(ctx, folio);
		atomic_long_inc(&ctx->task_puts);
	}
}

static void hardirq_thread_fn(void *arg, unsigned int i)
{
	struct hardirq_ctx *ctx = arg;
	int n;

	for (n = 0; n < HARDIRQ_ALLOCS; n++) {
		struct folio *folio = pgmap_alloc_folio(ctx->pa, 0, GFP_NOWAIT);
		pgoff_t offset;

		if (IS_ERR(folio)) {
			/* Empty for now: let the timer give some back. */
			if (PTR_ERR(folio) != -ENOMEM)
				atomic_long_inc(&ctx->errors);
			atomic_long_inc(&ctx->failed);
			usleep_range(50, 100);
			continue;
		}
		atomic_long_inc(&ctx->allocated);
		offset = folio_pgmap_offset(folio);
		if (offset >= HARDIRQ_PAGES || test_and_set_bit(offset, ctx->shadow))
			atomic_long_inc(&ctx->twice);
		/* In task context: folio_unlock() may sleep on PREEMPT_RT. */
		folio_unlock(folio);
		while (!hardirq_queue(ctx, folio))
			usleep_range(50, 100);
		cond_resched();
	}
}

/*
 * Folios allocated on every CPU and put by an hrtimer in hard IRQ context
 * (HRTIMER_MODE_REL_HARD, so even on PREEMPT_RT), as a driver's interrupt
 * handler may drop the last reference: the hand-back to the pool must be
 * safe there, racing allocations in task context (with lockdep watching
 * the lock types), hand no page out twice, and lose none.
 */
static void pgmap_alloc_hand_back_from_hardirq(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, HARDIRQ_PAGES);
	struct pgmap_alloc *pa = pool_on(test, dev);
	struct hardirq_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pa = pa;
	raw_spin_lock_init(&ctx->lock);
	hrtimer_init(&ctx->timer, CLOCK_MONOTONIC, HRTIMER_MODE_REL_HARD);
	ctx->timer.function = hardirq_timer_fn;
	/* Runs before ctx is freed and the pool destroyed, even on abort. */
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, hardirq_stop, ctx), 0);
	hrtimer_start(&ctx->timer, ns_to_ktime(HARDIRQ_PERIOD_NS), HRTIMER_MODE_REL_HARD);

	pgmap_kunit_run_threads(test, num_online_cpus(), hardirq_thread_fn, ctx);
	kunit_release_action(test, hardirq_stop, ctx);

	kunit_info(test, "%u threads: %ld allocated, %ld failed; %ld put in hard IRQ, %ld at the end\n",
		   num_online_cpus(), atomic_long_read(&ctx->allocated),
		   atomic_long_read(&ctx->failed), atomic_long_read(&ctx->irq_puts),
		   atomic_long_read(&ctx->task_puts));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->twice), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->not_in_hardirq), 0);
	KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->irq_puts), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->irq_puts) +
			atomic_long_read(&ctx->task_puts),
			atomic_long_read(&ctx->allocated));
	KUNIT_EXPECT_TRUE(test, bitmap_empty(ctx->shadow, HARDIRQ_PAGES));
	/* Every page came back, through ->page_free exactly once. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), HARDIRQ_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free),
			atomic_long_read(&ctx->allocated));
}

/* A pool on @dev with a copy callback that counts the pages it is given. */
struct evict_ctx {
	atomic_long_t nr_copied;
};

static int count_copies(struct pgmap_alloc *pa, struct page **dst,
			struct page **src, unsigned long nr, void *data)
{
	struct evict_ctx *ctx = data;

	atomic_long_add(nr, &ctx->nr_copied);
	return 0;
}

static const struct pgmap_alloc_ops count_copies_ops = {
	.copy = count_copies,
};

static struct pgmap_alloc *evicting_pool(struct kunit *test, struct pgmap_kunit_dev *dev,
					 const struct pgmap_alloc_ops *ops, void *data)
{
	struct pgmap_alloc *pa = pgmap_alloc_create(test->name, ops, data);

	KUNIT_ASSERT_FALSE(test, IS_ERR(pa));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_pool, pa), 0);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(pa, &dev->pgmap), 0);
	return pa;
}

/* Free and cached pages are not in service: nothing to move. */
static void pgmap_alloc_evict_idle_pgmap(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, 1024);
	struct evict_ctx ctx = {};
	struct pgmap_alloc *pa = evicting_pool(test, dev, &count_copies_ops, &ctx);
	struct page **pages;
	unsigned long nr_left = 1;
	int i;

	pages = kunit_kcalloc(test, 64, sizeof(*pages), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pages);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(pa, 64, GFP_KERNEL, pages), 0);
	for (i = 0; i < 64; i++)
		put_page_folio(pages[i]);

	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(pa, &dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, nr_left, 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx.nr_copied), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1024);
}

/*
 * A page in service that no process maps, which the driver holds, cannot
 * move: eviction gives up on it after its passes, without copying it, and
 * says how many stayed. Once the driver lets go, the pgmap is empty.
 */
static void pgmap_alloc_evict_leaves_driver_pages(struct kunit *test)
{
	static const unsigned long two[] = { 512, 1024 };
	struct pgmap_kunit_dev *dev = pgmap_kunit_create(test, 2, two);
	struct evict_ctx ctx = {};
	struct pgmap_alloc *pa = evicting_pool(test, dev, &count_copies_ops, &ctx);
	struct folio *held[3];
	unsigned long nr_left = 0;
	int i;

	for (i = 0; i < 3; i++) {
		held[i] = pgmap_alloc_folio(pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE(test, IS_ERR(held[i]));
		folio_unlock(held[i]);
	}
	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(pa, &dev->pgmap, &nr_left), -EBUSY);
	KUNIT_EXPECT_EQ(test, nr_left, 3);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx.nr_copied), 0);
	for (i = 0; i < 3; i++) {
		KUNIT_EXPECT_EQ(test, folio_ref_count(held[i]), 1);
		KUNIT_EXPECT_FALSE(test, folio_test_locked(held[i]));
		folio_put(held[i]);
	}
	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(pa, &dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, nr_left, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), 1536);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 3);
}

/*
 * Eviction of pages that a process maps. The test's kthread gets an mm of
 * its own (kunit_vm_mmap()); its anonymous pages go to the device with
 * migrate_vma, each page's first word kept in @device[] by offset, as the
 * device's memory, and come back through pgmap_alloc_evict().
 */
#define EVICT_PAGES	256
/* memremap_pages() maps whole subsections: 512 pages here */
#define EVICT_POOL_PAGES	512
/* The largest pgmap of these tests: three blocks of MAX_PAGE_ORDER */
#define CTX_PAGES	(3 * MAX_ORDER_NR_PAGES)

struct process_evict_ctx {
	struct pgmap_kunit_dev *dev;
	struct pgmap_kunit_dev *dev2;	/* a second pgmap, for removals */
	struct pgmap_alloc *pa;
	u64 device[CTX_PAGES];
	u64 device2[EVICT_POOL_PAGES];
	bool fail_odd;		/* the copy callback refuses odd offsets */
	bool refuse_device;	/* and every device destination */
	int copy_error;		/* returned by the next @nr_copy_errors calls */
	int nr_copy_errors;
	unsigned long nr_copied;
	unsigned long nr_copied_to_device;
	unsigned long nr_released;
	struct dev_pagemap *released;
	/* Where migrate_to_device() put each page of the process */
	pgoff_t where[CTX_PAGES];
	/* The pages of the process still mapped, for expect_kept_data() */
	unsigned long kept[BITS_TO_LONGS(CTX_PAGES)];
	/* Pages of @dev being copied: a second copy of one is a bug */
	unsigned long copying[BITS_TO_LONGS(CTX_PAGES)];
	atomic_t copied_twice;
	/*
	 * The copy refuses the page at this offset, and @unmap_work unmaps
	 * it from @unmap_addr in @unmap_mm: another task, as the process
	 * would be, since the copy runs under the pool's removal mutex.
	 */
	pgoff_t unmap_offset;
	unsigned long unmap_addr;
	struct mm_struct *unmap_mm;
	struct work_struct unmap_work;
};

/* The device memory behind a device page: its first word. */
static u64 *device_word(struct process_evict_ctx *ctx, struct page *page)
{
	u64 *memory = page->pgmap == &ctx->dev->pgmap ? ctx->device : ctx->device2;

	return &memory[page_pgmap_offset(page)];
}

static int copy_from_device(struct pgmap_alloc *pa, struct page **dst,
			    struct page **src, unsigned long nr, void *data)
{
	struct process_evict_ctx *ctx = data;
	unsigned long i;

	if (ctx->nr_copy_errors) {
		ctx->nr_copy_errors--;
		return ctx->copy_error;
	}
	for (i = 0; i < nr; i++) {
		pgoff_t offset = page_pgmap_offset(src[i]);
		u64 *to;

		if ((ctx->fail_odd && offset % 2) ||
		    (ctx->refuse_device && is_zone_device_page(dst[i]))) {
			dst[i] = NULL;
			continue;
		}
		/* Freed as it moves: the process unmaps it meanwhile. */
		if (ctx->unmap_addr && src[i]->pgmap == &ctx->dev->pgmap &&
		    offset == ctx->unmap_offset) {
			schedule_work(&ctx->unmap_work);
			flush_work(&ctx->unmap_work);
			dst[i] = NULL;
			continue;
		}
		ctx->nr_copied++;
		if (is_zone_device_page(dst[i])) {
			bool mine = src[i]->pgmap == &ctx->dev->pgmap;

			if (mine && test_and_set_bit(offset, ctx->copying))
				atomic_inc(&ctx->copied_twice);
			*device_word(ctx, dst[i]) = *device_word(ctx, src[i]);
			ctx->nr_copied_to_device++;
			if (mine)
				clear_bit(offset, ctx->copying);
			continue;
		}
		to = kmap_local_page(dst[i]);
		memset(to, 0, PAGE_SIZE);
		*to = *device_word(ctx, src[i]);
		kunmap_local(to);
	}
	return 0;
}

/* Each pgmap that leaves the pool: none of its pages may be in service. */
static void record_release(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
			   void *data)
{
	struct process_evict_ctx *ctx = data;

	ctx->nr_released++;
	ctx->released = pgmap;
}

static const struct pgmap_alloc_ops copy_from_device_ops = {
	.copy = copy_from_device,
	.release = record_release,
};

/* Move the @nr pages at @addr of the current mm to the device. */
static long migrate_to_device(struct process_evict_ctx *ctx, unsigned long addr,
			      unsigned long nr)
{
	unsigned long *src, *dst, i;
	struct migrate_vma args = {
		.start = addr,
		.end = addr + nr * PAGE_SIZE,
		.pgmap_owner = ctx->dev,
		.flags = MIGRATE_VMA_SELECT_SYSTEM,
	};
	long moved = 0;

	src = kcalloc(nr, sizeof(*src), GFP_KERNEL);
	dst = kcalloc(nr, sizeof(*dst), GFP_KERNEL);
	if (!src || !dst) {
		moved = -ENOMEM;
		goto out;
	}
	args.src = src;
	args.dst = dst;
	mmap_read_lock(current->mm);
	args.vma = find_vma(current->mm, addr);
	if (!args.vma || migrate_vma_setup(&args)) {
		mmap_read_unlock(current->mm);
		moved = -EINVAL;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		struct page *spage = migrate_pfn_to_page(src[i]);
		struct folio *folio;
		u64 *from;

		if (!spage || !(src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
		if (IS_ERR(folio))
			break;
		from = kmap_local_page(spage);
		*device_word(ctx, &folio->page) = *from;
		kunmap_local(from);
		if (i < CTX_PAGES)
			ctx->where[i] = page_pgmap_offset(&folio->page);
		dst[i] = migrate_pfn(folio_pfn(folio));
		moved++;
	}
	migrate_vma_pages(&args);
	migrate_vma_finalize(&args);
	mmap_read_unlock(current->mm);
out:
	kfree(src);
	kfree(dst);
	return moved;
}

/*
 * Before the pool is destroyed, after a failed test: the device pages the
 * test's mm still maps are freed when its thread's mm goes, which may come
 * after the test ends.
 */
static void wait_for_pages_back(void *data)
{
	struct process_evict_ctx *ctx = data;
	struct pgmap_alloc *pa = ctx->pa;
	int waited;

	/* NULL once the test destroyed the pool itself */
	for (waited = 0; pa && waited < 100 &&
	     pgmap_alloc_free_pages(pa) != pgmap_alloc_size(pa); waited++)
		msleep(100);
}

/*
 * A process (the test's kthread with an mm of its own) whose @nr pages are
 * on the device, each with its own first word. Returns their address.
 */
static unsigned long process_with_pages(struct kunit *test,
					struct process_evict_ctx *ctx,
					unsigned long nr)
{
	unsigned long addr, i;
	u64 word;

	/* Not 2 MiB, which THP might back with one huge page. */
	addr = kunit_vm_mmap(test, NULL, 0, nr * PAGE_SIZE,
			     PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, 0);
	KUNIT_ASSERT_FALSE_MSG(test, IS_ERR_VALUE(addr), "no mm for the test: %ld", (long)addr);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, wait_for_pages_back, ctx), 0);
	for (i = 0; i < nr; i++) {
		word = 0x5eed0000 + i;
		KUNIT_ASSERT_EQ(test, copy_to_user((void __user *)(addr + i * PAGE_SIZE),
						   &word, sizeof(word)), 0);
	}
	KUNIT_ASSERT_EQ(test, migrate_to_device(ctx, addr, nr), nr);
	return addr;
}

static unsigned long process_on_device(struct kunit *test, struct process_evict_ctx *ctx)
{
	return process_with_pages(test, ctx, EVICT_PAGES);
}

/* The process sees its data, in system RAM. */
static void expect_process_data(struct kunit *test, unsigned long addr)
{
	unsigned long i;
	u64 word;

	for (i = 0; i < EVICT_PAGES; i++) {
		KUNIT_ASSERT_EQ(test, copy_from_user(&word,
						     (void __user *)(addr + i * PAGE_SIZE),
						     sizeof(word)), 0);
		KUNIT_EXPECT_EQ_MSG(test, word, 0x5eed0000 + i, "page %lu", i);
	}
}

static void evict_from_process(struct kunit *test, bool fail_odd)
{
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long addr, nr_left = 0;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	addr = process_on_device(test, ctx);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES - EVICT_PAGES);

	ctx->fail_odd = fail_odd;
	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left),
			fail_odd ? -EBUSY : 0);
	KUNIT_EXPECT_EQ(test, nr_left, fail_odd ? EVICT_PAGES / 2 : 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES - nr_left);
	if (fail_odd) {
		/* The pages the copy refused are still on the device, whole. */
		ctx->fail_odd = false;
		KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	}
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, EVICT_PAGES);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->dev->nr_page_free), EVICT_PAGES);
	expect_process_data(test, addr);
}

static void pgmap_alloc_evict_from_process(struct kunit *test)
{
	evict_from_process(test, false);
}

/* A page the copy callback refuses stays on the device, and moves later. */
static void pgmap_alloc_evict_copy_fails(struct kunit *test)
{
	evict_from_process(test, true);
}

/*
 * A copy callback that fails as a whole: -EAGAIN is tried again within the
 * same call, any other error ends the eviction with it, every page still
 * on the device and whole.
 */
static void pgmap_alloc_evict_copy_error(struct kunit *test)
{
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long addr, nr_left = 0;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	addr = process_on_device(test, ctx);

	ctx->copy_error = -EIO;
	ctx->nr_copy_errors = 1;
	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left), -EIO);
	KUNIT_EXPECT_EQ(test, nr_left, EVICT_PAGES);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES - EVICT_PAGES);

	ctx->copy_error = -EAGAIN;
	ctx->nr_copy_errors = 2;
	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, nr_left, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_copy_errors, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, EVICT_PAGES);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES);
	expect_process_data(test, addr);
}

/*
 * Make each allocation of an eviction fail in turn (fail-nth): the batch
 * (which kvzalloc() may still get from vmalloc), then the pages of system
 * RAM, which are tried again on the next pass. The eviction succeeds or
 * fails with a clean -ENOMEM, every page still on the device; the data is
 * whole either way, and kmemleak finds nothing.
 */
static void pgmap_alloc_evict_fault_injection(struct kunit *test)
{
#ifdef CONFIG_FAULT_INJECTION
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long addr, nr_left, nth, nr_injected = 0;
	bool all_tried = false;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	if (!fault_injection_ready(test))
		return;
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	addr = process_on_device(test, ctx);
	for (nth = 1; nth < 8; nth++) {
		if (pgmap_alloc_free_pages(ctx->pa) == EVICT_POOL_PAGES)
			KUNIT_ASSERT_EQ(test, migrate_to_device(ctx, addr, EVICT_PAGES),
					EVICT_PAGES);
		current->fail_nth = nth;
		ret = pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left);
		all_tried = current->fail_nth;
		current->fail_nth = 0;
		nr_injected += !all_tried;
		if (ret) {
			KUNIT_EXPECT_EQ_MSG(test, ret, -ENOMEM, "allocation %lu", nth);
			KUNIT_EXPECT_EQ(test, nr_left, EVICT_PAGES);
		}
		KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
		expect_process_data(test, addr);
		if (all_tried)
			break;
	}
	KUNIT_EXPECT_GT(test, nr_injected, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES);
#else
	fault_injection_ready(test);
#endif
}

/*
 * Removal of a pgmap whose pages a process maps, with a second pgmap in the
 * pool: the pages move device to device while the other pgmap has room
 * (to RAM if @refuse_device), the pgmap leaves the pool through ->release,
 * and the data is whole wherever it went.
 */
static void remove_from_process(struct kunit *test, bool refuse_device)
{
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long addr, nr_left = 1;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->dev2 = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	addr = process_on_device(test, ctx);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev2->pgmap), 0);

	ctx->refuse_device = refuse_device;
	KUNIT_EXPECT_EQ(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, nr_left, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 1);
	KUNIT_EXPECT_PTR_EQ(test, ctx->released, &ctx->dev->pgmap);
	KUNIT_EXPECT_NULL(test, ctx->dev->pgmap.allocator);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->dev->nr_page_free), EVICT_PAGES);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), EVICT_POOL_PAGES);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, EVICT_PAGES);
	if (refuse_device) {
		/* Each page was offered a device page once, then RAM. */
		KUNIT_EXPECT_EQ(test, ctx->nr_copied_to_device, 0);
		KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES);
	} else {
		KUNIT_EXPECT_EQ(test, ctx->nr_copied_to_device, EVICT_PAGES);
		KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa),
				EVICT_POOL_PAGES - EVICT_PAGES);
		/* From the second pgmap to RAM: the words went with the pages. */
		KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev2->pgmap, &nr_left), 0);
	}
	expect_process_data(test, addr);
	/* The pgmap is the driver's again: another pool may take it. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev->pgmap), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 2 * EVICT_POOL_PAGES);
}

static void pgmap_alloc_remove_moves_inside_device(struct kunit *test)
{
	remove_from_process(test, false);
}

/* A driver that cannot copy device to device: removal uses system RAM. */
static void pgmap_alloc_remove_to_ram(struct kunit *test)
{
	remove_from_process(test, true);
}

/* With no second pgmap, the pages go to RAM; then the pool is empty. */
static void pgmap_alloc_remove_last_pgmap(struct kunit *test)
{
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long addr, nr_left = 1;
	struct folio *folio;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	addr = process_on_device(test, ctx);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, nr_left, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied_to_device, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 1);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 0);
	folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
	KUNIT_EXPECT_PTR_EQ(test, folio, ERR_PTR(-ENOMEM));
	expect_process_data(test, addr);
}

/*
 * Removal racing allocations and hand-backs on every CPU: a pgmap leaves
 * and comes back many times while threads allocate and free. No page is
 * handed out twice, ->release finds no page of its pgmap in service, and
 * every page is back at the end.
 */
#define REMOVE_RACE_ROUNDS	30

struct remove_race_ctx {
	struct pgmap_alloc *pa;
	struct pgmap_kunit_dev *dev, *dev2;
	unsigned long *shadow;		/* pages in service, @dev's then @dev2's */
	atomic_long_t twice, errors, allocated, in_service_at_release, copied;
	atomic_t released;
	bool stop;
};

static unsigned long race_index(struct remove_race_ctx *ctx, struct page *page)
{
	return page_pgmap_offset(page) +
		(page->pgmap == &ctx->dev->pgmap ? 0 : EVICT_POOL_PAGES);
}

static void race_allocate(void *arg, unsigned int i)
{
	struct remove_race_ctx *ctx = arg;
	struct folio *folio;

	while (!READ_ONCE(ctx->stop)) {
		folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
		if (IS_ERR(folio)) {
			atomic_long_inc(&ctx->errors);
			continue;
		}
		atomic_long_inc(&ctx->allocated);
		if (test_and_set_bit(race_index(ctx, &folio->page), ctx->shadow))
			atomic_long_inc(&ctx->twice);
		udelay(5);
		clear_bit(race_index(ctx, &folio->page), ctx->shadow);
		put_page_folio(&folio->page);
		cond_resched();
	}
}

static void race_release(struct pgmap_alloc *pa, struct dev_pagemap *pgmap, void *data)
{
	struct remove_race_ctx *ctx = data;
	unsigned long i;

	for (i = 0; i < EVICT_POOL_PAGES; i++)
		if (page_ref_count(pfn_to_page(PHYS_PFN(pgmap->range.start) + i)))
			atomic_long_inc(&ctx->in_service_at_release);
	atomic_inc(&ctx->released);
}

/* No process maps the threads' pages: nothing is ever copied. */
static int race_copy(struct pgmap_alloc *pa, struct page **dst,
		     struct page **src, unsigned long nr, void *data)
{
	struct remove_race_ctx *ctx = data;

	atomic_long_add(nr, &ctx->copied);
	return -EIO;
}

static const struct pgmap_alloc_ops race_ops = {
	.copy = race_copy,
	.release = race_release,
};

static void pgmap_alloc_remove_while_allocating(struct kunit *test)
{
	struct remove_race_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct pgmap_kunit_threads *threads;
	int round, removed = 0, busy = 0, ret;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	pgmap_kunit_need_cpus(test, 2, "to allocate on one while another removes");
	ctx->shadow = kunit_kcalloc(test, BITS_TO_LONGS(2 * EVICT_POOL_PAGES), sizeof(long),
				    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->shadow);
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->dev2 = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = evicting_pool(test, ctx->dev, &race_ops, ctx);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev2->pgmap), 0);

	threads = pgmap_kunit_start_threads(test, num_online_cpus(), race_allocate, ctx);
	for (round = 0; round < REMOVE_RACE_ROUNDS; round++) {
		ret = pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev2->pgmap, NULL);
		if (ret == -EBUSY) {
			busy++;
			continue;
		}
		KUNIT_EXPECT_EQ(test, ret, 0);
		if (ret)
			break;
		removed++;
		KUNIT_EXPECT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev2->pgmap), 0);
	}
	WRITE_ONCE(ctx->stop, true);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_threads_done(threads, 30 * HZ));
	kunit_info(test, "%d removals, %d refused busy, %ld allocations\n", removed, busy,
		   atomic_long_read(&ctx->allocated));
	KUNIT_EXPECT_GT(test, removed, 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->released), removed);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->in_service_at_release), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->copied), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->twice), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->errors), 0);
	KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->allocated), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), pgmap_alloc_size(ctx->pa));
}

/*
 * The teardown order: destroy first, pages still in service and mapped.
 * With a copy callback, destroy evicts them and releases every pgmap,
 * without a warning; the process keeps its data.
 */
static void pgmap_alloc_destroy_evicts(struct kunit *test)
{
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long addr, warnings;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = one_range(test, EVICT_POOL_PAGES);
	ctx->dev2 = one_range(test, EVICT_POOL_PAGES);
	ctx->pa = pgmap_alloc_create(test->name, &copy_from_device_ops, ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pa));
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev->pgmap), 0);
	addr = process_on_device(test, ctx);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev2->pgmap), 0);

	warnings = pgmap_kunit_nr_warnings();
	pgmap_alloc_destroy(ctx->pa);
	ctx->pa = NULL;
	KUNIT_EXPECT_EQ(test, pgmap_kunit_nr_warnings(), warnings);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, EVICT_PAGES);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 2);
	KUNIT_EXPECT_NULL(test, ctx->dev->pgmap.allocator);
	KUNIT_EXPECT_NULL(test, ctx->dev2->pgmap.allocator);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->dev->nr_page_free), EVICT_PAGES);
	expect_process_data(test, addr);
}

/*
 * A page that a driver put into service behind the pool's back (a bug) is
 * found before its pgmap leaves: the removal warns and fails, instead of
 * calling ->release, whose memunmap_pages() would wait for it forever.
 */
static void pgmap_alloc_remove_stray_page(struct kunit *test)
{
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long nr_left = 0;
	struct folio *stray;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = one_range(test, 512);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	stray = pgmap_request_folio(&ctx->dev->pgmap, 7, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(stray));

	ret = PGMAP_KUNIT_EXPECT_WARN(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap,
								     &nr_left));
	KUNIT_EXPECT_EQ(test, ret, -EBUSY);
	KUNIT_EXPECT_EQ(test, nr_left, 1);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 512);
	/* Out of service without the free path, as it came: then it can go. */
	KUNIT_EXPECT_EQ(test, pgmap_cancel_folio(stray), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 1);
}

/*
 * A page the driver holds cannot move: the removal fails, says how many
 * pages stayed, and the pgmap goes on handing out pages. Without a copy
 * callback the removal does not even try.
 */
static void remove_held_page(struct kunit *test, bool can_copy)
{
	static const unsigned long one[] = { 512 };
	struct process_evict_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	unsigned long nr_left = 0;
	struct folio *held, *folio;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = pgmap_kunit_create(test, 1, one);
	ctx->pa = evicting_pool(test, ctx->dev, can_copy ? &copy_from_device_ops : NULL, ctx);
	held = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(held));
	folio_unlock(held);

	KUNIT_EXPECT_EQ(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap, &nr_left),
			-EBUSY);
	KUNIT_EXPECT_EQ(test, nr_left, 1);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, 0);
	KUNIT_EXPECT_NOT_NULL(test, ctx->dev->pgmap.allocator);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 512);
	/* Still in service: it hands out pages again. */
	folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	KUNIT_EXPECT_PTR_EQ(test, folio->page.pgmap, &ctx->dev->pgmap);
	put_page_folio(&folio->page);
	folio_put(held);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_released, can_copy ? 1 : 0);
	KUNIT_EXPECT_NULL(test, ctx->dev->pgmap.allocator);
}

static void pgmap_alloc_remove_held_page(struct kunit *test)
{
	remove_held_page(test, true);
}

static void pgmap_alloc_remove_without_copy(struct kunit *test)
{
	remove_held_page(test, false);
}

/*
 * A page of the pgmap sits in another CPU's cache when the removal starts:
 * the removal takes it back, and that CPU never hands it out again (with
 * KASAN, a cache that kept it would be reported touching the freed chunk).
 */
struct cached_remove_ctx {
	struct pgmap_alloc *pa;
	struct pgmap_kunit_dev *dev, *dev2;
	struct completion cached, removed;
	unsigned long nr_from_removed;
	int error;
};

static void cache_then_allocate(void *arg, unsigned int i)
{
	struct cached_remove_ctx *ctx = arg;
	struct folio *folio;
	int n;

	ctx->error = alloc_and_put_folio(ctx->pa);
	complete(&ctx->cached);
	wait_for_completion(&ctx->removed);
	for (n = 0; n < 64 && !ctx->error; n++) {
		folio = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
		if (IS_ERR(folio)) {
			ctx->error = PTR_ERR(folio);
			break;
		}
		ctx->nr_from_removed += folio->page.pgmap == &ctx->dev->pgmap;
		put_page_folio(&folio->page);
	}
}

static void pgmap_alloc_remove_cached_elsewhere(struct kunit *test)
{
	struct cached_remove_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct pgmap_kunit_threads *threads;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	init_completion(&ctx->cached);
	init_completion(&ctx->removed);
	ctx->dev2 = one_range(test, 512);
	ctx->dev = one_range(test, 512);
	ctx->pa = pool_on(test, ctx->dev2);
	/* Added last, so searched first: the cached page is of @dev. */
	KUNIT_ASSERT_EQ(test, pgmap_alloc_add_pgmap(ctx->pa, &ctx->dev->pgmap), 0);
	/* The thread's CPU caches the page whether or not we run there too. */
	threads = pgmap_kunit_start_threads(test, 1, cache_then_allocate, ctx);
	wait_for_completion(&ctx->cached);
	KUNIT_ASSERT_EQ(test, ctx->error, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), 1024);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_remove_pgmap(ctx->pa, &ctx->dev->pgmap, NULL), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), 512);
	complete_all(&ctx->removed);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_threads_done(threads, 10 * HZ));
	KUNIT_EXPECT_EQ(test, ctx->error, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_from_removed, 0);
}

/*
 * A growing pool whose memmap follows use: ->grow adds one of a few spare
 * pgmaps, ->release takes it back as spare. The pgmaps a burst added go
 * back after the idle time, down to the minimum.
 */
#define FOLLOW_SPARES	6
#define FOLLOW_PGMAP_PAGES	512

struct follow_ctx {
	struct pgmap_alloc *pa;
	struct pgmap_kunit_dev *devs[FOLLOW_SPARES];
	spinlock_t lock;		/* @in_pool */
	unsigned long in_pool;		/* bit i: devs[i] is in the pool */
	atomic_t grown, released;
	atomic_long_t in_service_at_release;
	/* For the churn: pages in service, by spare and offset */
	unsigned long *shadow;
	atomic_long_t twice, errors, allocated;
	unsigned int max_held;
	bool stop;
};

static int follow_grow(struct pgmap_alloc *pa, void *data)
{
	struct follow_ctx *ctx = data;
	int i, ret;

	spin_lock(&ctx->lock);
	i = find_first_zero_bit(&ctx->in_pool, FOLLOW_SPARES);
	if (i < FOLLOW_SPARES)
		__set_bit(i, &ctx->in_pool);
	spin_unlock(&ctx->lock);
	if (i >= FOLLOW_SPARES)
		return -ENOMEM;
	ret = pgmap_alloc_add_pgmap(pa, &ctx->devs[i]->pgmap);
	if (ret) {
		spin_lock(&ctx->lock);
		__clear_bit(i, &ctx->in_pool);
		spin_unlock(&ctx->lock);
		return ret;
	}
	atomic_inc(&ctx->grown);
	return 0;
}

static int follow_index(struct follow_ctx *ctx, struct dev_pagemap *pgmap)
{
	int i;

	for (i = 0; i < FOLLOW_SPARES; i++)
		if (&ctx->devs[i]->pgmap == pgmap)
			return i;
	return -1;
}

static void follow_release(struct pgmap_alloc *pa, struct dev_pagemap *pgmap, void *data)
{
	struct follow_ctx *ctx = data;
	unsigned long i, pfn = PHYS_PFN(pgmap->range.start);

	for (i = 0; i < FOLLOW_PGMAP_PAGES; i++)
		if (page_ref_count(pfn_to_page(pfn + i)))
			atomic_long_inc(&ctx->in_service_at_release);
	spin_lock(&ctx->lock);
	__clear_bit(follow_index(ctx, pgmap), &ctx->in_pool);
	spin_unlock(&ctx->lock);
	atomic_inc(&ctx->released);
}

static const struct pgmap_alloc_ops follow_ops = {
	.grow = follow_grow,
	.release = follow_release,
};

static struct follow_ctx *following_pool(struct kunit *test)
{
	struct follow_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	int i;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	spin_lock_init(&ctx->lock);
	for (i = 0; i < FOLLOW_SPARES; i++)
		ctx->devs[i] = one_range(test, FOLLOW_PGMAP_PAGES);
	ctx->pa = pgmap_alloc_create(test->name, &follow_ops, ctx);
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->pa));
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, destroy_pool, ctx->pa), 0);
	return ctx;
}

/* Allocate @nr pages one at a time, growing the pool, then free them. */
static void follow_burst(struct kunit *test, struct follow_ctx *ctx, unsigned long nr)
{
	struct folio **folios = kunit_kcalloc(test, nr, sizeof(*folios), GFP_KERNEL);
	unsigned long i;

	KUNIT_ASSERT_NOT_NULL(test, folios);
	for (i = 0; i < nr; i++) {
		folios[i] = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
		KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(folios[i]), "page %lu", i);
	}
	for (i = 0; i < nr; i++)
		put_page_folio(&folios[i]->page);
	kunit_kfree(test, folios);
}

/* Whether ->release has been called @nr times within @ms. */
static bool released_becomes(struct follow_ctx *ctx, int nr, unsigned int ms)
{
	unsigned int waited;

	/* The pool shrinks before it calls ->release. */
	for (waited = 0; atomic_read(&ctx->released) != nr && waited < ms; waited += 20)
		msleep(20);
	return atomic_read(&ctx->released) == nr;
}

/* Whether the pool shrinks to @size pages within @ms. */
static bool pool_size_becomes(struct pgmap_alloc *pa, unsigned long size, unsigned int ms)
{
	unsigned int waited;

	for (waited = 0; pgmap_alloc_size(pa) != size && waited < ms; waited += 20)
		msleep(20);
	return pgmap_alloc_size(pa) == size;
}

static void pgmap_alloc_idle_gives_back(struct kunit *test)
{
	struct follow_ctx *ctx = following_pool(test);

	pgmap_alloc_set_idle(ctx->pa, 50, 1);
	follow_burst(test, ctx, 3 * FOLLOW_PGMAP_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->grown), 3);
	/* Down to one pgmap, the least that keeps min_pages */
	KUNIT_EXPECT_TRUE(test, pool_size_becomes(ctx->pa, FOLLOW_PGMAP_PAGES, 10000));
	KUNIT_EXPECT_TRUE(test, released_becomes(ctx, 2, 1000));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->in_service_at_release), 0);
	/* The next burst grows the pool again. */
	follow_burst(test, ctx, 2 * FOLLOW_PGMAP_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->grown), 4);
}

/*
 * The minimum holds, however long the pool idles; an idle time of 0 keeps
 * every pgmap until one is set again.
 */
static void pgmap_alloc_idle_keeps_minimum(struct kunit *test)
{
	struct follow_ctx *ctx = following_pool(test);

	pgmap_alloc_set_idle(ctx->pa, 0, 1);
	follow_burst(test, ctx, 3 * FOLLOW_PGMAP_PAGES);
	msleep(300);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 3 * FOLLOW_PGMAP_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->released), 0);

	/*
	 * The largest minimum: never give back, idle time or not. Longer than
	 * the per-CPU caches keep pages, which keep their pgmaps in use.
	 */
	pgmap_alloc_set_idle(ctx->pa, 10, ULONG_MAX);
	msleep(1500);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 3 * FOLLOW_PGMAP_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->released), 0);

	pgmap_alloc_set_idle(ctx->pa, 10, 2 * FOLLOW_PGMAP_PAGES);
	KUNIT_EXPECT_TRUE(test, pool_size_becomes(ctx->pa, 2 * FOLLOW_PGMAP_PAGES, 10000));
	msleep(300);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_size(ctx->pa), 2 * FOLLOW_PGMAP_PAGES);
	KUNIT_EXPECT_TRUE(test, released_becomes(ctx, 1, 1000));
}

static unsigned long follow_shadow_index(struct follow_ctx *ctx, struct page *page)
{
	return follow_index(ctx, page->pgmap) * FOLLOW_PGMAP_PAGES + page_pgmap_offset(page);
}

static void follow_churn(void *arg, unsigned int thread)
{
	struct follow_ctx *ctx = arg;
	struct folio **held = kcalloc(ctx->max_held, sizeof(*held), GFP_KERNEL);
	unsigned int i, nr;

	if (!held) {
		atomic_long_inc(&ctx->errors);
		return;
	}
	while (!READ_ONCE(ctx->stop)) {
		nr = get_random_u32_below(ctx->max_held) + 1;
		for (i = 0; i < nr; i++) {
			held[i] = pgmap_alloc_folio(ctx->pa, 0, GFP_KERNEL);
			if (IS_ERR(held[i])) {
				atomic_long_inc(&ctx->errors);
				break;
			}
			atomic_long_inc(&ctx->allocated);
			if (test_and_set_bit(follow_shadow_index(ctx, &held[i]->page), ctx->shadow))
				atomic_long_inc(&ctx->twice);
		}
		nr = i;
		for (i = 0; i < nr; i++) {
			clear_bit(follow_shadow_index(ctx, &held[i]->page), ctx->shadow);
			put_page_folio(&held[i]->page);
		}
		/* Idle now and then, for the pool to give pgmaps back */
		usleep_range(500, 3000);
	}
	kfree(held);
}

/*
 * Bursts on every CPU while the pool gives idle pgmaps back after 1 ms:
 * pgmaps come and go under the allocations. No page is handed out twice,
 * none is in service when its pgmap is released, no allocation fails while
 * spares are left, and every page comes back.
 */
static void pgmap_alloc_idle_churn(struct kunit *test)
{
	struct follow_ctx *ctx = following_pool(test);
	struct pgmap_kunit_threads *threads;
	unsigned int nr_threads = num_online_cpus();

	pgmap_kunit_need_cpus(test, 2, "to give pgmaps back while others allocate");
	ctx->shadow = kunit_kcalloc(test, BITS_TO_LONGS(FOLLOW_SPARES * FOLLOW_PGMAP_PAGES),
				    sizeof(long), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->shadow);
	/* Room for all threads' pages even with one pgmap on its way out */
	ctx->max_held = (FOLLOW_SPARES - 2) * FOLLOW_PGMAP_PAGES / nr_threads;
	pgmap_alloc_set_idle(ctx->pa, 1, 1);
	threads = pgmap_kunit_start_threads(test, nr_threads, follow_churn, ctx);
	msleep(3000);
	WRITE_ONCE(ctx->stop, true);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_threads_done(threads, 30 * HZ));
	kunit_info(test, "%d pgmaps grown, %d given back, %ld allocations\n",
		   atomic_read(&ctx->grown), atomic_read(&ctx->released),
		   atomic_long_read(&ctx->allocated));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->twice), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->errors), 0);
	/* Idle at last: all but one pgmap go back. */
	KUNIT_EXPECT_TRUE(test, pool_size_becomes(ctx->pa, FOLLOW_PGMAP_PAGES, 10000));
	KUNIT_EXPECT_TRUE(test, released_becomes(ctx, atomic_read(&ctx->grown) - 1, 1000));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->in_service_at_release), 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), pgmap_alloc_size(ctx->pa));
}

/* Stress: random ranges of mixed orders from every CPU at once. */
#define STRESS_PAGES	1024
#define STRESS_OPS	1000000
#define STRESS_HELD	64

struct stress_ctx {
	struct pgmap_alloc *pa;
	unsigned long *shadow;		/* set while a page is out */
	atomic_long_t ops_left;
	atomic_long_t allocated;
	atomic_long_t pages_allocated;
	atomic_long_t failed;
	atomic_long_t twice;		/* a page handed out while out */
	atomic_long_t misaligned;
	struct stress_thread *threads;
};

struct stress_thread {
	struct rnd_state rnd;
	struct page *pages[MAX_ORDER_NR_PAGES / 2];
	struct {
		struct page *first;
		unsigned long nr;
	} held[STRESS_HELD];
	int nr_held;
};

static unsigned int stress_order(struct stress_thread *t)
{
	u32 r = prandom_u32_state(&t->rnd) % 100;

	if (r < 70)
		return 0;
	if (r < 95)
		return 1 + r % 3;
	return 4 + r % 6;		/* up to 2 MiB */
}

static void stress_alloc(struct stress_ctx *ctx, struct stress_thread *t)
{
	unsigned long nr = 1UL << stress_order(t), i;
	pgoff_t first;

	if (pgmap_alloc_range(ctx->pa, nr, GFP_KERNEL, t->pages)) {
		atomic_long_inc(&ctx->failed);
		return;
	}
	atomic_long_inc(&ctx->allocated);
	atomic_long_add(nr, &ctx->pages_allocated);
	first = page_pgmap_offset(t->pages[0]);
	if (first % nr)
		atomic_long_inc(&ctx->misaligned);
	for (i = 0; i < nr; i++) {
		if (t->pages[i] != nth_page(t->pages[0], i) ||
		    test_and_set_bit(first + i, ctx->shadow))
			atomic_long_inc(&ctx->twice);
	}
	t->held[t->nr_held].first = t->pages[0];
	t->held[t->nr_held].nr = nr;
	t->nr_held++;
}

static void stress_free(struct stress_ctx *ctx, struct stress_thread *t, int slot)
{
	struct page *first = t->held[slot].first;
	unsigned long i, nr = t->held[slot].nr;

	for (i = 0; i < nr; i++) {
		struct page *page = nth_page(first, i);

		/* Clear before the put: once put, another CPU may get it. */
		if (!test_and_clear_bit(page_pgmap_offset(page), ctx->shadow))
			atomic_long_inc(&ctx->twice);
		put_page_folio(page);
	}
	t->held[slot] = t->held[--t->nr_held];
}

static void stress_thread_fn(void *arg, unsigned int i)
{
	struct stress_ctx *ctx = arg;
	struct stress_thread *t = &ctx->threads[i];

	prandom_seed_state(&t->rnd, 42 + i);
	while (atomic_long_dec_return(&ctx->ops_left) >= 0) {
		u32 r = prandom_u32_state(&t->rnd);

		if (t->nr_held == STRESS_HELD || (t->nr_held && (r & 1)))
			stress_free(ctx, t, (r >> 1) % t->nr_held);
		else
			stress_alloc(ctx, t);
		cond_resched();
	}
	while (t->nr_held)
		stress_free(ctx, t, 0);
}

static void pgmap_alloc_stress(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = one_range(test, STRESS_PAGES);
	struct pgmap_alloc *pa = pool_on(test, dev);
	int nr_threads = num_online_cpus();
	struct stress_ctx *ctx;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->threads = kunit_kcalloc(test, nr_threads, sizeof(*ctx->threads), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->threads);
	ctx->shadow = kunit_kzalloc(test, BITS_TO_LONGS(STRESS_PAGES) * sizeof(long),
				    GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx->shadow);
	ctx->pa = pa;
	atomic_long_set(&ctx->ops_left, STRESS_OPS);
	pgmap_kunit_run_threads(test, nr_threads, stress_thread_fn, ctx);

	kunit_info(test, "%d threads: %ld ranges allocated, %ld allocations failed (pool full)\n",
		   nr_threads, atomic_long_read(&ctx->allocated),
		   atomic_long_read(&ctx->failed));
	KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->allocated), STRESS_OPS / 4);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->twice), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->misaligned), 0);
	KUNIT_EXPECT_TRUE(test, bitmap_empty(ctx->shadow, STRESS_PAGES));
	/* Every page came back, through the driver's ->page_free exactly once. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(pa), STRESS_PAGES);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free),
			atomic_long_read(&ctx->pages_allocated));
}

/*
 * Compaction, on blocks of COMPACT_ORDER: four in a pool of EVICT_POOL_PAGES.
 * A process fills the pool, then unmaps pages until block i keeps
 * compact_keep[i] of them: 288 pages free, but no block free.
 */
#define COMPACT_ORDER	7
#define COMPACT_BLOCK	BIT(COMPACT_ORDER)

static const unsigned long compact_keep[EVICT_POOL_PAGES / COMPACT_BLOCK] = {
	8, 40, 72, 104
};

#define COMPACT_USED	(8 + 40 + 72 + 104)

/*
 * A process fills the @nr pages of the pool, then unmaps pages until block
 * i of 1 << @order pages keeps @keep[i] of them. Returns its address.
 */
static unsigned long fragment(struct kunit *test, struct process_evict_ctx *ctx,
			      unsigned long nr, unsigned int order,
			      const unsigned long *keep)
{
	unsigned long addr = process_with_pages(test, ctx, nr), i, used = 0;

	for (i = 0; i < nr; i++) {
		pgoff_t offset = ctx->where[i];

		if (offset % (1UL << order) < keep[offset >> order]) {
			set_bit(i, ctx->kept);
			used++;
			continue;
		}
		KUNIT_ASSERT_EQ(test, vm_munmap(addr + i * PAGE_SIZE, PAGE_SIZE), 0);
	}
	KUNIT_ASSERT_EQ(test, pgmap_alloc_free_pages(ctx->pa), nr - used);
	return addr;
}

static unsigned long fragmented_process(struct kunit *test, struct process_evict_ctx *ctx)
{
	return fragment(test, ctx, EVICT_POOL_PAGES, COMPACT_ORDER, compact_keep);
}

static void free_ctx(void *ctx)
{
	kvfree(ctx);
}

static struct process_evict_ctx *compacting_pool_of(struct kunit *test, unsigned long nr)
{
	struct process_evict_ctx *ctx = kvzalloc(sizeof(*ctx), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, free_ctx, ctx), 0);
	ctx->dev = one_range(test, nr);
	ctx->pa = evicting_pool(test, ctx->dev, &copy_from_device_ops, ctx);
	return ctx;
}

static struct process_evict_ctx *compacting_pool(struct kunit *test)
{
	return compacting_pool_of(test, EVICT_POOL_PAGES);
}

/* Pages of block @block of @dev in service. */
static unsigned long block_in_service(struct pgmap_kunit_dev *dev, unsigned long block)
{
	unsigned long pfn = PHYS_PFN(dev->pgmap.range.start) + block * COMPACT_BLOCK;
	unsigned long i, nr = 0;

	for (i = 0; i < COMPACT_BLOCK; i++)
		nr += page_ref_count(pfn_to_page(pfn + i)) != 0;
	return nr;
}

/*
 * Every page the process kept has its word, after a move to RAM: the data
 * went with every page compaction moved.
 */
static void expect_kept_data(struct kunit *test, struct process_evict_ctx *ctx,
			     unsigned long addr)
{
	unsigned long nr_left = 1, i;
	u64 word;

	KUNIT_EXPECT_EQ(test, pgmap_alloc_evict(ctx->pa, &ctx->dev->pgmap, &nr_left), 0);
	KUNIT_EXPECT_EQ(test, nr_left, 0);
	for_each_set_bit(i, ctx->kept, CTX_PAGES) {
		KUNIT_ASSERT_EQ(test, copy_from_user(&word,
						     (void __user *)(addr + i * PAGE_SIZE),
						     sizeof(word)), 0);
		KUNIT_EXPECT_EQ_MSG(test, word, 0x5eed0000 + i, "page %lu", i);
	}
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), pgmap_alloc_size(ctx->pa));
}

/* Take a free block of COMPACT_BLOCK pages; returns its offset, or -errno. */
static long take_block(struct kunit *test, struct pgmap_alloc *pa, gfp_t gfp,
		       struct page **pages)
{
	int ret = pgmap_alloc_range(pa, COMPACT_BLOCK, gfp, pages);

	return ret ?: page_pgmap_offset(pages[0]);
}

/* Room for the pages of one block. */
static struct page **block_pages(struct kunit *test)
{
	struct page **pages = kunit_kcalloc(test, COMPACT_BLOCK, sizeof(*pages), GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, pages);
	return pages;
}

static void put_block(struct page **pages)
{
	unsigned long i;

	for (i = 0; i < COMPACT_BLOCK; i++)
		put_page_folio(pages[i]);
}

/*
 * The block with the fewest pages in service is emptied into the holes of
 * the fullest one, which breaks no other block; then it is free, whole.
 */
static void pgmap_alloc_compact_makes_block(struct kunit *test)
{
	struct process_evict_ctx *ctx = compacting_pool(test);
	struct pgmap_alloc_compact_result res;
	struct page **pages = block_pages(test);
	unsigned long addr;

	addr = fragmented_process(test, ctx);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_NOWAIT, pages), -ENOMEM);

	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, ULONG_MAX, &res), 0);
	KUNIT_EXPECT_EQ(test, res.blocks_freed, 1);
	KUNIT_EXPECT_EQ(test, res.pages_moved, compact_keep[0]);
	KUNIT_EXPECT_EQ(test, res.pages_in_freed, compact_keep[0]);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied_to_device, compact_keep[0]);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 0), 0);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 1), compact_keep[1]);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 2), compact_keep[2]);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 3), compact_keep[3] + compact_keep[0]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES - COMPACT_USED);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->copied_twice), 0);

	/* A free block exists: nothing more to do. */
	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, ULONG_MAX, &res), 0);
	KUNIT_EXPECT_EQ(test, res.pages_moved, 0);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_NOWAIT, pages), 0);
	put_block(pages);
	expect_kept_data(test, ctx, addr);
}

/* A compaction moves no more pages than its budget. */
static void pgmap_alloc_compact_budget(struct kunit *test)
{
	struct process_evict_ctx *ctx = compacting_pool(test);
	struct pgmap_alloc_compact_result res;
	unsigned long addr = fragmented_process(test, ctx);

	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, compact_keep[0] - 1,
						  &res), -ENOSPC);
	KUNIT_EXPECT_EQ(test, res.pages_moved, 0);
	KUNIT_EXPECT_EQ(test, res.blocks_freed, 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, 0);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES - COMPACT_USED);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, compact_keep[0],
						  &res), 0);
	KUNIT_EXPECT_EQ(test, res.pages_moved, compact_keep[0]);
	expect_kept_data(test, ctx, addr);
}

/*
 * A copy that refuses pages leaves them where they were, in service, and
 * the block as it was: nothing lost, no page left claimed.
 */
static void pgmap_alloc_compact_copy_fails(struct kunit *test)
{
	struct process_evict_ctx *ctx = compacting_pool(test);
	struct pgmap_alloc_compact_result res;
	struct page **pages = block_pages(test);
	unsigned long addr;

	addr = fragmented_process(test, ctx);
	ctx->fail_odd = true;
	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, ULONG_MAX, &res),
			-ENOSPC);
	KUNIT_EXPECT_EQ(test, res.blocks_freed, 0);
	KUNIT_EXPECT_EQ(test, res.pages_moved, compact_keep[0] / 2);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 0), compact_keep[0] / 2);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa), EVICT_POOL_PAGES - COMPACT_USED);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_NOWAIT, pages), -ENOMEM);
	ctx->fail_odd = false;
	expect_kept_data(test, ctx, addr);
}

/*
 * A block with a page that will not move (the driver holds it) is skipped:
 * the next emptiest one is emptied instead, into the fullest blocks first.
 */
static void pgmap_alloc_compact_skips_held_page(struct kunit *test)
{
	struct process_evict_ctx *ctx = compacting_pool(test);
	struct pgmap_alloc_compact_result res;
	struct page **pages = block_pages(test);
	struct folio *held;
	unsigned long addr;

	addr = fragmented_process(test, ctx);
	held = pfn_folio(PHYS_PFN(ctx->dev->pgmap.range.start));
	folio_get(held);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, ULONG_MAX, &res), 0);
	KUNIT_EXPECT_EQ(test, res.pages_moved, compact_keep[1]);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 0), compact_keep[0]);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 1), 0);
	KUNIT_EXPECT_EQ(test, block_in_service(ctx->dev, 3), COMPACT_BLOCK);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_NOWAIT, pages), COMPACT_BLOCK);
	put_block(pages);
	folio_put(held);
	expect_kept_data(test, ctx, addr);
}

static void unmap_in_mm(struct work_struct *work)
{
	struct process_evict_ctx *ctx = container_of(work, struct process_evict_ctx,
						     unmap_work);

	kthread_use_mm(ctx->unmap_mm);
	vm_munmap(ctx->unmap_addr, PAGE_SIZE);
	kthread_unuse_mm(ctx->unmap_mm);
	ctx->unmap_addr = 0;
}

/*
 * A page of the block being emptied that is freed meanwhile (its process
 * unmaps it while it is copied, so it does not move) comes back claimed by
 * the compaction, and the block is made free all the same.
 */
static void pgmap_alloc_compact_page_freed_meanwhile(struct kunit *test)
{
	struct process_evict_ctx *ctx = compacting_pool(test);
	struct pgmap_alloc_compact_result res;
	struct page **pages = block_pages(test);
	unsigned long addr, i;

	addr = fragmented_process(test, ctx);
	for_each_set_bit(i, ctx->kept, CTX_PAGES)
		if (ctx->where[i] < COMPACT_BLOCK)
			break;
	KUNIT_ASSERT_LT(test, i, CTX_PAGES);
	ctx->unmap_offset = ctx->where[i];
	ctx->unmap_addr = addr + i * PAGE_SIZE;
	ctx->unmap_mm = current->mm;
	INIT_WORK(&ctx->unmap_work, unmap_in_mm);
	clear_bit(i, ctx->kept);

	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, COMPACT_ORDER, ULONG_MAX, &res), 0);
	KUNIT_EXPECT_EQ(test, ctx->unmap_addr, 0);
	KUNIT_EXPECT_EQ(test, res.blocks_freed, 1);
	KUNIT_EXPECT_EQ(test, res.pages_moved, compact_keep[0] - 1);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa),
			EVICT_POOL_PAGES - COMPACT_USED + 1);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_NOWAIT, pages), 0);
	put_block(pages);
	expect_kept_data(test, ctx, addr);
}

/* Blocks of a pageblock, and of MAX_PAGE_ORDER: larger than a batch of moves */
struct compact_case {
	const char *desc;
	unsigned int order;
	unsigned long keep[CTX_PAGES >> 9];	/* order 9 makes the most blocks */
	unsigned int emptiest;
};

static const struct compact_case compact_cases[] = {
	{ "order 9, six blocks", 9, { 340, 300, 320, 360, 380, 400 }, 1 },
	{ "order 10, three blocks", MAX_PAGE_ORDER, { 640, 600, 620 }, 1 },
};

static void compact_case_desc(const struct compact_case *t, char *desc)
{
	strscpy(desc, t->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(compact_case, compact_cases, compact_case_desc);

/*
 * Every block has hundreds of pages in service (for order 10, more than a
 * batch of moves): the emptiest moves to the holes of the others, a batch
 * at a time, and then a free block of the order exists.
 */
static void pgmap_alloc_compact_large_blocks(struct kunit *test)
{
	const struct compact_case *t = test->param_value;
	struct process_evict_ctx *ctx = compacting_pool_of(test, CTX_PAGES);
	struct pgmap_alloc_compact_result res;
	struct page **pages = kunit_kcalloc(test, 1UL << t->order, sizeof(*pages), GFP_KERNEL);
	unsigned long addr, i;

	KUNIT_ASSERT_NOT_NULL(test, pages);
	addr = fragment(test, ctx, CTX_PAGES, t->order, t->keep);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_range(ctx->pa, 1UL << t->order, GFP_NOWAIT, pages),
			-ENOMEM);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_compact(ctx->pa, t->order, ULONG_MAX, &res), 0);
	KUNIT_EXPECT_EQ(test, res.blocks_freed, 1);
	KUNIT_EXPECT_EQ(test, res.pages_moved, t->keep[t->emptiest]);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied_to_device, t->keep[t->emptiest]);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->copied_twice), 0);
	KUNIT_ASSERT_EQ(test, pgmap_alloc_range(ctx->pa, 1UL << t->order, GFP_NOWAIT, pages), 0);
	KUNIT_EXPECT_EQ(test, page_pgmap_offset(pages[0]), t->emptiest << t->order);
	for (i = 0; i < 1UL << t->order; i++)
		put_page_folio(pages[i]);
	expect_kept_data(test, ctx, addr);
}

/*
 * A GFP_KERNEL range that finds no room while enough pages are free
 * compacts by itself, and gets the block it made free.
 */
static void pgmap_alloc_compact_on_allocation(struct kunit *test)
{
	struct process_evict_ctx *ctx = compacting_pool(test);
	struct page **pages = block_pages(test);
	unsigned long addr;

	addr = fragmented_process(test, ctx);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_NOWAIT, pages), -ENOMEM);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied, 0);
	KUNIT_EXPECT_EQ(test, take_block(test, ctx->pa, GFP_KERNEL, pages), 0);
	KUNIT_EXPECT_EQ(test, ctx->nr_copied_to_device, compact_keep[0]);
	KUNIT_EXPECT_EQ(test, pgmap_alloc_free_pages(ctx->pa),
			EVICT_POOL_PAGES - COMPACT_USED - COMPACT_BLOCK);
	put_block(pages);
	expect_kept_data(test, ctx, addr);
}

struct compact_race_ctx {
	struct process_evict_ctx *evict;
	struct page **blocks[EVICT_POOL_PAGES / COMPACT_BLOCK];
	atomic_long_t compactions, allocations, errors;
	bool stop;
};

/*
 * Thread 0 compacts and takes each block it makes free, until none can be
 * made; then gives the blocks back and starts again. The others allocate
 * pages and small ranges, and write to each page: a page handed out twice,
 * or moved from under the process, would show in the process's data.
 */
static void compact_race_thread(void *arg, unsigned int i)
{
	struct compact_race_ctx *ctx = arg;
	struct pgmap_alloc *pa = ctx->evict->pa;
	struct page *pages[4];
	unsigned int held = 0, j;
	int ret;

	while (!READ_ONCE(ctx->stop)) {
		/* Without preemption, the other tasks of this CPU run only here. */
		cond_resched();
		if (i) {
			ret = pgmap_alloc_range(pa, 1 + (i & 1) * 3, GFP_NOWAIT, pages);
			if (ret)
				continue;
			atomic_long_inc(&ctx->allocations);
			for (j = 0; j < 1 + (i & 1) * 3; j++)
				*device_word(ctx->evict, pages[j]) = 0xbad;
			udelay(5);
			for (j = 0; j < 1 + (i & 1) * 3; j++)
				put_page_folio(pages[j]);
			continue;
		}
		ret = pgmap_alloc_compact(pa, COMPACT_ORDER, ULONG_MAX, NULL);
		atomic_long_inc(&ctx->compactions);
		if (!ret && held < ARRAY_SIZE(ctx->blocks) &&
		    !pgmap_alloc_range(pa, COMPACT_BLOCK, GFP_NOWAIT, ctx->blocks[held])) {
			held++;
			continue;
		}
		if (ret && ret != -ENOSPC)
			atomic_long_inc(&ctx->errors);
		while (held)
			put_block(ctx->blocks[--held]);
	}
	while (held)
		put_block(ctx->blocks[--held]);
}

/*
 * Compaction racing allocations and hand-backs on every CPU, and the
 * removal of a second pgmap: no page is copied twice at once, none is
 * handed out twice, the process's data is whole, every page comes back.
 */
static void pgmap_alloc_compact_while_allocating(struct kunit *test)
{
	struct compact_race_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	struct pgmap_kunit_threads *threads;
	unsigned long addr, round, removed = 0;
	unsigned int i;
	int ret;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	pgmap_kunit_need_cpus(test, 2, "to allocate on one while another compacts");
	for (i = 0; i < ARRAY_SIZE(ctx->blocks); i++) {
		ctx->blocks[i] = kunit_kcalloc(test, COMPACT_BLOCK, sizeof(struct page *),
					       GFP_KERNEL);
		KUNIT_ASSERT_NOT_NULL(test, ctx->blocks[i]);
	}
	ctx->evict = compacting_pool(test);
	ctx->evict->dev2 = one_range(test, EVICT_POOL_PAGES);
	addr = fragmented_process(test, ctx->evict);

	threads = pgmap_kunit_start_threads(test, num_online_cpus() + 1,
					    compact_race_thread, ctx);
	for (round = 0; round < 5; round++) {
		KUNIT_EXPECT_EQ(test, pgmap_alloc_add_pgmap(ctx->evict->pa,
							    &ctx->evict->dev2->pgmap), 0);
		msleep(20);
		ret = pgmap_alloc_remove_pgmap(ctx->evict->pa, &ctx->evict->dev2->pgmap, NULL);
		while (ret == -EBUSY) {
			usleep_range(1000, 2000);
			ret = pgmap_alloc_remove_pgmap(ctx->evict->pa,
						       &ctx->evict->dev2->pgmap, NULL);
		}
		KUNIT_EXPECT_EQ(test, ret, 0);
		if (ret)
			break;
		removed++;
		msleep(20);
	}
	WRITE_ONCE(ctx->stop, true);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_threads_done(threads, 30 * HZ));
	kunit_info(test, "%ld compactions, %ld pages moved, %ld allocations, %lu removals\n",
		   atomic_long_read(&ctx->compactions), ctx->evict->nr_copied_to_device,
		   atomic_long_read(&ctx->allocations), removed);
	KUNIT_EXPECT_GT(test, ctx->evict->nr_copied_to_device, 0);
	KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->allocations), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_read(&ctx->evict->copied_twice), 0);
	expect_kept_data(test, ctx->evict, addr);
}

static struct kunit_case pgmap_alloc_cases[] = {
	KUNIT_CASE(pgmap_alloc_one_folio),
	KUNIT_CASE(pgmap_alloc_exhaust_and_recover),
	KUNIT_CASE(pgmap_alloc_reuses_warm_page),
	KUNIT_CASE(pgmap_alloc_cached_elsewhere),
	KUNIT_CASE(pgmap_alloc_aligned_ranges),
	KUNIT_CASE(pgmap_alloc_several_pgmaps),
	KUNIT_CASE(pgmap_alloc_last_free_page),
	KUNIT_CASE_SLOW(pgmap_alloc_large_pool),
	KUNIT_CASE(pgmap_alloc_grows_on_demand),
	KUNIT_CASE(pgmap_alloc_grows_under_concurrency),
	KUNIT_CASE(pgmap_alloc_destroy_with_folios_out),
	KUNIT_CASE(pgmap_alloc_foreign_folio),
	KUNIT_CASE(pgmap_alloc_dying_pgmap),
	KUNIT_CASE(pgmap_alloc_unmap_while_allocating),
	KUNIT_CASE(pgmap_alloc_destroy_while_allocating),
	KUNIT_CASE(pgmap_alloc_destroy_waits_for_grow),
	KUNIT_CASE(pgmap_alloc_fault_injection),
	KUNIT_CASE(pgmap_alloc_fault_injection_grow),
	KUNIT_CASE_PARAM(pgmap_alloc_bad_input, bad_input_gen_params),
	KUNIT_CASE_SLOW(pgmap_alloc_stress),
	KUNIT_CASE(pgmap_alloc_range_undone_without_page_free),
	KUNIT_CASE_SLOW(pgmap_alloc_range_undone_past_a_walker),
	KUNIT_CASE(pgmap_alloc_enomem_only_when_full),
	KUNIT_CASE_SLOW(pgmap_alloc_no_grow_while_room),
	KUNIT_CASE(pgmap_alloc_range_within_one_range),
	KUNIT_CASE(pgmap_alloc_grow_allocates_from_its_pool),
	KUNIT_CASE(pgmap_alloc_grow_destroys_its_pool),
	KUNIT_CASE(pgmap_alloc_walk_callback_allocates),
	KUNIT_CASE(pgmap_alloc_walk_from_walk_callback),
	KUNIT_CASE(pgmap_alloc_add_pgmap_from_walk_callback),
	KUNIT_CASE(pgmap_alloc_destroy_from_walk_callback),
	KUNIT_CASE(pgmap_alloc_grow_in_gfp_scope),
	KUNIT_CASE(pgmap_alloc_drain_from_reclaim),
	KUNIT_CASE(pgmap_alloc_idle_caches_emptied),
	KUNIT_CASE_SLOW(pgmap_alloc_hand_back_from_hardirq),
	KUNIT_CASE(pgmap_alloc_evict_idle_pgmap),
	KUNIT_CASE(pgmap_alloc_evict_leaves_driver_pages),
	KUNIT_CASE(pgmap_alloc_evict_from_process),
	KUNIT_CASE(pgmap_alloc_evict_copy_fails),
	KUNIT_CASE(pgmap_alloc_evict_copy_error),
	KUNIT_CASE(pgmap_alloc_evict_fault_injection),
	KUNIT_CASE(pgmap_alloc_remove_moves_inside_device),
	KUNIT_CASE(pgmap_alloc_remove_to_ram),
	KUNIT_CASE(pgmap_alloc_remove_last_pgmap),
	KUNIT_CASE(pgmap_alloc_remove_held_page),
	KUNIT_CASE(pgmap_alloc_remove_without_copy),
	KUNIT_CASE(pgmap_alloc_remove_cached_elsewhere),
	KUNIT_CASE(pgmap_alloc_remove_stray_page),
	KUNIT_CASE(pgmap_alloc_destroy_evicts),
	KUNIT_CASE_SLOW(pgmap_alloc_remove_while_allocating),
	KUNIT_CASE(pgmap_alloc_idle_gives_back),
	KUNIT_CASE(pgmap_alloc_idle_keeps_minimum),
	KUNIT_CASE_SLOW(pgmap_alloc_idle_churn),
	KUNIT_CASE(pgmap_alloc_compact_makes_block),
	KUNIT_CASE(pgmap_alloc_compact_budget),
	KUNIT_CASE(pgmap_alloc_compact_copy_fails),
	KUNIT_CASE(pgmap_alloc_compact_skips_held_page),
	KUNIT_CASE(pgmap_alloc_compact_page_freed_meanwhile),
	KUNIT_CASE_PARAM(pgmap_alloc_compact_large_blocks, compact_case_gen_params),
	KUNIT_CASE(pgmap_alloc_compact_on_allocation),
	KUNIT_CASE_SLOW(pgmap_alloc_compact_while_allocating),
	{}
};

static struct kunit_suite pgmap_alloc_suite = {
	.name = "pgmap_alloc",
	.suite_init = pgmap_kunit_watch_warnings,
	.suite_exit = pgmap_kunit_unwatch_warnings,
	.test_cases = pgmap_alloc_cases,
};

kunit_test_suite(pgmap_alloc_suite);
