// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for pgmap_request_folio(), pgmap_request_page() and
 * page_pgmap_offset() (mm/pgmap_folio.c), on a real DEVICE_PRIVATE pgmap
 * with three ranges.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
#include <linux/prandom.h>
#include <linux/slab.h>

#include "pgmap_kunit.h"

/* Three ranges, so that offsets in the second and third are tested. */
static const unsigned long range_pages[] = { 512, 1024, 512 };
#define TOTAL_PAGES	2048

static struct pgmap_kunit_dev *three_ranges(struct kunit *test)
{
	return pgmap_kunit_create(test, ARRAY_SIZE(range_pages), range_pages);
}

static void put_folio(struct folio *folio)
{
	folio_unlock(folio);
	folio_put(folio);
}

/* The page at @offset of a pgmap of three_ranges() */
static struct page *pgmap_offset_page(struct dev_pagemap *pgmap, pgoff_t offset)
{
	int r;

	for (r = 0; offset >= range_pages[r]; r++)
		offset -= range_pages[r];
	return pfn_to_page(PHYS_PFN(pgmap->ranges[r].start) + offset);
}

static void pgmap_folio_first_and_last_page(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct dev_pagemap *pgmap = &dev->pgmap;
	pgoff_t range_start = 0;
	long freed = 0;
	int r;

	KUNIT_EXPECT_EQ(test, pgmap_nr_pages(pgmap), TOTAL_PAGES);

	for (r = 0; r < ARRAY_SIZE(range_pages); r++) {
		pgoff_t ends[] = { 0, range_pages[r] - 1 };
		int e;

		for (e = 0; e < ARRAY_SIZE(ends); e++) {
			pgoff_t offset = range_start + ends[e];
			struct folio *folio;

			folio = pgmap_request_folio(pgmap, offset, 0);
			KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(folio),
					       "offset %lu: %ld", offset,
					       PTR_ERR(folio));
			KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
			KUNIT_EXPECT_TRUE(test, folio_test_locked(folio));
			KUNIT_EXPECT_EQ(test, folio_order(folio), 0);
			KUNIT_EXPECT_PTR_EQ(test, folio->page.pgmap, pgmap);
			KUNIT_EXPECT_EQ(test, folio_pfn(folio),
					PHYS_PFN(pgmap->ranges[r].start) + ends[e]);
			KUNIT_EXPECT_EQ(test, page_pgmap_offset(&folio->page),
					offset);

			put_folio(folio);
			freed++;
			KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free),
					freed);
			KUNIT_EXPECT_EQ(test, page_ref_count(&folio->page), 0);
		}
		range_start += range_pages[r];
	}
}

static void pgmap_folio_busy_page(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct folio *folio, *again;

	folio = pgmap_request_folio(&dev->pgmap, 700, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	again = pgmap_request_folio(&dev->pgmap, 700, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR(again), -EBUSY);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	put_folio(folio);

	/* Idle again, so it can be requested again. */
	folio = pgmap_request_folio(&dev->pgmap, 700, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	put_folio(folio);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 2);
}

/* memunmap_pages() returns once every folio is put, and not before. */
static void pgmap_folio_unmap_waits_for_folios(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct folio *held, *other;

	other = pgmap_request_folio(&dev->pgmap, 5, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(other));
	held = pgmap_request_folio(&dev->pgmap, TOTAL_PAGES - 1, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(held));
	put_folio(other);

	pgmap_kunit_unmap_async(dev);
	KUNIT_EXPECT_FALSE(test, pgmap_kunit_wait_unmapped(dev, HZ / 5));

	/* Dying: an ordinary failure, without a warning. */
	other = pgmap_request_folio(&dev->pgmap, 6, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR(other), -ENODEV);
	other = pgmap_request_page(pfn_to_page(PHYS_PFN(dev->pgmap.range.start) + 6));
	KUNIT_EXPECT_EQ(test, PTR_ERR(other), -ENODEV);

	put_folio(held);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_wait_unmapped(dev, 10 * HZ));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 2);
}

