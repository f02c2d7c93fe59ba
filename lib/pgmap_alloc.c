// SPDX-License-Identifier: GPL-2.0
/*
 * pgmap_alloc: a gen_pool of pgmap offsets for DEVICE_PRIVATE and
 * DEVICE_COHERENT drivers.
 *
 * Words, used with these meanings only:
 * - free: a page the gen_pool can hand out; its gen_pool bit is clear.
 * - reserved: taken from the gen_pool by this pool, and marked in the
 *   chunk's @reserved bitmap. A reserved page is cached or in service, or
 *   on its way from one to the other.
 * - in service: a folio with references, from pgmap_request_page() (or
 *   pgmap_request_folio()) to the last folio_put().
 * - cached: reserved but not in service, in a per-CPU cache, to be handed
 *   out again before the gen_pool is searched.
 * - hand-back: what free_zone_device_folio() calls once the last reference
 *   to a folio is gone: the page goes to a cache or is unreserved.
 * - undo: taking a page of a failed range out of service again, without the
 *   free path (pgmap_cancel_folio()).
 *
 * Design:
 * - A pool (struct pgmap_alloc) owns one gen_pool. Each pgmap added to it is
 *   one gen_pool chunk (struct pgmap_alloc_chunk is the chunk's owner), one
 *   bit per page. Chunk addresses are offsets shifted by a non-zero,
 *   MAX_ORDER_NR_PAGES-aligned base: gen_pool returns 0 for failure, and its
 *   order alignment is relative to the start of the chunk.
 * - Placement keeps free pageblocks whole for large requests. Requests of
 *   fewer than PGMAP_ALLOC_SMALL_PAGES pages are placed from the top of a
 *   chunk down, larger ones from the bottom up, like gen_pool's first fit;
 *   so the holes small frees leave are refilled by small requests. Those
 *   below a pageblock also prefer holes in partly used pageblocks. Per-chunk
 *   hints bound the full prefix and suffix, so searches do not rescan them.
 * - Each CPU caches a few single pages freed on it, still reserved in the
 *   gen_pool, and hands them out first, highest address first. The cache is
 *   per-CPU data under a local_lock, used from task context only, so the
 *   common alloc/free cycle does no atomic operation beyond those of
 *   pgmap_request_page() and the folio's own, and touches neither gen_pool's
 *   bitmap nor a shared cache line.
 *   An allocation that may sleep and finds the pool full empties every
 *   CPU's cache (by a work item on each CPU) and tries again, so cached
 *   pages never make it fail; one that may not sleep empties only the local
 *   cache. A CPU that goes offline has its cache emptied by a CPU hotplug
 *   callback.
 * - Pages are put into service with pgmap_request_page(), which trusts the
 *   pool's offsets (pgmap_request_folio() for pgmaps of several ranges). A
 *   second bitmap, @reserved, records which pages this pool reserved: the
 *   hand-back tests it, and every unreserve test-and-clears it, so a folio
 *   that did not come from the pool (a driver bug) is reported instead of
 *   reaching gen_pool_free()'s BUG_ON.
 * - Allocation and hand-back run in RCU read-side sections (the per-CPU
 *   cache lock is one too) and allocation checks @dead; its sleeping part
 *   (draining, growing) counts itself in @nr_waiters before leaving the
 *   RCU section. Destroy sets @dead, waits for a grace period and for
 *   @nr_waiters to drop to zero, so nothing runs on a pool that is going
 *   away. It evicts pages still in service if the driver can copy them; a
 *   pool destroyed with pages still out is leaked, like a busy dma_pool, so
 *   that their hand-backs stay safe.
 * - A pgmap leaves a pool (pgmap_alloc_remove_pgmap()) in steps: it is
 *   marked @removing, which placement and the caches honour, so no page of
 *   it is handed out after a grace period; the caches are emptied; its pages
 *   in service are moved out; then its gen_pool chunk is removed, the chunk
 *   unlinked, ->release called (memunmap_pages() waits for hand-backs in
 *   flight, which hold pgmap references), and after another grace period
 *   the chunk is freed. A growing pool does the same for pgmaps that stay
 *   free (a delayed work) or when memory is short (a shrinker that queues
 *   that work).
 *
 * The file, in order: tunables and data; placement; reserving; the per-CPU
 * caches; putting pages into service and undoing it; allocation; the
 * hand-back; statistics; the shrinker; lifetime (create, add, destroy,
 * walk); eviction and removal; giving idle pgmaps back; managed (devm).
 *
 * Conventions: pgmap_alloc_*() take the locks they need; functions called
 * with @lock held say so with lockdep_assert_held().
 */

#include <linux/bitmap.h>
#include <linux/cpuhotplug.h>
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/device.h>
#include <linux/genalloc.h>
#include <linux/kmemleak.h>
#include <linux/llist.h>
#include <linux/local_lock.h>
#include <linux/log2.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/pageblock-flags.h>
#include <linux/pagemap.h>
#include <linux/percpu.h>
#include <linux/pgmap_alloc.h>
#include <linux/rculist.h>
#include <linux/sched/mm.h>
#include <linux/seq_file.h>
#include <linux/shrinker.h>
#include <linux/slab.h>
#include <linux/wait_bit.h>
#include <linux/workqueue.h>

#define CREATE_TRACE_POINTS
#include <trace/events/pgmap_alloc.h>

/* === Tunables and data ==================================================== */

/*
 * Tunables, each with its reason. The placement settings were chosen by the
 * churn of `make bench`; their figures are in the Placement section of
 * Documentation/core-api/pgmap_alloc.rst.
 */

/*
 * Requests of fewer pages than this go top-down, larger ones bottom-up, so
 * that small frees leave holes that small requests refill.
 */
#define PGMAP_ALLOC_SMALL_PAGES		32

/*
 * A bottom-up request smaller than a pageblock steps over up to this many
 * free pageblocks, looking for a hole in a used one, to keep free
 * pageblocks whole for large requests.
 */
#define PGMAP_ALLOC_FREE_BLOCK_SKIPS	64

/* Pages a CPU caches: enough for a burst of single pages, cheap to drain. */
#define PGMAP_ALLOC_CACHE_SIZE	8

/*
 * Caches hold at most this fraction of a pool, so that on a machine with
 * many CPUs a small pool is not all in caches that an allocation which may
 * not sleep cannot empty.
 */
#define PGMAP_ALLOC_CACHE_SHARE	16

/*
 * A cache is emptied this long after a page first went into it, as the page
 * allocator drains its per-CPU lists, so that pages do not stay on CPUs that
 * stopped using the pool.
 */
#define PGMAP_ALLOC_CACHE_IDLE	HZ

/*
 * An undo spins this many times for a pfn walker to drop its reference,
 * which it does as soon as its trylock fails, before it leaves the page to
 * a worker that can sleep.
 */
#define PGMAP_ALLOC_UNDO_SPINS	1000

/*
 * A pgmap of a growing pool that has been entirely free this long goes back
 * to the driver, unless pgmap_alloc_set_idle() says otherwise: long enough
 * that a bursty workload keeps its pgmaps from one burst to the next, as
 * xe's drm_pagemap keeps its pagemap for about five seconds.
 */
#define PGMAP_ALLOC_IDLE_MS	5000

/*
 * Nothing gives back a pgmap free for less than this, however short the
 * idle time or strong the memory pressure: a pgmap that ->grow just added
 * is free until the allocation that grew the pool tries again.
 */
#define PGMAP_ALLOC_MIN_IDLE	(HZ / 10)

/* Pages eviction migrates at a time: one pageblock, 20 KiB of arrays. */
#define PGMAP_ALLOC_EVICT_BATCH	512

/*
 * Passes eviction makes over a pgmap for pages that were busy (locked, or
 * with a reference taken for a moment); the wait between passes doubles
 * from 1 ms.
 */
#define PGMAP_ALLOC_EVICT_PASSES	6

/*
 * Blocks a compaction tries to empty before it gives up: a block with a page
 * that will not move (held, pinned, refused by the copy) costs a try.
 */
#define PGMAP_ALLOC_COMPACT_TRIES	4

struct pgmap_alloc_cached {
	struct pgmap_alloc_chunk *chunk;
	pgoff_t offset;
};

/*
 * Only task context on its own CPU touches a cache, under
 * pgmap_alloc_cpu_lock. Interrupt context bypasses the caches; other CPUs
 * empty a cache by queueing @drain_work on its CPU. @pages is sorted by
 * ascending offset: the highest page, which top-down placement hands out
 * first, is the last one. (With several pgmaps in a pool, offsets of
 * different pgmaps are compared as they are: the order only steers
 * placement.)
 */
struct pgmap_alloc_cache {
	unsigned int nr;
	struct pgmap_alloc_cached pages[PGMAP_ALLOC_CACHE_SIZE];
	struct pgmap_alloc *pa;
	struct delayed_work drain_work;
};

struct pgmap_alloc {
	struct gen_pool *pool;
	struct pgmap_alloc_cache __percpu *cache;
	const struct pgmap_alloc_ops *ops;
	void *data;
	const char *name;
	struct mutex lock;		/* @chunks, @next_base, chunk adding */
	struct mutex grow_lock;		/* one ->grow() or full drain at a time */
	struct mutex remove_lock;	/* one pgmap removal at a time */
	struct list_head chunks;
	unsigned long next_base;
	unsigned int cache_limit;	/* pages per CPU cache */
	bool dead;
	atomic_t nr_waiters;		/* allocations past their RCU section */
	/* Set while they run, to refuse calls from inside that would deadlock */
	struct task_struct *grow_task;
	struct task_struct *walk_task;
	struct task_struct *remove_task;
	/* Pages of undone ranges that a pfn walker held; see pgmap_alloc_undo() */
	struct llist_head parked;
	struct work_struct parked_work;
	struct hlist_node cpuhp_node;
	/*
	 * The only count kept: pages in use are the size less the free pages,
	 * so the fast paths count nothing. Failures are rare enough for one
	 * shared counter.
	 */
	atomic_long_t nr_failed;
	atomic_long_t nr_removed;	/* pgmaps taken out of the pool */
	atomic_long_t nr_leaving;	/* pages of pgmaps out, not yet released */
	/* Compaction: one at a time, under @remove_lock; counts for debugfs */
	atomic_long_t nr_compactions;
	atomic_long_t nr_compact_moved;
	atomic_long_t nr_compact_freed;
	/* The block being emptied (pgmap_alloc_compact_keep()), or NULL */
	struct pgmap_alloc_compaction *compaction;
	raw_spinlock_t compact_lock;	/* @compaction, from any context */
	/* Giving idle pgmaps back, for pools with ->grow */
	u32 idle_ms;			/* 0: only under memory pressure */
	unsigned long min_pages;	/* never shrink below this */
	bool shrink_now;		/* the shrinker asked: no idle time */
	struct delayed_work idle_work;
	struct shrinker *shrinker;
	struct dentry *debugfs;
};

struct pgmap_alloc_chunk {
	struct list_head node;
	struct pgmap_alloc *pa;
	struct dev_pagemap *pgmap;
	unsigned long base;		/* gen_pool address of offset 0 */
	unsigned long nr_pages;
	struct page *first_page;	/* of a pgmap with one range, else NULL */
	unsigned long hint;		/* no free page below it */
	unsigned long top;		/* no free page at or above it */
	unsigned long *reserved;	/* pages reserved by the pool */
	unsigned long *map;		/* its gen_pool chunk's bits */
	/* Hands out no page: pgmap_alloc_remove_pgmap() is taking it out */
	bool removing;
	/* A compaction empties a block of it: its pages skip the caches */
	bool compacting;
	/* Cached and in service: 0 when the pgmap could leave the pool */
	atomic_long_t nr_reserved;
	/* jiffies when @nr_reserved last fell to 0; 0 while it is not 0 */
	unsigned long idle_since;
};

/*
 * The block of @chunk that a compaction is emptying: @nr pages from offset
 * @start. Its free pages are claimed in the gen_pool as the compaction
 * starts, and each page of it that goes back to the pool meanwhile stays
 * claimed (pgmap_alloc_compact_keep()), marked in @claimed; so nothing is
 * placed in the block, and it comes free at once, whole, when the
 * compaction ends.
 */
struct pgmap_alloc_compaction {
	struct pgmap_alloc_chunk *chunk;
	unsigned long start;
	unsigned long nr;
	DECLARE_BITMAP(claimed, MAX_ORDER_NR_PAGES);
};

/*
 * The lock of this CPU's caches, one for all pools. On most kernels it only
 * disables preemption, so the fast paths do no atomic operation of their
 * own. It is an RCU read-side critical section on every kernel (disabled
 * preemption is one, and on PREEMPT_RT, where it is a per-CPU spinlock,
 * rt_spin_lock() takes rcu_read_lock()), which the fast paths use instead of
 * rcu_read_lock() to keep a pool alive; so rcu_dereference() is fine under
 * it.
 */
static DEFINE_PER_CPU(local_lock_t, pgmap_alloc_cpu_lock) =
	INIT_LOCAL_LOCK(pgmap_alloc_cpu_lock);

/*
 * Whether this context may take pgmap_alloc_cpu_lock: task context, which
 * the caches are for; on PREEMPT_RT, where the lock sleeps, only where
 * sleeping is allowed. Other contexts go to the gen_pool directly.
 */
static inline bool pgmap_alloc_may_cache(void)
{
	if (IS_ENABLED(CONFIG_PREEMPT_RT))
		return preemptible();
	return in_task();
}

/*
 * For emptying caches and undoing ranges: reclaim may wait for these (an
 * allocation in a PF_MEMALLOC task empties other CPUs' caches), so they
 * need a queue with a rescuer.
 */
static struct workqueue_struct *pgmap_alloc_wq;

/* CPU hotplug state whose teardown empties a dead CPU's caches. */
static enum cpuhp_state pgmap_alloc_cpuhp_state;

static struct dentry *pgmap_alloc_debugfs_root;

/* === Placement: where a request goes in a chunk =========================== */

static bool pgmap_alloc_block_is_free(const unsigned long *map,
				      unsigned long size, unsigned long bit)
{
	unsigned long start = ALIGN_DOWN(bit, pageblock_nr_pages);
	unsigned long end = min(start + pageblock_nr_pages, size);

	return find_next_bit(map, end, start) >= end;
}

/* First fit from @from, stepping over free blocks for small requests. */
static unsigned long pgmap_alloc_search(unsigned long *map,
					unsigned long size, unsigned long from,
					unsigned int nr, unsigned long align_mask)
{
	unsigned long bit, in_free_block = size;
	int skips = 0;

	bit = bitmap_find_next_zero_area(map, size, from & ~align_mask, nr,
					 align_mask);
	while (nr < pageblock_nr_pages && bit < size &&
	       pgmap_alloc_block_is_free(map, size, bit)) {
		if (in_free_block == size)
			in_free_block = bit;
		if (++skips > PGMAP_ALLOC_FREE_BLOCK_SKIPS)
			break;
		bit = bitmap_find_next_zero_area(map, size,
						 ALIGN(bit + 1, pageblock_nr_pages),
						 nr, align_mask);
	}
	return skips > PGMAP_ALLOC_FREE_BLOCK_SKIPS || bit >= size ?
	       in_free_block : bit;
}

/*
 * The end of the range of @chunk's pgmap that holds page @bit: a range handed
 * out must not cross it, or its pfns would not be consecutive.
 */
static unsigned long pgmap_alloc_range_end(const struct pgmap_alloc_chunk *chunk,
					   unsigned long bit)
{
	const struct dev_pagemap *pgmap = chunk->pgmap;
	unsigned long end = 0;
	int i;

	for (i = 0; i < pgmap->nr_range; i++) {
		end += PHYS_PFN(range_len(&pgmap->ranges[i]));
		if (bit < end)
			break;
	}
	return end;
}

/* Does [@bit, @bit + @nr) cross from one range of a pgmap to the next? */
static bool pgmap_alloc_crosses(const struct pgmap_alloc_chunk *chunk,
				unsigned long bit, unsigned int nr,
				unsigned long *end)
{
	/* A pgmap with one range has one range end: the end of the chunk. */
	if (chunk->first_page)
		return false;
	*end = pgmap_alloc_range_end(chunk, bit);
	return bit + nr > *end;
}

