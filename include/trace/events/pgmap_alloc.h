/* SPDX-License-Identifier: GPL-2.0 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM pgmap_alloc

#if !defined(_TRACE_PGMAP_ALLOC_H) || defined(TRACE_HEADER_MULTI_READ)
#define _TRACE_PGMAP_ALLOC_H

#include <linux/tracepoint.h>

DECLARE_EVENT_CLASS(pgmap_alloc_offsets,
		    TP_PROTO(const void *pa, const void *pgmap,
			     unsigned long offset, unsigned long nr_pages),
		    TP_ARGS(pa, pgmap, offset, nr_pages),
		    TP_STRUCT__entry(__field(const void *, pa)
				     __field(const void *, pgmap)
				     __field(unsigned long, offset)
				     __field(unsigned long, nr_pages)),
		    TP_fast_assign(__entry->pa = pa;
				   __entry->pgmap = pgmap;
				   __entry->offset = offset;
				   __entry->nr_pages = nr_pages;),
		    TP_printk("pool=%p pgmap=%p offset=%lu nr_pages=%lu",
			      __entry->pa, __entry->pgmap, __entry->offset,
			      __entry->nr_pages)
);

/* Pages handed out by the pool. */
DEFINE_EVENT(pgmap_alloc_offsets, pgmap_alloc_alloc,
	     TP_PROTO(const void *pa, const void *pgmap, unsigned long offset,
		      unsigned long nr_pages),
	     TP_ARGS(pa, pgmap, offset, nr_pages)
);

/* Pages handed back when their folio was freed. */
DEFINE_EVENT(pgmap_alloc_offsets, pgmap_alloc_free,
	     TP_PROTO(const void *pa, const void *pgmap, unsigned long offset,
		      unsigned long nr_pages),
	     TP_ARGS(pa, pgmap, offset, nr_pages)
);

/* An allocation of @nr_pages that failed with @error. */
TRACE_EVENT(pgmap_alloc_fail,
	    TP_PROTO(const void *pa, unsigned long nr_pages, int error),
	    TP_ARGS(pa, nr_pages, error),
	    TP_STRUCT__entry(__field(const void *, pa)
			     __field(unsigned long, nr_pages)
			     __field(int, error)),
	    TP_fast_assign(__entry->pa = pa;
			   __entry->nr_pages = nr_pages;
			   __entry->error = error;),
	    TP_printk("pool=%p nr_pages=%lu error=%d",
		      __entry->pa, __entry->nr_pages, __entry->error)
);

/* An eviction of a pgmap, which left @nr_left pages in service. */
TRACE_EVENT(pgmap_alloc_evict,
	    TP_PROTO(const void *pa, const void *pgmap, unsigned long nr_left),
	    TP_ARGS(pa, pgmap, nr_left),
	    TP_STRUCT__entry(__field(const void *, pa)
			     __field(const void *, pgmap)
			     __field(unsigned long, nr_left)),
	    TP_fast_assign(__entry->pa = pa;
			   __entry->pgmap = pgmap;
			   __entry->nr_left = nr_left;),
	    TP_printk("pool=%p pgmap=%p nr_left=%lu",
		      __entry->pa, __entry->pgmap, __entry->nr_left)
);

/* @reason: 0 the driver removed it, 1 it was idle, 2 the shrinker asked */
TRACE_EVENT(pgmap_alloc_remove,
	    TP_PROTO(const void *pa, const void *pgmap, unsigned long nr_pages,
		     int reason),
	    TP_ARGS(pa, pgmap, nr_pages, reason),
	    TP_STRUCT__entry(__field(const void *, pa)
			     __field(const void *, pgmap)
			     __field(unsigned long, nr_pages)
			     __field(int, reason)),
	    TP_fast_assign(__entry->pa = pa;
			   __entry->pgmap = pgmap;
			   __entry->nr_pages = nr_pages;
			   __entry->reason = reason;),
	    TP_printk("pool=%p pgmap=%p nr_pages=%lu reason=%s",
		      __entry->pa, __entry->pgmap, __entry->nr_pages,
		      __print_symbolic(__entry->reason, { 0, "driver" },
				       { 1, "idle" }, { 2, "shrinker" }))
);

/* A compaction for a block of @order: @nr_moved pages moved, @nr_freed blocks made free */
TRACE_EVENT(pgmap_alloc_compact,
	    TP_PROTO(const void *pa, unsigned int order, unsigned long nr_moved,
		     unsigned long nr_freed),
	    TP_ARGS(pa, order, nr_moved, nr_freed),
	    TP_STRUCT__entry(__field(const void *, pa)
			     __field(unsigned int, order)
			     __field(unsigned long, nr_moved)
			     __field(unsigned long, nr_freed)),
	    TP_fast_assign(__entry->pa = pa;
			   __entry->order = order;
			   __entry->nr_moved = nr_moved;
			   __entry->nr_freed = nr_freed;),
	    TP_printk("pool=%p order=%u nr_moved=%lu nr_freed=%lu",
		      __entry->pa, __entry->order, __entry->nr_moved,
		      __entry->nr_freed)
);

#endif /* _TRACE_PGMAP_ALLOC_H */

#include <trace/define_trace.h>