static void pgmap_folio_unmap_after_all_put(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	pgoff_t offset;

	for (offset = 0; offset < TOTAL_PAGES; offset += 97) {
		struct folio *folio = pgmap_request_folio(&dev->pgmap, offset, 0);

		KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
		put_folio(folio);
	}
	pgmap_kunit_unmap_async(dev);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_wait_unmapped(dev, 10 * HZ));
}

struct race_ctx {
	struct dev_pagemap *pgmap;
	atomic_t arrived;		/* both threads meet at every offset */
	atomic_t winners[TOTAL_PAGES];
	struct folio *won[2][TOTAL_PAGES];
	bool owner;			/* request with pgmap_request_page() */
};

static void race_requester(void *arg, unsigned int id)
{
	struct race_ctx *ctx = arg;
	pgoff_t offset;

	for (offset = 0; offset < TOTAL_PAGES; offset++) {
		struct folio *folio;

		atomic_inc(&ctx->arrived);
		while (atomic_read(&ctx->arrived) < 2 * (offset + 1))
			cpu_relax();
		if (ctx->owner)
			folio = pgmap_request_page(pgmap_offset_page(ctx->pgmap, offset));
		else
			folio = pgmap_request_folio(ctx->pgmap, offset, 0);

		if (!IS_ERR(folio)) {
			ctx->won[id][offset] = folio;
			atomic_inc(&ctx->winners[offset]);
		}
	}
}

/*
 * Two threads request every offset at the same time: one wins each. With
 * pgmap_request_page(), the folio lock alone decides, as there is no cmpxchg.
 */
static void racing_requests(struct kunit *test, bool owner)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct race_ctx *ctx;
	pgoff_t offset;
	int i, wins[2] = {};

	/* The threads spin for each other: they need a CPU each. */
	pgmap_kunit_need_cpus(test, 2, "to race");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pgmap = &dev->pgmap;
	ctx->owner = owner;
	pgmap_kunit_run_threads(test, 2, race_requester, ctx);

	for (offset = 0; offset < TOTAL_PAGES; offset++) {
		KUNIT_EXPECT_EQ_MSG(test, atomic_read(&ctx->winners[offset]), 1,
				    "offset %lu", offset);
		for (i = 0; i < 2; i++) {
			if (!ctx->won[i][offset])
				continue;
			wins[i]++;
			put_folio(ctx->won[i][offset]);
		}
	}
	KUNIT_EXPECT_EQ(test, wins[0] + wins[1], TOTAL_PAGES);
	/* Both got some: the requests really raced. */
	KUNIT_EXPECT_GT(test, wins[0], 0);
	KUNIT_EXPECT_GT(test, wins[1], 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), TOTAL_PAGES);
	kunit_info(test, "thread 0 won %d offsets, thread 1 won %d\n",
		   wins[0], wins[1]);
}

static void pgmap_folio_racing_requests(struct kunit *test)
{
	racing_requests(test, false);
}

static void pgmap_folio_racing_request_page(struct kunit *test)
{
	racing_requests(test, true);
}

/*
 * A request and a pfn walker hammer one page from two CPUs. The walker does
 * what migrate_device_range() does to any page: a reference if the refcount
 * is not 0, then a trylock; here it lets go at once. Whoever drops the last
 * reference runs the free path, so ->page_free runs once per request that
 * succeeded, and the page ends free: refcount 0, unlocked, requestable.
 */
#define SPECULATIVE_ROUNDS	200000
#define SPECULATIVE_OFFSET	700

struct speculative_ctx {
	struct dev_pagemap *pgmap;
	struct page *page;
	bool use_migrate;		/* walk with migrate_device_range() */
	bool owner;			/* request with pgmap_request_page() */
	atomic_t requester_done;
	long requested, busy, other_error;
	long walker_refs, walker_locks;
};

