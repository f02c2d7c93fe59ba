// SPDX-License-Identifier: GPL-2.0
/*
 * A DEVICE_PRIVATE driver that gets its device pages from pgmap_alloc
 * instead of an allocator of its own.
 *
 * The device is pretend: each device page keeps its contents in a page of
 * system RAM, found through page->zone_device_data, as lib/test_hmm.c does.
 * Its memory is mapped a pgmap of 2 MiB at a time, as it is used, so that
 * the memmap (struct pages, 64 bytes per page) follows use. Where
 * pgmap_alloc comes in:
 *
 * - sample_init(): pgmap_alloc_create() with three callbacks, then one
 *   sample_grow() for the first pgmap;
 * - sample_alloc_and_copy(): pgmap_alloc_folio() for each page that
 *   migrate_vma collected; when the pool is full it calls sample_grow(),
 *   which maps another pgmap and adds it with pgmap_alloc_add_pgmap();
 * - freeing: nothing to do; a page goes back to the pool by itself when its
 *   last reference is dropped, after our ->page_free();
 * - giving memory back: nothing to do either; a pgmap that has been free
 *   for a few seconds, or all free ones under memory pressure, leave the
 *   pool, and sample_release() unmaps them;
 * - sample_copy(): what eviction and moves need from the device;
 * - sample_exit(): pgmap_alloc_destroy(), which evicts what processes still
 *   have on the device to system RAM and releases every pgmap.
 *
 * The ioctl of /dev/pgmap_alloc_sample (pgmap_alloc_sample.h) migrates a
 * range of the caller's anonymous memory to the device; a CPU access to a
 * migrated page brings it back through ->migrate_to_ram(). The pool's
 * statistics are in /sys/kernel/debug/pgmap_alloc/sample/stats, and its
 * idle time in .../idle_ms.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/memremap.h>
#include <linux/migrate.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/pgmap_alloc.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "pgmap_alloc_sample.h"

#define SAMPLE_DEVICE_SIZE	SZ_16M
/* The unit of mapping: memremap_pages() maps 2 MiB subsections. */
#define SAMPLE_PGMAP_SIZE	SZ_2M
/* Pages per migrate_vma call: bounds the pfn arrays on the stack. */
#define SAMPLE_BATCH		64

static unsigned int device_mib = SAMPLE_DEVICE_SIZE / SZ_1M;
module_param(device_mib, uint, 0444);
MODULE_PARM_DESC(device_mib, "Size of the pretend device memory in MiB (default 16)");

static struct sample_device {
	struct pgmap_alloc *pa;
	/* Bytes of device memory mapped as pgmaps: at most device_mib MiB */
	atomic_long_t mapped;
} sample;

/* A part of the device's memory, mapped while it is in use. */
struct sample_pgmap {
	struct resource *res;
	struct dev_pagemap pgmap;
};

/*
 * Called by the last folio_put() of a device page. There is no free list
 * to update: pgmap_alloc takes the page back once this returns.
 */
static void sample_page_free(struct page *page)
{
	__free_page(page->zone_device_data);
}

/*
 * Give each page that migrate_vma collected a device page holding a copy of
 * it. On an error, the pages left have no destination (migrate_vma_setup()
 * zeroed @args->dst) and stay in system RAM.
 */
static int sample_alloc_and_copy(struct migrate_vma *args)
{
	unsigned long i;

	for (i = 0; i < args->npages; i++) {
		struct page *spage = migrate_pfn_to_page(args->src[i]);
		struct page *backing;
		struct folio *dfolio;

		if (!(args->src[i] & MIGRATE_PFN_MIGRATE))
			continue;
		/* First, so that every device page handed out has one. */
		backing = alloc_page(GFP_HIGHUSER);
		if (!backing)
			return -ENOMEM;
		/*
		 * Locked, with a reference and a pgmap reference: ready to be
		 * a migration destination, as after zone_device_page_init().
		 */
		dfolio = pgmap_alloc_folio(sample.pa, 0, GFP_KERNEL);
		if (IS_ERR(dfolio)) {
			__free_page(backing);
			return -ENOSPC;
		}
		/* No source page: the address was never touched. */
		if (spage)
			copy_highpage(backing, spage);
		else
			clear_highpage(backing);
		dfolio->page.zone_device_data = backing;
		args->dst[i] = migrate_pfn(folio_pfn(dfolio));
	}
	return 0;
}

