/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctl of the pgmap_alloc sample driver, shared by the module and the
 * demo program.
 */
#ifndef _PGMAP_ALLOC_SAMPLE_H
#define _PGMAP_ALLOC_SAMPLE_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct pgmap_alloc_sample_range - A range of the caller's anonymous memory.
 * @addr: Start, page aligned.
 * @npages: Length in pages, at least 1.
 */
struct pgmap_alloc_sample_range {
	__u64 addr;
	__u64 npages;
};

/*
 * Migrate a range to device memory. Like write(), it returns how much was
 * done: the number of pages migrated, fewer than asked once the device is
 * full, 0 if they all are on the device already. It fails only if it
 * migrated nothing: EINVAL for a bad range or memory that is not anonymous,
 * EFAULT for a hole, ENOSPC when the device is full.
 */
#define PGMAP_ALLOC_SAMPLE_MIGRATE	_IOW('P', 1, struct pgmap_alloc_sample_range)

#endif /* _PGMAP_ALLOC_SAMPLE_H */