static void speculative_requester(struct speculative_ctx *ctx)
{
	int i;

	for (i = 0; i < SPECULATIVE_ROUNDS; i++) {
		struct folio *folio;

		if (ctx->owner)
			folio = pgmap_request_page(ctx->page);
		else
			folio = pgmap_request_folio(ctx->pgmap, SPECULATIVE_OFFSET, 0);
		if (!IS_ERR(folio)) {
			ctx->requested++;
			/*
			 * The walker's put may run the free path while the
			 * next request claims the page, which an allocator
			 * must not do. This pgmap's ->page_free only counts,
			 * so it is harmless here. Waiting for it instead made
			 * each round wait for the walker's vCPU, and hung the
			 * suite in loaded runs.
			 */
			put_folio(folio);
		} else if (PTR_ERR(folio) == -EBUSY) {
			ctx->busy++;
		} else {
			ctx->other_error++;
		}
		if (!(i % 1024))
			cond_resched();
	}
	atomic_set(&ctx->requester_done, 1);
}

static void speculative_walker(struct speculative_ctx *ctx)
{
	unsigned long pfn = page_to_pfn(ctx->page), src = 0, dst = 0;
	unsigned long rounds = 0;

	while (!atomic_read(&ctx->requester_done)) {
		/* PREEMPT_NONE: let this CPU's other work run now and then */
		if (!(++rounds % 1024))
			cond_resched();
		if (ctx->use_migrate) {
			migrate_device_range(&src, pfn, 1);
			if (src & MIGRATE_PFN_MIGRATE)
				ctx->walker_locks++;
			migrate_device_finalize(&src, &dst, 1);
		} else if (get_page_unless_zero(ctx->page)) {
			ctx->walker_refs++;
			if (trylock_page(ctx->page)) {
				ctx->walker_locks++;
				unlock_page(ctx->page);
			}
			put_page(ctx->page);
		}
	}
}

static void speculative_thread(void *arg, unsigned int i)
{
	if (i == 0)
		speculative_requester(arg);
	else
		speculative_walker(arg);
}

static void request_vs_walker(struct kunit *test, bool use_migrate, bool owner)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct speculative_ctx *ctx;
	struct folio *folio;

	pgmap_kunit_need_cpus(test, 2, "to race");
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pgmap = &dev->pgmap;
	ctx->page = pfn_to_page(PHYS_PFN(dev->pgmap.ranges[1].start) +
				SPECULATIVE_OFFSET - range_pages[0]);
	ctx->use_migrate = use_migrate;
	ctx->owner = owner;
	pgmap_kunit_run_threads(test, 2, speculative_thread, ctx);

	kunit_info(test, "%ld requests, %ld busy; walker: %ld references, %ld locks\n",
		   ctx->requested, ctx->busy, ctx->walker_refs, ctx->walker_locks);
	KUNIT_EXPECT_EQ(test, ctx->other_error, 0);
	KUNIT_EXPECT_GT(test, ctx->requested, 0);
	KUNIT_EXPECT_EQ(test, ctx->requested + ctx->busy, SPECULATIVE_ROUNDS);
	KUNIT_EXPECT_EQ(test, page_ref_count(ctx->page), 0);
	KUNIT_EXPECT_FALSE(test, PageLocked(ctx->page));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), ctx->requested);

	/* Still free: a last request succeeds, and its put frees it. */
	folio = pgmap_request_folio(&dev->pgmap, SPECULATIVE_OFFSET, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	put_folio(folio);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), ctx->requested + 1);
}

static void pgmap_folio_request_vs_speculative_ref(struct kunit *test)
{
	request_vs_walker(test, false, false);
}

static void pgmap_folio_request_vs_migrate_device_range(struct kunit *test)
{
	request_vs_walker(test, true, false);
}

/* The owner's claim, a plain check and store, against the same walkers */
static void pgmap_folio_request_page_vs_speculative_ref(struct kunit *test)
{
	request_vs_walker(test, false, true);
}

static void pgmap_folio_request_page_vs_migrate_device_range(struct kunit *test)
{
	request_vs_walker(test, true, true);
}

/*
 * pgmap_request_page(): the page comes as from pgmap_request_folio(); a
 * page in service or locked is -EBUSY, without a warning. (A dying pgmap:
 * pgmap_folio_unmap_waits_for_folios.)
 */
