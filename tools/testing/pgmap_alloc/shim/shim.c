// SPDX-License-Identifier: GPL-2.0
/*
 * The kernel services of shim/kernel.h: warnings, memory with injected
 * failures, bitmaps, mutexes, RCU, per-CPU data, CPU hotplug, workqueues,
 * the memmap and the device-page life cycle of mm/memremap.c.
 */
#include "kernel.h"

#include <sched.h>
#include <sys/mman.h>

#include "shim.h"

/* === Warnings ============================================================= */

unsigned long shim_warnings;
bool shim_quiet_warnings;

void shim_warn(const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	__atomic_add_fetch(&shim_warnings, 1, __ATOMIC_SEQ_CST);
	if (shim_quiet_warnings)
		return;
	fprintf(stderr, "WARNING at %s:%d: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

void shim_unmodelled(const char *what)
{
	fprintf(stderr, "shim: %s is not modelled by the harness\n", what);
	abort();
}

/* === Memory =============================================================== */

/* Allocations left before one fails; 0: none fails. */
unsigned long shim_fail_countdown;
unsigned long shim_allocs_failed;

void *shim_alloc(size_t size, gfp_t gfp)
{
	void *p;

	if (gfpflags_allow_blocking(gfp))
		might_sleep();
	if (shim_fail_countdown && !--shim_fail_countdown) {
		shim_allocs_failed++;
		return NULL;
	}
	p = malloc(size ?: 1);
	if (p && (gfp & __GFP_ZERO))
		memset(p, 0, size);
	return p;
}

void shim_free(const void *p)
{
	free((void *)p);
}

char *kstrdup(const char *s, gfp_t gfp)
{
	size_t size;
	char *p;

	if (!s)
		return NULL;
	size = strlen(s) + 1;
	p = shim_alloc(size, gfp);
	if (p)
		memcpy(p, s, size);
	return p;
}

char *kasprintf(gfp_t gfp, const char *fmt, ...)
{
	va_list ap;
	char *p;
	int len;

	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	p = shim_alloc(len + 1, gfp);
	if (!p)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(p, len + 1, fmt, ap);
	va_end(ap);
	return p;
}

/* === Bitmaps ============================================================== */

static inline unsigned long load_word(const unsigned long *addr, unsigned long i)
{
	return __atomic_load_n(addr + i, __ATOMIC_RELAXED);
}

static unsigned long find_next(const unsigned long *addr, unsigned long size,
			       unsigned long start, unsigned long invert)
{
	unsigned long word;

	if (start >= size)
		return size;
	word = (load_word(addr, BIT_WORD(start)) ^ invert) & BITMAP_FIRST_WORD_MASK(start);
	start = ALIGN_DOWN(start, BITS_PER_LONG);
	while (!word) {
		start += BITS_PER_LONG;
		if (start >= size)
			return size;
		word = load_word(addr, BIT_WORD(start)) ^ invert;
	}
	return min(start + __builtin_ctzl(word), size);
}

unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
			    unsigned long offset)
{
	return find_next(addr, size, offset, 0);
}

unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size,
				 unsigned long offset)
{
	return find_next(addr, size, offset, ~0UL);
}

unsigned long bitmap_find_next_zero_area_off(unsigned long *map,
					     unsigned long size,
					     unsigned long start,
					     unsigned int nr,
					     unsigned long align_mask,
					     unsigned long align_offset)
{
	unsigned long index, end, i;

	for (;;) {
		index = find_next_zero_bit(map, size, start);
		index = ((index + align_offset + align_mask) & ~align_mask) - align_offset;
		end = index + nr;
		if (end > size)
			return end;
		i = find_next_bit(map, end, index);
		if (i < end) {
			start = i + 1;
			continue;
		}
		return index;
	}
}

void bitmap_set(unsigned long *map, unsigned int start, unsigned int nr)
{
	while (nr--)
		map[BIT_WORD(start)] |= BIT_MASK(start), start++;
}