/*
 * Last fit by pageblock, for small requests: the lowest hole that lies in one
 * range, in the highest pageblock below @below that has one. Returns its
 * bit, or @size; in *@block_end the end of the pageblock where the search
 * stopped. A hole that crosses the end of a range is passed over for the
 * holes above that end, which lie in the same pageblock, before the
 * pageblocks below are searched.
 */
static unsigned long pgmap_alloc_fit_down(struct pgmap_alloc_chunk *chunk,
					  unsigned long *map, unsigned long size,
					  unsigned long below, unsigned int nr,
					  unsigned long align_mask,
					  unsigned long *block_end)
{
	unsigned long start, from, bit, end;

	while (below) {
		start = ALIGN_DOWN(below - 1, pageblock_nr_pages);
		for (from = start; ; from = ALIGN(end, align_mask + 1)) {
			bit = bitmap_find_next_zero_area(map, below, from, nr,
							 align_mask);
			if (bit >= below)
				break;
			if (!pgmap_alloc_crosses(chunk, bit, nr, &end)) {
				*block_end = below;
				return bit;
			}
		}
		below = start;
	}
	return size;
}

static unsigned long pgmap_alloc_top_down(struct pgmap_alloc_chunk *chunk,
					  unsigned long *map, unsigned long size,
					  unsigned int nr,
					  unsigned long align_mask)
{
	unsigned long top = min(READ_ONCE(chunk->top), size);
	unsigned long bit, block_end;

	/* Lockless, as in pgmap_alloc_place() */
	bit = data_race(pgmap_alloc_fit_down(chunk, map, size, top, nr,
					     align_mask, &block_end));
	if (bit >= size && top < size) {
		/* A racing hand-back may have freed pages above the hint */
		bit = data_race(pgmap_alloc_fit_down(chunk, map, size, size, nr,
						     align_mask, &block_end));
	}
	/* Every pageblock above the one we stopped in is full. */
	if (bit < size)
		WRITE_ONCE(chunk->top, block_end);
	return bit;
}

/*
 * pgmap_alloc_search() of a hole that lies in one range. Where that finds
 * none, a first fit without the preference for used pageblocks: a hole that
 * crosses the end of a range sends the search past that end, and the free
 * blocks it had stepped over on the way must not be lost.
 */
static unsigned long pgmap_alloc_fit_up(struct pgmap_alloc_chunk *chunk,
					unsigned long *map, unsigned long size,
					unsigned long from, unsigned int nr,
					unsigned long align_mask)
{
	unsigned long bit, end, start = from;

	for (;;) {
		bit = pgmap_alloc_search(map, size, from, nr, align_mask);
		if (bit >= size)
			break;
		if (!pgmap_alloc_crosses(chunk, bit, nr, &end))
			return bit;
		/* The search aligns its start down: round up past @end. */
		from = ALIGN(end, align_mask + 1);
	}
	/* Only a pgmap of several ranges can lose a fit above. */
	if (chunk->first_page)
		return size;
	for (from = start; ; from = ALIGN(end, align_mask + 1)) {
		bit = bitmap_find_next_zero_area(map, size, from & ~align_mask,
						 nr, align_mask);
		if (bit >= size || !pgmap_alloc_crosses(chunk, bit, nr, &end))
			return bit;
	}
}

/*
 * gen_pool calls this for each chunk with enough room, and again after
 * losing the race for the bits it chose (then @start is where it lost). A
 * retry searches the whole chunk again: searching only above @start would
 * miss free pages below it and fail, or grow the pool, with room to spare.
 * The chunk is found from its bitmap because gen_pool hands the algorithm
 * the bitmap, not the chunk.
 *
 * Small requests go top-down (pgmap_alloc_top_down()). The others are
 * placed address-ordered, like first fit: low pages are reused and high ones
 * drain, which keeps large ranges free. The hint skips the full prefix, so
 * the search does not start at bit 0 every time; it only ever moves to the
 * lowest free bit seen, never past bits not yet claimed, and a search that
 * finds nothing above it looks below it too.
 */
static unsigned long pgmap_alloc_place(unsigned long *map, unsigned long size,
				       unsigned long start, unsigned int nr,
				       void *data, struct gen_pool *pool,
				       unsigned long start_addr)
{
	struct gen_pool_chunk *gchunk = container_of(map, struct gen_pool_chunk,
						     bits[0]);
	struct pgmap_alloc_chunk *chunk = gchunk->owner;
	unsigned long align_mask = *(unsigned long *)data;
	unsigned long lowest, bit;

	/* No room at all: gen_pool_remove_chunk() needs it untouched. */
	if (unlikely(READ_ONCE(chunk->removing)))
		return size;
	if (nr < PGMAP_ALLOC_SMALL_PAGES)
		return pgmap_alloc_top_down(chunk, map, size, nr, align_mask);

	/*
	 * gen_pool searches without a lock: the bits may change under us, and
	 * a stale read only costs a retry, as gen_pool claims the bits it was
	 * given with cmpxchg. Hence data_race().
	 */
	lowest = data_race(find_next_zero_bit(map, size, READ_ONCE(chunk->hint)));
	WRITE_ONCE(chunk->hint, lowest);
	/* Lockless, as above */
	bit = data_race(pgmap_alloc_fit_up(chunk, map, size, lowest, nr,
					   align_mask));
	if (bit >= size && lowest) {
		/* A racing hand-back may have freed pages below the hint */
		bit = data_race(pgmap_alloc_fit_up(chunk, map, size, 0, nr,
						   align_mask));
	}
	return bit;
}

/* === Reserving and unreserving in the gen_pool ============================ */

/*
 * Every bit below the hint and from the top on is set: a page given back
 * there moves them.
 */
static void pgmap_alloc_free_bits(struct pgmap_alloc_chunk *chunk,
				  pgoff_t offset, unsigned long nr_pages)
{
	gen_pool_free(chunk->pa->pool, chunk->base + offset, nr_pages);
	if (offset < READ_ONCE(chunk->hint))
		WRITE_ONCE(chunk->hint, offset);
	if (offset + nr_pages > READ_ONCE(chunk->top))
		WRITE_ONCE(chunk->top, offset + nr_pages);
}

static void pgmap_alloc_idle_work(struct work_struct *work);

/*
 * The last page of @chunk went back to the gen_pool: start its idle time,
 * and have a growing pool look at it once that is over. From any context.
 */
static void pgmap_alloc_chunk_idle(struct pgmap_alloc_chunk *chunk)
{
	struct pgmap_alloc *pa = chunk->pa;
	u32 idle_ms = READ_ONCE(pa->idle_ms);

	/* 0 means in use; at worst the pgmap looks idle a jiffy later */
	WRITE_ONCE(chunk->idle_since, jiffies ?: 1);
	/* Pending means armed for an earlier pgmap, which re-arms it. */
	if (pa->ops && pa->ops->grow && idle_ms && !delayed_work_pending(&pa->idle_work))
		queue_delayed_work(system_unbound_wq, &pa->idle_work,
				   msecs_to_jiffies(idle_ms));
}

/*
 * A page of @chunk goes back to the pool while a compaction runs on it: if
 * it is in the block being emptied, keep it claimed for the compaction and
 * return true. From any context.
 */
static bool pgmap_alloc_compact_keep(struct pgmap_alloc_chunk *chunk,
				     pgoff_t offset)
{
	struct pgmap_alloc *pa = chunk->pa;
	struct pgmap_alloc_compaction *c;
	unsigned long flags;
	bool kept = false;

	raw_spin_lock_irqsave(&pa->compact_lock, flags);
	c = pa->compaction;
	if (c && c->chunk == chunk && offset - c->start < c->nr) {
		set_bit(offset - c->start, c->claimed);
		kept = true;
	}
	raw_spin_unlock_irqrestore(&pa->compact_lock, flags);
	return kept;
}

/* Give a reserved page back to the gen_pool, unless it is not reserved. */
static void pgmap_alloc_unreserve(struct pgmap_alloc_chunk *chunk,
				  pgoff_t offset)
{
	/* Only after a driver bug, reported when it happened */
	if (WARN_ON_ONCE(!test_and_clear_bit(offset, chunk->reserved)))
		return;
	if (likely(!READ_ONCE(chunk->compacting)) ||
	    !pgmap_alloc_compact_keep(chunk, offset))
		pgmap_alloc_free_bits(chunk, offset, 1);
	if (atomic_long_dec_and_test(&chunk->nr_reserved))
		pgmap_alloc_chunk_idle(chunk);
}

static void pgmap_alloc_count_failure(struct pgmap_alloc *pa,
				      unsigned long nr_pages, int error)
{
	atomic_long_inc(&pa->nr_failed);
	trace_pgmap_alloc_fail(pa, nr_pages, error);
}

static void pgmap_alloc_unreserve_cached(const struct pgmap_alloc_cached *pages,
					 unsigned int nr)
{
	while (nr--)
		pgmap_alloc_unreserve(pages[nr].chunk, pages[nr].offset);
}

/* === Per-CPU caches ======================================================= */

/*
 * Keep a freed page in this CPU's cache, in offset order. When the cache is
 * full, the lowest of its pages and the new one goes back to the gen_pool,
 * so the cache holds the pages top-down placement would pick and the others
 * can drain into free ranges.
 */
static void pgmap_alloc_cache_push(struct pgmap_alloc_chunk *chunk,
				   pgoff_t offset)
{
	struct pgmap_alloc_cache *cache = this_cpu_ptr(chunk->pa->cache);
	struct pgmap_alloc_cached page = { .chunk = chunk, .offset = offset };
	unsigned int i, limit = READ_ONCE(chunk->pa->cache_limit);

	lockdep_assert_held(this_cpu_ptr(&pgmap_alloc_cpu_lock));
	/*
	 * A pgmap on its way out takes its pages straight back; so does one
	 * being compacted, whose pages must not hide in caches.
	 */
	if (unlikely(READ_ONCE(chunk->removing) || READ_ONCE(chunk->compacting))) {
		pgmap_alloc_unreserve(chunk, offset);
		return;
	}
	/* A plain read first, so that a busy cache costs no atomic to re-arm */
	if (!delayed_work_pending(&cache->drain_work))
		queue_delayed_work_on(smp_processor_id(), pgmap_alloc_wq,
				      &cache->drain_work, PGMAP_ALLOC_CACHE_IDLE);
	if (cache->nr >= limit) {
		if (!limit || page.offset < cache->pages[0].offset) {
			pgmap_alloc_unreserve(chunk, offset);
			return;
		}
		pgmap_alloc_unreserve_cached(&cache->pages[0], 1);
		cache->nr--;
		memmove(&cache->pages[0], &cache->pages[1],
			cache->nr * sizeof(cache->pages[0]));
	}
	for (i = cache->nr; i > 0 && cache->pages[i - 1].offset > page.offset; i--)
		cache->pages[i] = cache->pages[i - 1];
	cache->pages[i] = page;
	cache->nr++;
}

/* Empty one CPU's cache into the gen_pool; returns how many pages it held. */
static unsigned int pgmap_alloc_cache_empty(struct pgmap_alloc_cache *cache)
{
	unsigned int nr = cache->nr;

	pgmap_alloc_unreserve_cached(cache->pages, nr);
	cache->nr = 0;
	return nr;
}

/* Empty this CPU's cache. */
static unsigned int pgmap_alloc_drain_local(struct pgmap_alloc *pa)
{
	unsigned int nr;

	if (!pgmap_alloc_may_cache())
		return 0;
	local_lock(&pgmap_alloc_cpu_lock);
	nr = pgmap_alloc_cache_empty(this_cpu_ptr(pa->cache));
	local_unlock(&pgmap_alloc_cpu_lock);
	return nr;
}

/* Queued on the cache's CPU: when it idled, or for pgmap_alloc_drain_all(). */
static void pgmap_alloc_drain_work(struct work_struct *work)
{
	struct pgmap_alloc_cache *cache = container_of(to_delayed_work(work),
						       struct pgmap_alloc_cache,
						       drain_work);

	local_lock(&pgmap_alloc_cpu_lock);
	/*
	 * Off its CPU only if that went offline, which empties the cache (or
	 * failed to, and then the next page cached re-arms the drain).
	 */
	if (cache == this_cpu_ptr(cache->pa->cache))
		pgmap_alloc_cache_empty(cache);
	local_unlock(&pgmap_alloc_cpu_lock);
}

/*
 * Empty every CPU's cache, each on its own CPU. Sleeps. Holding the CPU
 * hotplug lock keeps each work item on its CPU; caches of offline CPUs were
 * emptied when they went down.
 */
static void pgmap_alloc_drain_all(struct pgmap_alloc *pa)
{
	int cpu;

	cpus_read_lock();
	for_each_online_cpu(cpu) {
		/* A snapshot, as in pgmap_alloc_nr_cached() */
		if (data_race(per_cpu_ptr(pa->cache, cpu)->nr))
			mod_delayed_work_on(cpu, pgmap_alloc_wq,
					    &per_cpu_ptr(pa->cache, cpu)->drain_work, 0);
	}
	for_each_online_cpu(cpu)
		flush_delayed_work(&per_cpu_ptr(pa->cache, cpu)->drain_work);
	cpus_read_unlock();
}

/* CPU hotplug teardown, on a live CPU once @cpu is dead. */
static int pgmap_alloc_cpu_dead(unsigned int cpu, struct hlist_node *node)
{
	struct pgmap_alloc *pa = hlist_entry(node, struct pgmap_alloc, cpuhp_node);
	struct pgmap_alloc_cache *cache = per_cpu_ptr(pa->cache, cpu);

	pgmap_alloc_cache_empty(cache);
	/* A drain still queued finds itself off its CPU and does nothing. */
	cancel_delayed_work(&cache->drain_work);
	return 0;
}

static unsigned long pgmap_alloc_nr_cached(struct pgmap_alloc *pa)
{
	unsigned long nr = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		/* A snapshot: each CPU changes its own count under its own lock */
		nr += data_race(per_cpu_ptr(pa->cache, cpu)->nr);
	}
	return nr;
}

/* === Putting pages into service, and undoing it =========================== */

/* Offset of @page, a page of @chunk's pgmap. */
static inline pgoff_t pgmap_alloc_offset(const struct pgmap_alloc_chunk *chunk,
					 const struct page *page)
{
	/* Most pgmaps have one range: spare page_pgmap_offset() its walk. */
	if (chunk->first_page)
		return page - chunk->first_page;
	return page_pgmap_offset(page);
}

/*
 * A pfn walker held a page of an undone range when pgmap_alloc_undo() gave
 * up spinning; wait here, where we may sleep, for it to let go.
 */
static void pgmap_alloc_parked_work(struct work_struct *work)
{
	struct pgmap_alloc *pa = container_of(work, struct pgmap_alloc, parked_work);
	struct llist_node *node, *next;

	llist_for_each_safe(node, next, llist_del_all(&pa->parked)) {
		struct page *page = container_of((void **)node, struct page,
						 zone_device_data);
		struct pgmap_alloc_chunk *chunk = page->pgmap->allocator;
		/* Now: once cancelled, the memmap may go with the pgmap. */
		pgoff_t offset = pgmap_alloc_offset(chunk, page);

		page->zone_device_data = NULL;
		while (pgmap_cancel_folio(page_folio(page)) == -EBUSY)
			schedule_timeout_uninterruptible(1);
		pgmap_alloc_unreserve(chunk, offset);
	}
}

/*
 * Take a page that this pool put into service for a range that then failed
 * out of service again. Not with folio_put(): that would run the driver's
 * ->page_free on a page it never got, in the allocating context.
 */
static void pgmap_alloc_undo(struct pgmap_alloc_chunk *chunk, struct page *page,
			     pgoff_t offset)
{
	int spins;

	for (spins = 0; spins < PGMAP_ALLOC_UNDO_SPINS; spins++) {
		/*
		 * After the cancel, do not touch @page: with the last pgmap
		 * reference gone, memunmap_pages() may free the memmap.
		 */
		if (pgmap_cancel_folio(page_folio(page)) != -EBUSY) {
			pgmap_alloc_unreserve(chunk, offset);
			return;
		}
		cpu_relax();
	}
	/*
	 * Nobody but the pool knows the page, so its zone_device_data is free
	 * to link it to the worker that finishes the job.
	 */
	llist_add((struct llist_node *)&page->zone_device_data, &chunk->pa->parked);
	queue_work(pgmap_alloc_wq, &chunk->pa->parked_work);
}

