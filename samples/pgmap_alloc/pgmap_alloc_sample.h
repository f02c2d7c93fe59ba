/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctls of the pgmap_alloc sample driver, shared by the module and
 * the demo program.
 */
#ifndef _PGMAP_ALLOC_SAMPLE_H
#define _PGMAP_ALLOC_SAMPLE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct pgmap_alloc_sample_cmd - A range of the caller's memory.
 * @addr: Start, page aligned.
 * @npages: Length in pages, at least 1.
 * @buf: For PGMAP_ALLOC_SAMPLE_READ: where to copy @npages pages to.
 * @done: Out: pages migrated (MIGRATE) or read from device memory (READ).
 */
struct pgmap_alloc_sample_cmd {
	__u64 addr;
	__u64 npages;
	__u64 buf;
	__u64 done;
};

/* Migrate anonymous memory to the device; a partial migration is reported in @done. */
#define PGMAP_ALLOC_SAMPLE_MIGRATE	_IOWR('P', 1, struct pgmap_alloc_sample_cmd)
/* Copy what is in device memory, without moving it back. */
#define PGMAP_ALLOC_SAMPLE_READ		_IOWR('P', 2, struct pgmap_alloc_sample_cmd)

#endif /* _PGMAP_ALLOC_SAMPLE_H */