void bitmap_clear(unsigned long *map, unsigned int start, unsigned int nr)
{
	while (nr--)
		map[BIT_WORD(start)] &= ~BIT_MASK(start), start++;
}

unsigned long bitmap_weight(const unsigned long *map, unsigned int nbits)
{
	unsigned long w = 0, i;

	for (i = 0; i < nbits / BITS_PER_LONG; i++)
		w += hweight_long(load_word(map, i));
	if (nbits % BITS_PER_LONG)
		w += hweight_long(load_word(map, i) & BITMAP_LAST_WORD_MASK(nbits));
	return w;
}

bool bitmap_full(const unsigned long *map, unsigned int nbits)
{
	return bitmap_weight(map, nbits) == nbits;
}

/* === Tasks, CPUs, time ==================================================== */

__thread struct task_struct shim_task;
__thread bool shim_in_irq;
__thread int shim_cpu;
__thread int shim_rcu_depth;
__thread int shim_local_depth;
unsigned long shim_jiffies = 1;
unsigned long shim_cpu_online_mask = BIT(SHIM_NR_CPUS) - 1;
/* The thread that is each CPU; 0: none, any thread may act for it */
static pthread_t cpu_owner[SHIM_NR_CPUS];
static bool cpu_owned[SHIM_NR_CPUS];
static pthread_rwlock_t cpu_hotplug_lock = PTHREAD_RWLOCK_INITIALIZER;

void shim_might_sleep(void)
{
	if (shim_in_irq || shim_rcu_depth || shim_local_depth)
		shim_warn(__FILE__, __LINE__,
			  "sleeping function called from invalid context (irq %d rcu %d local %d)\n",
			  shim_in_irq, shim_rcu_depth, shim_local_depth);
}

void shim_set_cpu(int cpu, bool own)
{
	shim_cpu = cpu;
	if (own) {
		cpu_owner[cpu] = pthread_self();
		__atomic_store_n(&cpu_owned[cpu], true, __ATOMIC_RELEASE);
	}
}

void shim_release_cpu(int cpu)
{
	__atomic_store_n(&cpu_owned[cpu], false, __ATOMIC_RELEASE);
}

static bool may_act_for(int cpu)
{
	if (cpu < 0)
		return true;
	if (!__atomic_load_n(&cpu_owned[cpu], __ATOMIC_ACQUIRE))
		return true;
	return pthread_equal(cpu_owner[cpu], pthread_self());
}

void shim_advance(unsigned long ms)
{
	__atomic_add_fetch(&shim_jiffies, msecs_to_jiffies(ms), __ATOMIC_SEQ_CST);
}

void cond_resched(void)
{
	shim_might_sleep();
	shim_run_work();
#ifndef SHIM_TSAN
	shim_urcu_quiescent();
#endif
	sched_yield();
}

void msleep(unsigned int ms)
{
	cond_resched();
}

void usleep_range(unsigned long min, unsigned long max)
{
	cond_resched();
}

long schedule_timeout_uninterruptible(long timeout)
{
	cond_resched();
	return 0;
}

/* === Mutexes: they wait as a sleeping task does, letting work run ========= */

void mutex_init(struct mutex *lock)
{
	pthread_mutex_init(&lock->m, NULL);
	lock->owner = NULL;
}

bool mutex_trylock(struct mutex *lock)
{
	if (pthread_mutex_trylock(&lock->m))
		return false;
	WRITE_ONCE(lock->owner, current);
	return true;
}

void mutex_lock(struct mutex *lock)
{
	shim_might_sleep();
	while (!mutex_trylock(lock))
		cond_resched();
}

void mutex_unlock(struct mutex *lock)
{
	if (READ_ONCE(lock->owner) != current)
		shim_warn(__FILE__, __LINE__, "mutex unlocked by a task that does not hold it\n");
	WRITE_ONCE(lock->owner, NULL);
	pthread_mutex_unlock(&lock->m);
}