/* Returns the number of pages migrated, or an error if there are none. */
static long sample_migrate_to_device(unsigned long start, unsigned long npages)
{
	unsigned long src[SAMPLE_BATCH], dst[SAMPLE_BATCH];
	unsigned long i, addr = start, end = start + (npages << PAGE_SHIFT);
	struct mm_struct *mm = current->mm;
	long done = 0;
	int ret = 0;

	mmap_read_lock(mm);
	while (addr < end && !ret) {
		struct migrate_vma args = {
			.vma = vma_lookup(mm, addr),
			.start = addr,
			.src = src,
			.dst = dst,
			.pgmap_owner = &sample,
			.flags = MIGRATE_VMA_SELECT_SYSTEM,
		};

		if (!args.vma) {
			ret = -EFAULT;
			break;
		}
		/* DEVICE_PRIVATE memory can only hold anonymous pages. */
		if (!vma_is_anonymous(args.vma)) {
			ret = -EINVAL;
			break;
		}
		args.end = min3(end, args.vma->vm_end, addr + SAMPLE_BATCH * PAGE_SIZE);
		ret = migrate_vma_setup(&args);
		if (ret)
			break;
		ret = sample_alloc_and_copy(&args);
		migrate_vma_pages(&args);
		for (i = 0; i < args.npages; i++)
			done += !!(args.src[i] & MIGRATE_PFN_MIGRATE);
		/* Frees the device pages that were not used: back to the pool. */
		migrate_vma_finalize(&args);
		if (!ret && fatal_signal_pending(current))
			ret = -EINTR;
		addr = args.end;
	}
	mmap_read_unlock(mm);
	return done ?: ret;
}

static long sample_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct pgmap_alloc_sample_range r;

	if (cmd != PGMAP_ALLOC_SAMPLE_MIGRATE)
		return -ENOTTY;
	if (copy_from_user(&r, (void __user *)arg, sizeof(r)))
		return -EFAULT;
	if (!r.npages || !PAGE_ALIGNED(r.addr) || r.addr >= TASK_SIZE ||
	    r.npages > (TASK_SIZE - r.addr) >> PAGE_SHIFT)
		return -EINVAL;
	return sample_migrate_to_device(r.addr, r.npages);
}

static const struct file_operations sample_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = sample_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
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
	/* Not collected: someone else is migrating it; the fault retries. */
	if (src & MIGRATE_PFN_MIGRATE) {
		struct page *page = alloc_page_vma(GFP_HIGHUSER_MOVABLE,
						   vmf->vma, vmf->address);

		if (page) {
			lock_page(page);
			copy_highpage(page, migrate_pfn_to_page(src)->zone_device_data);
			dst = migrate_pfn(page_to_pfn(page)) | (src & MIGRATE_PFN_WRITE);
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
 * What pgmap_alloc needs from the device to move data: copying device
 * pages to system RAM (eviction), or to free device pages of another pgmap
 * (a pgmap leaving the pool), which we set up as sample_alloc_and_copy()
 * does. Here the device's memory is the backing page.
 */
static int sample_copy(struct pgmap_alloc *pa, struct page **dst,
		       struct page **src, unsigned long nr, void *data)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		struct page *to = dst[i];

		if (is_device_private_page(dst[i])) {
			to = alloc_page(GFP_HIGHUSER);
			if (!to) {
				dst[i] = NULL;
				continue;
			}
			dst[i]->zone_device_data = to;
		}
		copy_highpage(to, src[i]->zone_device_data);
	}
	return 0;
}