static void pgmap_folio_request_page(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct page *page = pfn_to_page(PHYS_PFN(dev->pgmap.ranges[2].start) + 9);
	struct folio *folio, *again;

	folio = pgmap_request_page(page);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	KUNIT_EXPECT_PTR_EQ(test, &folio->page, page);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	KUNIT_EXPECT_TRUE(test, folio_test_locked(folio));
	KUNIT_EXPECT_EQ(test, page_pgmap_offset(page), 512 + 1024 + 9);

	again = pgmap_request_page(page);
	KUNIT_EXPECT_EQ(test, PTR_ERR(again), -EBUSY);
	folio_unlock(folio);
	again = pgmap_request_page(page);
	KUNIT_EXPECT_EQ(test, PTR_ERR(again), -EBUSY);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 1);
	folio_put(folio);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 1);

	/* Free but locked by someone else */
	KUNIT_ASSERT_TRUE(test, trylock_page(page));
	again = pgmap_request_page(page);
	KUNIT_EXPECT_EQ(test, PTR_ERR(again), -EBUSY);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	unlock_page(page);
}

/*
 * The lock of a free page is held (by a concurrent request): the request
 * fails with -EBUSY, without a warning, and leaves the refcount at 0.
 */
static void pgmap_folio_request_locked_free_page(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct page *page = pfn_to_page(PHYS_PFN(dev->pgmap.range.start) + 3);
	struct folio *folio;

	KUNIT_ASSERT_TRUE(test, trylock_page(page));
	folio = pgmap_request_folio(&dev->pgmap, 3, 0);
	KUNIT_EXPECT_EQ(test, PTR_ERR(folio), -EBUSY);
	KUNIT_EXPECT_EQ(test, page_ref_count(page), 0);
	unlock_page(page);

	folio = pgmap_request_folio(&dev->pgmap, 3, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	put_folio(folio);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 1);
}

/*
 * A minimal buddy allocator of pgmap offsets, orders 0 to BYO_MAX_ORDER,
 * standing in for a driver's own allocator (amdgpu's TTM/drm_buddy): the
 * kernel's drm_buddy would need CONFIG_DRM here. Block i of order o is free
 * while bit i of free[o] is set.
 */
#define BYO_PAGES	512
#define BYO_MAX_ORDER	4
#define BYO_HELD	4	/* blocks each thread holds at a time */
#define BYO_ITERATIONS	20000

struct byo_buddy {
	spinlock_t lock;	/* protects free[] */
	DECLARE_BITMAP(free[BYO_MAX_ORDER + 1], BYO_PAGES);
};

static long byo_alloc(struct byo_buddy *b, unsigned int order)
{
	unsigned long idx = 0;
	unsigned int o;

	spin_lock(&b->lock);
	for (o = order; o <= BYO_MAX_ORDER; o++) {
		idx = find_first_bit(b->free[o], BYO_PAGES >> o);
		if (idx < BYO_PAGES >> o)
			break;
	}
	if (o > BYO_MAX_ORDER) {
		spin_unlock(&b->lock);
		return -ENOSPC;
	}
	__clear_bit(idx, b->free[o]);
	/* Split down to @order, keeping the lower halves. */
	while (o-- > order) {
		idx *= 2;
		__set_bit(idx + 1, b->free[o]);
	}
	spin_unlock(&b->lock);
	return idx << order;
}

static void byo_free(struct byo_buddy *b, unsigned long offset,
		     unsigned int order)
{
	unsigned long idx = offset >> order;

	spin_lock(&b->lock);
	/* Merge with the buddy for as long as it is free. */
	while (order < BYO_MAX_ORDER &&
	       __test_and_clear_bit(idx ^ 1, b->free[order])) {
		idx >>= 1;
		order++;
	}
	__set_bit(idx, b->free[order]);
	spin_unlock(&b->lock);
}

struct byo_block {
	unsigned int order;
	struct folio *folios[1 << BYO_MAX_ORDER];	/* NULL: request failed */
};

struct byo_thread {
	struct rnd_state rnd;
	struct byo_block held[BYO_HELD];
	unsigned int nr_held;
};

struct byo_ctx {
	struct pgmap_kunit_dev *dev;
	struct byo_buddy buddy;
	atomic_t state[BYO_PAGES];		/* shadow: 0 idle, 1 in service */
	atomic_t outstanding[BYO_PAGES];	/* of the block starting here */
	u8 order[BYO_PAGES];			/* of the block of each page */
	atomic_long_t blocks, requested, failed, errors;
	struct byo_thread threads[2];
};

