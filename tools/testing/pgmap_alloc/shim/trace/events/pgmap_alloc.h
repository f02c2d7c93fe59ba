/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stands in for the pgmap_alloc tracepoints: no tracing here. The
 * arguments are still evaluated, as the compiler sees them in the kernel.
 */
#ifndef SHIM_TRACE_PGMAP_ALLOC_H
#define SHIM_TRACE_PGMAP_ALLOC_H

static inline void shim_trace(const void *pa, ...)
{
}

#define trace_pgmap_alloc_alloc		shim_trace
#define trace_pgmap_alloc_free		shim_trace
#define trace_pgmap_alloc_fail		shim_trace
#define trace_pgmap_alloc_evict		shim_trace
#define trace_pgmap_alloc_remove	shim_trace
#define trace_pgmap_alloc_compact	shim_trace

#endif