/*
 * Put the @nr_pages reserved pages at @offset of @chunk into service.
 * Returns the first folio. On failure it returns an ERR_PTR() and undoes the
 * pages already in service (pgmap_alloc_undo()); the others go back to the
 * gen_pool, except a page that a driver put into service behind the pool's
 * back (-EBUSY, a bug reported here), which stays reserved and comes back to
 * the pool when that driver frees it. Else the error is -ENODEV: the pgmap
 * started dying.
 *
 * Always inlined, as are pgmap_alloc_hand_back() and the reverse for
 * pgmap_alloc_folio_uncached(): without the three attributes, gcc makes a
 * call of each of the first two and inlines the third, and `make bench`
 * measures allocate + put slower.
 */
static __always_inline struct folio *
pgmap_alloc_into_service(struct pgmap_alloc_chunk *chunk, pgoff_t offset,
			 unsigned long nr_pages, struct page **pages)
{
	struct folio *folio, *first = NULL;
	unsigned long i, j;

	for (i = 0; i < nr_pages; i++) {
		/* The pool checked its offsets when it took the pgmap. */
		if (chunk->first_page)
			folio = pgmap_request_page(chunk->first_page + offset + i);
		else
			folio = pgmap_request_folio(chunk->pgmap, offset + i, 0);
		if (IS_ERR(folio))
			break;
		pages[i] = &folio->page;
		if (!i)
			first = folio;
	}
	if (i == nr_pages) {
		trace_pgmap_alloc_alloc(chunk->pa, chunk->pgmap, offset, nr_pages);
		return first;
	}

	if (PTR_ERR(folio) == -EBUSY)
		WARN_ONCE(1, "pgmap_alloc %s: a page of the pool is in service without it\n",
			  chunk->pa->name);
	else
		pgmap_alloc_unreserve(chunk, offset + i);
	for (j = i + 1; j < nr_pages; j++)
		pgmap_alloc_unreserve(chunk, offset + j);
	while (i--)
		pgmap_alloc_undo(chunk, pages[i], offset + i);
	return folio;
}

/* Pages taken from the gen_pool at @offset become the pool's reserved pages. */
static inline void pgmap_alloc_mark_reserved(struct pgmap_alloc_chunk *chunk,
					     pgoff_t offset, unsigned long nr_pages)
{
	unsigned long i;

	/*
	 * In use again: the idle work must not take the time of the last
	 * idle spell for the next one, which pgmap_alloc_chunk_idle() sets
	 * only after @nr_reserved fell to 0.
	 */
	if (atomic_long_add_return(nr_pages, &chunk->nr_reserved) == nr_pages)
		WRITE_ONCE(chunk->idle_since, 0);
	for (i = 0; i < nr_pages; i++)
		set_bit(offset + i, chunk->reserved);
}

/* Reserve @nr_pages in the gen_pool; returns the chunk, or NULL. */
static struct pgmap_alloc_chunk *pgmap_alloc_reserve(struct pgmap_alloc *pa,
						     unsigned long nr_pages,
						     unsigned long align_mask,
						     pgoff_t *offset)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long addr;

	addr = gen_pool_alloc_algo_owner(pa->pool, nr_pages,
					 pgmap_alloc_place, &align_mask,
					 (void **)&chunk);
	if (!addr)
		return NULL;
	*offset = addr - chunk->base;
	pgmap_alloc_mark_reserved(chunk, *offset, nr_pages);
	return chunk;
}

/* === Allocation =========================================================== */

/*
 * Hand out a page cached on this CPU: the fast path, whose
 * pgmap_alloc_cpu_lock also keeps @pa alive. Returns the folio, or an
 * ERR_PTR(): -ENOENT if there is no cached page. A cached page that a driver
 * has put into service itself is reported and left to that driver, whose
 * free brings it back.
 */
static struct folio *pgmap_alloc_from_cache(struct pgmap_alloc *pa)
{
	struct pgmap_alloc_cached cached;
	struct pgmap_alloc_cache *cache;
	struct folio *folio;
	struct page *page;

	lockdep_assert_held(this_cpu_ptr(&pgmap_alloc_cpu_lock));
	cache = this_cpu_ptr(pa->cache);
	if (unlikely(READ_ONCE(pa->dead))) {
		folio = ERR_PTR(-ENODEV);
		goto failed;
	}
	while (cache->nr) {
		/* The highest page, as top-down placement would take */
		cached = cache->pages[--cache->nr];
		/* Cached before its pgmap started to leave the pool */
		if (unlikely(READ_ONCE(cached.chunk->removing))) {
			pgmap_alloc_unreserve(cached.chunk, cached.offset);
			continue;
		}
		folio = pgmap_alloc_into_service(cached.chunk, cached.offset, 1, &page);
		if (!IS_ERR(folio))
			return folio;
		/*
		 * -EBUSY: a driver put the page into service itself (reported).
		 * It is that driver's now; try the next one.
		 */
		if (folio != ERR_PTR(-EBUSY))
			goto failed;
	}
	return ERR_PTR(-ENOENT);
failed:
	pgmap_alloc_count_failure(pa, 1, PTR_ERR(folio));
	return folio;
}

/*
 * Reserve @nr_pages offsets aligned to 1 << @align_order and put each page
 * into service. Called under rcu_read_lock(), so it must not sleep.
 */
static int pgmap_alloc_try(struct pgmap_alloc *pa, unsigned long nr_pages,
			   unsigned int align_order, struct page **pages)
{
	unsigned long align_mask = (1UL << align_order) - 1;
	struct pgmap_alloc_chunk *chunk;
	pgoff_t offset;

	if (READ_ONCE(pa->dead))
		return -ENODEV;

	chunk = pgmap_alloc_reserve(pa, nr_pages, align_mask, &offset);
	if (!chunk && pgmap_alloc_drain_local(pa))
		chunk = pgmap_alloc_reserve(pa, nr_pages, align_mask, &offset);
	if (!chunk)
		return -ENOMEM;
	return PTR_ERR_OR_ZERO(pgmap_alloc_into_service(chunk, offset, nr_pages, pages));
}

/* The task's scope for what ->grow allocates: as the caller's @gfp allows. */
static unsigned int pgmap_alloc_gfp_scope(gfp_t gfp)
{
	if (!(gfp & __GFP_IO))
		return PF_MEMALLOC_NOIO;
	if (!(gfp & __GFP_FS))
		return PF_MEMALLOC_NOFS;
	return 0;
}

/* Call ->grow, in the scope of the allocation's @gfp, with @grow_lock held. */
static int pgmap_alloc_grow(struct pgmap_alloc *pa, gfp_t gfp)
{
	unsigned int scope;
	int ret;

	lockdep_assert_held(&pa->grow_lock);
	WRITE_ONCE(pa->grow_task, current);
	scope = memalloc_flags_save(pgmap_alloc_gfp_scope(gfp));
	ret = pa->ops->grow(pa, pa->data);
	memalloc_flags_restore(scope);
	WRITE_ONCE(pa->grow_task, NULL);
	return ret;
}

static bool pgmap_alloc_may_compact(struct pgmap_alloc *pa,
				    unsigned long nr_pages, gfp_t gfp);
static int pgmap_alloc_compact_for(struct pgmap_alloc *pa, unsigned long nr_pages,
				   unsigned int align_order, struct page **pages);

/*
 * The part of an allocation that may sleep: empty the other CPUs' caches,
 * compact if the free pages would do but are scattered, then grow the pool.
 * The caller counted itself in @nr_waiters while the pool was alive, so @pa
 * stays valid until pgmap_alloc_waiter_done().
 */
static int pgmap_alloc_wait_for_room(struct pgmap_alloc *pa,
				     unsigned long nr_pages,
				     unsigned int align_order, gfp_t gfp,
				     struct page **pages)
{
	int ret;

	/* ->grow holds @grow_lock, a walk @lock, which growing needs too. */
	if (WARN_ONCE(READ_ONCE(pa->grow_task) == current,
		      "pgmap_alloc %s: allocation that must wait, from inside ->grow\n",
		      pa->name))
		return -EDEADLK;
	if (WARN_ONCE(READ_ONCE(pa->walk_task) == current,
		      "pgmap_alloc %s: allocation that must wait, from a walk callback\n",
		      pa->name))
		return -EDEADLK;
	/* Growing may wait for a removal, which runs ->copy and ->release. */
	if (WARN_ONCE(READ_ONCE(pa->remove_task) == current,
		      "pgmap_alloc %s: allocation that must wait, from ->copy or ->release\n",
		      pa->name))
		return -EDEADLK;

	/*
	 * Before @grow_lock, which allocations from ->copy and ->release may
	 * wait for, so that the other allocations that wait do not wait for
	 * copies too. It empties the caches first, and moves nothing if that
	 * was enough.
	 */
	if (pgmap_alloc_may_compact(pa, nr_pages, gfp)) {
		ret = pgmap_alloc_compact_for(pa, nr_pages, align_order, pages);
		if (ret != -ENOMEM)
			return ret;
	}

	mutex_lock(&pa->grow_lock);
	/* Another caller may have drained or grown the pool while we waited. */
	if (pgmap_alloc_nr_cached(pa))
		pgmap_alloc_drain_all(pa);
	rcu_read_lock();
	ret = pgmap_alloc_try(pa, nr_pages, align_order, pages);
	rcu_read_unlock();
	if (ret == -ENOMEM && pa->ops && pa->ops->grow) {
		ret = pgmap_alloc_grow(pa, gfp);
		/*
		 * The device may be full of pgmaps that are on their way out:
		 * wait for that removal to give them back, and grow again.
		 */
		if (ret && mutex_is_locked(&pa->remove_lock)) {
			mutex_lock(&pa->remove_lock);
			mutex_unlock(&pa->remove_lock);
			ret = pgmap_alloc_grow(pa, gfp);
		}
		if (!ret) {
			rcu_read_lock();
			ret = pgmap_alloc_try(pa, nr_pages, align_order, pages);
			rcu_read_unlock();
		}
	}
	mutex_unlock(&pa->grow_lock);
	return ret;
}

static void pgmap_alloc_waiter_done(struct pgmap_alloc *pa)
{
	/* The last one out lets pgmap_alloc_destroy() go on. */
	if (atomic_dec_and_test(&pa->nr_waiters))
		wake_up_var(&pa->nr_waiters);
}

/*
 * Called in an RCU read-side critical section that the caller entered before
 * it first looked at @pa, so that a destroy cannot free @pa in between; ends
 * it.
 */
static int pgmap_alloc_pages(struct pgmap_alloc *pa, unsigned long nr_pages,
			     gfp_t gfp, struct page **pages)
	__releases(RCU)
{
	unsigned int align_order = order_base_2(nr_pages);
	bool wait = false;
	int ret;

	/* Failures are counted while @pa is sure to be alive. */
	ret = pgmap_alloc_try(pa, nr_pages, align_order, pages);
	/* -ENOMEM, not -ENODEV: the pool was alive when we looked */
	if (ret == -ENOMEM && gfpflags_allow_blocking(gfp)) {
		atomic_inc(&pa->nr_waiters);
		wait = true;
	} else if (ret) {
		pgmap_alloc_count_failure(pa, nr_pages, ret);
	}
	rcu_read_unlock();
	if (wait) {
		ret = pgmap_alloc_wait_for_room(pa, nr_pages, align_order, gfp, pages);
		if (ret)
			pgmap_alloc_count_failure(pa, nr_pages, ret);
		pgmap_alloc_waiter_done(pa);
	}
	return ret;
}

/*
 * Out of line so that the fast path of pgmap_alloc_folio() keeps no page
 * pointer on the stack (and so needs no stack protector).
 */
static noinline struct folio *
pgmap_alloc_folio_uncached(struct pgmap_alloc *pa, gfp_t gfp)
	__releases(RCU)
{
	struct page *page;
	int ret;

	ret = pgmap_alloc_pages(pa, 1, gfp, &page);
	return ret ? ERR_PTR(ret) : page_folio(page);
}

/**
 * pgmap_alloc_folio() - Allocate a folio from a pool.
 * @pa: The pool.
 * @order: Order of the folio. Only 0 on this kernel: see
 *	pgmap_request_folio().
 * @gfp: May the pool grow? With a blocking @gfp (GFP_KERNEL) and a
 *	&pgmap_alloc_ops.grow callback, a full pool is grown and the
 *	allocation retried; ->grow then runs in the scope of @gfp
 *	(memalloc_nofs_save() for GFP_NOFS, memalloc_noio_save() for GFP_NOIO).
 *
 * The folio has refcount 1, is locked, and holds a reference on its pgmap,
 * as after zone_device_page_init(). When its last reference is dropped it
 * goes back to the pool by itself, after &dev_pagemap_ops.page_free.
 *
 * Context: Any context if @gfp does not allow blocking, PREEMPT_RT
 * included; otherwise process context, where the pool may grow, reclaim
 * (a PF_MEMALLOC task) included. Does not take @pa's mutex unless growing.
 * Return: The folio, or an ERR_PTR(): -ENOMEM if the pool is full (and
 * could not grow), -E2BIG for @order above 0, -EINVAL for @order above
 * MAX_PAGE_ORDER, -ENODEV if @pa was destroyed or its pgmap is dying, the
 * error of &pgmap_alloc_ops.grow, or -EDEADLK (warned about once) if the
 * allocation would have to wait for the pool and is made from inside its own
 * &pgmap_alloc_ops.grow, &pgmap_alloc_ops.copy or &pgmap_alloc_ops.release,
 * or a pgmap_alloc_walk_pgmaps() callback. With &pgmap_alloc_ops.grow, a
 * full pool whose growth fails while pgmaps are being removed waits for the
 * removal and grows again.
 */
struct folio *pgmap_alloc_folio(struct pgmap_alloc *pa, unsigned int order,
				gfp_t gfp)
{
	struct folio *folio;

	if (WARN_ON_ONCE(!pa))
		return ERR_PTR(-EINVAL);
	if (WARN_ON_ONCE(order > MAX_PAGE_ORDER))
		return ERR_PTR(-EINVAL);
	if (order)
		return ERR_PTR(-E2BIG);
	might_alloc(gfp);
	/* Interrupt context bypasses the caches, as hand-backs there do. */
	if (likely(pgmap_alloc_may_cache())) {
		local_lock(&pgmap_alloc_cpu_lock);
		folio = pgmap_alloc_from_cache(pa);
		if (PTR_ERR(folio) != -ENOENT) {
			local_unlock(&pgmap_alloc_cpu_lock);
			return folio;
		}
		/* Hand over from one RCU reader to the other: @pa stays alive. */
		rcu_read_lock();
		local_unlock(&pgmap_alloc_cpu_lock);
	} else {
		rcu_read_lock();
	}
	return pgmap_alloc_folio_uncached(pa, gfp);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_folio);

/**
 * pgmap_alloc_range() - Allocate a contiguous range of order-0 folios.
 * @pa: The pool.
 * @nr_pages: Number of pages, 1 to MAX_ORDER_NR_PAGES.
 * @gfp: As for pgmap_alloc_folio().
 * @pages: Array of @nr_pages entries that receives the pages.
 *
 * The pages have consecutive offsets in one range of one pgmap, and so
 * consecutive pfns, starting at an offset that is a multiple of @nr_pages
 * rounded up to a power of two; each is an order-0 folio as from
 * pgmap_alloc_folio(), and goes back to the pool on its own when freed. This
 * is the way to fill a 2 MiB migration on a kernel that cannot migrate large
 * device-private folios. page_pgmap_offset() of the first page tells where
 * the range starts.
 *
 * With a @gfp that allows both I/O and fs recursion (GFP_KERNEL) and a pool
 * with &pgmap_alloc_ops.copy, a range that finds no room while the pool's
 * free pages would cover it is compacted for (pgmap_alloc_compact()). As
 * with reclaim in the page allocator, the driver's callbacks then run inside
 * the call: &pgmap_alloc_ops.copy, &dev_pagemap_ops.page_free of the pages
 * moved, and the mmu notifiers of the processes that map them. A caller that
 * holds a lock one of those takes allocates with GFP_NOFS or GFP_NOIO, which
 * do not compact.
 *
 * Context: As for pgmap_alloc_folio().
 * Return: 0, or -EINVAL for @nr_pages 0 or above MAX_ORDER_NR_PAGES, or an
 * error as from pgmap_alloc_folio(). Nothing is allocated on error, and
 * &dev_pagemap_ops.page_free is not called for pages that were put into
 * service before the error.
 */