/* One page of a block is back with the driver; the last frees the block. */
static void byo_page_done(struct byo_ctx *ctx, unsigned long start,
			  unsigned int order)
{
	if (atomic_dec_and_test(&ctx->outstanding[start]))
		byo_free(&ctx->buddy, start, order);
}

/* The driver's ->page_free: only from here is an offset free again. */
static void byo_page_free(struct page *page, void *arg)
{
	struct byo_ctx *ctx = arg;
	pgoff_t offset = page_pgmap_offset(page);
	unsigned int order;

	if (offset >= BYO_PAGES) {
		atomic_long_inc(&ctx->errors);
		return;
	}
	/* ->page_free on a page that was not in service */
	if (atomic_cmpxchg(&ctx->state[offset], 1, 0) != 1)
		atomic_long_inc(&ctx->errors);
	order = ctx->order[offset];
	byo_page_done(ctx, round_down(offset, 1UL << order), order);
}

/* Allocate a block from the buddy and put each of its pages into service. */
static bool byo_get_block(struct byo_ctx *ctx, struct byo_block *blk,
			  unsigned int order)
{
	unsigned long nr = 1UL << order, i;
	long start = byo_alloc(&ctx->buddy, order);

	/* Cannot fail: the threads hold 8 blocks of 16 pages at most. */
	if (start < 0) {
		atomic_long_inc(&ctx->errors);
		return false;
	}
	blk->order = order;
	memset(&ctx->order[start], order, nr);
	atomic_set(&ctx->outstanding[start], nr);
	atomic_long_inc(&ctx->blocks);
	for (i = 0; i < nr; i++) {
		struct folio *folio = pgmap_request_folio(&ctx->dev->pgmap, start + i, 0);

		blk->folios[i] = IS_ERR(folio) ? NULL : folio;
		if (IS_ERR(folio)) {
			atomic_long_inc(&ctx->failed);
			byo_page_done(ctx, start, order);
			continue;
		}
		atomic_long_inc(&ctx->requested);
		if (page_pgmap_offset(&folio->page) != start + i ||
		    atomic_cmpxchg(&ctx->state[start + i], 0, 1) != 0)
			atomic_long_inc(&ctx->errors);
	}
	return true;
}

static void byo_put_block(struct byo_block *blk)
{
	unsigned long i;

	for (i = 0; i < 1UL << blk->order; i++)
		if (blk->folios[i])
			put_folio(blk->folios[i]);
}

static void byo_thread_fn(void *arg, unsigned int id)
{
	struct byo_ctx *ctx = arg;
	struct byo_thread *t = &ctx->threads[id];
	int n;

	prandom_seed_state(&t->rnd, 1000 + id);
	for (n = 0; n < BYO_ITERATIONS; n++) {
		u32 r = prandom_u32_state(&t->rnd);

		if (t->nr_held == BYO_HELD) {
			unsigned int slot = (r >> 8) % BYO_HELD;

			byo_put_block(&t->held[slot]);
			t->held[slot] = t->held[--t->nr_held];
		}
		if (byo_get_block(ctx, &t->held[t->nr_held], r % (BYO_MAX_ORDER + 1)))
			t->nr_held++;
		cond_resched();
	}
	while (t->nr_held)
		byo_put_block(&t->held[--t->nr_held]);
}

/*
 * Bring your own allocator: a driver with its own buddy allocator puts
 * pages into service by offset, and takes them back in ->page_free. As
 * long as it requests only offsets its allocator knows are free (never
 * handed out, or given back by ->page_free), every request succeeds, even
 * with one thread's frees racing the other's requests; and ->page_free
 * comes exactly once per page put into service.
 */
