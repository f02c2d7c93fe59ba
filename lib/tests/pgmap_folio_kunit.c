// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests for pgmap_request_folio() and page_pgmap_offset()
 * (mm/pgmap_folio.c), on a real DEVICE_PRIVATE pgmap with three ranges.
 */
#include <kunit/test.h>
#include <linux/delay.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/pagemap.h>
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
	struct completion start;
	atomic_t arrived;		/* both threads meet at every offset */
	atomic_t winners[TOTAL_PAGES];
	struct folio *won[2][TOTAL_PAGES];
	struct completion done[2];
};

struct race_thread {
	struct race_ctx *ctx;
	int id;
};

static int race_requester(void *data)
{
	struct race_thread *t = data;
	struct race_ctx *ctx = t->ctx;
	pgoff_t offset;

	wait_for_completion(&ctx->start);
	for (offset = 0; offset < TOTAL_PAGES; offset++) {
		struct folio *folio;

		atomic_inc(&ctx->arrived);
		while (atomic_read(&ctx->arrived) < 2 * (offset + 1))
			cpu_relax();
		folio = pgmap_request_folio(ctx->pgmap, offset, 0);

		if (!IS_ERR(folio)) {
			ctx->won[t->id][offset] = folio;
			atomic_inc(&ctx->winners[offset]);
		}
	}
	complete(&ctx->done[t->id]);
	return 0;
}

/* Two threads request every offset at the same time: one wins each. */
static void pgmap_folio_racing_requests(struct kunit *test)
{
	struct pgmap_kunit_dev *dev = three_ranges(test);
	struct race_thread threads[2];
	struct task_struct *task;
	struct race_ctx *ctx;
	pgoff_t offset;
	int i, wins[2] = {};

	/* The threads spin for each other: they need a CPU each. */
	if (num_online_cpus() < 2)
		kunit_skip(test, "needs two CPUs, has %u", num_online_cpus());
	ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->pgmap = &dev->pgmap;
	init_completion(&ctx->start);
	for (i = 0; i < 2; i++) {
		init_completion(&ctx->done[i]);
		threads[i].ctx = ctx;
		threads[i].id = i;
		task = kthread_create(race_requester, &threads[i], "pgmap_race%d", i);
		KUNIT_ASSERT_FALSE(test, IS_ERR(task));
		kthread_bind(task, cpumask_nth(i, cpu_online_mask));
		wake_up_process(task);
	}
	complete_all(&ctx->start);
	for (i = 0; i < 2; i++)
		wait_for_completion(&ctx->done[i]);

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

struct bad_request {
	const char *desc;
	pgoff_t offset;
	unsigned int order;
	bool wrong_type;
	bool warns;
	int error;
};

static const struct bad_request bad_requests[] = {
	{ "offset past the end", TOTAL_PAGES, 0, false, true, -ERANGE },
	{ "far past the end", ULONG_MAX, 0, false, true, -ERANGE },
	{ "offset not aligned to order", 1, 1, false, true, -EINVAL },
	{ "order above MAX_PAGE_ORDER", 0, MAX_PAGE_ORDER + 1, false, true, -EINVAL },
	{ "range crosses the end of a range", 0, 10, false, true, -EXDEV },
	{ "order 1, not buildable here", 512, 1, false, false, -E2BIG },
	{ "pgmap of type FS_DAX", 0, 0, true, true, -EOPNOTSUPP },
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
	if (t->warns)
		folio = PGMAP_KUNIT_EXPECT_WARN(pgmap_request_folio(pgmap, t->offset, t->order));
	else
		folio = pgmap_request_folio(pgmap, t->offset, t->order);
	KUNIT_EXPECT_EQ(test, PTR_ERR_OR_ZERO(folio), t->error);
	/* Nothing was taken: every page is still idle. */
	KUNIT_EXPECT_EQ(test, page_ref_count(pfn_to_page(PHYS_PFN(dev->pgmap.range.start))), 0);
	KUNIT_EXPECT_EQ(test, atomic_long_read(&dev->nr_page_free), 0);
}

static void pgmap_folio_offset_of_other_page(struct kunit *test)
{
	struct page *page = alloc_page(GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, page);
	KUNIT_EXPECT_EQ(test, PGMAP_KUNIT_EXPECT_WARN(page_pgmap_offset(page)),
			(pgoff_t)-1);
	__free_page(page);
}

static struct kunit_case pgmap_folio_cases[] = {
	KUNIT_CASE(pgmap_folio_first_and_last_page),
	KUNIT_CASE(pgmap_folio_busy_page),
	KUNIT_CASE(pgmap_folio_unmap_waits_for_folios),
	KUNIT_CASE(pgmap_folio_unmap_after_all_put),
	KUNIT_CASE(pgmap_folio_racing_requests),
	KUNIT_CASE_PARAM(pgmap_folio_bad_request, bad_request_gen_params),
	KUNIT_CASE(pgmap_folio_offset_of_other_page),
	{}
};

static struct kunit_suite pgmap_folio_suite = {
	.name = "pgmap_folio",
	.test_cases = pgmap_folio_cases,
};

kunit_test_suite(pgmap_folio_suite);
