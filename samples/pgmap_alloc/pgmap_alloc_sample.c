// SPDX-License-Identifier: GPL-2.0
/*
 * A DEVICE_PRIVATE driver that uses pgmap_alloc instead of an allocator of
 * its own.
 *
 * The "device" is pretend: each device page keeps its contents in a page of
 * system RAM, found through page->zone_device_data, as lib/test_hmm.c does.
 * What the sample demonstrates:
 *
 * - opting in: one call, pgmap_alloc_init(), after memremap_pages();
 * - allocating: pgmap_alloc_folio() for each page migrate_vma collected;
 * - freeing: nothing to do; the page goes back to the pool by itself when
 *   its last reference is dropped, after our ->page_free();
 * - teardown: evict, memunmap_pages(), then pgmap_alloc_destroy().
 *
 * /dev/pgmap_alloc_sample takes two ioctls (pgmap_alloc_sample.h): migrate
 * a range of the caller's anonymous memory to the device, and read device
 * memory back through the driver. A CPU access to a migrated page brings it
 * back to system RAM through ->migrate_to_ram(). Pool statistics are in
 * /sys/kernel/debug/pgmap_alloc/sample/stats.
 */

#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pagemap.h>
#include <linux/pgmap_alloc.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pgmap_alloc_sample.h"

static unsigned int device_mib = 16;
module_param(device_mib, uint, 0444);
MODULE_PARM_DESC(device_mib, "Size of the pretend device memory in MiB (default 16)");

/* Pages handled per migrate_vma call. */
#define SAMPLE_BATCH	64

static struct sample_device {
	struct resource *res;
	struct pgmap_alloc *pa;
	struct dev_pagemap pgmap;
} sample;

/* Where a device page keeps its contents. */
static struct page *sample_backing(struct page *dpage)
{
	return dpage->zone_device_data;
}

/*
 * Called by the last folio_put() of a device page. No free list to update:
 * pgmap_alloc takes the page back once this returns.
 */
static void sample_page_free(struct page *page)
{
	if (page->zone_device_data)
		__free_page(page->zone_device_data);
	page->zone_device_data = NULL;
}

/* Give each page that migrate_vma collected a device page and copy it there. */
static unsigned long sample_fill_device_pages(struct migrate_vma *args)
{
	unsigned long i, filled = 0;

	for (i = 0; i < args->npages; i++) {
		struct page *spage = migrate_pfn_to_page(args->src[i]);
		struct folio *dfolio;
		struct page *backing;

		args->dst[i] = 0;
		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		/*
		 * A device page: locked, refcount 1, pgmap reference held,
		 * ready to be a migration destination. -ENOMEM: the device is
		 * full, and the rest of the range stays in system RAM.
		 */
		dfolio = pgmap_alloc_folio(sample.pa, 0, GFP_KERNEL);
		if (IS_ERR(dfolio))
			break;
		backing = alloc_page(GFP_HIGHUSER);
		if (!backing) {
			folio_unlock(dfolio);
			folio_put(dfolio);	/* back to the pool */
			break;
		}
		if (spage)
			copy_highpage(backing, spage);
		else
			clear_highpage(backing);
		dfolio->page.zone_device_data = backing;
		args->dst[i] = migrate_pfn(folio_pfn(dfolio));
		filled++;
	}
	return filled;
}

static int sample_migrate_to_device(struct mm_struct *mm, unsigned long start,
				    unsigned long npages, u64 *done)
{
	unsigned long src[SAMPLE_BATCH], dst[SAMPLE_BATCH];
	unsigned long addr, end = start + npages * PAGE_SIZE, skipped = 0;
	int ret = 0;

	mmap_read_lock(mm);
	for (addr = start; addr < end && !ret; ) {
		struct vm_area_struct *vma = vma_lookup(mm, addr);
		struct migrate_vma args = {
			.src = src,
			.dst = dst,
			.pgmap_owner = &sample,
			.flags = MIGRATE_VMA_SELECT_SYSTEM,
		};
		unsigned long i, filled;

		if (!vma) {
			ret = -EFAULT;
			break;
		}
		if (!vma_is_anonymous(vma)) {
			ret = -EINVAL;
			break;
		}
		args.vma = vma;
		args.start = addr;
		args.end = min3(end, vma->vm_end, addr + SAMPLE_BATCH * PAGE_SIZE);
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
		/* Not collected: already on the device, or busy. */
		skipped += args.npages - args.cpages;
		filled = sample_fill_device_pages(&args);
		migrate_vma_pages(&args);
		for (i = 0; i < args.npages; i++)
			if (args.dst[i] && (args.src[i] & MIGRATE_PFN_MIGRATE))
				(*done)++;
		/* Frees the device pages that were not used: back to the pool. */
		migrate_vma_finalize(&args);

		if (filled < args.cpages)
			ret = -ENOSPC;
		else if (fatal_signal_pending(current))
			ret = -EINTR;
		addr = args.end;
	}
	mmap_read_unlock(mm);

	if (!ret && !*done && skipped == npages)
		ret = -EALREADY;
	return ret;
}