void shim_assert_mutex_held(struct mutex *lock)
{
	if (READ_ONCE(lock->owner) != current)
		shim_warn(__FILE__, __LINE__, "lockdep_assert_held() of a mutex not held\n");
}

/* === RCU ================================================================== */

#ifdef SHIM_TSAN
/*
 * ThreadSanitizer does not see liburcu's barriers; a reader-writer lock
 * is an RCU it understands (readers nest; glibc's default prefers readers,
 * so a waiting synchronize_rcu() does not block new readers).
 */
static pthread_rwlock_t rcu_lock = PTHREAD_RWLOCK_INITIALIZER;

void shim_rcu_outer_lock(void)
{
	pthread_rwlock_rdlock(&rcu_lock);
}

void shim_rcu_outer_unlock(void)
{
	pthread_rwlock_unlock(&rcu_lock);
}

void synchronize_rcu(void)
{
	shim_might_sleep();
	pthread_rwlock_wrlock(&rcu_lock);
	pthread_rwlock_unlock(&rcu_lock);
}

void shim_thread_start(void)
{
}

void shim_thread_stop(void)
{
}
#else
/* liburcu's memb flavour, in urcu.c (see shim.h) */
void shim_rcu_outer_lock(void)
{
	shim_urcu_read_lock();
}

void shim_rcu_outer_unlock(void)
{
	shim_urcu_read_unlock();
}

void synchronize_rcu(void)
{
	shim_might_sleep();
	shim_urcu_synchronize();
}

void shim_thread_start(void)
{
	shim_urcu_register();
}

void shim_thread_stop(void)
{
	shim_urcu_unregister();
}
#endif

/* === Per-CPU data, the per-CPU lock, CPU hotplug ========================== */

#define PERCPU_HEADER	64

void *shim_alloc_percpu(size_t size)
{
	size_t stride = ALIGN(size, 64);
	char *p;

	if (shim_fail_countdown && !--shim_fail_countdown) {
		shim_allocs_failed++;
		return NULL;
	}
	/* Each CPU's copy on lines of its own, as the kernel's per-CPU areas */
	p = aligned_alloc(64, PERCPU_HEADER + stride * SHIM_NR_CPUS);
	if (!p)
		return NULL;
	memset(p, 0, PERCPU_HEADER + stride * SHIM_NR_CPUS);
	p += PERCPU_HEADER;
	SHIM_PERCPU_STRIDE(p) = stride;
	return p;
}

void shim_free_percpu(void *p)
{
	if (p)
		free((char *)p - PERCPU_HEADER);
}

void shim_local_lock_bad(local_lock_t *l)
{
	shim_warn(__FILE__, __LINE__, "local_lock of CPU %d: in irq %d, nested %d, held %d\n",
		  shim_cpu, shim_in_irq, shim_local_depth, l->cpu[shim_cpu].held);
}

void cpus_read_lock(void)
{
	pthread_rwlock_rdlock(&cpu_hotplug_lock);
}

void cpus_read_unlock(void)
{
	pthread_rwlock_unlock(&cpu_hotplug_lock);
}

#define MAX_CPUHP_INSTANCES	64
static int (*cpuhp_teardown)(unsigned int cpu, struct hlist_node *node);
static struct hlist_node *cpuhp_instances[MAX_CPUHP_INSTANCES];
static pthread_mutex_t cpuhp_instances_lock = PTHREAD_MUTEX_INITIALIZER;

int cpuhp_setup_state_multi(enum cpuhp_state state, const char *name,
			    int (*startup)(unsigned int cpu, struct hlist_node *node),
			    int (*teardown)(unsigned int cpu, struct hlist_node *node))
{
	cpuhp_teardown = teardown;
	return CPUHP_BP_PREPARE_DYN + 1;
}