/* The pool is full: map another 2 MiB of the device, if it has more. */
static int sample_grow(struct pgmap_alloc *pa, void *data)
{
	struct sample_pgmap *sp;
	void *addr;
	int ret;

	if (atomic_long_add_return(SAMPLE_PGMAP_SIZE, &sample.mapped) >
	    (long)device_mib * SZ_1M) {
		ret = -ENOMEM;
		goto full;
	}
	ret = -ENOMEM;
	sp = kzalloc(sizeof(*sp), GFP_KERNEL);
	if (!sp)
		goto full;
	sp->res = request_free_mem_region(&iomem_resource, SAMPLE_PGMAP_SIZE,
					  "pgmap_alloc_sample");
	if (IS_ERR(sp->res)) {
		ret = PTR_ERR(sp->res);
		goto free;
	}
	/* The region is rounded up to a memory section; map what we asked. */
	sp->pgmap.type = MEMORY_DEVICE_PRIVATE;
	sp->pgmap.range.start = sp->res->start;
	sp->pgmap.range.end = sp->res->start + SAMPLE_PGMAP_SIZE - 1;
	sp->pgmap.nr_range = 1;
	sp->pgmap.ops = &sample_pgmap_ops;
	sp->pgmap.owner = &sample;
	addr = memremap_pages(&sp->pgmap, numa_node_id());
	if (IS_ERR(addr)) {
		ret = PTR_ERR(addr);
		goto release_region;
	}
	ret = pgmap_alloc_add_pgmap(pa, &sp->pgmap);
	if (ret)
		goto unmap;
	return 0;

unmap:
	memunmap_pages(&sp->pgmap);
release_region:
	release_mem_region(sp->res->start, resource_size(sp->res));
free:
	kfree(sp);
full:
	atomic_long_sub(SAMPLE_PGMAP_SIZE, &sample.mapped);
	return ret;
}

/* A pgmap left the pool, none of its pages in service: unmap it. */
static void sample_release(struct pgmap_alloc *pa, struct dev_pagemap *pgmap,
			   void *data)
{
	struct sample_pgmap *sp = container_of(pgmap, struct sample_pgmap, pgmap);

	memunmap_pages(pgmap);
	release_mem_region(sp->res->start, resource_size(sp->res));
	kfree(sp);
	atomic_long_sub(SAMPLE_PGMAP_SIZE, &sample.mapped);
}

static const struct pgmap_alloc_ops sample_pool_ops = {
	.grow = sample_grow,
	.release = sample_release,
	.copy = sample_copy,
};

static int __init sample_init(void)
{
	int ret;

	/*
	 * From here on pgmap_alloc hands out the pages of our pgmaps and takes
	 * each back when its last reference is dropped. (A driver with one
	 * pgmap that never moves data needs only pgmap_alloc_init().)
	 */
	sample.pa = pgmap_alloc_create("sample", &sample_pool_ops, NULL);
	if (IS_ERR(sample.pa))
		return PTR_ERR(sample.pa);
	/* The first pgmap, which the pool keeps however idle it is */
	ret = sample_grow(sample.pa, NULL);
	if (ret)
		goto destroy_pool;

	ret = misc_register(&sample_misc);
	if (ret)
		goto destroy_pool;
	pr_info("%u MiB of device memory at /dev/%s, %lu pages mapped\n",
		device_mib, sample_misc.name, pgmap_alloc_size(sample.pa));
	return 0;

destroy_pool:
	pgmap_alloc_destroy(sample.pa);
	return ret;
}

static void __exit sample_exit(void)
{
	misc_deregister(&sample_misc);
	/*
	 * Moves what processes still have on the device to system RAM, then
	 * unmaps every pgmap through sample_release().
	 */
	pgmap_alloc_destroy(sample.pa);
}

module_init(sample_init);
module_exit(sample_exit);
MODULE_DESCRIPTION("Sample DEVICE_PRIVATE driver using pgmap_alloc");
MODULE_AUTHOR("pgmap_alloc developers");
MODULE_LICENSE("GPL");
