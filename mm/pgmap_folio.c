// SPDX-License-Identifier: GPL-2.0
/*
 * Putting the pages of a struct dev_pagemap into service by offset.
 *
 * A DEVICE_PRIVATE or DEVICE_COHERENT page is free for a new user once its
 * last folio_put() has run free_zone_device_folio() to the end; its refcount
 * is then 0. pgmap_request_folio() is the way out of that state: it takes
 * the pgmap reference that free_zone_device_folio() drops again, locks the
 * page, and only then claims it with a 0 -> 1 cmpxchg of its refcount: the
 * lock makes two racing requesters take turns, and the cmpxchg refuses a
 * page that is in service. Pages are named by their
 * offset in the pgmap, counted in pages across all of its ranges, so a
 * driver's allocator deals in offsets and never in pfns.
 *
 * Lock before claim, because a refcount of 1 invites speculative references:
 * pfn walkers such as migrate_device_range() take a reference on any page
 * whose refcount is not 0 and then trylock it. With the lock already ours,
 * such a walker fails its trylock and drops its own reference; the refcount
 * is only ever changed by increments and decrements that balance. The lock
 * of a free page is held by nobody but a requester, since walkers lock only
 * pages they hold a reference on and unlock them before their put.
 *
 * A refcount of 0 alone does not make a page free: free_zone_device_folio()
 * still uncharges it, clears ->mapping and calls &dev_pagemap_ops.page_free
 * after the refcount has dropped to 0. That is why the caller must know an
 * offset is free from its own allocator (see pgmap_request_folio()).
 *
 * Only order 0 is put into service on this kernel. A compound folio would
 * overwrite page->pgmap of every tail page with its compound_head (they share
 * a word in struct page), and this kernel still reads page->pgmap of tail
 * pages in is_device_private_page() and friends; migrate_vma also refuses
 * large device-private folios. Drivers that move a 2 MiB span use an
 * order-aligned range of order-0 folios instead (see lib/pgmap_alloc.c).
 */

#include <linux/memremap.h>
#include <linux/mm.h>
#include <linux/page_ref.h>
#include <linux/pagemap.h>
#include <linux/percpu-refcount.h>

/**
 * pgmap_nr_pages() - Number of pages in a dev_pagemap.
 * @pgmap: The pgmap, mapped by memremap_pages().
 *
 * Context: Any context.
 * Return: The number of pages in all ranges of @pgmap, which is one more
 * than the largest offset pgmap_request_folio() accepts.
 */
unsigned long pgmap_nr_pages(const struct dev_pagemap *pgmap)
{
	unsigned long nr_pages = 0;
	int i;

	for (i = 0; i < pgmap->nr_range; i++)
		nr_pages += PHYS_PFN(range_len(&pgmap->ranges[i]));
	return nr_pages;
}
EXPORT_SYMBOL_GPL(pgmap_nr_pages);

/*
 * Find the page at @offset, requiring the @nr_pages pages from there to lie
 * in the same range, so that their pfns (and struct pages) are contiguous.
 */
static struct page *pgmap_offset_to_page(const struct dev_pagemap *pgmap,
					 pgoff_t offset,
					 unsigned long nr_pages)
{
	int i;

	for (i = 0; i < pgmap->nr_range; i++) {
		const struct range *range = &pgmap->ranges[i];
		unsigned long range_pages = PHYS_PFN(range_len(range));

		if (offset < range_pages) {
			if (WARN_ON_ONCE(nr_pages > range_pages - offset))
				return ERR_PTR(-EXDEV);
			return pfn_to_page(PHYS_PFN(range->start) + offset);
		}
		offset -= range_pages;
	}
	WARN_ON_ONCE(1);
	return ERR_PTR(-ERANGE);
}

/*
 * The 0 -> 1 transition of a free page's refcount, traced as the helpers of
 * <linux/page_ref.h> trace theirs (a page_ref_unfreeze event, the same
 * transition as folio_ref_unfreeze() to 1), for CONFIG_DEBUG_PAGE_REF. An
 * owner's claim is set_page_count(), traced as page_ref_set.
 */
static bool page_ref_claim_free(struct page *page)
{
	if (atomic_cmpxchg(&page->_refcount, 0, 1) != 0)
		return false;
	if (page_ref_tracepoint_active(page_ref_unfreeze))
		__page_ref_unfreeze(page, 1);
	return true;
}

