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
#include <linux/tracepoint.h>
#include <kunit/resource.h>
#include <trace/events/printk.h>

#include "pgmap_kunit.h"

static void pgmap_kunit_page_free(struct page *page)
{
	struct pgmap_kunit_dev *dev =
		container_of(page->pgmap, struct pgmap_kunit_dev, pgmap);

	atomic_long_inc(&dev->nr_page_free);
	if (dev->on_page_free)
		dev->on_page_free(page, dev->page_free_arg);
}

/*
 * The tests that map pages into a process never touch them from the CPU
 * while they are on the device, so this is not reached.
 */
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
	struct pgmap_kunit_threads *threads;
	unsigned int i;
	struct completion done;
};

struct pgmap_kunit_threads {
	struct kunit *test;
	pgmap_kunit_thread_fn fn;
	void *arg;
	struct completion start;
	unsigned int nr_started;
	unsigned int nr;
	struct pgmap_kunit_thread thread[] __counted_by(nr);
};

static int pgmap_kunit_thread(void *data)
{
	struct pgmap_kunit_thread *t = data;
	struct pgmap_kunit_threads *threads = t->threads;

	wait_for_completion(&threads->start);
	threads->fn(threads->arg, t->i);
	/* complete_all(): pgmap_kunit_threads_done() may wait more than once */
	complete_all(&t->done);
	return 0;
}

/* A minute is far beyond any test thread here, even under TCG with KASAN. */
#define PGMAP_KUNIT_JOIN_TIMEOUT	(60 * HZ)

/*
 * Runs when the test ends, however it ends, before what the test allocated
 * earlier is freed: a thread still running would use it.
 */
static void pgmap_kunit_join_threads(void *data)
{
	struct pgmap_kunit_threads *threads = data;

	/* Threads waiting for the start when the test failed must not hang. */
	complete_all(&threads->start);
	if (!pgmap_kunit_threads_done(threads, PGMAP_KUNIT_JOIN_TIMEOUT)) {
		KUNIT_FAIL(threads->test, "a test thread hangs: leaking its state");
		return;
	}
	kfree(threads);
}

/**
 * pgmap_kunit_start_threads() - Start a function in threads on different CPUs.
 * @test: The test; when it ends, it waits for the threads.
 * @nr: Number of threads.
 * @fn: Called as @fn(@arg, i) in thread i, for i from 0 to @nr - 1.
 * @arg: Passed to @fn.
 *
 * Thread i is bound to the (i mod number of online CPUs)-th online CPU, and
 * all threads start together once every one exists, so that races between
 * them are likely. The test goes on meanwhile.
 *
 * Return: The threads, for pgmap_kunit_threads_done(). Aborts the test if
 * they cannot be created.
 */
struct pgmap_kunit_threads *pgmap_kunit_start_threads(struct kunit *test,
						      unsigned int nr,
						      pgmap_kunit_thread_fn fn,
						      void *arg)
{
	struct pgmap_kunit_threads *threads;
	unsigned int i;

	threads = kzalloc(struct_size(threads, thread, nr), GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, threads);
	threads->nr = nr;
	threads->test = test;
	threads->fn = fn;
	threads->arg = arg;
	init_completion(&threads->start);
	KUNIT_ASSERT_EQ(test, kunit_add_action_or_reset(test, pgmap_kunit_join_threads,
							threads), 0);
	for (i = 0; i < nr; i++) {
		struct pgmap_kunit_thread *t = &threads->thread[i];
		struct task_struct *task;

		t->threads = threads;
		t->i = i;
		init_completion(&t->done);
		task = kthread_create(pgmap_kunit_thread, t, "pgmap_kunit%u", i);
		KUNIT_ASSERT_FALSE_MSG(test, IS_ERR(task), "kthread_create: %ld",
				       PTR_ERR(task));
		kthread_bind(task, cpumask_nth(i % num_online_cpus(),
					       cpu_online_mask));
		wake_up_process(task);
		threads->nr_started++;
	}
	complete_all(&threads->start);
	return threads;
}

/**
 * pgmap_kunit_threads_done() - Wait for threads to return.
 * @threads: From pgmap_kunit_start_threads().
 * @timeout: In jiffies, for all of them together; MAX_SCHEDULE_TIMEOUT for
 *	no limit.
 *
 * Return: True if every thread returned from its function within @timeout.
 */