/*
 * Read device memory without moving it: migrate_vma_setup() locks the
 * device pages in place, and with no destination nothing migrates.
 */
static int sample_read_device(struct mm_struct *mm, unsigned long start,
			      unsigned long npages, void __user *buf, u64 *done)
{
	unsigned long src[SAMPLE_BATCH], dst[SAMPLE_BATCH] = {};
	unsigned long addr, end = start + npages * PAGE_SIZE;
	void *bounce;
	int ret = 0;

	bounce = kvmalloc(SAMPLE_BATCH * PAGE_SIZE, GFP_KERNEL);
	if (!bounce)
		return -ENOMEM;

	for (addr = start; addr < end && !ret; ) {
		struct migrate_vma args = {
			.src = src,
			.dst = dst,
			.pgmap_owner = &sample,
			.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		};
		unsigned long i;

		mmap_read_lock(mm);
		args.vma = vma_lookup(mm, addr);
		if (!args.vma) {
			mmap_read_unlock(mm);
			ret = -EFAULT;
			break;
		}
		args.start = addr;
		args.end = min3(end, args.vma->vm_end, addr + SAMPLE_BATCH * PAGE_SIZE);
		ret = migrate_vma_setup(&args);
		if (!ret) {
			for (i = 0; i < args.npages; i++) {
				struct page *dpage = migrate_pfn_to_page(src[i]);

				if (!dpage || dpage->pgmap != &sample.pgmap)
					continue;
				memcpy_from_page(bounce + i * PAGE_SIZE,
						 sample_backing(dpage), 0, PAGE_SIZE);
				(*done)++;
			}
			migrate_vma_pages(&args);
			migrate_vma_finalize(&args);
		}
		mmap_read_unlock(mm);

		/* Copy out without mmap_lock held: the copy may fault. */
		if (!ret && copy_to_user(buf + (addr - start), bounce,
					 args.end - addr))
			ret = -EFAULT;
		addr = args.end;
	}
	kvfree(bounce);
	return ret;
}

static long sample_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pgmap_alloc_sample_cmd __user *ucmd = (void __user *)arg;
	struct pgmap_alloc_sample_cmd c;
	int ret;

	if (copy_from_user(&c, ucmd, sizeof(c)))
		return -EFAULT;
	if (!c.npages || !PAGE_ALIGNED(c.addr) ||
	    c.npages > (TASK_SIZE - c.addr) >> PAGE_SHIFT)
		return -EINVAL;
	/* The file is used by the process that opened it. */
	if (current->mm != file->private_data)
		return -EPERM;

	c.done = 0;
	switch (cmd) {
	case PGMAP_ALLOC_SAMPLE_MIGRATE:
		ret = sample_migrate_to_device(current->mm, c.addr, c.npages, &c.done);
		break;
	case PGMAP_ALLOC_SAMPLE_READ:
		ret = sample_read_device(current->mm, c.addr, c.npages,
					 u64_to_user_ptr(c.buf), &c.done);
		break;
	default:
		return -ENOTTY;
	}
	if (put_user(c.done, &ucmd->done))
		return -EFAULT;
	return ret;
}

static int sample_open(struct inode *inode, struct file *file)
{
	file->private_data = current->mm;
	return 0;
}

static const struct file_operations sample_fops = {
	.owner = THIS_MODULE,
	.open = sample_open,
	.unlocked_ioctl = sample_ioctl,
};

static struct miscdevice sample_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "pgmap_alloc_sample",
	.fops = &sample_fops,
};