/*
 * The claim of pgmap_request_folio() and pgmap_request_page(): the pgmap
 * reference, the lock, then the refcount (see the top of this file).
 *
 * An @owner claims without a cmpxchg. It holds the lock, and every requester
 * locks before it claims, so no other claim can run; speculative references
 * are only ever taken on a refcount that is not 0. So a refcount read as 0
 * stays 0 until our store, and the plain check and store do what the
 * cmpxchg does, with one atomic operation less. (A driver that bypasses both
 * functions with zone_device_page_init(), which claims before it locks, can
 * slip in between them; the cmpxchg would only have narrowed that window.)
 */
static __always_inline struct folio *pgmap_claim_page(struct dev_pagemap *pgmap,
						      struct page *page,
						      bool owner)
{
	struct folio *folio = page_folio(page);

	if (!percpu_ref_tryget_live(&pgmap->ref))
		return ERR_PTR(-ENODEV);
	/* Lock first: see the comment at the top of this file. */
	if (!folio_trylock(folio))
		goto busy;
	if (owner && likely(!page_ref_count(page))) {
		set_page_count(page, 1);
		return folio;
	}
	if (owner || !page_ref_claim_free(page)) {
		folio_unlock(folio);
		goto busy;
	}
	return folio;

busy:
	percpu_ref_put(&pgmap->ref);
	return ERR_PTR(-EBUSY);
}

/**
 * pgmap_request_folio() - Put a page of a dev_pagemap into service.
 * @pgmap: A DEVICE_PRIVATE or DEVICE_COHERENT pgmap, mapped by memremap_pages().
 * @pgmap_offset: Offset of the page in @pgmap, in pages, counted across all
 *	ranges of @pgmap.
 * @order: Order of the folio; only 0 is supported on this kernel (see below).
 *
 * The page comes back as a folio with refcount 1, locked (migrate_vma_pages()
 * wants locked destination pages), and holding one reference on @pgmap,
 * exactly as zone_device_page_init() leaves a page. The last folio_put()
 * calls &dev_pagemap_ops.page_free and drops the pgmap reference; after
 * that the page can be requested again.
 *
 * The caller must know from its own allocator that the page at
 * @pgmap_offset is free: never put into service, or handed back to that
 * allocator by &dev_pagemap_ops.page_free (or, for a pgmap with a
 * pgmap_alloc pool, reserved from that pool). A refcount of 0 is not
 * enough: a page whose last reference was just dropped has refcount 0 while
 * free_zone_device_folio() still works on it, and a request that wins it
 * then would see &dev_pagemap_ops.page_free run on a page in service. The
 * -EBUSY below is a safety net for callers that break this rule, not a way
 * to find free pages.
 *
 * Passing anything but 0 in @order fails with -E2BIG (after the checks of
 * @pgmap_offset against @order): a large folio's tail pages would lose their
 * page->pgmap on this kernel. The parameter is there so that callers need not
 * change when the kernel can build large device folios.
 *
 * Context: Any context; does not sleep.
 * Return: The folio, or an ERR_PTR():
 *
 * * -EINVAL - @order is above MAX_PAGE_ORDER, or @pgmap_offset is not a
 *   multiple of 1 << @order (a caller bug: warned about once).
 * * -ERANGE - @pgmap_offset is not below pgmap_nr_pages() (a caller bug).
 * * -EXDEV - the 1 << @order pages would cross the end of a range of @pgmap
 *   (a caller bug).
 * * -EOPNOTSUPP - @pgmap is neither DEVICE_PRIVATE nor DEVICE_COHERENT (a
 *   caller bug).
 * * -E2BIG - @order is above 0, which this kernel cannot build.
 * * -ENODEV - @pgmap is being torn down (memunmap_pages() has started).
 * * -EBUSY - the page is in service, or another request holds its lock at
 *   this moment. Not warned about.
 */
struct folio *pgmap_request_folio(struct dev_pagemap *pgmap,
				  pgoff_t pgmap_offset, unsigned int order)
{
	struct page *page;

	if (WARN_ON_ONCE(!pgmap))
		return ERR_PTR(-EINVAL);
	if (WARN_ON_ONCE(order > MAX_PAGE_ORDER))
		return ERR_PTR(-EINVAL);
	if (WARN_ON_ONCE(!IS_ALIGNED(pgmap_offset, 1UL << order)))
		return ERR_PTR(-EINVAL);
	if (WARN_ON_ONCE(pgmap->type != MEMORY_DEVICE_PRIVATE &&
			 pgmap->type != MEMORY_DEVICE_COHERENT))
		return ERR_PTR(-EOPNOTSUPP);

	page = pgmap_offset_to_page(pgmap, pgmap_offset, 1UL << order);
	if (IS_ERR(page))
		return ERR_CAST(page);
	if (order)
		return ERR_PTR(-E2BIG);

	return pgmap_claim_page(pgmap, page, false);
}
EXPORT_SYMBOL_GPL(pgmap_request_folio);

