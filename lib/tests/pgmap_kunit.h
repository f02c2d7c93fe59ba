/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pgmap_folio and pgmap_alloc KUnit suites: a real
 * DEVICE_PRIVATE pgmap, made and torn down per test, and a way to mark the
 * warnings a test provokes on purpose.
 */
#ifndef _PGMAP_KUNIT_H
#define _PGMAP_KUNIT_H

#include <kunit/test.h>
#include <linux/completion.h>
#include <linux/cpumask.h>
#include <linux/memremap.h>

#define PGMAP_KUNIT_MAX_RANGES	4

struct pgmap_kunit_dev {
	struct kunit *test;
	atomic_long_t nr_page_free;	/* calls of ->page_free */
	struct resource *res[PGMAP_KUNIT_MAX_RANGES];
	struct task_struct *unmapper;
	struct completion unmapped;
	bool unmap_started;
	/* Optional: called by ->page_free after the count, with @page_free_arg */
	void (*on_page_free)(struct page *page, void *arg);
	void *page_free_arg;
	struct dev_pagemap pgmap;	/* last: its ranges[] follow it */
};

struct pgmap_kunit_dev *pgmap_kunit_create(struct kunit *test, int nr_range,
					   const unsigned long *range_pages);
void pgmap_kunit_unmap_async(struct pgmap_kunit_dev *dev);
bool pgmap_kunit_wait_unmapped(struct pgmap_kunit_dev *dev,
			       unsigned long timeout);
struct dev_pagemap *pgmap_kunit_unmapped_pgmap(struct kunit *test,
					       enum memory_type type);

/* Skip the test, saying why, unless at least @nr CPUs are online. */
static inline void pgmap_kunit_need_cpus(struct kunit *test, unsigned int nr,
					 const char *why)
{
	if (num_online_cpus() < nr)
		kunit_skip(test, "needs %u CPUs %s, has %u", nr, why,
			   num_online_cpus());
}

/* The body of a test thread: @i is its number, from 0. */
typedef void (*pgmap_kunit_thread_fn)(void *arg, unsigned int i);
void pgmap_kunit_run_threads(struct kunit *test, unsigned int nr,
			     pgmap_kunit_thread_fn fn, void *arg);

/*
 * Run @expr, which is meant to warn (WARN_ON_ONCE, so only the first time).
 * The markers let the console scan of `make test` accept exactly such a
 * warning from the project's own files, and nothing else.
 */
#define PGMAP_KUNIT_EXPECT_WARN(expr) ({			\
	typeof(expr) __ret;					\
	pr_info("pgmap_kunit: expected warning begin\n");	\
	__ret = (expr);						\
	pr_info("pgmap_kunit: expected warning end\n");		\
	__ret;							\
})

/* The same for a statement that returns nothing. */
#define PGMAP_KUNIT_EXPECT_WARN_DO(stmt) do {			\
	pr_info("pgmap_kunit: expected warning begin\n");	\
	stmt;							\
	pr_info("pgmap_kunit: expected warning end\n");		\
} while (0)

#endif /* _PGMAP_KUNIT_H */
