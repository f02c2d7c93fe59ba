// SPDX-License-Identifier: GPL-2.0
/*
 * A DEVICE_PRIVATE pgmap for the KUnit suites, on free physical address
 * space as lib/test_hmm.c does it. Everything is undone by a kunit action,
 * so tests need no cleanup of their own.
 */
#include <linux/ioport.h>
#include <linux/kthread.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <kunit/resource.h>

#include "pgmap_kunit.h"

static void pgmap_kunit_page_free(struct page *page)
{
	struct pgmap_kunit_dev *dev =
		container_of(page->pgmap, struct pgmap_kunit_dev, pgmap);

	atomic_long_inc(&dev->nr_page_free);
	if (dev->on_page_free)
		dev->on_page_free(page, dev->page_free_arg);
}

/* The pages are never mapped into a process, so this cannot be reached. */
static vm_fault_t pgmap_kunit_migrate_to_ram(struct vm_fault *vmf)
{
	return VM_FAULT_SIGBUS;
}

static const struct dev_pagemap_ops pgmap_kunit_ops = {
	.page_free = pgmap_kunit_page_free,
	.migrate_to_ram = pgmap_kunit_migrate_to_ram,
};

static int pgmap_kunit_unmapper(void *data)
{
	struct pgmap_kunit_dev *dev = data;

	memunmap_pages(&dev->pgmap);
	/* complete_all(): the test and the cleanup may both wait. */
	complete_all(&dev->unmapped);
	return 0;
}

/**
 * pgmap_kunit_unmap_async() - Start memunmap_pages() in a kthread.
 * @dev: The pgmap.
 *
 * memunmap_pages() waits for every page to be freed; doing it in a thread
 * lets a test watch it wait.
 */
void pgmap_kunit_unmap_async(struct pgmap_kunit_dev *dev)
{
	dev->unmap_started = true;
	dev->unmapper = kthread_run(pgmap_kunit_unmapper, dev, "pgmap_kunit");
	KUNIT_ASSERT_FALSE(dev->test, IS_ERR(dev->unmapper));
}

/**
 * pgmap_kunit_wait_unmapped() - Wait for pgmap_kunit_unmap_async() to finish.
 * @dev: The pgmap.
 * @timeout: In jiffies.
 *
 * Return: true if memunmap_pages() returned within @timeout.
 */
bool pgmap_kunit_wait_unmapped(struct pgmap_kunit_dev *dev,
			       unsigned long timeout)
{
	return wait_for_completion_timeout(&dev->unmapped, timeout);
}

static void pgmap_kunit_destroy(void *data)
{
	struct pgmap_kunit_dev *dev = data;
	int i;

	if (!dev->unmap_started)
		pgmap_kunit_unmap_async(dev);
	/* A test that left pages in service fails here instead of hanging. */
	if (!pgmap_kunit_wait_unmapped(dev, 30 * HZ)) {
		KUNIT_FAIL(dev->test, "memunmap_pages() still waits for pages: leaking the pgmap");
		return;
	}
	for (i = 0; i < PGMAP_KUNIT_MAX_RANGES; i++)
		if (dev->res[i])
			release_mem_region(dev->res[i]->start,
					   resource_size(dev->res[i]));
	kfree(dev);
}

/**
 * pgmap_kunit_create() - Map a DEVICE_PRIVATE pgmap for one test.
 * @test: The test; the pgmap is unmapped and freed when it ends.
 * @nr_range: Number of ranges, up to PGMAP_KUNIT_MAX_RANGES.
 * @range_pages: Size of each range in pages, a multiple of PAGES_PER_SUBSECTION.
 *
 * Return: The pgmap, mapped. The test is aborted if that fails.
 */