/**
 * pgmap_request_page() - Put a page into service, for its pgmap's allocator.
 * @page: An order-0 page of a DEVICE_PRIVATE or DEVICE_COHERENT pgmap
 *	mapped by memremap_pages(), that the caller's allocator owns and knows
 *	to be free. Nothing of this is checked: the caller guarantees it.
 *
 * pgmap_request_folio() for an allocator that validated its pages once, when
 * it took the pgmap (lib/pgmap_alloc.c): it skips the checks of the offset,
 * of the pgmap's type and the walk of the pgmap's ranges, and claims the page
 * without a cmpxchg (see pgmap_claim_page()). Otherwise it does the same,
 * with the same rules.
 *
 * Context: Any context; does not sleep.
 * Return: The folio, or ERR_PTR(-ENODEV) or ERR_PTR(-EBUSY) as from
 * pgmap_request_folio().
 */
struct folio *pgmap_request_page(struct page *page)
{
	return pgmap_claim_page(page->pgmap, page, true);
}
EXPORT_SYMBOL_GPL(pgmap_request_page);

/**
 * pgmap_cancel_folio() - Undo pgmap_request_folio() on a folio never used.
 * @folio: A folio from pgmap_request_folio(), still locked, whose only
 *	reference is the one the request took, and that nobody else has seen.
 *
 * Makes the page free again without the free path: unlike folio_put(), it
 * calls neither &dev_pagemap_ops.page_free (the page holds nothing of the
 * driver's) nor the pgmap's allocator. This is for an allocator that puts a
 * range into service page by page and must give back the pages it already
 * took when a later one fails, without running the driver's ->page_free,
 * possibly under a lock that ->page_free takes too.
 *
 * Context: Any context; does not sleep.
 * Return: 0 if the page is free again and the pgmap reference dropped;
 * -EBUSY if someone holds a speculative reference at this moment (a pfn
 * walker such as migrate_device_range(), which drops it as soon as its
 * trylock fails): nothing changed, try again later; -EINVAL (warned about
 * once) if @folio is not a locked folio of a DEVICE_PRIVATE or
 * DEVICE_COHERENT pgmap.
 */
int pgmap_cancel_folio(struct folio *folio)
{
	struct dev_pagemap *pgmap = folio->page.pgmap;

	if (WARN_ON_ONCE(!folio_is_device_private(folio) &&
			 !folio_is_device_coherent(folio)))
		return -EINVAL;
	if (WARN_ON_ONCE(!folio_test_locked(folio)))
		return -EINVAL;
	/* Only our reference: take it away in one step, as it came. */
	if (!folio_ref_freeze(folio, 1))
		return -EBUSY;
	/* Free from here; unlock only now, so no walker can lock it in between. */
	folio_unlock(folio);
	percpu_ref_put(&pgmap->ref);
	return 0;
}
EXPORT_SYMBOL_GPL(pgmap_cancel_folio);

/**
 * page_pgmap_offset() - Offset of a ZONE_DEVICE page in its dev_pagemap.
 * @page: A page of a pgmap mapped by memremap_pages().
 *
 * The inverse of pgmap_request_folio(), so that drivers can go from a page
 * back to their device memory without pfn arithmetic.
 *
 * Context: Any context.
 * Return: The offset of @page in page_folio(@page)->pgmap, in pages across all
 * ranges; or (pgoff_t)-1 (warned about once) if @page is not a ZONE_DEVICE
 * page.
 */
pgoff_t page_pgmap_offset(const struct page *page)
{
	const struct dev_pagemap *pgmap;
	unsigned long pfn = page_to_pfn(page);
	pgoff_t offset = 0;
	int i;

	if (WARN_ON_ONCE(!is_zone_device_page(page)))
		return (pgoff_t)-1;

	pgmap = page_folio(page)->page.pgmap;
	for (i = 0; i < pgmap->nr_range; i++) {
		const struct range *range = &pgmap->ranges[i];
		unsigned long first = PHYS_PFN(range->start);
		unsigned long range_pages = PHYS_PFN(range_len(range));

		if (pfn - first < range_pages)
			return offset + (pfn - first);
		offset += range_pages;
	}
	/* page->pgmap always covers the page; getting here is corruption. */
	WARN_ON_ONCE(1);
	return (pgoff_t)-1;
}
EXPORT_SYMBOL_GPL(page_pgmap_offset);
