/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pgmap_folio and pgmap_alloc KUnit suites: a real
 * DEVICE_PRIVATE pgmap, made and torn down per test, threads started together
 * on different CPUs, and a check of the warnings a test provokes on purpose.
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
struct pgmap_kunit_threads;
struct pgmap_kunit_threads *pgmap_kunit_start_threads(struct kunit *test,
						      unsigned int nr,
						      pgmap_kunit_thread_fn fn,
						      void *arg);
bool pgmap_kunit_threads_done(struct pgmap_kunit_threads *threads,
			      unsigned long timeout);
void pgmap_kunit_run_threads(struct kunit *test, unsigned int nr,
			     pgmap_kunit_thread_fn fn, void *arg);

/*
 * Warnings are counted from the console, as mm/kfence/kfence_test.c reads
 * its reports: a WARN_ON_ONCE() gives no other sign that it fired.
 */
int pgmap_kunit_watch_warnings(struct kunit_suite *suite);
void pgmap_kunit_unwatch_warnings(struct kunit_suite *suite);
unsigned long pgmap_kunit_nr_warnings(void);

unsigned long pgmap_kunit_expect_warn_begin(void);
void pgmap_kunit_expect_warn_end(struct kunit *test, unsigned long warnings,
				 bool *site_warned, const char *what);

/*
 * Run @expr, which must warn: the test fails if it does not. The markers
 * printed around it let the console scan of `make test` accept exactly such
 * a warning from the project's own files, and nothing else.
 */
#define PGMAP_KUNIT_EXPECT_WARN(test, expr)				\
	__PGMAP_KUNIT_EXPECT_WARN(test, NULL, expr)

/* The same for a statement that returns nothing. */
#define PGMAP_KUNIT_EXPECT_WARN_DO(test, stmt)				\
	((void)__PGMAP_KUNIT_EXPECT_WARN(test, NULL, ({ stmt; 0; })))

/*
 * For a WARN_ON_ONCE() site that more than one test provokes, @site_warned
 * being a bool of the test file for that site: @expr must warn if nothing
 * provoked the site before in this boot, and must not warn otherwise.
 */
#define PGMAP_KUNIT_EXPECT_WARN_ONCE(test, site_warned, expr)		\
	__PGMAP_KUNIT_EXPECT_WARN(test, site_warned, expr)

#define __PGMAP_KUNIT_EXPECT_WARN(test, site_warned, expr) ({		\
	unsigned long __warnings = pgmap_kunit_expect_warn_begin();	\
	typeof(expr) __ret = (expr);					\
									\
	pgmap_kunit_expect_warn_end(test, __warnings, site_warned, #expr); \
	__ret;								\
})

#endif /* _PGMAP_KUNIT_H */