int pgmap_alloc_range(struct pgmap_alloc *pa, unsigned long nr_pages,
		      gfp_t gfp, struct page **pages)
{
	if (WARN_ON_ONCE(!pa || !pages))
		return -EINVAL;
	if (WARN_ON_ONCE(!nr_pages || nr_pages > MAX_ORDER_NR_PAGES))
		return -EINVAL;
	might_alloc(gfp);
	rcu_read_lock();
	return pgmap_alloc_pages(pa, nr_pages, gfp, pages);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_range);

/* === Hand-back ============================================================ */

/*
 * The hand-back proper; the caller keeps the pool alive. Inlined into both
 * of its callers so that the common hand-back is one call from
 * free_zone_device_folio(): see pgmap_alloc_into_service().
 */
static __always_inline void pgmap_alloc_hand_back(struct folio *folio, bool to_cache)
{
	unsigned long nr_pages = folio_nr_pages(folio);
	struct pgmap_alloc_chunk *chunk;
	unsigned long i, returned = 0;
	pgoff_t offset;

	chunk = READ_ONCE(folio->page.pgmap->allocator);
	if (!chunk)
		return;
	offset = pgmap_alloc_offset(chunk, &folio->page);
	for (i = 0; i < nr_pages; i++) {
		/*
		 * Not reserved by us: the driver put it into service itself.
		 * A plain read: the bit of a page in service cannot change.
		 */
		if (WARN_ON_ONCE(!test_bit(offset + i, chunk->reserved)))
			continue;
		if (to_cache)
			pgmap_alloc_cache_push(chunk, offset + i);
		else
			pgmap_alloc_unreserve(chunk, offset + i);
		returned++;
	}
	trace_pgmap_alloc_free(chunk->pa, chunk->pgmap, offset, returned);
}

/**
 * pgmap_alloc_folio_freed() - Give a freed folio back to its pool.
 * @folio: A folio whose last reference was just dropped.
 *
 * Called by free_zone_device_folio() for pgmaps with an allocator, after
 * &dev_pagemap_ops.page_free and before the pgmap reference is dropped;
 * drivers never call it.
 *
 * Context: Any context.
 */
void pgmap_alloc_folio_freed(struct folio *folio)
{
	/*
	 * Destroy waits for an RCU grace period before it frees what we
	 * touch; pgmap_alloc_cpu_lock is a read-side critical section too.
	 */
	if (likely(pgmap_alloc_may_cache())) {
		local_lock(&pgmap_alloc_cpu_lock);
		pgmap_alloc_hand_back(folio, true);
		local_unlock(&pgmap_alloc_cpu_lock);
		return;
	}
	rcu_read_lock();
	pgmap_alloc_hand_back(folio, false);
	rcu_read_unlock();
}

/* === Statistics =========================================================== */

/**
 * pgmap_alloc_size() - Number of pages in a pool.
 * @pa: The pool.
 *
 * Context: Any context.
 * Return: The number of pages of all pgmaps in @pa.
 */
unsigned long pgmap_alloc_size(struct pgmap_alloc *pa)
{
	return gen_pool_size(pa->pool);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_size);

/**
 * pgmap_alloc_free_pages() - Number of free pages in a pool.
 * @pa: The pool.
 *
 * Context: Any context. The figure may be stale by the time it is used.
 * Return: The number of pages of @pa not in service, cached ones included.
 */
unsigned long pgmap_alloc_free_pages(struct pgmap_alloc *pa)
{
	return gen_pool_avail(pa->pool) + pgmap_alloc_nr_cached(pa);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_free_pages);

/* The largest order of which some aligned block is free; -1 if none. */
static int pgmap_alloc_largest_free_order(struct pgmap_alloc *pa)
{
	struct gen_pool_chunk *gchunk;
	int order, best = -1;

	rcu_read_lock();
	list_for_each_entry_rcu(gchunk, &pa->pool->chunks, next_chunk) {
		struct pgmap_alloc_chunk *chunk = gchunk->owner;

		for (order = MAX_PAGE_ORDER; order > best; order--) {
			/* A snapshot, racing with allocations: data_race(). */
			if (data_race(bitmap_find_next_zero_area(gchunk->bits,
								 chunk->nr_pages, 0,
								 1UL << order,
								 (1UL << order) - 1)) <
			    chunk->nr_pages) {
				best = order;
				break;
			}
		}
	}
	rcu_read_unlock();
	return best;
}

/* gen_pool's bitmaps and ours. */
static unsigned long pgmap_alloc_bitmap_bytes(struct pgmap_alloc *pa)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long bytes = 0;

	lockdep_assert_held(&pa->lock);
	list_for_each_entry(chunk, &pa->chunks, node)
		bytes += 2 * BITS_TO_LONGS(chunk->nr_pages) * sizeof(long);
	return bytes;
}

static int pgmap_alloc_stats_show(struct seq_file *m, void *unused)
{
	struct pgmap_alloc *pa = m->private;
	unsigned long size, free;

	mutex_lock(&pa->lock);
	size = gen_pool_size(pa->pool);
	free = pgmap_alloc_free_pages(pa);
	seq_printf(m, "pgmaps: %zu\n", list_count_nodes(&pa->chunks));
	seq_printf(m, "size: %lu\n", size);
	seq_printf(m, "free: %lu\n", free);
	seq_printf(m, "cached: %lu\n", pgmap_alloc_nr_cached(pa));
	/* A snapshot: both can move between the two reads */
	seq_printf(m, "in_use: %lu\n", size - min(free, size));
	seq_printf(m, "failures: %ld\n", atomic_long_read(&pa->nr_failed));
	/* What the pool's pgmaps cost in struct pages, until ->release */
	seq_printf(m, "memmap_bytes: %lu\n",
		   (size + atomic_long_read(&pa->nr_leaving)) * sizeof(struct page));
	seq_printf(m, "removals: %ld\n", atomic_long_read(&pa->nr_removed));
	seq_printf(m, "compactions: %ld\n", atomic_long_read(&pa->nr_compactions));
	seq_printf(m, "compact_pages_moved: %ld\n", atomic_long_read(&pa->nr_compact_moved));
	seq_printf(m, "compact_blocks_freed: %ld\n", atomic_long_read(&pa->nr_compact_freed));
	/* The allocator's own memory: two bits per page and a per-CPU part */
	seq_printf(m, "metadata_bitmap_bytes: %lu\n", pgmap_alloc_bitmap_bytes(pa));
	seq_printf(m, "metadata_percpu_bytes: %zu\n",
		   sizeof(struct pgmap_alloc_cache) * num_possible_cpus());
	seq_printf(m, "largest_free_order: %d\n",
		   pgmap_alloc_largest_free_order(pa));
	mutex_unlock(&pa->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pgmap_alloc_stats);

/* Writing an order to debugfs "compact" makes a block of it free, if it can. */
static int pgmap_alloc_compact_set(void *data, u64 order)
{
	struct pgmap_alloc *pa = data;

	if (order > MAX_PAGE_ORDER)
		return -EINVAL;
	return pgmap_alloc_compact(pa, order, gen_pool_size(pa->pool), NULL);
}
DEFINE_DEBUGFS_ATTRIBUTE(pgmap_alloc_compact_fops, NULL, pgmap_alloc_compact_set, "%llu\n");

/* === Shrinker: free pgmaps of growing pools under memory pressure ======= */

/* Memmap pages that removing the free pgmaps of the pool would give back. */
static unsigned long pgmap_alloc_shrink_count(struct shrinker *shrinker,
					      struct shrink_control *sc)
{
	struct pgmap_alloc *pa = shrinker->private_data;
	unsigned long size = 0, free = 0;
	struct gen_pool_chunk *gchunk;

	/* gen_pool frees a chunk after a grace period: walk under RCU. */
	rcu_read_lock();
	list_for_each_entry_rcu(gchunk, &pa->pool->chunks, next_chunk) {
		struct pgmap_alloc_chunk *chunk = gchunk->owner;

		size += chunk->nr_pages;
		if (!READ_ONCE(chunk->removing) && !atomic_long_read(&chunk->nr_reserved))
			free += chunk->nr_pages;
	}
	rcu_read_unlock();
	/* An estimate of what @min_pages keeps */
	free = min(free, size - min(size, READ_ONCE(pa->min_pages)));
	free = free * sizeof(struct page) >> PAGE_SHIFT;
	return free ?: SHRINK_EMPTY;
}

static unsigned long pgmap_alloc_shrink_scan(struct shrinker *shrinker,
					     struct shrink_control *sc)
{
	struct pgmap_alloc *pa = shrinker->private_data;

	WRITE_ONCE(pa->shrink_now, true);
	mod_delayed_work(system_unbound_wq, &pa->idle_work, 0);
	/* Nothing freed here and now: see pgmap_alloc_idle_work(). */
	return SHRINK_STOP;
}

/*
 * A growing pool gives its free pgmaps back under memory pressure; a pool
 * that cannot grow keeps them. Returns 0 or -ENOMEM.
 */
static int pgmap_alloc_add_shrinker(struct pgmap_alloc *pa)
{
	if (!pa->ops || !pa->ops->grow)
		return 0;
	pa->shrinker = shrinker_alloc(0, "pgmap_alloc-%s", pa->name);
	if (!pa->shrinker)
		return -ENOMEM;
	pa->shrinker->count_objects = pgmap_alloc_shrink_count;
	pa->shrinker->scan_objects = pgmap_alloc_shrink_scan;
	pa->shrinker->private_data = pa;
	/* Each pgmap is worth many objects: ask for a scan whatever the count. */
	pa->shrinker->batch = 1;
	pa->shrinker->seeks = 0;
	shrinker_register(pa->shrinker);
	return 0;
}

/* === Lifetime: create, add pgmaps, destroy, walk ========================== */

/*
 * A debugfs directory named @name, or "@name.N" if another pool has that
 * name (every unnamed pool is "pgmap"). Without debugfs, or if its
 * directory cannot be made, the pool has no stats file and works anyway.
 */
static struct dentry *pgmap_alloc_debugfs_dir(const char *name)
{
	static DEFINE_MUTEX(names_lock);
	static unsigned int serial;
	struct dentry *dir;
	char *unique = NULL;

	mutex_lock(&names_lock);
	dir = debugfs_lookup(name, pgmap_alloc_debugfs_root);
	if (!IS_ERR_OR_NULL(dir)) {
		dput(dir);
		unique = kasprintf(GFP_KERNEL, "%s.%u", name, ++serial);
	}
	dir = debugfs_create_dir(unique ?: name, pgmap_alloc_debugfs_root);
	mutex_unlock(&names_lock);
	kfree(unique);
	return dir;
}

/**
 * pgmap_alloc_create() - Create an empty pool.
 * @name: Name for debugfs (pgmap_alloc/@name/stats, or @name.N if a pool of
 *	that name exists); copied.
 * @ops: Optional callbacks; may be NULL. Must outlive the pool.
 * @data: Passed to the callbacks.
 *
 * For drivers that add pgmaps over time with pgmap_alloc_add_pgmap(), or
 * from &pgmap_alloc_ops.grow. A driver with one pgmap calls
 * pgmap_alloc_init() instead.
 *
 * Context: Process context.
 * Return: The pool, or ERR_PTR(-ENOMEM).
 */
struct pgmap_alloc *pgmap_alloc_create(const char *name,
				       const struct pgmap_alloc_ops *ops,
				       void *data)
{
	struct pgmap_alloc *pa;
	int cpu;

	pa = kzalloc(sizeof(*pa), GFP_KERNEL);
	if (!pa)
		return ERR_PTR(-ENOMEM);
	pa->name = kstrdup(name ?: "pgmap", GFP_KERNEL);
	pa->cache = alloc_percpu(struct pgmap_alloc_cache);
	/* Addresses are pages: one bit per page. */
	pa->pool = gen_pool_create(0, NUMA_NO_NODE);
	if (!pa->name || !pa->cache || !pa->pool)
		goto fail;

	for_each_possible_cpu(cpu) {
		struct pgmap_alloc_cache *cache = per_cpu_ptr(pa->cache, cpu);

		cache->pa = pa;
		INIT_DELAYED_WORK(&cache->drain_work, pgmap_alloc_drain_work);
	}
	if (cpuhp_state_add_instance_nocalls(pgmap_alloc_cpuhp_state,
					     &pa->cpuhp_node))
		goto fail;
	pa->ops = ops;
	pa->data = data;
	mutex_init(&pa->lock);
	mutex_init(&pa->grow_lock);
	mutex_init(&pa->remove_lock);
	raw_spin_lock_init(&pa->compact_lock);
	INIT_LIST_HEAD(&pa->chunks);
	init_llist_head(&pa->parked);
	INIT_WORK(&pa->parked_work, pgmap_alloc_parked_work);
	pa->next_base = MAX_ORDER_NR_PAGES;
	pa->idle_ms = PGMAP_ALLOC_IDLE_MS;
	pa->min_pages = 1;
	INIT_DELAYED_WORK(&pa->idle_work, pgmap_alloc_idle_work);
	if (pgmap_alloc_add_shrinker(pa)) {
		cpuhp_state_remove_instance_nocalls(pgmap_alloc_cpuhp_state,
						    &pa->cpuhp_node);
		goto fail;
	}
	pa->debugfs = pgmap_alloc_debugfs_dir(pa->name);
	debugfs_create_file("stats", 0444, pa->debugfs, pa,
			    &pgmap_alloc_stats_fops);
	if (ops && ops->copy)
		debugfs_create_file_unsafe("compact", 0200, pa->debugfs, pa,
					   &pgmap_alloc_compact_fops);
	if (pa->shrinker) {
		debugfs_create_u32("idle_ms", 0644, pa->debugfs, &pa->idle_ms);
		debugfs_create_ulong("min_pages", 0644, pa->debugfs, &pa->min_pages);
	}
	return pa;

fail:
	if (pa->pool)
		gen_pool_destroy(pa->pool);
	free_percpu(pa->cache);
	kfree(pa->name);
	kfree(pa);
	return ERR_PTR(-ENOMEM);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_create);

/* The share of the pool that caches may hold follows its size. */
static void pgmap_alloc_set_cache_limit(struct pgmap_alloc *pa)
{
	lockdep_assert_held(&pa->lock);
	WRITE_ONCE(pa->cache_limit,
		   min_t(unsigned long, PGMAP_ALLOC_CACHE_SIZE,
			 gen_pool_size(pa->pool) /
			 (PGMAP_ALLOC_CACHE_SHARE * num_possible_cpus())));
}

/* The bits of the gen_pool chunk that @chunk owns: compaction reads them. */
static unsigned long *pgmap_alloc_gen_pool_bits(struct pgmap_alloc *pa,
						struct pgmap_alloc_chunk *chunk)
{
	struct gen_pool_chunk *gchunk;
	unsigned long *bits = NULL;

	rcu_read_lock();
	list_for_each_entry_rcu(gchunk, &pa->pool->chunks, next_chunk) {
		if (gchunk->owner == chunk) {
			bits = gchunk->bits;
			break;
		}
	}
	rcu_read_unlock();
	return bits;
}

/* Is @pgmap mapped and not dying? */
static int pgmap_alloc_check_live(struct dev_pagemap *pgmap)
{
	struct dev_pagemap *found;

	if (pgmap->nr_range > 0) {
		found = get_dev_pagemap(PHYS_PFN(pgmap->ranges[0].start), NULL);
		if (found)
			put_dev_pagemap(found);
		if (found == pgmap)
			return 0;
	}
	if (percpu_ref_is_dying(&pgmap->ref))
		return -ENODEV;
	WARN_ONCE(1, "pgmap_alloc: pgmap is not mapped by memremap_pages()\n");
	return -EINVAL;
}

/**
 * pgmap_alloc_add_pgmap() - Let a pool hand out the pages of a pgmap.
 * @pa: The pool.
 * @pgmap: A DEVICE_PRIVATE or DEVICE_COHERENT pgmap, already mapped by
 *	memremap_pages(), that belongs to no pool and none of whose pages
 *	are in service.
 *
 * From now on every page of @pgmap that is freed goes back to @pa, so all
 * of its pages must come from @pa. The pgmap stays in the pool until it is
 * removed (pgmap_alloc_remove_pgmap(), pgmap_alloc_remove_all(), or by a
 * growing pool when it idles) or the pool is destroyed; only then may it be
 * unmapped, from &pgmap_alloc_ops.release or after it was called.
 *
 * Context: Process context. Takes and releases @pa's mutex.
 * Return: 0; -EOPNOTSUPP for a pgmap of another type, -EINVAL for one that
 * is not mapped, -EBUSY for one that already has a pool, -ENODEV for one
 * that is being torn down or a pool that was destroyed, -ENOMEM.
 */
int pgmap_alloc_add_pgmap(struct pgmap_alloc *pa, struct dev_pagemap *pgmap)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long nr_pages;
	int ret;

	if (WARN_ON_ONCE(!pa || !pgmap))
		return -EINVAL;
	if (WARN_ON_ONCE(pgmap->type != MEMORY_DEVICE_PRIVATE &&
			 pgmap->type != MEMORY_DEVICE_COHERENT))
		return -EOPNOTSUPP;
	/* A walk holds @lock */
	if (WARN_ONCE(READ_ONCE(pa->walk_task) == current,
		      "pgmap_alloc %s: pgmap added from a walk callback\n", pa->name))
		return -EDEADLK;
	ret = pgmap_alloc_check_live(pgmap);
	if (ret)
		return ret;

	nr_pages = pgmap_nr_pages(pgmap);
	chunk = kzalloc(sizeof(*chunk), GFP_KERNEL);
	if (!chunk)
		return -ENOMEM;
	/* 2 MiB for a 64 GiB pgmap: too much to ask of kmalloc() */
	chunk->reserved = kvcalloc(BITS_TO_LONGS(nr_pages), sizeof(long),
				   GFP_KERNEL);
	if (!chunk->reserved) {
		kfree(chunk);
		return -ENOMEM;
	}
	chunk->pa = pa;
	chunk->pgmap = pgmap;
	chunk->nr_pages = nr_pages;
	chunk->top = nr_pages;
	chunk->idle_since = jiffies ?: 1;
	/* ZONE_DEVICE implies a virtual memmap: one range's pages are contiguous */
	if (pgmap->nr_range == 1)
		chunk->first_page = pfn_to_page(PHYS_PFN(pgmap->range.start));

	mutex_lock(&pa->lock);
	ret = -ENODEV;
	if (pa->dead)
		goto unlock;
	/* Claim the pgmap before it can be found in the pool. */
	ret = -EBUSY;
	if (WARN_ON_ONCE(cmpxchg(&pgmap->allocator, NULL, chunk)))
		goto unlock;
	chunk->base = pa->next_base;
	ret = gen_pool_add_owner(pa->pool, chunk->base, -1, nr_pages,
				 NUMA_NO_NODE, chunk);
	if (ret) {
		WRITE_ONCE(pgmap->allocator, NULL);
		mutex_unlock(&pa->lock);
		/* A hand-back of a stray page may have seen the chunk. */
		synchronize_rcu();
		goto free;
	}
	pa->next_base = ALIGN(chunk->base + nr_pages, MAX_ORDER_NR_PAGES);
	chunk->map = pgmap_alloc_gen_pool_bits(pa, chunk);
	list_add_tail(&chunk->node, &pa->chunks);
	pgmap_alloc_set_cache_limit(pa);
	mutex_unlock(&pa->lock);
	return 0;

unlock:
	mutex_unlock(&pa->lock);
free:
	kvfree(chunk->reserved);
	kfree(chunk);
	return ret;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_add_pgmap);