struct pgmap_kunit_dev *pgmap_kunit_create(struct kunit *test, int nr_range,
					   const unsigned long *range_pages)
{
	struct pgmap_kunit_dev *dev;
	void *addr;
	int i, ret;

	KUNIT_ASSERT_LE(test, nr_range, PGMAP_KUNIT_MAX_RANGES);
	dev = kzalloc(struct_size(dev, pgmap.ranges, nr_range), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, dev);
	dev->test = test;
	init_completion(&dev->unmapped);

	for (i = 0; i < nr_range; i++) {
		struct resource *res;

		res = request_free_mem_region(&iomem_resource,
					      range_pages[i] << PAGE_SHIFT,
					      "pgmap_kunit");
		if (IS_ERR(res)) {
			ret = PTR_ERR(res);
			goto fail;
		}
		dev->res[i] = res;
		dev->pgmap.ranges[i].start = res->start;
		dev->pgmap.ranges[i].end = res->start +
			(range_pages[i] << PAGE_SHIFT) - 1;
	}
	dev->pgmap.type = MEMORY_DEVICE_PRIVATE;
	dev->pgmap.nr_range = nr_range;
	dev->pgmap.ops = &pgmap_kunit_ops;
	dev->pgmap.owner = dev;

	addr = memremap_pages(&dev->pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		goto fail;
	}
	ret = kunit_add_action_or_reset(test, pgmap_kunit_destroy, dev);
	KUNIT_ASSERT_EQ(test, ret, 0);
	return dev;

fail:
	for (i = 0; i < nr_range; i++)
		if (dev->res[i])
			release_mem_region(dev->res[i]->start,
					   resource_size(dev->res[i]));
	kfree(dev);
	KUNIT_FAIL_AND_ABORT(test, "cannot map a DEVICE_PRIVATE pgmap: %d", ret);
	return NULL;
}

/**
 * pgmap_kunit_unmapped_pgmap() - A pgmap that memremap_pages() never saw.
 * @test: The test; the pgmap is freed when it ends.
 * @type: Its type.
 *
 * Return: A pgmap of @type with one range of free address space.
 */
struct dev_pagemap *pgmap_kunit_unmapped_pgmap(struct kunit *test,
					       enum memory_type type)
{
	struct dev_pagemap *pgmap;

	pgmap = kunit_kzalloc(test, sizeof(*pgmap), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, pgmap);
	pgmap->type = type;
	pgmap->nr_range = 1;
	pgmap->range.start = 0;
	pgmap->range.end = (PAGES_PER_SUBSECTION << PAGE_SHIFT) - 1;
	pgmap->ops = &pgmap_kunit_ops;
	return pgmap;
}

struct pgmap_kunit_thread {
	pgmap_kunit_thread_fn fn;
	void *arg;
	unsigned int i;
	struct completion *start;
	struct completion done;
};

static int pgmap_kunit_thread(void *data)
{
	struct pgmap_kunit_thread *t = data;

	wait_for_completion(t->start);
	t->fn(t->arg, t->i);
	complete(&t->done);
	return 0;
}

/**
 * pgmap_kunit_run_threads() - Run a function in threads on different CPUs.
 * @test: The test.
 * @nr: Number of threads.
 * @fn: Called as @fn(@arg, i) in thread i, for i from 0 to @nr - 1.
 * @arg: Passed to @fn.
 *
 * Thread i is bound to the (i mod number of online CPUs)-th online CPU, and
 * all threads start together once every one exists, so that races between
 * them are likely. Returns once every thread has returned from @fn.
 */
void pgmap_kunit_run_threads(struct kunit *test, unsigned int nr,
			     pgmap_kunit_thread_fn fn, void *arg)
{
	struct pgmap_kunit_thread *threads;
	struct completion start;
	unsigned int i;

	threads = kunit_kcalloc(test, nr, sizeof(*threads), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, threads);
	init_completion(&start);
	for (i = 0; i < nr; i++) {
		struct pgmap_kunit_thread *t = &threads[i];
		struct task_struct *task;

		*t = (struct pgmap_kunit_thread){
			.fn = fn, .arg = arg, .i = i, .start = &start,
		};
		init_completion(&t->done);
		task = kthread_create(pgmap_kunit_thread, t, "pgmap_kunit%u", i);
		if (IS_ERR(task)) {
			/* Let the threads already made finish before failing. */
			complete_all(&start);
			while (i--)
				wait_for_completion(&threads[i].done);
			KUNIT_FAIL_AND_ABORT(test, "kthread_create: %ld", PTR_ERR(task));
		}
		kthread_bind(task, cpumask_nth(i % num_online_cpus(),
					       cpu_online_mask));
		wake_up_process(task);
	}
	complete_all(&start);
	for (i = 0; i < nr; i++)
		wait_for_completion(&threads[i].done);
}

MODULE_DESCRIPTION("KUnit tests for pgmap_request_folio() and pgmap_alloc");
MODULE_LICENSE("GPL");