static void pgmap_folio_own_buddy_allocator(struct kunit *test)
{
	unsigned long nr = BYO_PAGES, offset, busy = 0, whole;
	struct pgmap_kunit_dev *dev = pgmap_kunit_create(test, 1, &nr);
	unsigned long first_pfn = PHYS_PFN(dev->pgmap.range.start);
	struct byo_ctx *ctx;
	unsigned int o;

	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->dev = dev;
	spin_lock_init(&ctx->buddy.lock);
	bitmap_set(ctx->buddy.free[BYO_MAX_ORDER], 0, BYO_PAGES >> BYO_MAX_ORDER);
	dev->page_free_arg = ctx;
	dev->on_page_free = byo_page_free;

	pgmap_kunit_run_threads(test, 2, byo_thread_fn, ctx);
	dev->on_page_free = NULL;

	kunit_info(test, "%ld blocks, %ld pages requested, %ld ->page_free, %ld failed requests, %ld errors\n",
		   atomic_long_read(&ctx->blocks), atomic_long_read(&ctx->requested),
		   atomic_long_read(&dev->nr_page_free), atomic_long_read(&ctx->failed),
		   atomic_long_read(&ctx->errors));
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->errors), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&ctx->failed), 0);
	KUNIT_EXPECT_GT(test, atomic_long_read(&ctx->requested), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free),
			atomic_long_read(&ctx->requested));

	/* The buddy is whole again: only free blocks of the top order. */
	whole = bitmap_weight(ctx->buddy.free[BYO_MAX_ORDER], BYO_PAGES >> BYO_MAX_ORDER);
	KUNIT_EXPECT_EQ(test, whole, BYO_PAGES >> BYO_MAX_ORDER);
	for (o = 0; o < BYO_MAX_ORDER; o++)
		KUNIT_EXPECT_TRUE_MSG(test, bitmap_empty(ctx->buddy.free[o], BYO_PAGES >> o),
				      "order %u", o);
	for (offset = 0; offset < BYO_PAGES; offset++)
		busy += page_ref_count(pfn_to_page(first_pfn + offset)) != 0;
	KUNIT_EXPECT_EQ(test, busy, 0);
}

/*
 * pgmap_cancel_folio() takes a folio that was never used out of service
 * without ->page_free; it waits for nobody, so it fails while a speculative
 * reference is held.
 */
static void pgmap_folio_cancel(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct folio *folio;

	folio = pgmap_request_folio(&dev->pgmap, 9, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	KUNIT_ASSERT_TRUE(test, folio_try_get(folio));
	KUNIT_EXPECT_EQ(test, pgmap_cancel_folio(folio), -EBUSY);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 2);
	KUNIT_EXPECT_TRUE(test, folio_test_locked(folio));
	folio_put(folio);
	KUNIT_EXPECT_EQ(test, pgmap_cancel_folio(folio), 0);
	KUNIT_EXPECT_EQ(test, folio_ref_count(folio), 0);
	KUNIT_EXPECT_FALSE(test, folio_test_locked(folio));

	/* Free again, and never through ->page_free. */
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 0);
	/* The pgmap reference of the cancelled request was dropped. */
	pgmap_kunit_unmap_async(dev);
	KUNIT_EXPECT_TRUE(test, pgmap_kunit_wait_unmapped(dev, 10 * HZ));
}

/* Cancelling a folio that is not locked, or not of a pgmap: refused. */
static void pgmap_folio_cancel_misuse(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct page *other = alloc_page(GFP_KERNEL);
	struct folio *folio;

	KUNIT_ASSERT_NOT_NULL(test, other);
	folio = pgmap_request_folio(&dev->pgmap, 9, 0);
	KUNIT_ASSERT_FALSE(test, IS_ERR(folio));
	folio_unlock(folio);
	KUNIT_EXPECT_EQ(test, PGMAP_KUNIT_EXPECT_WARN(test, pgmap_cancel_folio(folio)), -EINVAL);
	folio_put(folio);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 1);

	lock_page(other);
	KUNIT_EXPECT_EQ(test, PGMAP_KUNIT_EXPECT_WARN(test, pgmap_cancel_folio(page_folio(other))),
			-EINVAL);
	unlock_page(other);
	__free_page(other);
}

struct bad_request {
	const char *desc;
	pgoff_t offset;
	unsigned int order;
	bool wrong_type;
	bool warns;
	bool *site_warned;	/* a WARN_ON_ONCE() site shared with another case */
	int error;
};