/**
 * pgmap_alloc_init() - Create a pool that hands out the pages of a pgmap.
 * @pgmap: As for pgmap_alloc_add_pgmap().
 * @name: As for pgmap_alloc_create().
 *
 * The one call a driver with one pgmap needs: pgmap_alloc_create() and
 * pgmap_alloc_add_pgmap() together. Call it after memremap_pages() and before
 * the first page is put into service.
 *
 * Context: Process context.
 * Return: The pool, or an ERR_PTR() with an error of pgmap_alloc_create() or
 * pgmap_alloc_add_pgmap().
 */
struct pgmap_alloc *pgmap_alloc_init(struct dev_pagemap *pgmap,
				     const char *name)
{
	struct pgmap_alloc *pa;
	int ret;

	pa = pgmap_alloc_create(name, NULL, NULL);
	if (IS_ERR(pa))
		return pa;
	ret = pgmap_alloc_add_pgmap(pa, pgmap);
	if (ret) {
		pgmap_alloc_destroy(pa);
		return ERR_PTR(ret);
	}
	return pa;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_init);

/**
 * pgmap_alloc_destroy() - Destroy a pool.
 * @pa: The pool, or NULL.
 *
 * The teardown order is: pgmap_alloc_destroy() first, while the pgmaps are
 * still mapped; then memunmap_pages() of each pgmap, from
 * &pgmap_alloc_ops.release or by the driver once this has returned.
 *
 * No allocation or removal may start once it has been called; allocations
 * already running either finish first or fail with -ENODEV, and it waits
 * for those that are growing the pool, and for a removal that holds the
 * pool's removal lock (the driver's, or a growing pool's idle one).
 *
 * Pages still in service are evicted to system RAM if the pool has a
 * &pgmap_alloc_ops.copy callback (see pgmap_alloc_evict()); then
 * &pgmap_alloc_ops.release is called for each pgmap. If pages are still in
 * service after the eviction (the pool cannot copy, or a page could not
 * move), the pool is reported with the number of pages and leaked, so that
 * their later hand-back stays safe; it then refuses every allocation with
 * -ENODEV, the pgmaps keep pointing at it and cannot join another pool, and
 * &pgmap_alloc_ops.release is not called.
 *
 * Context: Process context; sleeps for RCU grace periods, and for
 * eviction.
 */
void pgmap_alloc_destroy(struct pgmap_alloc *pa)
{
	struct pgmap_alloc_chunk *chunk, *next;
	size_t in_use;
	int cpu;

	if (!pa)
		return;
	/* Destroy waits for ->grow, and needs @lock, which a walk holds. */
	if (WARN_ONCE(READ_ONCE(pa->grow_task) == current,
		      "pgmap_alloc %s: destroyed from inside ->grow; not destroyed\n",
		      pa->name))
		return;
	if (WARN_ONCE(READ_ONCE(pa->walk_task) == current,
		      "pgmap_alloc %s: destroyed from a walk callback; not destroyed\n",
		      pa->name))
		return;
	/* A removal holds @remove_lock while it copies and releases. */
	if (WARN_ONCE(READ_ONCE(pa->remove_task) == current,
		      "pgmap_alloc %s: destroyed from ->copy or ->release; not destroyed\n",
		      pa->name))
		return;
	mutex_lock(&pa->lock);
	WRITE_ONCE(pa->dead, true);
	mutex_unlock(&pa->lock);
	/*
	 * Allocations that saw !dead are done after this, or counted in
	 * @nr_waiters, for which we wait too; then for the pages of undone
	 * ranges that they left to the worker.
	 */
	synchronize_rcu();
	wait_var_event(&pa->nr_waiters, !atomic_read(&pa->nr_waiters));
	flush_work(&pa->parked_work);
	/* No shrinker scan queues a removal after this... */
	shrinker_free(pa->shrinker);
	/* ...and one that runs sees @dead only if it had not started. */
	mutex_lock(&pa->remove_lock);
	mutex_unlock(&pa->remove_lock);
	/* It may have left pages of other pgmaps to the undo worker. */
	flush_work(&pa->parked_work);

	debugfs_remove_recursive(pa->debugfs);
	pgmap_alloc_drain_all(pa);
	in_use = gen_pool_size(pa->pool) - gen_pool_avail(pa->pool);
	if (in_use && pa->ops && pa->ops->copy) {
		list_for_each_entry(chunk, &pa->chunks, node)
			pgmap_alloc_evict(pa, chunk->pgmap, NULL);
		/* The evicted pages were handed back to caches. */
		pgmap_alloc_drain_all(pa);
		in_use = gen_pool_size(pa->pool) - gen_pool_avail(pa->pool);
	}
	if (WARN(in_use, "pgmap_alloc %s: destroyed with %zu pages in use; leaking the pool\n",
		 pa->name, in_use)) {
		/* On purpose, and reported: tell kmemleak. */
		kmemleak_not_leak(pa);
		return;
	}

	list_for_each_entry(chunk, &pa->chunks, node)
		WRITE_ONCE(chunk->pgmap->allocator, NULL);
	/* Hand-backs that still saw a chunk are done after this. */
	synchronize_rcu();
	/* Nothing can fill a cache any more: stop the idle drains. */
	for_each_possible_cpu(cpu)
		cancel_delayed_work_sync(&per_cpu_ptr(pa->cache, cpu)->drain_work);
	/* Nor can a page go back and arm this; it finds @dead anyway. */
	cancel_delayed_work_sync(&pa->idle_work);
	list_for_each_entry_safe(chunk, next, &pa->chunks, node) {
		if (pa->ops && pa->ops->release)
			pa->ops->release(pa, chunk->pgmap, pa->data);
		kvfree(chunk->reserved);
		kfree(chunk);
	}
	cpuhp_state_remove_instance_nocalls(pgmap_alloc_cpuhp_state,
					    &pa->cpuhp_node);
	gen_pool_destroy(pa->pool);
	free_percpu(pa->cache);
	kfree(pa->name);
	kfree(pa);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_destroy);

/**
 * pgmap_alloc_walk_pgmaps() - Call a function for each pgmap of a pool.
 * @pa: The pool.
 * @fn: Called with each pgmap, in the order they were added; a non-zero
 *	return value stops the walk. It may sleep (to evict device pages, for
 *	example). It must not add pgmaps to @pa, destroy it, or allocate from it
 *	in a way that must wait (drain other CPUs' caches or grow the pool):
 *	those fail with -EDEADLK and a warning.
 * @arg: Passed to @fn.
 *
 * Context: Process context. Holds @pa's mutex while @fn runs, so the pool
 * does not grow meanwhile.
 * Return: 0, or the first non-zero value @fn returned; -EDEADLK (warned
 * about once) if called from a walk callback of @pa.
 */
int pgmap_alloc_walk_pgmaps(struct pgmap_alloc *pa, pgmap_alloc_pgmap_fn fn,
			    void *arg)
{
	struct pgmap_alloc_chunk *chunk;
	int ret = 0;

	if (WARN_ONCE(READ_ONCE(pa->walk_task) == current,
		      "pgmap_alloc %s: walk from a walk callback\n", pa->name))
		return -EDEADLK;
	mutex_lock(&pa->lock);
	WRITE_ONCE(pa->walk_task, current);
	list_for_each_entry(chunk, &pa->chunks, node) {
		ret = fn(chunk->pgmap, arg);
		if (ret)
			break;
	}
	WRITE_ONCE(pa->walk_task, NULL);
	mutex_unlock(&pa->lock);
	return ret;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_walk_pgmaps);

/* === Eviction and removal: moving pages in service out of a pgmap ======== */

struct pgmap_alloc_evict_batch {
	unsigned long src[PGMAP_ALLOC_EVICT_BATCH];	/* migrate pfns */
	unsigned long dst[PGMAP_ALLOC_EVICT_BATCH];
	/* The same pages, packed, for &pgmap_alloc_ops.copy */
	struct page *src_pages[PGMAP_ALLOC_EVICT_BATCH];
	struct page *dst_pages[PGMAP_ALLOC_EVICT_BATCH];
	/*
	 * Destinations, allocated before any page of a batch is locked, and
	 * kept for the next batch if unused: pages of system RAM, and for a
	 * removal pages of the pool's other pgmaps (in service and locked, as
	 * pgmap_alloc_try() leaves them).
	 */
	struct page *ram[PGMAP_ALLOC_EVICT_BATCH];
	struct page *dev[PGMAP_ALLOC_EVICT_BATCH];
	unsigned long nr_ram, nr_dev;
	bool to_device;		/* destinations in the pool first */
	int error;		/* the last error that left a page behind */
};

/* Pages of the @nr_pages from @pfn that someone holds a reference to. */
static unsigned long pgmap_alloc_nr_referenced(unsigned long pfn,
					       unsigned long nr_pages)
{
	unsigned long i, nr = 0;

	for (i = 0; i < nr_pages; i++)
		nr += page_ref_count(pfn_to_page(pfn + i)) != 0;
	return nr;
}

/*
 * Have @nr_needed destinations ready: pages of the pool where it has room
 * (without waiting: not growing it for pages that are leaving it), system
 * RAM for the rest.
 */
static void pgmap_alloc_evict_fill(struct pgmap_alloc *pa,
				   struct pgmap_alloc_evict_batch *b,
				   unsigned long nr_needed)
{
	struct page *page;
	int ret;

	while (b->to_device && b->nr_dev < nr_needed) {
		rcu_read_lock();
		ret = pgmap_alloc_try(pa, 1, 0, &page);
		rcu_read_unlock();
		if (ret)
			break;
		b->dev[b->nr_dev++] = page;
	}
	while ((b->to_device ? b->nr_dev : 0) + b->nr_ram < nr_needed) {
		page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOWARN);
		if (!page)
			break;
		b->ram[b->nr_ram++] = page;
	}
}

/* Keep a destination that was not used for the next batch. */
static void pgmap_alloc_evict_keep(struct pgmap_alloc_evict_batch *b,
				   struct page *dpage)
{
	if (is_zone_device_page(dpage)) {
		b->dev[b->nr_dev++] = dpage;
	} else {
		unlock_page(dpage);
		b->ram[b->nr_ram++] = dpage;
	}
}

static void pgmap_alloc_evict_free_spares(struct pgmap_alloc_evict_batch *b)
{
	while (b->nr_ram)
		__free_page(b->ram[--b->nr_ram]);
	/* Never handed to the driver: out of service without ->page_free */
	while (b->nr_dev) {
		struct page *page = b->dev[--b->nr_dev];
		struct pgmap_alloc_chunk *chunk = page->pgmap->allocator;

		pgmap_alloc_undo(chunk, page, pgmap_alloc_offset(chunk, page));
	}
}

/*
 * Give each page that migrate_device_range() collected a destination. Only
 * a page whose one reference is the one migrate_device_range() took can
 * move (migrate_device_pages() checks the same): one that the driver holds,
 * or that is pinned, stays. Returns the number of pages to copy.
 */
static unsigned long pgmap_alloc_evict_prepare(struct pgmap_alloc_evict_batch *b,
					       unsigned long nr_pages)
{
	unsigned long i, nr = 0;

	for (i = 0; i < nr_pages; i++) {
		struct page *spage = migrate_pfn_to_page(b->src[i]);
		struct page *dpage;

		b->dst[i] = 0;
		if (!spage || !(b->src[i] & MIGRATE_PFN_MIGRATE) ||
		    folio_ref_count(page_folio(spage)) != 1)
			continue;
		if (b->to_device && b->nr_dev) {
			dpage = b->dev[--b->nr_dev];
		} else if (b->nr_ram) {
			dpage = b->ram[--b->nr_ram];
			lock_page(dpage);
		} else {
			b->error = -ENOMEM;
			continue;
		}
		b->dst[i] = migrate_pfn(page_to_pfn(dpage));
		/* Writable where it was: no write fault on the copy */
		if (b->src[i] & MIGRATE_PFN_WRITE)
			b->dst[i] |= MIGRATE_PFN_WRITE;
		b->src_pages[nr] = spage;
		b->dst_pages[nr++] = dpage;
	}
	return nr;
}