int cpuhp_state_add_instance_nocalls(enum cpuhp_state state, struct hlist_node *node)
{
	int i, ret = -ENOSPC;

	pthread_mutex_lock(&cpuhp_instances_lock);
	for (i = 0; i < MAX_CPUHP_INSTANCES; i++) {
		if (!cpuhp_instances[i]) {
			cpuhp_instances[i] = node;
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&cpuhp_instances_lock);
	return ret;
}

int cpuhp_state_remove_instance_nocalls(enum cpuhp_state state, struct hlist_node *node)
{
	int i;

	pthread_mutex_lock(&cpuhp_instances_lock);
	for (i = 0; i < MAX_CPUHP_INSTANCES; i++)
		if (cpuhp_instances[i] == node)
			cpuhp_instances[i] = NULL;
	pthread_mutex_unlock(&cpuhp_instances_lock);
	return 0;
}

/*
 * Take @cpu offline: its task (the caller's problem) stops using it, then,
 * as the teardown of a CPUHP_BP_PREPARE_DYN state does, the callbacks run on
 * a live CPU, the caller's. Work still queued on @cpu runs where it can.
 */
void shim_cpu_offline(int cpu)
{
	int i;

	pthread_rwlock_wrlock(&cpu_hotplug_lock);
	__atomic_fetch_and(&shim_cpu_online_mask, ~BIT(cpu), __ATOMIC_SEQ_CST);
	pthread_mutex_lock(&cpuhp_instances_lock);
	for (i = 0; i < MAX_CPUHP_INSTANCES; i++)
		if (cpuhp_instances[i] && cpuhp_teardown)
			cpuhp_teardown(cpu, cpuhp_instances[i]);
	pthread_mutex_unlock(&cpuhp_instances_lock);
	pthread_rwlock_unlock(&cpu_hotplug_lock);
}

void shim_cpu_online(int cpu)
{
	pthread_rwlock_wrlock(&cpu_hotplug_lock);
	__atomic_fetch_or(&shim_cpu_online_mask, BIT(cpu), __ATOMIC_SEQ_CST);
	pthread_rwlock_unlock(&cpu_hotplug_lock);
}

/* === Workqueues =========================================================== */

/*
 * One list of queued items, in queueing order. An item bound to a CPU runs
 * on a thread that may act for that CPU (shim_set_cpu()), with that CPU's
 * identity; an item of a CPU that went offline runs anywhere, as the
 * kernel's unbinding does. Items run only when due (jiffies).
 */
static pthread_mutex_t wq_lock = PTHREAD_MUTEX_INITIALIZER;
static struct work_struct *wq_head;
static struct workqueue_struct wq_system = { "events" }, wq_unbound = { "events_unbound" };
struct workqueue_struct *system_wq = &wq_system, *system_unbound_wq = &wq_unbound;

struct workqueue_struct *alloc_workqueue(const char *fmt, unsigned int flags,
					 int max_active, ...)
{
	struct workqueue_struct *wq = shim_alloc(sizeof(*wq), GFP_KERNEL);

	if (wq)
		wq->name = fmt;
	return wq;
}

void destroy_workqueue(struct workqueue_struct *wq)
{
	shim_free(wq);
}

static void wq_unlink(struct work_struct *work)
{
	struct work_struct **pp;

	for (pp = &wq_head; *pp; pp = &(*pp)->next) {
		if (*pp == work) {
			*pp = work->next;
			return;
		}
	}
}

static void wq_append(struct work_struct *work)
{
	struct work_struct **pp;

	work->next = NULL;
	for (pp = &wq_head; *pp; pp = &(*pp)->next)
		;
	*pp = work;
}

static bool queue_locked(int cpu, struct work_struct *work, unsigned long delay)
{
	if (work->pending)
		return false;
	WRITE_ONCE(work->pending, true);
	work->cpu = cpu;
	work->due = jiffies + delay;
	wq_append(work);
	return true;
}

bool queue_work_on(int cpu, struct workqueue_struct *wq, struct work_struct *work)
{
	bool ret;

	pthread_mutex_lock(&wq_lock);
	ret = queue_locked(cpu, work, 0);
	pthread_mutex_unlock(&wq_lock);
	return ret;
}

bool queue_delayed_work_on(int cpu, struct workqueue_struct *wq,
			   struct delayed_work *dw, unsigned long delay)
{
	bool ret;

	pthread_mutex_lock(&wq_lock);
	ret = queue_locked(cpu, &dw->work, delay);
	pthread_mutex_unlock(&wq_lock);
	return ret;
}

bool mod_delayed_work_on(int cpu, struct workqueue_struct *wq,
			 struct delayed_work *dw, unsigned long delay)
{
	bool was_pending;

	pthread_mutex_lock(&wq_lock);
	was_pending = dw->work.pending;
	if (was_pending) {
		dw->work.cpu = cpu;
		dw->work.due = jiffies + delay;
	} else {
		queue_locked(cpu, &dw->work, delay);
	}
	pthread_mutex_unlock(&wq_lock);
	return was_pending;
}

static bool cancel_locked(struct work_struct *work)
{
	if (!work->pending)
		return false;
	wq_unlink(work);
	WRITE_ONCE(work->pending, false);
	return true;
}

bool cancel_delayed_work(struct delayed_work *dw)
{
	bool ret;

	pthread_mutex_lock(&wq_lock);
	ret = cancel_locked(&dw->work);
	pthread_mutex_unlock(&wq_lock);
	return ret;
}

bool cancel_work_sync(struct work_struct *work)
{
	bool ret;

	might_sleep();
	pthread_mutex_lock(&wq_lock);
	ret = cancel_locked(work);
	pthread_mutex_unlock(&wq_lock);
	while (__atomic_load_n(&work->running, __ATOMIC_ACQUIRE))
		cond_resched();
	return ret;
}

bool cancel_delayed_work_sync(struct delayed_work *dw)
{
	return cancel_work_sync(&dw->work);
}

/* Run one due item this thread may run; false if there is none. */
static bool run_one(void)
{
	struct work_struct *work;
	int saved_cpu = shim_cpu;

	pthread_mutex_lock(&wq_lock);
	for (work = wq_head; work; work = work->next) {
		if (time_before(jiffies, work->due))
			continue;
		/* Never two runs of one item at once, as in the kernel */
		if (work->running)
			continue;
		if (work->cpu < 0 || !cpu_online(work->cpu) || may_act_for(work->cpu))
			break;
	}
	if (!work) {
		pthread_mutex_unlock(&wq_lock);
		return false;
	}
	wq_unlink(work);
	/* As the kernel: pending is cleared before the function runs. */
	WRITE_ONCE(work->pending, false);
	__atomic_store_n(&work->running, true, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&wq_lock);

	if (work->cpu >= 0 && cpu_online(work->cpu))
		shim_cpu = work->cpu;
	work->func(work);
	shim_cpu = saved_cpu;
	pthread_mutex_lock(&wq_lock);
	WRITE_ONCE(work->done, work->done + 1);
	__atomic_store_n(&work->running, false, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&wq_lock);
	return true;
}

int shim_run_work(void)
{
	int n = 0;

	/* Work runs in task context, outside any RCU or per-CPU section. */
	if (shim_in_irq || shim_rcu_depth || shim_local_depth)
		return 0;
	/* Bounded: an item may re-arm itself, due at once. */
	while (n < 64 && run_one())
		n++;
	return n;
}

/*
 * Wait for the run queued now (made due at once, as flush_delayed_work()
 * does) and the one in progress, not for runs queued after: an item that
 * re-arms itself would make the wait endless.
 */
bool flush_work(struct work_struct *work)
{
	unsigned long target;

	might_sleep();
	pthread_mutex_lock(&wq_lock);
	target = work->done + work->running + work->pending;
	if (work->pending)
		work->due = jiffies;
	pthread_mutex_unlock(&wq_lock);
	if (target == READ_ONCE(work->done))
		return false;
	while ((long)(READ_ONCE(work->done) - target) < 0)
		cond_resched();
	return true;
}

bool flush_delayed_work(struct delayed_work *dw)
{
	return flush_work(&dw->work);
}

void flush_workqueue(struct workqueue_struct *wq)
{
	shim_unmodelled("flush_workqueue");
}

/* === Pages and pgmaps ===================================================== */

#define SHIM_MAX_PFNS	BIT(28)		/* 1 TiB of device memory */
#define SHIM_FIRST_PFN	MAX_ORDER_NR_PAGES
#define SHIM_MAX_PGMAPS	256

struct page *shim_vmemmap;
static unsigned long next_pfn = SHIM_FIRST_PFN;
static struct dev_pagemap *live_pgmaps[SHIM_MAX_PGMAPS];
static pthread_mutex_t pgmap_table_lock = PTHREAD_MUTEX_INITIALIZER;

static void __attribute__((constructor)) shim_memmap_init(void)
{
	shim_vmemmap = mmap(NULL, SHIM_MAX_PFNS * sizeof(struct page),
			    PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (shim_vmemmap == MAP_FAILED) {
		perror("shim: cannot map the memmap");
		exit(2);
	}
}

long shim_percpu_ref_sum(struct percpu_ref *ref)
{
	long sum = 0;
	int cpu;

	for (cpu = 0; cpu < SHIM_NR_CPUS; cpu++)
		sum += __atomic_load_n(&ref->cpu[cpu].count, __ATOMIC_SEQ_CST);
	return sum;
}

/* Only the references of pages in service keep a dying pgmap's count up. */
bool percpu_ref_tryget(struct percpu_ref *ref)
{
	shim_percpu_ref_add(ref, 1);
	if (__atomic_load_n(&ref->dying, __ATOMIC_SEQ_CST) &&
	    shim_percpu_ref_sum(ref) <= 1) {
		shim_percpu_ref_add(ref, -1);
		return false;
	}
	return true;
}

void *memremap_pages(struct dev_pagemap *pgmap, int nid)
{
	unsigned long pfn, nr, i;
	int r, slot = -1;

	pthread_mutex_lock(&pgmap_table_lock);
	for (i = 0; i < SHIM_MAX_PGMAPS; i++)
		if (!live_pgmaps[i]) {
			slot = i;
			break;
		}
	if (slot < 0) {
		pthread_mutex_unlock(&pgmap_table_lock);
		return ERR_PTR(-ENOSPC);
	}
	for (r = 0; r < pgmap->nr_range; r++) {
		struct range *range = &pgmap->ranges[r];

		nr = PHYS_PFN(range_len(range));
		if (!range->start) {
			if (next_pfn + nr > SHIM_MAX_PFNS) {
				pthread_mutex_unlock(&pgmap_table_lock);
				return ERR_PTR(-ENOSPC);
			}
			range->start = PFN_PHYS(next_pfn);
			range->end = range->start + PFN_PHYS(nr) - 1;
			/* A gap: pages of two ranges are never consecutive */
			next_pfn = ALIGN(next_pfn + nr, MAX_ORDER_NR_PAGES) +
				   MAX_ORDER_NR_PAGES;
		}
		pfn = PHYS_PFN(range->start);
		for (i = 0; i < nr; i++) {
			struct page *page = pfn_to_page(pfn + i);

			memset(page, 0, sizeof(*page));
			atomic_set(&page->_mapcount, -1);
			page->pgmap = pgmap;
		}
	}
	memset(&pgmap->ref, 0, sizeof(pgmap->ref));
	pgmap->ref.cpu[0].count = 1;	/* memremap_pages()' own reference */
	live_pgmaps[slot] = pgmap;
	pthread_mutex_unlock(&pgmap_table_lock);
	return (void *)pgmap->ranges[0].start;
}

/*
 * As 6.12's memunmap_pages(): kill the reference, wait for the last one,
 * then the memmap goes. Its pages are poisoned so that a use after this
 * trips a check or faults.
 */
void memunmap_pages(struct dev_pagemap *pgmap)
{
	unsigned long pfn, nr, i;
	int r;

	unsigned long spins = 0;
	bool any = false;

	__atomic_store_n(&pgmap->ref.dying, true, __ATOMIC_SEQ_CST);
	percpu_ref_put(&pgmap->ref);
	while (shim_percpu_ref_sum(&pgmap->ref)) {
		cond_resched();
		/* A reference that never goes: what would hang the kernel */
		if (++spins == 10000000) {
			fprintf(stderr, "shim: %s: %ld pgmap references left\n",
				__func__, shim_percpu_ref_sum(&pgmap->ref));
			abort();
		}
	}
	pthread_mutex_lock(&pgmap_table_lock);
	for (i = 0; i < SHIM_MAX_PGMAPS; i++) {
		if (live_pgmaps[i] == pgmap)
			live_pgmaps[i] = NULL;
		any |= !!live_pgmaps[i];
	}
	/* With no pgmap left, pfns start again from the first. */
	if (!any)
		next_pfn = SHIM_FIRST_PFN;
	pthread_mutex_unlock(&pgmap_table_lock);
	for (r = 0; r < pgmap->nr_range; r++) {
		nr = PHYS_PFN(range_len(&pgmap->ranges[r]));
		pfn = PHYS_PFN(pgmap->ranges[r].start);
		for (i = 0; i < nr; i++) {
			struct page *page = pfn_to_page(pfn + i);

			if (atomic_read(&page->_refcount))
				shim_warn(__FILE__, __LINE__,
					  "%s: pfn %lu still has references\n",
					  __func__, pfn + i);
			memset(page, 0x6b, sizeof(*page));
		}
	}
}

struct dev_pagemap *get_dev_pagemap(unsigned long pfn, struct dev_pagemap *pgmap)
{
	struct dev_pagemap *found = NULL;
	int i, r;

	pthread_mutex_lock(&pgmap_table_lock);
	for (i = 0; i < SHIM_MAX_PGMAPS && !found; i++) {
		struct dev_pagemap *p = live_pgmaps[i];

		if (!p)
			continue;
		for (r = 0; r < p->nr_range; r++)
			if (pfn - PHYS_PFN(p->ranges[r].start) <
			    PHYS_PFN(range_len(&p->ranges[r])))
				found = p;
	}
	if (found && !percpu_ref_tryget_live(&found->ref))
		found = NULL;
	pthread_mutex_unlock(&pgmap_table_lock);
	return found;
}

/* mm/memremap.c's free_zone_device_folio(), with the project's patch. */
void free_zone_device_folio(struct folio *folio)
{
	if (WARN_ON_ONCE(!folio->page.pgmap->ops ||
			 !folio->page.pgmap->ops->page_free))
		return;
	folio->page.pgmap->ops->page_free(folio_page(folio, 0));
	pgmap_folio_freed(folio);
	put_dev_pagemap(folio->page.pgmap);
}

void folio_put(struct folio *folio)
{
	int refs = __atomic_sub_fetch(&folio->page._refcount.counter, 1, __ATOMIC_SEQ_CST);

	if (refs < 0)
		shim_warn(__FILE__, __LINE__, "%s of a free page\n", __func__);
	if (refs)
		return;
	if (folio->page.pgmap)
		free_zone_device_folio(folio);
	else
		free(folio);
}

void lock_page(struct page *page)
{
	while (!folio_trylock(page_folio(page)))
		cond_resched();
}

/* shim_unmodelled() of "@fn (eviction)" */
static void __noreturn shim_unmodelled_eviction(const char *fn)
{
	char what[64];

	snprintf(what, sizeof(what), "%s (eviction)", fn);
	shim_unmodelled(what);
}

struct page *alloc_page(gfp_t gfp)
{
	shim_unmodelled_eviction(__func__);
}

void __free_page(struct page *page)
{
	shim_unmodelled_eviction(__func__);
}

int migrate_device_range(unsigned long *src_pfns, unsigned long start,
			 unsigned long npages)
{
	shim_unmodelled_eviction(__func__);
}

void migrate_device_pages(unsigned long *src_pfns, unsigned long *dst_pfns,
			  unsigned long npages)
{
	shim_unmodelled_eviction(__func__);
}

void migrate_device_finalize(unsigned long *src_pfns, unsigned long *dst_pfns,
			     unsigned long npages)
{
	shim_unmodelled_eviction(__func__);
}

long get_user_pages(unsigned long start, unsigned long nr_pages,
		    unsigned int gup_flags, struct page **pages)
{
	shim_unmodelled("get_user_pages");
}

/* === Devices: genalloc's and pgmap_alloc's devm helpers are not modelled = */

void *devres_alloc(dr_release_t release, size_t size, gfp_t gfp)
{
	shim_unmodelled("devres_alloc");
}

void devres_free(void *res)
{
	shim_unmodelled("devres_free");
}

void devres_add(struct device *dev, void *res)
{
	shim_unmodelled("devres_add");
}

void *devres_find(struct device *dev, dr_release_t release, dr_match_t match,
		  void *match_data)
{
	shim_unmodelled("devres_find");
}

int devm_add_action_or_reset(struct device *dev, void (*action)(void *), void *data)
{
	shim_unmodelled("devm_add_action_or_reset");
}

void *devm_memremap_pages(struct device *dev, struct dev_pagemap *pgmap)
{
	shim_unmodelled("devm_memremap_pages");
}

/* === Shrinkers ============================================================ */

static struct shrinker *shrinkers;
static pthread_mutex_t shrinker_lock = PTHREAD_MUTEX_INITIALIZER;

struct shrinker *shrinker_alloc(unsigned int flags, const char *fmt, ...)
{
	return shim_alloc(sizeof(struct shrinker), GFP_KERNEL | __GFP_ZERO);
}

void shrinker_register(struct shrinker *shrinker)
{
	pthread_mutex_lock(&shrinker_lock);
	shrinker->next = shrinkers;
	shrinkers = shrinker;
	pthread_mutex_unlock(&shrinker_lock);
}

void shrinker_free(struct shrinker *shrinker)
{
	struct shrinker **pp;

	if (!shrinker)
		return;
	pthread_mutex_lock(&shrinker_lock);
	for (pp = &shrinkers; *pp; pp = &(*pp)->next)
		if (*pp == shrinker) {
			*pp = shrinker->next;
			break;
		}
	pthread_mutex_unlock(&shrinker_lock);
	/* The kernel frees it after a grace period, as readers may hold it. */
	synchronize_rcu();
	shim_free(shrinker);
}

/* Memory pressure: every shrinker counted, and scanned if it has anything. */
unsigned long shim_shrink(void)
{
	struct shrink_control sc = { .gfp_mask = GFP_KERNEL };
	unsigned long count, total = 0;
	struct shrinker *s;

	pthread_mutex_lock(&shrinker_lock);
	for (s = shrinkers; s; s = s->next) {
		count = s->count_objects(s, &sc);
		if (count == SHRINK_EMPTY || !count)
			continue;
		total += count;
		sc.nr_to_scan = count;
		s->scan_objects(s, &sc);
	}
	pthread_mutex_unlock(&shrinker_lock);
	return total;
}

/* === Initcalls ============================================================ */

/* Runs the core_initcall() of lib/pgmap_alloc.c, as the kernel at boot. */
int shim_core_initcall(void)
{
	return shim_initcall();
}
