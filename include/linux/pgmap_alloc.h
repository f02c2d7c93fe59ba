/* SPDX-License-Identifier: GPL-2.0 */
/*
 * pgmap_alloc: hand out the pages of DEVICE_PRIVATE and DEVICE_COHERENT
 * pgmaps without an allocator in the driver.
 *
 * A driver attaches a pool to its pgmap with one call, allocates folios or
 * order-aligned ranges of folios from it, and gets every page back in the
 * pool automatically when its last reference is dropped. A pool can span
 * several pgmaps and grow on demand. See Documentation/core-api/pgmap_alloc.rst.
 */
#ifndef _LINUX_PGMAP_ALLOC_H
#define _LINUX_PGMAP_ALLOC_H

#include <linux/gfp_types.h>
#include <linux/mm_types.h>
#include <linux/memremap.h>

struct device;
struct folio;
struct page;
struct pgmap_alloc;

/**
 * struct pgmap_alloc_ops - Optional callbacks of a pgmap_alloc pool.
 * @grow: Called when an allocation that may sleep finds the pool full.
 *	It should map a new pgmap and add it with pgmap_alloc_add_pgmap(),
 *	then return 0; or return a negative errno, which the allocation
 *	returns. Calls are serialised per pool, and the allocation is retried
 *	once after a successful call. It runs in the scope of the allocation's
 *	gfp (no fs or io recursion for GFP_NOFS or GFP_NOIO). From inside it,
 *	an allocation from the same pool that would have to wait fails with
 *	-EDEADLK, and pgmap_alloc_destroy() of the pool is refused.
 * @release: Called for each pgmap that leaves the pool, by
 *	pgmap_alloc_remove_pgmap() and pgmap_alloc_destroy(), once the pool
 *	has let go of it and none of its pages is in service, so that the
 *	driver unmaps it (memunmap_pages()) and frees it without keeping a
 *	list of its pgmaps. It must not remove pgmaps from the pool, and an
 *	allocation from the pool that must wait fails in it with -EDEADLK.
 * @copy: Copies the contents of device pages, for pgmap_alloc_evict() and
 *	pgmap_alloc_remove_pgmap(): each of the @nr pages (at most 512) of
 *	@src to the page at the same index of @dst. Each @src page is a page
 *	of the pool, in service, locked and unmapped from the processes that
 *	map it (which wait if they fault on it). Each @dst page is locked,
 *	and it must not put it: a page of system RAM, or, when a removal moves
 *	pages inside the device, a free page of another pgmap of the pool
 *	(is_zone_device_page() tells), which the driver sets up as one it
 *	allocated itself (its &page.zone_device_data, for example). The copy
 *	must be complete, any DMA finished, when it returns. It may sleep, but
 *	not take a process's mmap_lock: it runs under the pool's removal
 *	mutex, which an allocation that waits for the pool may wait for while
 *	it holds one (during a migration). For a page it cannot copy it sets
 *	its entry of @dst to NULL, before setting anything up, and that page
 *	stays where it is, to be offered again on a later pass; a device page
 *	refused so makes the removal use system RAM from then on. It returns
 *	0, or a negative errno if it copied nothing: -EAGAIN or -EBUSY to be
 *	tried again, anything else to end the eviction with that error.
 *	pgmap_alloc_compact() calls it too, with device pages as @dst, also
 *	from inside a pgmap_alloc_range() with GFP_KERNEL that compacts (see
 *	there). During a removal or a compaction, or from a walk callback, an
 *	allocation from the pool that must wait fails in it with -EDEADLK.
 */
struct pgmap_alloc_ops {
	int (*grow)(struct pgmap_alloc *pa, void *data);
	void (*release)(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
			void *data);
	int (*copy)(struct pgmap_alloc *pa, struct page **dst,
		    struct page **src, unsigned long nr, void *data);
};

/**
 * struct pgmap_alloc_compact_result - What pgmap_alloc_compact() did.
 * @blocks_freed: Blocks of the order asked for that it made free: 0 or 1.
 * @pages_moved: Pages in service it moved, device to device.
 * @pages_in_freed: Pages that were in service in the blocks it made free,
 *	when it chose them: the fewest any compaction would have moved.
 */
struct pgmap_alloc_compact_result {
	unsigned long blocks_freed;
	unsigned long pages_moved;
	unsigned long pages_in_freed;
};

struct pgmap_alloc *pgmap_alloc_create(const char *name,
				       const struct pgmap_alloc_ops *ops,
				       void *data);
int pgmap_alloc_add_pgmap(struct pgmap_alloc *pa, struct dev_pagemap *pgmap);
struct pgmap_alloc *pgmap_alloc_init(struct dev_pagemap *pgmap,
				     const char *name);
struct pgmap_alloc *devm_pgmap_alloc_init(struct device *dev,
					  struct dev_pagemap *pgmap,
					  const char *name);
void pgmap_alloc_destroy(struct pgmap_alloc *pa);
/* Called by pgmap_alloc_walk_pgmaps(); non-zero stops the walk. */
typedef int (*pgmap_alloc_pgmap_fn)(struct dev_pagemap *pgmap, void *arg);
int pgmap_alloc_walk_pgmaps(struct pgmap_alloc *pa, pgmap_alloc_pgmap_fn fn,
			    void *arg);
int pgmap_alloc_evict(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
		      unsigned long *nr_left);
int pgmap_alloc_remove_pgmap(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
			     unsigned long *nr_left);
int pgmap_alloc_remove_all(struct pgmap_alloc *pa, unsigned long *nr_left);
int pgmap_alloc_compact(struct pgmap_alloc *pa, unsigned int order,
			unsigned long budget,
			struct pgmap_alloc_compact_result *result);
void pgmap_alloc_set_idle(struct pgmap_alloc *pa, unsigned int idle_ms,
			  unsigned long min_pages);

struct folio *pgmap_alloc_folio(struct pgmap_alloc *pa, unsigned int order,
				gfp_t gfp);
int pgmap_alloc_range(struct pgmap_alloc *pa, unsigned long nr_pages,
		      gfp_t gfp, struct page **pages);

unsigned long pgmap_alloc_size(struct pgmap_alloc *pa);
unsigned long pgmap_alloc_free_pages(struct pgmap_alloc *pa);

#endif /* _LINUX_PGMAP_ALLOC_H */