/*
 * Move the pages in service among the @nr_pages from @pfn to their
 * destinations. Those are allocated first: allocating with device pages
 * locked and unmapped would make every process that faults on them wait
 * for reclaim. Returns the number of pages moved.
 */
static unsigned long pgmap_alloc_evict_range(struct pgmap_alloc *pa,
					     struct pgmap_alloc_evict_batch *b,
					     unsigned long pfn, unsigned long nr_pages,
					     unsigned long nr_referenced)
{
	unsigned long i, j = 0, nr, moved = 0;
	int ret = 0;

	pgmap_alloc_evict_fill(pa, b, nr_referenced);
	migrate_device_range(b->src, pfn, nr_pages);
	nr = pgmap_alloc_evict_prepare(b, nr_pages);
	if (nr)
		ret = pa->ops->copy(pa, b->dst_pages, b->src_pages, nr, pa->data);
	if (ret)
		b->error = ret;
	/* A page the driver did not copy keeps its place: no destination. */
	for (i = 0; i < nr_pages && j < nr; i++) {
		struct page *dpage = migrate_pfn_to_page(b->dst[i]);

		if (!dpage)
			continue;
		if (ret || !b->dst_pages[j]) {
			/* A device that cannot copy inside itself: use RAM */
			if (!ret && is_zone_device_page(dpage))
				b->to_device = false;
			pgmap_alloc_evict_keep(b, dpage);
			b->dst[i] = 0;
		}
		j++;
	}
	migrate_device_pages(b->src, b->dst, nr_pages);
	/* migrate_device_pages() clears MIGRATE_PFN_MIGRATE where it failed */
	for (i = 0; i < nr_pages; i++)
		moved += b->dst[i] && (b->src[i] & MIGRATE_PFN_MIGRATE);
	migrate_device_finalize(b->src, b->dst, nr_pages);
	return moved;
}

/* One pass over @pgmap; returns the pages still referenced after it. */
static unsigned long pgmap_alloc_evict_pass(struct pgmap_alloc *pa,
					    struct dev_pagemap *pgmap,
					    struct pgmap_alloc_evict_batch *b)
{
	unsigned long left = 0;
	int r;

	for (r = 0; r < pgmap->nr_range; r++) {
		unsigned long pfn = PHYS_PFN(pgmap->ranges[r].start);
		unsigned long end = PHYS_PFN(pgmap->ranges[r].end + 1);

		while (pfn < end) {
			unsigned long nr = min(end - pfn, PGMAP_ALLOC_EVICT_BATCH);
			unsigned long referenced = pgmap_alloc_nr_referenced(pfn, nr);

			/* Free and cached pages have no reference: skip idle batches. */
			if (referenced) {
				pgmap_alloc_evict_range(pa, b, pfn, nr, referenced);
				left += pgmap_alloc_nr_referenced(pfn, nr);
			}
			pfn += nr;
			cond_resched();
		}
	}
	return left;
}

/*
 * Move the pages of @pgmap in service out of it, to the pool's other pgmaps
 * first if @to_device, else to system RAM, in bounded passes. The caller
 * holds a reference on @pgmap. Returns as pgmap_alloc_evict().
 */
static int pgmap_alloc_move_out(struct pgmap_alloc *pa,
				struct dev_pagemap *pgmap, bool to_device,
				unsigned long *nr_left)
{
	struct pgmap_alloc_evict_batch *b;
	unsigned long left;
	int pass, ret;

	b = kvzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->to_device = to_device;
	for (pass = 1; ; pass++) {
		b->error = 0;
		left = pgmap_alloc_evict_pass(pa, pgmap, b);
		/* Waiting does not help a device that failed to copy. */
		if (!left || pass == PGMAP_ALLOC_EVICT_PASSES ||
		    (b->error && b->error != -ENOMEM && b->error != -EAGAIN &&
		     b->error != -EBUSY))
			break;
		msleep(1 << (pass - 1));
	}
	ret = left ? (b->error ?: -EBUSY) : 0;
	pgmap_alloc_evict_free_spares(b);
	kvfree(b);
	trace_pgmap_alloc_evict(pa, pgmap, left);
	*nr_left = left;
	return ret;
}

/**
 * pgmap_alloc_evict() - Move every page of a pgmap in service to system RAM.
 * @pa: The pool, which has &pgmap_alloc_ops.copy.
 * @pgmap: A pgmap of @pa.
 * @nr_left: If not NULL, set to the number of pages still in service when
 *	eviction gave up, 0 on success.
 *
 * Replaces a driver's own migrate_device_range() loop: the pages in service
 * are collected and unmapped from the processes that map them, each is given
 * a page of system RAM, the driver's &pgmap_alloc_ops.copy copies them, and
 * the processes map the copies. The device pages come back to @pa as they
 * are freed, through &dev_pagemap_ops.page_free, from inside this call: the
 * caller must not hold a lock that those take. Pages that were busy (locked,
 * or with a reference taken for a moment) are tried again over a few passes
 * with growing waits.
 *
 * A page that something besides its mappings holds cannot move: a page in
 * service that no process maps (the driver uses it itself, or is still
 * filling it), one pinned by get_user_pages(), one under DMA. It stays, and
 * is counted in @nr_left. Pages put into service while this runs may stay
 * too; pgmap_alloc_remove_pgmap() stops that first.
 *
 * @pa must not be destroyed, nor @pgmap removed from it, while this runs;
 * memunmap_pages() of @pgmap waits for it.
 *
 * Context: Process context; sleeps. May be called from a walk callback.
 * Return: 0 when no page of @pgmap is in service any more. If some are:
 * the last error of &pgmap_alloc_ops.copy, or -ENOMEM if system RAM ran
 * out, or else -EBUSY. -ENODEV if @pgmap is being torn down; -ENOMEM;
 * -EINVAL (warned about once) if @pgmap is not in @pa, -EOPNOTSUPP (warned
 * about once) if @pa has no copy callback.
 */
int pgmap_alloc_evict(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
		      unsigned long *nr_left)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long left = 0;
	int ret;

	if (nr_left)
		*nr_left = 0;
	if (WARN_ON_ONCE(!pa || !pgmap))
		return -EINVAL;
	chunk = READ_ONCE(pgmap->allocator);
	if (WARN_ON_ONCE(!chunk || chunk->pa != pa))
		return -EINVAL;
	if (WARN_ON_ONCE(!pa->ops || !pa->ops->copy))
		return -EOPNOTSUPP;
	might_sleep();
	/* Keeps the memmap: memunmap_pages() waits for this reference. */
	if (!percpu_ref_tryget(&pgmap->ref))
		return -ENODEV;
	ret = pgmap_alloc_move_out(pa, pgmap, false, &left);
	percpu_ref_put(&pgmap->ref);
	if (nr_left)
		*nr_left = left;
	return ret;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_evict);

/* Pages of @chunk reserved by the pool: in service, once caches are empty. */
static unsigned long pgmap_alloc_chunk_in_use(struct pgmap_alloc_chunk *chunk)
{
	return atomic_long_read(&chunk->nr_reserved);
}

enum pgmap_alloc_remove_reason {
	PGMAP_ALLOC_REMOVED_BY_DRIVER,
	PGMAP_ALLOC_REMOVED_IDLE,
	PGMAP_ALLOC_REMOVED_BY_SHRINKER,
};

/* The first chunk of the list marked @removing, or NULL. */
static struct pgmap_alloc_chunk *pgmap_alloc_next_marked(struct pgmap_alloc *pa)
{
	struct pgmap_alloc_chunk *chunk, *found = NULL;

	mutex_lock(&pa->lock);
	list_for_each_entry(chunk, &pa->chunks, node) {
		if (chunk->removing) {
			found = chunk;
			break;
		}
	}
	mutex_unlock(&pa->lock);
	return found;
}

/*
 * A chunk with no page reserved may still have pages in service that a
 * driver put there behind the pool's back (a bug): ->release would then
 * wait for them forever in memunmap_pages(). Reported, and the chunk
 * stays. A read of each page's refcount, once per removal.
 */
static int pgmap_alloc_check_strays(struct pgmap_alloc *pa,
				    struct pgmap_alloc_chunk *chunk,
				    unsigned long *nr_left)
{
	struct dev_pagemap *pgmap = chunk->pgmap;
	int r;

	*nr_left = 0;
	for (r = 0; r < pgmap->nr_range; r++)
		*nr_left += pgmap_alloc_nr_referenced(PHYS_PFN(pgmap->ranges[r].start),
						      PHYS_PFN(range_len(&pgmap->ranges[r])));
	if (WARN_ONCE(*nr_left, "pgmap_alloc %s: %lu pages in service without the pool\n",
		      pa->name, *nr_left))
		return -EBUSY;
	return 0;
}

/*
 * Empty a marked chunk: its pages in service are moved out if this is the
 * driver's removal and the pool can copy; an idle pgmap that was put back
 * into use meanwhile stays. Returns 0, or an error with *@nr_left pages
 * still in service.
 */
static int pgmap_alloc_empty_chunk(struct pgmap_alloc *pa,
				   struct pgmap_alloc_chunk *chunk,
				   enum pgmap_alloc_remove_reason reason,
				   unsigned long *nr_left)
{
	struct dev_pagemap *pgmap = chunk->pgmap;
	int ret, tries;

	*nr_left = pgmap_alloc_chunk_in_use(chunk);
	if (!*nr_left)
		return pgmap_alloc_check_strays(pa, chunk, nr_left);
	if (reason != PGMAP_ALLOC_REMOVED_BY_DRIVER || !pa->ops || !pa->ops->copy)
		return -EBUSY;
	/* Keeps the memmap: memunmap_pages() waits for this reference. */
	if (!percpu_ref_tryget(&pgmap->ref))
		return -ENODEV;
	ret = pgmap_alloc_move_out(pa, pgmap, true, nr_left);
	percpu_ref_put(&pgmap->ref);
	if (ret)
		return ret;
	/*
	 * No page has a reference any more, but the last one freed may not be
	 * handed back yet: free_zone_device_folio() is short.
	 */
	for (tries = 0; pgmap_alloc_chunk_in_use(chunk) && tries < 100; tries++)
		usleep_range(100, 200);
	*nr_left = pgmap_alloc_chunk_in_use(chunk);
	return *nr_left ? -EBUSY : pgmap_alloc_check_strays(pa, chunk, nr_left);
}

/*
 * Take every chunk marked @removing out of the pool, all with the same grace
 * periods: empty each, take it out of the gen_pool and the chunk list, and
 * once no hand-back can see it, free it and give its pgmap back to the
 * driver. A chunk that cannot leave is unmarked and used again. Called with
 * @remove_lock held, which every marker of chunks holds, so the marked
 * chunks are this caller's. Returns 0 or the last error, with *@nr_left the
 * pages in service in the chunks that stayed.
 */
static int pgmap_alloc_take_out_marked(struct pgmap_alloc *pa,
				       enum pgmap_alloc_remove_reason reason,
				       unsigned long *nr_left)
{
	struct pgmap_alloc_chunk *chunk, *next;
	unsigned long left;
	LIST_HEAD(gone);
	int ret, error = 0;

	lockdep_assert_held(&pa->remove_lock);
	*nr_left = 0;
	/*
	 * Reservations that found a chunk before it was marked are over after
	 * this, their pages in service or left to the undo worker; no new one
	 * can find it. Then every cached page of it goes back.
	 */
	synchronize_rcu();
	flush_work(&pa->parked_work);
	pgmap_alloc_drain_all(pa);

	while ((chunk = pgmap_alloc_next_marked(pa))) {
		ret = pgmap_alloc_empty_chunk(pa, chunk, reason, &left);
		/* Cannot fail: no bit is set, and none can be */
		if (!ret)
			ret = gen_pool_remove_chunk(pa->pool, chunk->base);
		if (ret) {
			WRITE_ONCE(chunk->removing, false);
			*nr_left += left;
			error = ret;
			continue;
		}
		mutex_lock(&pa->lock);
		list_move(&chunk->node, &gone);
		pgmap_alloc_set_cache_limit(pa);
		/* Still mapped, until ->release: the stats count it. */
		atomic_long_add(chunk->nr_pages, &pa->nr_leaving);
		mutex_unlock(&pa->lock);
		WRITE_ONCE(chunk->pgmap->allocator, NULL);
	}
	if (list_empty(&gone))
		return error;

	/*
	 * The driver may unmap the pgmaps now: a hand-back that still saw a
	 * chunk holds a reference on its pgmap, which memunmap_pages() waits
	 * for, and nothing else of the pool touches their pages.
	 */
	list_for_each_entry(chunk, &gone, node) {
		atomic_long_inc(&pa->nr_removed);
		trace_pgmap_alloc_remove(pa, chunk->pgmap, chunk->nr_pages, reason);
		if (pa->ops && pa->ops->release)
			pa->ops->release(pa, chunk->pgmap, pa->data);
		atomic_long_sub(chunk->nr_pages, &pa->nr_leaving);
	}
	/* RCU readers that still saw the chunks are done after this. */
	synchronize_rcu();
	list_for_each_entry_safe(chunk, next, &gone, node) {
		kvfree(chunk->reserved);
		kfree(chunk);
	}
	return error;
}

/*
 * Refuse removals and compactions (@what) from where they would deadlock:
 * they take @lock, which a walk holds, and @remove_lock, which ->copy and
 * ->release run under.
 */
static int pgmap_alloc_may_remove(struct pgmap_alloc *pa, const char *what)
{
	if (WARN_ONCE(READ_ONCE(pa->walk_task) == current,
		      "pgmap_alloc %s: %s from a walk callback\n", pa->name, what))
		return -EDEADLK;
	if (WARN_ONCE(READ_ONCE(pa->remove_task) == current,
		      "pgmap_alloc %s: %s from ->copy or ->release\n", pa->name, what))
		return -EDEADLK;
	/*
	 * ->grow holds @grow_lock; a removal holds @remove_lock while ->copy
	 * and ->release run, which may allocate and so wait for @grow_lock.
	 */
	if (WARN_ONCE(READ_ONCE(pa->grow_task) == current,
		      "pgmap_alloc %s: %s from ->grow\n", pa->name, what))
		return -EDEADLK;
	return 0;
}

/**
 * pgmap_alloc_remove_pgmap() - Take a pgmap out of a pool and give it back.
 * @pa: The pool.
 * @pgmap: A pgmap of @pa.
 * @nr_left: If not NULL, set to the number of pages of @pgmap still in
 *	service if the removal failed, else 0.
 *
 * At once, no page of @pgmap is handed out any more. Its pages in service
 * are moved out, as by pgmap_alloc_evict(), but to free pages of the pool's
 * other pgmaps while there are some (&pgmap_alloc_ops.copy then copies
 * device to device), and to system RAM for the rest. Once no page of it is
 * in service, @pgmap leaves the pool and &pgmap_alloc_ops.release is called
 * for it, from this call, so that the driver unmaps it. Without a copy
 * callback, only a pgmap none of whose pages is in service can be removed.
 *
 * If pages cannot be moved (see pgmap_alloc_evict()), the removal fails and
 * @pgmap stays in the pool and is used again; the pages already moved stay
 * where they went.
 *
 * Context: Process context; sleeps for RCU grace periods, and as long as
 * the copies take. Not from a walk callback, ->grow, ->copy nor ->release.
 * Return: 0; -EBUSY if pages of @pgmap are still in service (without a copy
 * callback, or after eviction gave up), or an error of eviction as for
 * pgmap_alloc_evict(); -ENODEV if @pa was destroyed or @pgmap is being torn
 * down; -EINVAL (warned about once) if @pgmap is not in @pa; -EDEADLK
 * (warned about once) from a walk callback, ->grow, ->copy or ->release.
 */