/* See PGMAP_KUNIT_EXPECT_WARN_ONCE(). */
static bool past_the_end_warned;

static const struct bad_request bad_requests[] = {
	{ "offset past the end", TOTAL_PAGES, 0, false, true, &past_the_end_warned, -ERANGE },
	{ "far past the end", ULONG_MAX, 0, false, true, &past_the_end_warned, -ERANGE },
	{ "offset not aligned to order", 1, 1, false, true, NULL, -EINVAL },
	{ "order above MAX_PAGE_ORDER", 0, MAX_PAGE_ORDER + 1, false, true, NULL, -EINVAL },
	{ "range crosses the end of a range", 0, 10, false, true, NULL, -EXDEV },
	{ "order 1, not buildable here", 512, 1, false, false, NULL, -E2BIG },
	{ "pgmap of type FS_DAX", 0, 0, true, true, NULL, -EOPNOTSUPP },
};

static void bad_request_desc(const struct bad_request *t, char *desc)
{
	strscpy(desc, t->desc, KUNIT_PARAM_DESC_SIZE);
}

KUNIT_ARRAY_PARAM(bad_request, bad_requests, bad_request_desc);

static void pgmap_folio_bad_request(struct kunit *test)
{
	const struct bad_request *t = test->param_value;
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct dev_pagemap *pgmap = &dev->pgmap;
	struct folio *folio;

	if (t->wrong_type)
		pgmap = pgmap_kunit_unmapped_pgmap(test, MEMORY_DEVICE_FS_DAX);
	if (t->warns) {
		folio = PGMAP_KUNIT_EXPECT_WARN_ONCE(test, t->site_warned,
						     pgmap_request_folio(pgmap, t->offset,
									 t->order));
	} else {
		unsigned long warnings = pgmap_kunit_nr_warnings();

		folio = pgmap_request_folio(pgmap, t->offset, t->order);
		KUNIT_EXPECT_EQ_MSG(test, pgmap_kunit_nr_warnings(), warnings, "warned");
	}
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(folio), t->error);
	/* Nothing was taken: every page is still idle. */
	KUNIT_EXPECT_EQ(test, page_ref_count(pfn_to_page(PHYS_PFN(dev->pgmap.range.start))), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 0);
}

static void pgmap_folio_offset_of_other_page(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, PGMAP_KUNIT_EXPECT_WARN(test, page_pgmap_offset(page)),
			(pgoff_t)-1);
	__free_page(page);
}

static struct kunit_case pgmap_folio_cases[] = {
	KUNIT_CASE(pgmap_folio_first_and_last_page),
	KUNIT_CASE(pgmap_folio_busy_page),
	KUNIT_CASE(pgmap_folio_unmap_waits_for_folios),
	KUNIT_CASE(pgmap_folio_unmap_after_all_put),
	KUNIT_CASE(pgmap_folio_racing_requests),
	KUNIT_CASE(pgmap_folio_racing_request_page),
	KUNIT_CASE_SLOW(pgmap_folio_request_vs_speculative_ref),
	KUNIT_CASE_SLOW(pgmap_folio_request_vs_migrate_device_range),
	KUNIT_CASE(pgmap_folio_request_page),
	KUNIT_CASE_SLOW(pgmap_folio_request_page_vs_speculative_ref),
	KUNIT_CASE_SLOW(pgmap_folio_request_page_vs_migrate_device_range),
	KUNIT_CASE(pgmap_folio_request_locked_free_page),
	KUNIT_CASE(pgmap_folio_cancel),
	KUNIT_CASE(pgmap_folio_cancel_misuse),
	KUNIT_CASE_SLOW(pgmap_folio_own_buddy_allocator),
	KUNIT_CASE_PARAM(pgmap_folio_bad_request, bad_request_gen_params),
	KUNIT_CASE(pgmap_folio_offset_of_other_page),
	{}
};

static struct kunit_suite pgmap_folio_suite = {
	.name = "pgmap_folio",
	.suite_init = pgmap_kunit_watch_warnings,
	.suite_exit = pgmap_kunit_unwatch_warnings,
	.test_cases = pgmap_folio_cases,
};

kunit_test_suite(pgmap_folio_suite);