bool pgmap_kunit_threads_done(struct pgmap_kunit_threads *threads,
			      unsigned long timeout)
{
	unsigned int i;

	for (i = 0; i < threads->nr_started; i++) {
		timeout = wait_for_completion_timeout(&threads->thread[i].done,
						      timeout);
		if (!timeout)
			return false;
	}
	return true;
}

/**
 * pgmap_kunit_run_threads() - Run a function in threads on different CPUs.
 * @test: The test.
 * @nr: Number of threads.
 * @fn: Called as @fn(@arg, i) in thread i, for i from 0 to @nr - 1.
 * @arg: Passed to @fn.
 *
 * As pgmap_kunit_start_threads(), but returns once every thread has
 * returned from @fn.
 */
void pgmap_kunit_run_threads(struct kunit *test, unsigned int nr,
			     pgmap_kunit_thread_fn fn, void *arg)
{
	pgmap_kunit_threads_done(pgmap_kunit_start_threads(test, nr, fn, arg),
				 MAX_SCHEDULE_TIMEOUT);
}

static atomic_long_t pgmap_kunit_warnings;

/* Called for every line printed, in any context: only count. */
static void pgmap_kunit_probe_console(void *ignore, const char *buf, size_t len)
{
	if (len >= 8 && !memcmp(buf, "WARNING:", 8))
		atomic_long_inc(&pgmap_kunit_warnings);
}

/**
 * pgmap_kunit_watch_warnings() - Start counting warnings, for a suite.
 * @suite: The suite, whose &kunit_suite.suite_init this is.
 *
 * Return: 0, or the error of registering on the console tracepoint.
 */
int pgmap_kunit_watch_warnings(struct kunit_suite *suite)
{
	return register_trace_console(pgmap_kunit_probe_console, NULL);
}

/**
 * pgmap_kunit_unwatch_warnings() - Stop counting warnings.
 * @suite: The suite, whose &kunit_suite.suite_exit this is.
 */
void pgmap_kunit_unwatch_warnings(struct kunit_suite *suite)
{
	unregister_trace_console(pgmap_kunit_probe_console, NULL);
	tracepoint_synchronize_unregister();
}

/**
 * pgmap_kunit_nr_warnings() - Warnings printed since the suite started.
 *
 * Return: The number of "WARNING:" lines printed to the console, by any CPU.
 */
unsigned long pgmap_kunit_nr_warnings(void)
{
	return atomic_long_read(&pgmap_kunit_warnings);
}

/**
 * pgmap_kunit_expect_warn_begin() - Before a call that is meant to warn.
 *
 * Use PGMAP_KUNIT_EXPECT_WARN() and its variants rather than this.
 *
 * Return: The number of warnings so far, for pgmap_kunit_expect_warn_end().
 */
unsigned long pgmap_kunit_expect_warn_begin(void)
{
	pr_info("pgmap_kunit: expected warning begin\n");
	return pgmap_kunit_nr_warnings();
}

/**
 * pgmap_kunit_expect_warn_end() - After a call that is meant to warn.
 * @test: The test, failed if the call did not do as expected.
 * @warnings: What pgmap_kunit_expect_warn_begin() returned.
 * @site_warned: NULL if the call must warn. Else the call's WARN_ON_ONCE()
 *	site is shared with other calls: it must warn if *@site_warned is
 *	false, and must not if true; *@site_warned is true afterwards.
 * @what: The call, for the failure message.
 */
void pgmap_kunit_expect_warn_end(struct kunit *test, unsigned long warnings,
				 bool *site_warned, const char *what)
{
	unsigned long now = pgmap_kunit_nr_warnings();

	if (site_warned && *site_warned)
		KUNIT_EXPECT_EQ_MSG(test, now, warnings,
				    "%s warned again from a WARN_ON_ONCE() site", what);
	else
		KUNIT_EXPECT_GT_MSG(test, now, warnings, "%s did not warn", what);
	if (site_warned)
		*site_warned = true;
	pr_info("pgmap_kunit: expected warning end\n");
}

MODULE_DESCRIPTION("KUnit tests for pgmap_request_folio() and pgmap_alloc");
MODULE_LICENSE("GPL");