int pgmap_alloc_remove_pgmap(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
			     unsigned long *nr_left)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long left = 0;
	int ret;

	if (nr_left)
		*nr_left = 0;
	if (WARN_ON_ONCE(!pa || !pgmap))
		return -EINVAL;
	ret = pgmap_alloc_may_remove(pa, "pgmap removed");
	if (ret)
		return ret;
	might_sleep();

	mutex_lock(&pa->remove_lock);
	/* Under @remove_lock, no other removal can free the chunk meanwhile. */
	chunk = READ_ONCE(pgmap->allocator);
	if (WARN_ON_ONCE(!chunk || chunk->pa != pa)) {
		ret = -EINVAL;
		goto unlock;
	}
	mutex_lock(&pa->lock);
	ret = pa->dead ? -ENODEV : 0;
	if (!ret)
		WRITE_ONCE(chunk->removing, true);
	mutex_unlock(&pa->lock);
	if (ret)
		goto unlock;

	WRITE_ONCE(pa->remove_task, current);
	ret = pgmap_alloc_take_out_marked(pa, PGMAP_ALLOC_REMOVED_BY_DRIVER, &left);
	WRITE_ONCE(pa->remove_task, NULL);
unlock:
	mutex_unlock(&pa->remove_lock);
	if (nr_left)
		*nr_left = left;
	return ret;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_remove_pgmap);

/**
 * pgmap_alloc_remove_all() - Take every pgmap out of a pool.
 * @pa: The pool.
 * @nr_left: If not NULL, set to the number of pages still in service in
 *	the pgmaps that could not be removed, else 0.
 *
 * As pgmap_alloc_remove_pgmap() for each pgmap of @pa, all marked at once,
 * so that pages in service go to system RAM rather than from one leaving
 * pgmap to the next. The pool stays, empty, and a pool with
 * &pgmap_alloc_ops.grow grows again on the next allocation: a device reset,
 * or a driver that gives all of its device memory back while it is idle.
 * pgmaps added meanwhile stay.
 *
 * Context: As for pgmap_alloc_remove_pgmap().
 * Return: 0, or the last error of a pgmap that stayed, as for
 * pgmap_alloc_remove_pgmap(); -ENODEV if @pa was destroyed; -EINVAL or
 * -EDEADLK (warned about once) for a NULL @pa or a call from a walk
 * callback or ->release.
 */
int pgmap_alloc_remove_all(struct pgmap_alloc *pa, unsigned long *nr_left)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long left = 0;
	int ret, error = 0;

	if (nr_left)
		*nr_left = 0;
	if (WARN_ON_ONCE(!pa))
		return -EINVAL;
	ret = pgmap_alloc_may_remove(pa, "pgmap removed");
	if (ret)
		return ret;
	might_sleep();

	mutex_lock(&pa->remove_lock);
	mutex_lock(&pa->lock);
	if (pa->dead)
		error = -ENODEV;
	else
		list_for_each_entry(chunk, &pa->chunks, node)
			WRITE_ONCE(chunk->removing, true);
	mutex_unlock(&pa->lock);
	WRITE_ONCE(pa->remove_task, current);
	if (!error)
		error = pgmap_alloc_take_out_marked(pa, PGMAP_ALLOC_REMOVED_BY_DRIVER, &left);
	WRITE_ONCE(pa->remove_task, NULL);
	mutex_unlock(&pa->remove_lock);
	if (nr_left)
		*nr_left = left;
	return error;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_remove_all);

/* === Compaction: moving pages in service to make free blocks ============= */

/* Which pages gen_pool_alloc_algo_owner() is to claim with pgmap_alloc_place_at(). */
struct pgmap_alloc_claim {
	struct pgmap_alloc_chunk *chunk;
	unsigned long bit;
};

/*
 * A gen_pool algorithm that takes the pages at one offset of one chunk, or
 * nothing. gen_pool calls it again after losing the race for the bits, and
 * then it finds them taken.
 */
static unsigned long pgmap_alloc_place_at(unsigned long *map, unsigned long size,
					  unsigned long start, unsigned int nr,
					  void *data, struct gen_pool *pool,
					  unsigned long start_addr)
{
	struct gen_pool_chunk *gchunk = container_of(map, struct gen_pool_chunk,
						     bits[0]);
	const struct pgmap_alloc_claim *claim = data;
	unsigned long end = claim->bit + nr;

	if (gchunk->owner != claim->chunk || end > size)
		return size;
	/* Lockless, as in pgmap_alloc_place() */
	if (data_race(find_next_bit(map, end, claim->bit)) < end)
		return size;
	return claim->bit;
}

/* Take the @nr pages at @offset of @chunk from the gen_pool, if all are free. */
static bool pgmap_alloc_claim(struct pgmap_alloc_chunk *chunk, pgoff_t offset,
			      unsigned long nr)
{
	struct pgmap_alloc_claim claim = { .chunk = chunk, .bit = offset };

	return gen_pool_alloc_algo_owner(chunk->pa->pool, nr, pgmap_alloc_place_at,
					 &claim, NULL);
}

/*
 * Bits set among the @nr from @start: by words for a block aligned to its
 * power-of-two size, bit by bit for the tail of a chunk.
 */
static unsigned long pgmap_alloc_bits_set(const unsigned long *map,
					  unsigned long start, unsigned long nr)
{
	unsigned long n = 0;

	if (!(start % BITS_PER_LONG) && !(nr % BITS_PER_LONG))
		return bitmap_weight(map + BIT_WORD(start), nr);
	if (is_power_of_2(nr) && nr < BITS_PER_LONG && !(start % nr))
		return hweight_long((map[BIT_WORD(start)] >> (start % BITS_PER_LONG)) &
				    (BIT(nr) - 1));
	for (; nr; nr--, start++)
		n += test_bit(start, map);
	return n;
}

/* The pfn of the page at @offset of @chunk's pgmap. */
static unsigned long pgmap_alloc_offset_pfn(const struct pgmap_alloc_chunk *chunk,
					    pgoff_t offset)
{
	const struct dev_pagemap *pgmap = chunk->pgmap;
	unsigned long nr;
	int i;

	for (i = 0; i < pgmap->nr_range - 1; i++) {
		nr = PHYS_PFN(range_len(&pgmap->ranges[i]));
		if (offset < nr)
			break;
		offset -= nr;
	}
	return PHYS_PFN(pgmap->ranges[i].start) + offset;
}

/*
 * May every page in service of the block move? Only a page that processes
 * map and nothing else holds can (pgmap_alloc_evict_prepare()). A racy look,
 * so that a block with a page that will not move costs no copy.
 */
static bool pgmap_alloc_block_movable(const struct pgmap_alloc_chunk *chunk,
				      pgoff_t start, unsigned long nr)
{
	unsigned long pfn = pgmap_alloc_offset_pfn(chunk, start), i;

	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pfn_to_page(pfn + i));
		int refs = folio_ref_count(folio);

		if (refs && (folio_test_large(folio) || folio_test_locked(folio) ||
			     refs > folio_mapcount(folio)))
			return false;
	}
	return true;
}

/* A compaction's state: allocated per call, as it is large. */
struct pgmap_alloc_compact_work {
	struct pgmap_alloc_evict_batch batch;
	struct pgmap_alloc_compaction block;
	unsigned int order;
	/* Blocks by pages used: what the moves can fill, fullest first */
	unsigned long nr_by_used[MAX_ORDER_NR_PAGES + 1];
	/* Blocks tried, which are not tried again */
	struct {
		struct pgmap_alloc_chunk *chunk;
		unsigned long start;
	} tried[PGMAP_ALLOC_COMPACT_TRIES];
	unsigned int nr_tried;
	struct pgmap_alloc_compact_result result;
};

static bool pgmap_alloc_compact_tried(const struct pgmap_alloc_compact_work *w,
				      const struct pgmap_alloc_chunk *chunk,
				      unsigned long start)
{
	unsigned int i;

	for (i = 0; i < w->nr_tried; i++)
		if (w->tried[i].chunk == chunk && w->tried[i].start == start)
			return true;
	return false;
}

/*
 * Pages used in the block at @start of @chunk (@map its gen_pool bits),
 * counting what lies past the end of the chunk as used. Sets *@whole if the
 * block could be handed out as one range.
 */
static unsigned long pgmap_alloc_block_used(const struct pgmap_alloc_chunk *chunk,
					    const unsigned long *map,
					    unsigned long start, unsigned long nr,
					    bool *whole)
{
	unsigned long span = min(nr, chunk->nr_pages - start), end;

	*whole = span == nr && !pgmap_alloc_crosses(chunk, start, nr, &end);
	/* A snapshot, racing with allocations and hand-backs */
	return data_race(pgmap_alloc_bits_set(map, start, span)) + nr - span;
}

/*
 * Choose the block to empty: of those not tried yet, the one with the fewest
 * pages used whose pages in service may all move. Counts the blocks by
 * pages used on the way. Returns 0 with @w->block set, 1 if a block of the
 * order is free already, or -ENOSPC if none may be emptied.
 */
static int pgmap_alloc_compact_choose(struct pgmap_alloc *pa,
				      struct pgmap_alloc_compact_work *w)
{
	unsigned long nr = 1UL << w->order, best = nr, start, used;
	struct pgmap_alloc_chunk *chunk;
	bool whole;
	int ret = -ENOSPC;

	memset(w->nr_by_used, 0, sizeof(w->nr_by_used));
	w->block.chunk = NULL;
	/* @lock for the list: chunks are added under it, removed under ours */
	mutex_lock(&pa->lock);
	list_for_each_entry(chunk, &pa->chunks, node) {
		if (READ_ONCE(chunk->removing))
			continue;
		for (start = 0; start < chunk->nr_pages; start += nr) {
			if (!(start % (BITS_PER_LONG * PGMAP_ALLOC_EVICT_BATCH)))
				cond_resched();
			used = pgmap_alloc_block_used(chunk, chunk->map, start, nr, &whole);
			w->nr_by_used[used]++;
			if (!whole)
				continue;
			if (!used) {
				ret = 1;
				goto out;
			}
			if (used < best && !pgmap_alloc_compact_tried(w, chunk, start) &&
			    pgmap_alloc_block_movable(chunk, start, nr)) {
				best = used;
				w->block.chunk = chunk;
				w->block.start = start;
				ret = 0;
			}
		}
	}
out:
	mutex_unlock(&pa->lock);
	return ret;
}

/*
 * The fewest pages used that a block may have to take moved pages, if the
 * blocks with as many or more hold @need free pages, not counting the chosen
 * block's own; 0 if they do not.
 */
static unsigned long pgmap_alloc_compact_level(struct pgmap_alloc_compact_work *w,
					       unsigned long used,
					       unsigned long need)
{
	unsigned long nr = 1UL << w->order, level, room = 0;

	for (level = nr - 1; level > 0; level--) {
		room += (nr - level) * w->nr_by_used[level];
		if (level == used)
			room -= nr - used;
		if (room >= need)
			return level;
	}
	return 0;
}

/*
 * Start emptying @w->block: from now on, each page of it that goes back to
 * the pool stays claimed, cached pages of it come back, and each free page
 * of it is claimed, so that nothing is placed there.
 */
static void pgmap_alloc_compact_begin(struct pgmap_alloc *pa,
				      struct pgmap_alloc_compact_work *w)
{
	struct pgmap_alloc_compaction *c = &w->block;
	unsigned long flags, bit, end, run_end, i;
	int tries;

	bitmap_zero(c->claimed, MAX_ORDER_NR_PAGES);
	raw_spin_lock_irqsave(&pa->compact_lock, flags);
	pa->compaction = c;
	WRITE_ONCE(c->chunk->compacting, true);
	raw_spin_unlock_irqrestore(&pa->compact_lock, flags);
	/* A hand-back racing with the flag cached its page: this brings it back. */
	pgmap_alloc_drain_all(pa);
	/*
	 * A hand-back that read the flag just before it was set may still
	 * cache a page of the block after this drain: the block then stays
	 * used and the next one is tried; a missed block, never a lost page.
	 */

	/* A run lost to an allocation is looked at again, a few times. */
	for (tries = 0; tries < 3; tries++) {
		bool lost = false;

		end = c->start + c->nr;
		for (bit = c->start; ; bit = run_end) {
			/* Lockless: a claim of a run that changed fails, and is retried */
			bit = data_race(find_next_zero_bit(c->chunk->map, end, bit));
			if (bit >= end)
				break;
			/* Lockless, as above */
			run_end = data_race(find_next_bit(c->chunk->map, end, bit));
			if (!pgmap_alloc_claim(c->chunk, bit, run_end - bit)) {
				lost = true;
				continue;
			}
			/* Atomic: pgmap_alloc_compact_keep() sets bits too. */
			for (i = bit; i < run_end; i++)
				set_bit(i - c->start, c->claimed);
		}
		if (!lost)
			break;
	}
}

/*
 * Stop emptying @w->block. If every page of it is claimed, the block is
 * free: the first @nr_capture pages of it become reserved for the caller,
 * the rest goes back to the gen_pool, in one piece; returns true. Else its
 * claimed pages go back, and it returns false.
 */
static bool pgmap_alloc_compact_end(struct pgmap_alloc *pa,
				    struct pgmap_alloc_compact_work *w,
				    unsigned long nr_capture)
{
	struct pgmap_alloc_compaction *c = &w->block;
	unsigned long flags, start, end;
	bool freed;

	raw_spin_lock_irqsave(&pa->compact_lock, flags);
	pa->compaction = NULL;
	WRITE_ONCE(c->chunk->compacting, false);
	raw_spin_unlock_irqrestore(&pa->compact_lock, flags);

	/* No page of the block was reserved: no hand-back can come for it. */
	freed = bitmap_full(c->claimed, c->nr);
	if (freed && nr_capture) {
		pgmap_alloc_mark_reserved(c->chunk, c->start, nr_capture);
		bitmap_clear(c->claimed, 0, nr_capture);
	}
	for_each_set_bitrange(start, end, c->claimed, c->nr)
		pgmap_alloc_free_bits(c->chunk, c->start + start, end - start);
	return freed;
}

/*
 * Reserve @need free pages for the moves and put them into service, as
 * pgmap_alloc_try() would, in the fullest blocks, so that the moves fill
 * holes and break no free block: every hole of the blocks with more than
 * @level pages used, then holes of those with @level.
 */
static void pgmap_alloc_compact_targets(struct pgmap_alloc *pa,
					struct pgmap_alloc_compact_work *w,
					unsigned long need, unsigned long level)
{
	struct pgmap_alloc_evict_batch *b = &w->batch;
	unsigned long nr = 1UL << w->order, start, used, bit, end;
	struct pgmap_alloc_chunk *chunk;
	struct folio *folio;
	struct page *page;
	bool whole, at_level;

	mutex_lock(&pa->lock);
	for (at_level = false; b->nr_dev < need; at_level = true) {
		list_for_each_entry(chunk, &pa->chunks, node) {
			if (READ_ONCE(chunk->removing))
				continue;
			for (start = 0; start < chunk->nr_pages && b->nr_dev < need;
			     start += nr) {
				if (!(start % (BITS_PER_LONG * PGMAP_ALLOC_EVICT_BATCH)))
					cond_resched();
				used = pgmap_alloc_block_used(chunk, chunk->map,
							      start, nr, &whole);
				if (used >= nr || (at_level ? used != level : used <= level) ||
				    (chunk == w->block.chunk && start == w->block.start))
					continue;
				end = min(start + nr, chunk->nr_pages);
				for (bit = start; b->nr_dev < need; bit++) {
					/* Lockless: a claim of a bit taken meanwhile fails */
					bit = data_race(find_next_zero_bit(chunk->map, end, bit));
					if (bit >= end)
						break;
					if (!pgmap_alloc_claim(chunk, bit, 1))
						continue;
					pgmap_alloc_mark_reserved(chunk, bit, 1);
					folio = pgmap_alloc_into_service(chunk, bit, 1, &page);
					if (!IS_ERR(folio))
						b->dev[b->nr_dev++] = page;
				}
			}
		}
		if (at_level)
			break;
	}
	mutex_unlock(&pa->lock);
}

/*
 * Empty blocks of @w->order until one is free, within @budget pages moved;
 * the first @nr_capture pages of the block made free are reserved for the
 * caller. Returns 0 when it made a block free, -EEXIST if one was free
 * already, -ENOSPC if it could not make one.
 */