/* A CPU touched a page that lives on the device: bring it back. */
static vm_fault_t sample_migrate_to_ram(struct vm_fault *vmf)
{
	unsigned long src = 0, dst = 0;
	struct migrate_vma args = {
		.vma = vmf->vma,
		.start = vmf->address & PAGE_MASK,
		.end = (vmf->address & PAGE_MASK) + PAGE_SIZE,
		.src = &src,
		.dst = &dst,
		.pgmap_owner = &sample,
		.flags = MIGRATE_VMA_SELECT_DEVICE_PRIVATE,
		.fault_page = vmf->page,
	};
	vm_fault_t ret = 0;

	if (migrate_vma_setup(&args))
		return VM_FAULT_SIGBUS;
	if (src & MIGRATE_PFN_MIGRATE) {
		struct page *page = alloc_page_vma(GFP_HIGHUSER_MOVABLE,
						   vmf->vma, vmf->address);

		if (page) {
			lock_page(page);
			copy_highpage(page, sample_backing(migrate_pfn_to_page(src)));
			dst = migrate_pfn(page_to_pfn(page)) |
			      (src & MIGRATE_PFN_WRITE);
		} else {
			ret = VM_FAULT_OOM;
		}
	}
	migrate_vma_pages(&args);
	migrate_vma_finalize(&args);
	return ret;
}

static const struct dev_pagemap_ops sample_pgmap_ops = {
	.page_free = sample_page_free,
	.migrate_to_ram = sample_migrate_to_ram,
};

/*
 * Move every page still on the device back to system RAM, or
 * memunmap_pages() would wait for them forever. 6.12's eviction API
 * takes pfns, hence the one pfn computation in this file.
 */
static void sample_evict_all(void)
{
	unsigned long src[SAMPLE_BATCH], dst[SAMPLE_BATCH];
	unsigned long first = PHYS_PFN(sample.pgmap.range.start);
	unsigned long nr = pgmap_nr_pages(&sample.pgmap), pfn, i, n;

	for (pfn = first; pfn < first + nr; pfn += n) {
		n = min(nr - (pfn - first), (unsigned long)SAMPLE_BATCH);
		if (migrate_device_range(src, pfn, n))
			continue;
		for (i = 0; i < n; i++) {
			struct page *dpage = migrate_pfn_to_page(src[i]);
			struct page *page;

			dst[i] = 0;
			if (!dpage || !(src[i] & MIGRATE_PFN_MIGRATE))
				continue;
			page = alloc_page(GFP_HIGHUSER_MOVABLE | __GFP_NOFAIL);
			lock_page(page);
			copy_highpage(page, sample_backing(dpage));
			dst[i] = migrate_pfn(page_to_pfn(page)) |
				 (src[i] & MIGRATE_PFN_WRITE);
		}
		migrate_device_pages(src, dst, n);
		migrate_device_finalize(src, dst, n);
	}
}

static int __init sample_init(void)
{
	void *addr;
	int ret;

	sample.res = request_free_mem_region(&iomem_resource,
					     (unsigned long)device_mib << 20,
					     "pgmap_alloc_sample");
	if (IS_ERR(sample.res))
		return PTR_ERR(sample.res);

	/* The region is rounded up to a memory section; map what was asked. */
	sample.pgmap.type = MEMORY_DEVICE_PRIVATE;
	sample.pgmap.range.start = sample.res->start;
	sample.pgmap.range.end = sample.res->start + ((u64)device_mib << 20) - 1;
	sample.pgmap.nr_range = 1;
	sample.pgmap.ops = &sample_pgmap_ops;
	sample.pgmap.owner = &sample;
	addr = memremap_pages(&sample.pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		goto release_region;
	}

	/*
	 * The one call: from here on pgmap_alloc hands out the pages of the
	 * pgmap and takes each back when its last reference is dropped.
	 */
	sample.pa = pgmap_alloc_init(&sample.pgmap, "sample");
	if (IS_ERR(sample.pa)) {
		ret = PTR_ERR(sample.pa);
		goto unmap;
	}

	ret = misc_register(&sample_misc);
	if (ret)
		goto destroy_pool;
	pr_info("pgmap_alloc_sample: %u MiB of device memory, %lu pages, at /dev/%s\n",
		device_mib, pgmap_alloc_size(sample.pa), sample_misc.name);
	return 0;

destroy_pool:
	pgmap_alloc_destroy(sample.pa);
unmap:
	memunmap_pages(&sample.pgmap);
release_region:
	release_mem_region(sample.res->start, resource_size(sample.res));
	return ret;
}

static void __exit sample_exit(void)
{
	misc_deregister(&sample_misc);
	sample_evict_all();
	/* Waits until every page is freed, i.e. back in the pool... */
	memunmap_pages(&sample.pgmap);
	/* ...so the pool is idle when it goes. */
	pgmap_alloc_destroy(sample.pa);
	release_mem_region(sample.res->start, resource_size(sample.res));
	pr_info("pgmap_alloc_sample: unloaded\n");
}

module_init(sample_init);
module_exit(sample_exit);
MODULE_DESCRIPTION("Sample DEVICE_PRIVATE driver using pgmap_alloc");
MODULE_AUTHOR("pgmap_alloc developers");
MODULE_LICENSE("GPL");