static int pgmap_alloc_compact_locked(struct pgmap_alloc *pa,
				      struct pgmap_alloc_compact_work *w,
				      unsigned long budget, unsigned long nr_capture)
{
	struct pgmap_alloc_evict_batch *b = &w->batch;
	struct pgmap_alloc_compaction *c = &w->block;
	unsigned long nr = 1UL << w->order, pfn, need, used, level, moved, i, n;
	int ret, tries;
	bool freed;

	lockdep_assert_held(&pa->remove_lock);
	b->to_device = true;
	/* Cached pages count as used: bring them back first. */
	pgmap_alloc_drain_all(pa);
	while (w->nr_tried < PGMAP_ALLOC_COMPACT_TRIES && b->to_device) {
		ret = pgmap_alloc_compact_choose(pa, w);
		if (ret)
			return ret > 0 ? -EEXIST : ret;
		c->nr = nr;
		w->tried[w->nr_tried].chunk = c->chunk;
		w->tried[w->nr_tried++].start = c->start;
		pfn = pgmap_alloc_offset_pfn(c->chunk, c->start);
		/* A snapshot: what is in service is counted again below */
		used = data_race(pgmap_alloc_bits_set(c->chunk->map, c->start, nr));
		if (w->result.pages_moved + used > budget)
			return -ENOSPC;
		level = pgmap_alloc_compact_level(w, used, used);
		if (!level)
			return -ENOSPC;

		pgmap_alloc_compact_begin(pa, w);
		/*
		 * A batch at a time, each with its destinations (the batch holds
		 * one pageblock's); a batch that cannot have them all leaves the
		 * block as it is. The pages in service now are at most @used.
		 */
		need = 0;
		moved = 0;
		for (i = 0; i < nr && b->to_device; i += n) {
			unsigned long referenced;

			n = min(nr - i, PGMAP_ALLOC_EVICT_BATCH);
			referenced = pgmap_alloc_nr_referenced(pfn + i, n);
			if (!referenced)
				continue;
			if (w->result.pages_moved + moved + referenced > budget)
				break;
			pgmap_alloc_compact_targets(pa, w, referenced, level);
			if (b->nr_dev < referenced)
				break;
			need += referenced;
			/* Destinations to find: none, the batch has them all. */
			moved += pgmap_alloc_evict_range(pa, b, pfn + i, n, 0);
		}
		pgmap_alloc_evict_free_spares(b);
		/* The last page moved may not be handed back yet, as for removals */
		for (tries = 0; tries < 100 && !pgmap_alloc_nr_referenced(pfn, nr) &&
		     /* Racing pgmap_alloc_compact_keep(), which only sets bits */
		     !data_race(bitmap_full(c->claimed, nr)); tries++)
			usleep_range(100, 200);
		freed = pgmap_alloc_compact_end(pa, w, nr_capture);
		w->result.pages_moved += moved;
		if (freed) {
			w->result.blocks_freed++;
			w->result.pages_in_freed += need;
			return 0;
		}
	}
	return -ENOSPC;
}

/*
 * Run a compaction with @remove_lock held: see pgmap_alloc_compact(). With
 * @nr_capture, the pages of the block made free go to @pages.
 */
static int pgmap_alloc_compact_run(struct pgmap_alloc *pa, unsigned int order,
				   unsigned long budget, unsigned long nr_capture,
				   struct page **pages,
				   struct pgmap_alloc_compact_result *result)
{
	struct pgmap_alloc_compact_work *w;
	struct folio *folio;
	int ret;

	lockdep_assert_held(&pa->remove_lock);
	if (READ_ONCE(pa->dead))
		return -ENODEV;
	w = kvzalloc(sizeof(*w), GFP_KERNEL);
	if (!w)
		return -ENOMEM;
	w->order = order;
	/* ->copy runs: refuse what would deadlock from inside it. */
	WRITE_ONCE(pa->remove_task, current);
	ret = pgmap_alloc_compact_locked(pa, w, budget, nr_capture);
	WRITE_ONCE(pa->remove_task, NULL);
	if (!ret && nr_capture) {
		folio = pgmap_alloc_into_service(w->block.chunk, w->block.start,
						 nr_capture, pages);
		ret = PTR_ERR_OR_ZERO(folio);
	}
	if (ret != -EEXIST) {
		atomic_long_inc(&pa->nr_compactions);
		atomic_long_add(w->result.pages_moved, &pa->nr_compact_moved);
		atomic_long_add(w->result.blocks_freed, &pa->nr_compact_freed);
		trace_pgmap_alloc_compact(pa, order, w->result.pages_moved,
					  w->result.blocks_freed);
	}
	if (result)
		*result = w->result;
	kvfree(w);
	return ret;
}

/*
 * Whether an allocation that found no room should compact: only for a
 * range, which needs free pages together, when the free pages would cover
 * it, the pool can copy, and the caller may wait for a copy (GFP_KERNEL,
 * outside reclaim).
 */
static bool pgmap_alloc_may_compact(struct pgmap_alloc *pa,
				    unsigned long nr_pages, gfp_t gfp)
{
	return nr_pages > 1 && pa->ops && pa->ops->copy &&
	       (current_gfp_context(gfp) & GFP_KERNEL) == GFP_KERNEL &&
	       !(current->flags & PF_MEMALLOC) &&
	       gen_pool_avail(pa->pool) >= nr_pages;
}

/*
 * The compaction of an allocation that found no room: once, moving at most
 * a block's worth of pages, and the block it frees goes to the allocation,
 * not to whoever looks first. It does not wait for @remove_lock: a removal
 * or compaction runs ->copy under it, which may take a lock that this
 * allocation's caller holds; the allocation goes on without compacting.
 */
static int pgmap_alloc_compact_for(struct pgmap_alloc *pa, unsigned long nr_pages,
				   unsigned int align_order, struct page **pages)
{
	int ret;

	if (!mutex_trylock(&pa->remove_lock))
		return -ENOMEM;
	ret = pgmap_alloc_compact_run(pa, align_order, 1UL << align_order,
				      nr_pages, pages, NULL);
	mutex_unlock(&pa->remove_lock);
	if (ret == -EEXIST) {
		rcu_read_lock();
		ret = pgmap_alloc_try(pa, nr_pages, align_order, pages);
		rcu_read_unlock();
	}
	return ret == -ENOSPC ? -ENOMEM : ret;
}

/**
 * pgmap_alloc_compact() - Move pages in service to make a free block.
 * @pa: The pool, which has &pgmap_alloc_ops.copy.
 * @order: Order of the block: 9 for a 2 MiB range of 4 KiB pages.
 * @budget: The most pages to move.
 * @result: If not NULL, set to what the call did.
 *
 * Empties the aligned block of 1 << @order pages that has the fewest pages
 * in service, as mm/compaction.c does for the page allocator: its pages in
 * service are moved device to device, by &pgmap_alloc_ops.copy, into free
 * pages of the fullest blocks of the pool, so that no free block is broken.
 * Until the call ends no page is placed in the block, and then it is free,
 * whole. A block with a page that cannot move (see pgmap_alloc_evict(): a
 * page that no process maps, a pinned one, one the copy refuses) stays as it
 * is, and the next one is tried, up to a few blocks.
 *
 * It stops as soon as a free block of @order exists, or before it would move
 * more than @budget pages. An allocation of a range with a blocking @gfp
 * (GFP_KERNEL) that finds no room, while the pool's free pages would cover
 * it, compacts once by itself, with a budget of one block, before it grows
 * the pool or fails: so &pgmap_alloc_ops.copy may be called from inside
 * pgmap_alloc_range().
 *
 * Context: Process context; sleeps. Not from a walk callback, ->grow, ->copy
 * nor ->release. @pa must not be destroyed while this runs.
 * Return: 0 if a free block of @order exists when it returns (made free,
 * or there already); -ENOSPC if it could not make one; -ENODEV if @pa was
 * destroyed; -ENOMEM; -EINVAL (warned about once) for a NULL @pa or an
 * @order above MAX_PAGE_ORDER; -EOPNOTSUPP (warned about once) if @pa has
 * no copy callback; -EDEADLK (warned about once) from a walk callback,
 * ->grow, ->copy or ->release.
 */
int pgmap_alloc_compact(struct pgmap_alloc *pa, unsigned int order,
			unsigned long budget,
			struct pgmap_alloc_compact_result *result)
{
	int ret;

	if (result)
		memset(result, 0, sizeof(*result));
	if (WARN_ON_ONCE(!pa || order > MAX_PAGE_ORDER))
		return -EINVAL;
	ret = pgmap_alloc_may_remove(pa, "compaction");
	if (ret)
		return ret;
	if (WARN_ON_ONCE(!pa->ops || !pa->ops->copy))
		return -EOPNOTSUPP;
	might_sleep();
	mutex_lock(&pa->remove_lock);
	ret = pgmap_alloc_compact_run(pa, order, budget, 0, NULL, result);
	mutex_unlock(&pa->remove_lock);
	return ret == -EEXIST ? 0 : ret;
}
EXPORT_SYMBOL_GPL(pgmap_alloc_compact);

/* === Giving idle pgmaps back: a memmap that follows use ================== */

/*
 * Mark @removing the pgmaps to give back now, and return how many: those
 * of a growing pool with no page reserved, idle for @delay (any if
 * @shrink) and at least PGMAP_ALLOC_MIN_IDLE, as long as what stays keeps
 * @min_pages in the pool. The newest first, so that the pgmaps a pool
 * started with stay. Sets *@next to the jiffies when the next one comes of
 * age, if that is earlier.
 */
static unsigned int pgmap_alloc_mark_idle(struct pgmap_alloc *pa, bool shrink,
					  unsigned long delay, unsigned long *next)
{
	struct pgmap_alloc_chunk *chunk;
	unsigned long size, due;
	unsigned int nr = 0;

	mutex_lock(&pa->lock);
	if (pa->dead || (!shrink && !delay))
		goto unlock;
	size = gen_pool_size(pa->pool);
	list_for_each_entry_reverse(chunk, &pa->chunks, node) {
		unsigned long idle_since = READ_ONCE(chunk->idle_since);

		/* @size counts the chunk: no overflow for any @min_pages */
		if (chunk->removing || atomic_long_read(&chunk->nr_reserved) ||
		    !idle_since || size - chunk->nr_pages < READ_ONCE(pa->min_pages))
			continue;
		due = idle_since + max(shrink ? 0 : delay, PGMAP_ALLOC_MIN_IDLE);
		if (time_before(jiffies, due)) {
			if (!*next || time_before(due, *next))
				*next = due;
			continue;
		}
		WRITE_ONCE(chunk->removing, true);
		size -= chunk->nr_pages;
		nr++;
	}
unlock:
	mutex_unlock(&pa->lock);
	return nr;
}

/*
 * Give back the pgmaps that have been idle long enough, or, when the
 * shrinker asked, every free one; then wait for the next to come of age.
 * Removing a pgmap unmaps memory (memunmap_pages() in ->release takes the
 * memory hotplug lock, whose holders allocate), which reclaim must not wait
 * for: so the shrinker only queues this. On system_unbound_wq, not
 * pgmap_alloc_wq: it empties caches by flushing pgmap_alloc_wq's items,
 * which an item of a queue with a rescuer must not wait for (the rescuer
 * may be the one thread left to run them).
 */
static void pgmap_alloc_idle_work(struct work_struct *work)
{
	struct pgmap_alloc *pa = container_of(to_delayed_work(work),
					      struct pgmap_alloc, idle_work);
	unsigned long delay = msecs_to_jiffies(READ_ONCE(pa->idle_ms));
	bool shrink = xchg(&pa->shrink_now, false);
	enum pgmap_alloc_remove_reason reason;
	unsigned long next = 0, nr_left;

	reason = shrink ? PGMAP_ALLOC_REMOVED_BY_SHRINKER : PGMAP_ALLOC_REMOVED_IDLE;
	mutex_lock(&pa->remove_lock);
	/* All at once: two grace periods for any number of pgmaps */
	if (pgmap_alloc_mark_idle(pa, shrink, delay, &next)) {
		WRITE_ONCE(pa->remove_task, current);
		/* A pgmap put back into use meanwhile stays, unmarked. */
		pgmap_alloc_take_out_marked(pa, reason, &nr_left);
		WRITE_ONCE(pa->remove_task, NULL);
	}
	mutex_unlock(&pa->remove_lock);
	if (next)
		queue_delayed_work(system_unbound_wq, &pa->idle_work,
				   time_after(next, jiffies) ? next - jiffies : 0);
}

/**
 * pgmap_alloc_set_idle() - Set when a growing pool gives pgmaps back.
 * @pa: A pool with &pgmap_alloc_ops.grow.
 * @idle_ms: A pgmap that has been entirely free (no page in service or
 *	cached) for this long is removed as by pgmap_alloc_remove_pgmap(),
 *	and &pgmap_alloc_ops.release unmaps it; 0 to remove pgmaps only under
 *	memory pressure. The default is 5000 ms.
 * @min_pages: The pool never shrinks below this many pages; the default, 1,
 *	keeps at least one pgmap.
 *
 * A growing pool follows its use: it grows a pgmap at a time when full, and
 * gives back a pgmap that stayed free for @idle_ms, or at once when the
 * kernel runs short of memory (its shrinker), so that the memmap of device
 * memory (64 bytes per 4 KiB page) is mapped only while it is used. The
 * idle time is the hysteresis: a pgmap that is used again within it stays.
 * Both values are also in debugfs, as idle_ms and min_pages.
 *
 * So a pgmap of a growing pool may leave whenever it is free: the driver
 * must not keep pointers to its pgmaps besides what &pgmap_alloc_ops.release
 * frees, and reaches them with pgmap_alloc_walk_pgmaps(), under whose lock
 * none leaves.
 *
 * Context: Any context.
 */
void pgmap_alloc_set_idle(struct pgmap_alloc *pa, unsigned int idle_ms,
			  unsigned long min_pages)
{
	if (WARN_ON_ONCE(!pa))
		return;
	WRITE_ONCE(pa->idle_ms, idle_ms);
	WRITE_ONCE(pa->min_pages, min_pages);
	/* A pgmap already idle is looked at under the new rules. */
	if (pa->ops && pa->ops->grow)
		mod_delayed_work(system_unbound_wq, &pa->idle_work, 0);
}
EXPORT_SYMBOL_GPL(pgmap_alloc_set_idle);

/* === Managed (devm) ======================================================= */

static void devm_pgmap_alloc_destroy(void *pa)
{
	pgmap_alloc_destroy(pa);
}

/**
 * devm_pgmap_alloc_init() - pgmap_alloc_init() undone when @dev unbinds.
 * @dev: The device that owns @pgmap.
 * @pgmap: As for pgmap_alloc_init().
 * @name: As for pgmap_alloc_init().
 *
 * devm actions run in reverse order, so if it is called after
 * devm_memremap_pages(), the pool is destroyed just before the pgmap is
 * unmapped, the teardown order of pgmap_alloc_destroy(). The pool has no
 * copy callback: the driver must have evicted all its pages by then (in its
 * remove callback), or the pool is reported and leaked.
 *
 * Context: Process context.
 * Return: As for pgmap_alloc_init().
 */
struct pgmap_alloc *devm_pgmap_alloc_init(struct device *dev,
					  struct dev_pagemap *pgmap,
					  const char *name)
{
	struct pgmap_alloc *pa;
	int ret;

	pa = pgmap_alloc_init(pgmap, name);
	if (IS_ERR(pa))
		return pa;
	ret = devm_add_action_or_reset(dev, devm_pgmap_alloc_destroy, pa);
	return ret ? ERR_PTR(ret) : pa;
}
EXPORT_SYMBOL_GPL(devm_pgmap_alloc_init);

static int __init pgmap_alloc_setup(void)
{
	int ret;

	/* A prepare state: its teardown runs once the CPU is dead. */
	ret = cpuhp_setup_state_multi(CPUHP_BP_PREPARE_DYN, "lib/pgmap_alloc:dead",
				      NULL, pgmap_alloc_cpu_dead);
	if (WARN_ON(ret < 0))
		return ret;
	pgmap_alloc_cpuhp_state = ret;
	pgmap_alloc_wq = alloc_workqueue("pgmap_alloc", WQ_MEM_RECLAIM | WQ_HIGHPRI, 0);
	if (WARN_ON(!pgmap_alloc_wq))
		return -ENOMEM;
	pgmap_alloc_debugfs_root = debugfs_create_dir("pgmap_alloc", NULL);
	return 0;
}
core_initcall(pgmap_alloc_setup);
