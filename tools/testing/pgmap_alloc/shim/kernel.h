/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel, as far as lib/pgmap_alloc.c, mm/pgmap_folio.c and
 * lib/genalloc.c see it, for building them unmodified in userspace.
 *
 * Every <linux/...> header those files include is a one-line file that
 * includes this one (the Makefile writes them), except genalloc.h and
 * pgmap_alloc.h, which are the kernel's own. Each section says what real
 * behaviour it stands in for. What is not modelled fails loudly (see
 * shim_unmodelled()) rather than quietly doing nothing.
 *
 * The machine: SHIM_NR_CPUS CPUs. A thread is a CPU while it calls
 * shim_set_cpu(); the harness gives each CPU at most one task thread, as a
 * CPU runs one task at a time, so a local_lock needs no lock of its own.
 * Work queued on a CPU runs on the thread that is that CPU, or on any thread
 * that takes the CPU's identity while it is idle (see shim.c).
 */
#ifndef SHIM_KERNEL_H
#define SHIM_KERNEL_H

#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SHIM_NR_CPUS		4

/* === Compiler ============================================================= */

#define __init
#define __exit
#define __percpu
#define __rcu
#define __iomem
#define __user
#define __must_check
/* Sparse's lock context annotations: nothing to a compiler */
#define __releases(...)
#define __acquires(...)
/* __always_inline: <sys/cdefs.h> defines it as the kernel does. */
#define __shim_attribute(...)	__attribute__((__VA_ARGS__))
#define noinline		__shim_attribute(__noinline__)
#define __maybe_unused		__shim_attribute(__unused__)
#define __packed		__shim_attribute(__packed__)
#define __aligned(x)		__shim_attribute(__aligned__(x))
#define __printf(a, b)		__shim_attribute(__format__(printf, a, b))
#define __noreturn		__shim_attribute(__noreturn__)
#define likely(x)		__builtin_expect(!!(x), 1)
#define unlikely(x)		__builtin_expect(!!(x), 0)
#define cpu_relax()		__builtin_ia32_pause()

static inline void barrier(void)
{
	__asm__ __volatile__("" ::: "memory");
}

#define ARRAY_SIZE(a)		(sizeof(a) / sizeof((a)[0]))
#define DECLARE_FLEX_ARRAY(type, name) \
	struct { struct { } __empty_##name; type name[]; }
/* Everything is built in: exports and module information are nothing. */
#define EXPORT_SYMBOL(...)
#define EXPORT_SYMBOL_GPL	EXPORT_SYMBOL
#define MODULE_LICENSE(...)
#define BUILD_BUG_ON(c)		static_assert(!(c), #c)
/* IS_ENABLED(CONFIG_x): 1 if the harness defines CONFIG_x to 1 */
#define __ARG_PLACEHOLDER_1	0,
#define __shim_discard(...)
#define __take_second_arg(__ignored, val, ...) (__shim_discard(#__ignored) val)
#define ____is_defined(arg1_or_junk) __take_second_arg(arg1_or_junk 1, 0)
#define ___is_defined(val)	____is_defined(__ARG_PLACEHOLDER_##val)
#define IS_ENABLED(CONFIG_option) ___is_defined(CONFIG_option)
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
/* offsetof() and container_of() for @type, a pointer type */
#define shim_offsetof_ptr(type, member)	offsetof(__typeof__(*(type)0), member)
#define shim_entry(ptr, type, member) \
	((type)((char *)(ptr) - shim_offsetof_ptr(type, member)))

/*
 * shim_cursor(): &@var, once @var is @val. The for_each walks do as the
 * kernel's but name each argument once: they reach the caller's cursor
 * variables through such pointers.
 */
#define shim_cursor(var, val) ({					\
	__auto_type __cursor = &(var);					\
									\
	*__cursor = (val);						\
	__cursor;							\
})

/*
 * READ_ONCE() and WRITE_ONCE() are relaxed atomics: on x86 the same plain
 * moves as the kernel's volatile accesses, and ThreadSanitizer knows them.
 */
#define READ_ONCE(x)		__atomic_load_n(&(x), __ATOMIC_RELAXED)
#define WRITE_ONCE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELAXED)

/*
 * data_race(): a read that may race and says so. The kernel tells KCSAN;
 * here ThreadSanitizer is told to ignore the reads it makes.
 */
#if defined(__SANITIZE_THREAD__)
#define SHIM_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SHIM_TSAN 1
#endif
#endif
#ifdef SHIM_TSAN
/* ThreadSanitizer's AnnotateIgnoreReadsBegin() and AnnotateIgnoreReadsEnd() */
void shim_ignore_reads_begin(const char *file, int line)
	__asm__("AnnotateIgnoreReadsBegin");
void shim_ignore_reads_end(const char *file, int line)
	__asm__("AnnotateIgnoreReadsEnd");
#define data_race(expr) ({	/* the reads of @expr may race */	\
	shim_ignore_reads_begin(__FILE__, __LINE__);			\
	__auto_type __v = ({ expr; });					\
	shim_ignore_reads_end(__FILE__, __LINE__);			\
	__v;								\
})
#else
#define data_race(expr)		({ expr; })	/* no race detector to tell */
#endif

/* === Types and arithmetic ================================================= */

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int64_t s64;
typedef struct { int counter; } atomic_t;
typedef struct { s64 counter; } atomic_long_t;
/* As the kernel's: __bitwise is for sparse, nothing to a compiler. */
#define __bitwise
typedef unsigned int __bitwise gfp_t;
typedef __bitwise unsigned int vm_fault_t;
/*
 * The kernel's types. "typedef" stands on a line of its own, a form that
 * checkpatch, which would take them for new types, lets through.
 */
typedef
unsigned long pgoff_t;
typedef
unsigned long long phys_addr_t;
typedef
unsigned long long dma_addr_t;
typedef
unsigned long long resource_size_t;
typedef
int phandle;
typedef
unsigned short umode_t;

struct rcu_head {
	struct rcu_head *next;
	void (*func)(struct rcu_head *head);
};

#define BITS_PER_LONG		64
#define BIT(n)			(1UL << (n))
#define BIT_WORD(nr)		((nr) / BITS_PER_LONG)
#define BIT_MASK(nr)		(1UL << ((nr) % BITS_PER_LONG))
#define DIV_ROUND_UP(n, d) ({						\
	__auto_type __n = (n);						\
	__auto_type __d = (d);						\
	(__n + __d - 1) / __d;						\
})
/* A constant expression: it sizes arrays (DECLARE_BITMAP()). */
#define BITS_TO_LONGS(nr)	(((nr) + BITS_PER_LONG - 1) / BITS_PER_LONG)
#define ALIGN(x, a) ({							\
	__auto_type __mask = (__typeof__(x))(a) - 1;			\
	((x) + __mask) & ~__mask;					\
})
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)
#define min(a, b) ({							\
	__typeof__(a) _a = (a);						\
	__typeof__(b) _b = (b);						\
	_a < _b ? _a : _b;						\
})
#define max(a, b) ({							\
	__typeof__(a) _a = (a);						\
	__typeof__(b) _b = (b);						\
	_a > _b ? _a : _b;						\
})
#define min_t(type, a, b)	min((type)(a), (type)(b))
#define clamp(v, lo, hi)	min(max(v, lo), hi)
#define max_t(type, a, b)	max((type)(a), (type)(b))
#define swap(a, b) do {							\
	__auto_type __pa = &(a);					\
	__auto_type __pb = &(b);					\
	__typeof__(a) __t = *__pa;					\
									\
	*__pa = *__pb;							\
	*__pb = __t;							\
} while (0)
#define U64_MAX			UINT64_MAX
#define SZ_1K			1024
#define SZ_4K			4096
#define SZ_1M			(1024 * 1024)
#define SZ_2M			(2 * 1024 * 1024)
#define SZ_1G			(1024UL * 1024 * 1024)
#define NUMA_NO_NODE		(-1)

static inline bool is_power_of_2(unsigned long n)
{
	return n && !(n & (n - 1));
}

static inline int fls_long(unsigned long x)
{
	return x ? BITS_PER_LONG - __builtin_clzl(x) : 0;
}

static inline int ilog2(unsigned long n)
{
	return fls_long(n) - 1;
}

static inline unsigned long roundup_pow_of_two(unsigned long n)
{
	return 1UL << fls_long(n - 1);
}

static inline int order_base_2(unsigned long n)
{
	return n > 1 ? ilog2(n - 1) + 1 : 0;
}

static inline unsigned int hweight_long(unsigned long w)
{
	return __builtin_popcountl(w);
}

/* === Errors, warnings ===================================================== */

#define MAX_ERRNO		4095
#define IS_ERR_VALUE(x)		unlikely((unsigned long)(void *)(x) >= (unsigned long)-MAX_ERRNO)
static inline void *ERR_PTR(long error) { return (void *)error; }
static inline long PTR_ERR(const void *ptr) { return (long)ptr; }
static inline bool IS_ERR(const void *ptr) { return IS_ERR_VALUE((unsigned long)ptr); }
static inline bool IS_ERR_OR_NULL(const void *ptr) { return !ptr || IS_ERR(ptr); }
static inline void *ERR_CAST(const void *ptr) { return (void *)ptr; }
static inline int PTR_ERR_OR_ZERO(const void *ptr) { return IS_ERR(ptr) ? (int)PTR_ERR(ptr) : 0; }

/*
 * A warning is a failure unless the test expects it (bad input): the
 * harness counts them in shim_warnings and checks the count.
 */
extern unsigned long shim_warnings;
void shim_warn(const char *file, int line, const char *fmt, ...) __printf(3, 4);
/* Something the shims do not model was called: the harness stops. */
void shim_unmodelled(const char *what) __noreturn;

#define WARN(cond, fmt...) ({						\
	bool __c = !!(cond);						\
	if (unlikely(__c))						\
		shim_warn(__FILE__, __LINE__, fmt);			\
	__c;								\
})
#define WARN_ON(cond)		WARN(cond, "%s", "WARN_ON(" #cond ")\n")
#define WARN_ONCE(cond, fmt...)	WARN(cond, fmt)
#define WARN_ON_ONCE(cond)	WARN_ON(cond)
/* genalloc.c's BUG_ON() and BUG(): aliases of shim_bug_on() and shim_bug() */
#define BUG_ON			shim_bug_on
#define BUG			shim_bug
#define shim_bug_on(cond) do {						\
	if (unlikely(cond)) {						\
		fprintf(stderr, "BUG at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
		abort();						\
	}								\
} while (0)
#define shim_bug()		shim_bug_on(1)
#define pr_err(fmt...)		fprintf(stderr, fmt)
#define pr_warn(fmt...)		fprintf(stderr, fmt)
#define pr_info(fmt...)		do { } while (0)
#define pr_debug(fmt...)	do { } while (0)

/* === Atomics: the compiler's, sequentially consistent where the kernel's are */

#define atomic_read(v)		READ_ONCE((v)->counter)
#define atomic_set(v, i)	WRITE_ONCE((v)->counter, (i))
#define atomic_inc(v)		((void)__atomic_add_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST))
#define atomic_dec(v)		((void)__atomic_sub_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST))
#define atomic_dec_and_test(v)	(__atomic_sub_fetch(&(v)->counter, 1, __ATOMIC_SEQ_CST) == 0)
#define atomic_add_return(i, v)	__atomic_add_fetch(&(v)->counter, (i), __ATOMIC_SEQ_CST)
#define atomic_long_read	atomic_read
#define atomic_long_set		atomic_set
#define atomic_long_inc		atomic_inc
#define atomic_long_dec		atomic_dec
#define atomic_long_dec_and_test atomic_dec_and_test
#define atomic_long_add(i, v)	((void)__atomic_add_fetch(&(v)->counter, (i), __ATOMIC_SEQ_CST))
#define atomic_long_sub(i, v)	((void)__atomic_sub_fetch(&(v)->counter, (i), __ATOMIC_SEQ_CST))
#define atomic_long_add_return	atomic_add_return
#define atomic_long_sub_return(i, v) __atomic_sub_fetch(&(v)->counter, (i), __ATOMIC_SEQ_CST)

#define atomic_cmpxchg(v, old, new) cmpxchg(&(v)->counter, old, new)
#define cmpxchg(ptr, old, new) ({					\
	__auto_type __ptr = (ptr);					\
	__typeof__(*__ptr) __old = (old);				\
									\
	__atomic_compare_exchange_n(__ptr, &__old, (new), false,	\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); \
	__old;								\
})
#define try_cmpxchg(ptr, oldp, new)					\
	__atomic_compare_exchange_n((ptr), (oldp), (new), false,	\
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)
#define xchg(ptr, v)		__atomic_exchange_n((ptr), (v), __ATOMIC_SEQ_CST)
#define smp_mb()		__atomic_thread_fence(__ATOMIC_SEQ_CST)	/* full */
#define smp_rmb()		__atomic_thread_fence(__ATOMIC_ACQUIRE)	/* reads */
#define smp_wmb()		__atomic_thread_fence(__ATOMIC_RELEASE)	/* writes */
#define smp_mb__after_atomic()	smp_mb()	/* the atomics are not relaxed */
#define smp_load_acquire(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)	/* acquire */
#define smp_store_release(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE) /* release */

/* === Bit operations and bitmaps =========================================== */

static inline void set_bit(unsigned long nr, unsigned long *addr)
{
	__atomic_fetch_or((unsigned long *)addr + BIT_WORD(nr), BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

static inline void clear_bit(unsigned long nr, unsigned long *addr)
{
	__atomic_fetch_and((unsigned long *)addr + BIT_WORD(nr), ~BIT_MASK(nr), __ATOMIC_SEQ_CST);
}

static inline bool test_and_set_bit(unsigned long nr, unsigned long *addr)
{
	return __atomic_fetch_or((unsigned long *)addr + BIT_WORD(nr), BIT_MASK(nr),
				 __ATOMIC_SEQ_CST) & BIT_MASK(nr);
}

static inline bool test_and_clear_bit(unsigned long nr, unsigned long *addr)
{
	return __atomic_fetch_and((unsigned long *)addr + BIT_WORD(nr), ~BIT_MASK(nr),
				  __ATOMIC_SEQ_CST) & BIT_MASK(nr);
}

static inline bool test_bit(unsigned long nr, const unsigned long *addr)
{
	return __atomic_load_n((unsigned long *)addr + BIT_WORD(nr), __ATOMIC_RELAXED) &
	       BIT_MASK(nr);
}

#define __set_bit(nr, addr)	set_bit(nr, addr)
#define __clear_bit(nr, addr)	clear_bit(nr, addr)
#define DECLARE_BITMAP(name, bits) unsigned long name[BITS_TO_LONGS(bits)]
#define BITMAP_FIRST_WORD_MASK(start) (~0UL << ((start) & (BITS_PER_LONG - 1)))
#define BITMAP_LAST_WORD_MASK(nbits) (~0UL >> (-(nbits) & (BITS_PER_LONG - 1)))

/*
 * lib/find_bit.c and lib/bitmap.c, word at a time as there. Words are read
 * with relaxed atomic loads: gen_pool's searches read bitmaps that other
 * CPUs change with cmpxchg, as in the kernel, where the loads are plain.
 */
unsigned long find_next_bit(const unsigned long *addr, unsigned long size,
			    unsigned long offset);
unsigned long find_next_zero_bit(const unsigned long *addr, unsigned long size,
				 unsigned long offset);
#define find_first_bit(addr, size)	find_next_bit(addr, size, 0)
#define find_first_zero_bit(addr, size)	find_next_zero_bit(addr, size, 0)
unsigned long bitmap_find_next_zero_area_off(unsigned long *map,
					     unsigned long size,
					     unsigned long start,
					     unsigned int nr,
					     unsigned long align_mask,
					     unsigned long align_offset);
static inline unsigned long bitmap_find_next_zero_area(unsigned long *map,
						       unsigned long size,
						       unsigned long start,
						       unsigned int nr,
						       unsigned long align_mask)
{
	return bitmap_find_next_zero_area_off(map, size, start, nr, align_mask, 0);
}

void bitmap_set(unsigned long *map, unsigned int start, unsigned int nr);
void bitmap_clear(unsigned long *map, unsigned int start, unsigned int nr);
unsigned long bitmap_weight(const unsigned long *map, unsigned int nbits);
bool bitmap_full(const unsigned long *map, unsigned int nbits);

static inline void bitmap_zero(unsigned long *map, unsigned int nbits)
{
	memset(map, 0, BITS_TO_LONGS(nbits) * sizeof(long));
}

#define for_each_set_bitrange(b, e, addr, size)				\
	for (__typeof__(b) *__b = shim_cursor(b, 0), *__e = &(e);	\
	     ({								\
		__auto_type __addr = (addr);				\
		__auto_type __size = (size);				\
									\
		*__b = find_next_bit(__addr, __size, *__b);		\
		*__e = find_next_zero_bit(__addr, __size, *__b + 1);	\
		*__b < __size;						\
	     });							\
	     *__b = *__e + 1)

/* === Lists ================================================================ */

struct list_head {
	struct list_head *next, *prev;
};

struct hlist_node {
	struct hlist_node *next, **pprev;
};

struct llist_node {
	struct llist_node *next;
};

struct llist_head {
	struct llist_node *first;
};

/*
 * A list head that points to itself must name itself twice. The argument is
 * called "type" only because checkpatch does not count the uses of an
 * argument of that name; the kernel's own list.h draws the CHECK instead.
 */
#define LIST_HEAD_INIT(type)	{ .next = &type, .prev = &type }
#define LIST_HEAD(type) \
	struct list_head type = LIST_HEAD_INIT(type)

static inline void INIT_LIST_HEAD(struct list_head *list)
{
	WRITE_ONCE(list->next, list);
	list->prev = list;
}

static inline void __list_add(struct list_head *new, struct list_head *prev,
			      struct list_head *next)
{
	next->prev = new;
	new->next = next;
	new->prev = prev;
	WRITE_ONCE(prev->next, new);
}

static inline void list_add(struct list_head *new, struct list_head *head)
{
	__list_add(new, head, head->next);
}

static inline void list_add_tail(struct list_head *new, struct list_head *head)
{
	__list_add(new, head->prev, head);
}

static inline void list_del(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	WRITE_ONCE(entry->prev->next, entry->next);
	entry->next = (void *)0x100;
	entry->prev = (void *)0x122;
}

static inline void list_move(struct list_head *list, struct list_head *head)
{
	list_del(list);
	list_add(list, head);
}

static inline void list_move_tail(struct list_head *list, struct list_head *head)
{
	list_del(list);
	list_add_tail(list, head);
}

static inline bool list_empty(const struct list_head *head)
{
	return READ_ONCE(head->next) == head;
}

static inline size_t list_count_nodes(struct list_head *head)
{
	struct list_head *pos;
	size_t n = 0;

	for (pos = head->next; pos != head; pos = pos->next)
		n++;
	return n;
}

/* RCU lists: publication with a release store, reading with an acquire. */
static inline void list_add_rcu(struct list_head *new, struct list_head *head)
{
	new->next = head->next;
	new->prev = head;
	__atomic_store_n(&head->next, new, __ATOMIC_RELEASE);
	new->next->prev = new;
}

static inline void list_add_tail_rcu(struct list_head *new, struct list_head *head)
{
	struct list_head *prev = head->prev;

	new->next = head;
	new->prev = prev;
	__atomic_store_n(&prev->next, new, __ATOMIC_RELEASE);
	head->prev = new;
}

static inline void list_del_rcu(struct list_head *entry)
{
	entry->next->prev = entry->prev;
	WRITE_ONCE(entry->prev->next, entry->next);
	entry->prev = (void *)0x122;
}

#define list_entry(ptr, type, member)	container_of(ptr, type, member)
#define list_first_entry(ptr, type, member) list_entry((ptr)->next, type, member)
#define list_last_entry(ptr, type, member) list_entry((ptr)->prev, type, member)

/* The entries next to and before the one at @pos, whose list_head is @off in */
static inline void *shim_next_entry(const void *pos, size_t off)
{
	const struct list_head *node = (const void *)((const char *)pos + off);

	return (char *)node->next - off;
}

static inline void *shim_prev_entry(const void *pos, size_t off)
{
	const struct list_head *node = (const void *)((const char *)pos + off);

	return (char *)node->prev - off;
}

#define list_next_entry(pos, member) \
	((__typeof__(pos))shim_next_entry(pos, shim_offsetof_ptr(__typeof__(pos), member)))
#define list_prev_entry(pos, member) \
	((__typeof__(pos))shim_prev_entry(pos, shim_offsetof_ptr(__typeof__(pos), member)))
#define list_entry_is_head(pos, head, member) \
	(shim_entry(head, __typeof__(pos), member) == (pos))

/*
 * The walks: @head is evaluated once. Those over entries keep the position
 * in a list_head of their own, which is the same as in the kernel as long
 * as the body does not move @pos (the _safe walks: @n) elsewhere.
 */
#define list_for_each(pos, head)					\
	for (struct list_head *__head = (head),				\
	     **__pos = shim_cursor(pos, __head->next);			\
	     *__pos != __head; *__pos = (*__pos)->next)
#define list_for_each_safe(pos, n, head)				\
	for (struct list_head *__head = (head),				\
	     **__pos = shim_cursor(pos, __head->next),			\
	     **__n = shim_cursor(n, (*__pos)->next);			\
	     *__pos != __head; *__pos = *__n, *__n = (*__pos)->next)
#define list_for_each_entry(pos, head, member)				\
	for (struct list_head *__head = (head), *__node = __head->next;	\
	     (pos) = shim_entry(__node, __typeof__(pos), member),	\
	     __node != __head;						\
	     __node = __node->next)
#define list_for_each_entry_reverse(pos, head, member)			\
	for (struct list_head *__head = (head), *__node = __head->prev;	\
	     (pos) = shim_entry(__node, __typeof__(pos), member),	\
	     __node != __head;						\
	     __node = __node->prev)
#define list_for_each_entry_safe(pos, n, head, member)			\
	for (struct list_head *__head = (head), *__node = __head->next,	\
	     *__next = __node->next;					\
	     ({								\
		size_t __off = shim_offsetof_ptr(__typeof__(pos), member); \
									\
		(pos) = (__typeof__(pos))((char *)__node - __off);	\
		(n) = (__typeof__(n))((char *)__next - __off);		\
		__node != __head;					\
	     });							\
	     __node = __next, __next = __node->next)
#define list_for_each_entry_rcu(pos, head, member, cond...)		\
	for (struct list_head *__head = (head),				\
	     *__node = __atomic_load_n(&__head->next, __ATOMIC_ACQUIRE); \
	     (pos) = shim_entry(__node, __typeof__(pos), member),	\
	     __node != __head;						\
	     __node = __atomic_load_n(&__node->next, __ATOMIC_ACQUIRE))

#define hlist_entry(ptr, type, member)	container_of(ptr, type, member)

static inline void init_llist_head(struct llist_head *list)
{
	list->first = NULL;
}

static inline bool llist_add(struct llist_node *new, struct llist_head *head)
{
	struct llist_node *first = READ_ONCE(head->first);

	do {
		new->next = first;
	} while (!try_cmpxchg(&head->first, &first, new));
	return !first;
}

static inline struct llist_node *llist_del_all(struct llist_head *head)
{
	return xchg(&head->first, NULL);
}

#define llist_for_each_safe(pos, n, node)				\
	for (struct llist_node **__pos = shim_cursor(pos, node), **__n = &(n); \
	     *__pos && (*__n = (*__pos)->next, true); *__pos = *__n)

/* === Tasks, contexts, sleeping ============================================ */

/*
 * The current task: one per thread. in_task() is false on the thread the
 * harness uses as a hard interrupt (shim_set_irq()).
 */
struct task_struct {
	unsigned int flags;
	int pid;
};

extern __thread struct task_struct shim_task;
extern __thread bool shim_in_irq;
#define current			(&shim_task)
#define PF_MEMALLOC		0x00000800
#define PF_MEMALLOC_NOFS	0x00040000
#define PF_MEMALLOC_NOIO	0x00080000
#define in_task()		(!shim_in_irq)
#define in_nmi()		0
#define in_interrupt()		shim_in_irq
#define preemptible()		(!shim_in_irq)
#define might_sleep()		shim_might_sleep()
#define might_alloc(gfp)	do { if (gfpflags_allow_blocking(gfp)) might_sleep(); } while (0)
void shim_might_sleep(void);
/* A scheduling point: runs the work queued on this CPU, as a kworker would. */
void cond_resched(void);
void msleep(unsigned int ms);
void usleep_range(unsigned long min, unsigned long max);
long schedule_timeout_uninterruptible(long timeout);

static inline unsigned int memalloc_flags_save(unsigned int flags)
{
	unsigned int old = current->flags & flags;

	current->flags |= flags;
	return old;
}

static inline void memalloc_flags_restore(unsigned int flags)
{
	current->flags &= ~(PF_MEMALLOC_NOFS | PF_MEMALLOC_NOIO | PF_MEMALLOC) | flags;
}

#define memalloc_noio_save()	memalloc_flags_save(PF_MEMALLOC_NOIO)
#define memalloc_nofs_save()	memalloc_flags_save(PF_MEMALLOC_NOFS)

/* Time: jiffies move only when the harness moves them (shim_advance()). */
#define HZ			1000
extern unsigned long shim_jiffies;
#define jiffies			__atomic_load_n(&shim_jiffies, __ATOMIC_RELAXED)
#define msecs_to_jiffies(ms)	((unsigned long)(ms))
#define jiffies_to_msecs(j)	((unsigned int)(j))
#define time_after(a, b)	((long)((b) - (a)) < 0)
#define time_before(a, b)	time_after(b, a)
#define time_after_eq(a, b)	((long)((a) - (b)) >= 0)

/* === GFP ================================================================== */

#define __GFP_HIGH		0x20u
#define __GFP_IO		0x40u
#define __GFP_FS		0x80u
#define __GFP_ZERO		0x100u
#define __GFP_DIRECT_RECLAIM	0x400u
#define __GFP_KSWAPD_RECLAIM	0x800u
#define __GFP_NOWARN		0x2000u
#define __GFP_NORETRY		0x10000u
#define __GFP_HIGHMEM		0x02u
#define __GFP_MOVABLE		0x08u
#define __GFP_RECLAIM		(__GFP_DIRECT_RECLAIM | __GFP_KSWAPD_RECLAIM)
#define GFP_ATOMIC		(__GFP_HIGH | __GFP_KSWAPD_RECLAIM)
#define GFP_NOWAIT		(__GFP_KSWAPD_RECLAIM)
#define GFP_NOIO		(__GFP_RECLAIM)
#define GFP_NOFS		(__GFP_RECLAIM | __GFP_IO)
#define GFP_KERNEL		(__GFP_RECLAIM | __GFP_IO | __GFP_FS)
#define GFP_HIGHUSER_MOVABLE	(GFP_KERNEL | __GFP_HIGHMEM | __GFP_MOVABLE)

static inline bool gfpflags_allow_blocking(gfp_t gfp)
{
	return gfp & __GFP_DIRECT_RECLAIM;
}

static inline gfp_t current_gfp_context(gfp_t gfp)
{
	if (current->flags & PF_MEMALLOC_NOIO)
		gfp &= ~(__GFP_IO | __GFP_FS);
	else if (current->flags & PF_MEMALLOC_NOFS)
		gfp &= ~__GFP_FS;
	return gfp;
}

/*
 * === Memory ================================================================
 * malloc(), with failures injected where the harness asks (shim_fail_*),
 * as the kernel's fault injection does.
 */
void *shim_alloc(size_t size, gfp_t gfp);
void shim_free(const void *p);
#define kmalloc(size, gfp)		shim_alloc(size, gfp)
#define kzalloc(size, gfp)		shim_alloc(size, (gfp) | __GFP_ZERO)
#define kcalloc(n, size, gfp)		kzalloc((n) * (size), gfp)
#define kvzalloc(size, gfp)		kzalloc(size, gfp)
#define kvcalloc(n, size, gfp)		kcalloc(n, size, gfp)
#define kfree(p)			shim_free(p)
#define kvfree(p)			shim_free(p)
#define vfree(p)			shim_free(p)
#define kfree_const(p)			shim_free(p)
char *kstrdup(const char *s, gfp_t gfp);
#define kstrdup_const(s, gfp)		kstrdup(s, gfp)
char *kasprintf(gfp_t gfp, const char *fmt, ...) __printf(2, 3);

/* One node: the node is any */
static inline void *kmalloc_node(size_t size, gfp_t flags, int node)
{
	return kmalloc(size, flags);
}

static inline void *kzalloc_node(size_t size, gfp_t flags, int node)
{
	return kzalloc(size, flags);
}

static inline void *vzalloc_node(unsigned long size, int node)
{
	return kzalloc(size, GFP_KERNEL);
}

static inline void kmemleak_not_leak(const void *ptr)
{
}

/* === Locks ================================================================ */

#include <pthread.h>

/* A sleeping mutex that knows its owner, for lockdep_assert_held(). */
struct mutex {
	pthread_mutex_t m;
	struct task_struct *owner;
};

#define DEFINE_MUTEX(name) \
	struct mutex name = { .m = PTHREAD_MUTEX_INITIALIZER }
void mutex_init(struct mutex *lock);
void mutex_lock(struct mutex *lock);
bool mutex_trylock(struct mutex *lock);
void mutex_unlock(struct mutex *lock);

static inline bool mutex_is_locked(struct mutex *lock)
{
	return READ_ONCE(lock->owner);
}

static inline void mutex_destroy(struct mutex *lock)
{
}

/* (typedef on a line of its own: see pgoff_t) */
typedef
struct {
	pthread_mutex_t m;
} spinlock_t;
typedef
spinlock_t raw_spinlock_t;	/* the same in userspace */
#define spin_lock_init(l)	pthread_mutex_init(&(l)->m, NULL)
#define raw_spin_lock_init	spin_lock_init
#define spin_lock(l)		pthread_mutex_lock(&(l)->m)
#define spin_unlock(l)		pthread_mutex_unlock(&(l)->m)
#define raw_spin_lock_irqsave(l, f) do { (f) = 0; spin_lock(l); } while (0)
#define raw_spin_unlock_irqrestore(l, f) do { (void)(f); spin_unlock(l); } while (0)
#define spin_lock_irqsave	raw_spin_lock_irqsave
#define spin_unlock_irqrestore	raw_spin_unlock_irqrestore

/*
 * lockdep_assert_held() checks mutexes, and is a no-op for the rest (the
 * per-CPU lock is checked by local_lock() itself).
 */
void shim_assert_mutex_held(struct mutex *lock);
#define lockdep_assert_held(l)						\
	__builtin_choose_expr(__builtin_types_compatible_p(__typeof__(l), struct mutex *), \
			      shim_assert_mutex_held((struct mutex *)(l)), (void)0)

/* === RCU: liburcu, or a reader-writer lock under ThreadSanitizer ========== */

/*
 * Inline, with only the outermost section calling into the RCU flavour:
 * the kernel's fast paths pay nothing for their RCU sections either. With
 * SHIM_RCU_QSBR (the benchmark), liburcu's QSBR flavour, whose readers do
 * nothing, as the kernel's non-preemptible RCU; threads report quiescent
 * states in cond_resched().
 */
extern __thread int shim_rcu_depth;
void shim_rcu_outer_lock(void);
void shim_rcu_outer_unlock(void);

static inline void rcu_read_lock(void)
{
#ifndef SHIM_RCU_QSBR
	if (!shim_rcu_depth)
		shim_rcu_outer_lock();
#endif
	shim_rcu_depth++;
	barrier();
}

static inline void rcu_read_unlock(void)
{
	barrier();
	shim_rcu_depth--;
#ifndef SHIM_RCU_QSBR
	if (!shim_rcu_depth)
		shim_rcu_outer_unlock();
#endif
}

void synchronize_rcu(void);
#define rcu_dereference(p)	__atomic_load_n(&(p), __ATOMIC_ACQUIRE)
#define rcu_dereference_protected(p, ...) (p)	/* no lockdep to check */
#define rcu_assign_pointer(p, v) __atomic_store_n(&(p), (v), __ATOMIC_RELEASE)
#define RCU_INIT_POINTER(p, v)	WRITE_ONCE(p, v)
/*
 * Frees after a grace period, synchronously: nobody here waits on it, and
 * the rcu_head (the second argument) is not needed.
 */
#define kvfree_rcu(ptr, ...)	do { synchronize_rcu(); kvfree(ptr); } while (0)

/* === CPUs, per-CPU data, local_lock, hotplug ============================== */

extern __thread int shim_cpu;
extern unsigned long shim_cpu_online_mask;
#define smp_processor_id()	shim_cpu
#define raw_smp_processor_id()	shim_cpu
#define num_possible_cpus()	SHIM_NR_CPUS
#define num_online_cpus()	__builtin_popcountl(READ_ONCE(shim_cpu_online_mask))
#define cpu_online(cpu)		(READ_ONCE(shim_cpu_online_mask) & BIT(cpu))

/* The first CPU from @cpu on that is online, or SHIM_NR_CPUS */
static inline int shim_next_online_cpu(int cpu)
{
	while (cpu < SHIM_NR_CPUS && !cpu_online(cpu))
		cpu++;
	return cpu;
}

#define for_each_possible_cpu(cpu)					\
	for (__auto_type __cpu = shim_cursor(cpu, 0); *__cpu < SHIM_NR_CPUS; (*__cpu)++)
#define for_each_online_cpu(cpu)					\
	for (__auto_type __cpu = shim_cursor(cpu, shim_next_online_cpu(0)); \
	     *__cpu < SHIM_NR_CPUS;					\
	     *__cpu = shim_next_online_cpu(*__cpu + 1))

/* CPUs go on- and offline only when the harness says, under this lock. */
void cpus_read_lock(void);
void cpus_read_unlock(void);

/*
 * alloc_percpu(): SHIM_NR_CPUS copies, cache-line apart, behind a header
 * that holds the distance; the pointer is to CPU 0's copy.
 */
void *shim_alloc_percpu(size_t size);
void shim_free_percpu(void *p);
#define SHIM_PERCPU_STRIDE(p)	(((size_t *)(p))[-1])
#define alloc_percpu(type) \
	((type *)shim_alloc_percpu(sizeof(type)))
#define free_percpu(p)		shim_free_percpu(p)
#define per_cpu_ptr(p, cpu) ({						\
	__auto_type __p = (p);						\
									\
	(__typeof__(__p))((char *)__p + (size_t)(cpu) * SHIM_PERCPU_STRIDE(__p)); \
})
#define this_cpu_ptr(p)		per_cpu_ptr(p, shim_cpu)

/*
 * Static per-CPU variables are only the per-CPU lock here: DEFINE_PER_CPU
 * makes one object, and local_lock_t holds one state per CPU.
 */
#define DEFINE_PER_CPU(type, name)	type name

/*
 * local_lock(): the CPU's task cannot be preempted inside, and the section
 * is an RCU read-side one (pgmap_alloc relies on both). One task thread per
 * CPU makes the first hold; the lock checks it is not nested or taken in
 * interrupt context, and takes RCU's read lock.
 */
typedef
struct {
	struct {
		int held;
	} __aligned(64) cpu[SHIM_NR_CPUS];	/* a line each */
} local_lock_t;
#define INIT_LOCAL_LOCK(...)	{ }
extern __thread int shim_local_depth;
void shim_local_lock_bad(local_lock_t *l);

static inline void local_lock(local_lock_t *l)
{
	if (unlikely(shim_in_irq || shim_local_depth || l->cpu[shim_cpu].held))
		shim_local_lock_bad(l);
	l->cpu[shim_cpu].held = 1;
	shim_local_depth = 1;
	rcu_read_lock();
}

static inline void local_unlock(local_lock_t *l)
{
	rcu_read_unlock();
	shim_local_depth = 0;
	l->cpu[shim_cpu].held = 0;
}

enum cpuhp_state {
	CPUHP_INVALID = -1,
	CPUHP_BP_PREPARE_DYN = 10,
};

int cpuhp_setup_state_multi(enum cpuhp_state state, const char *name,
			    int (*startup)(unsigned int cpu, struct hlist_node *node),
			    int (*teardown)(unsigned int cpu, struct hlist_node *node));
int cpuhp_state_add_instance_nocalls(enum cpuhp_state state, struct hlist_node *node);
int cpuhp_state_remove_instance_nocalls(enum cpuhp_state state, struct hlist_node *node);

/* === Workqueues =========================================================== */

struct work_struct;
typedef void (*work_func_t)(struct work_struct *work);

/*
 * A work item is queued on a CPU (or unbound: -1) and runs when it is due,
 * on a thread that is that CPU (see shim.c). @due is in jiffies.
 */
struct work_struct {
	work_func_t func;
	struct work_struct *next;
	int cpu;
	bool pending;
	bool running;
	unsigned long due;
	unsigned long done;	/* runs completed, for flush_work() */
};

struct delayed_work {
	struct work_struct work;
};

struct workqueue_struct {
	const char *name;
};

extern struct workqueue_struct *system_wq, *system_unbound_wq;
#define WORK_CPU_UNBOUND	(-1)
#define WQ_MEM_RECLAIM		0x8
#define WQ_HIGHPRI		0x10
#define WQ_UNBOUND		0x2

static inline void INIT_WORK(struct work_struct *work, work_func_t func)
{
	work->func = func;
	work->pending = false;
	work->running = false;
	work->done = 0;
}

#define INIT_DELAYED_WORK(dw, f) INIT_WORK(&(dw)->work, f)
#define to_delayed_work(w)	container_of(w, struct delayed_work, work)
#define delayed_work_pending(dw) READ_ONCE((dw)->work.pending)
#define work_pending(w)		READ_ONCE((w)->pending)
struct workqueue_struct *alloc_workqueue(const char *fmt, unsigned int flags,
					 int max_active, ...);
bool queue_work_on(int cpu, struct workqueue_struct *wq, struct work_struct *work);
#define queue_work(wq, w)	queue_work_on(WORK_CPU_UNBOUND, wq, w)
#define schedule_work(w)	queue_work(system_wq, w)
bool queue_delayed_work_on(int cpu, struct workqueue_struct *wq,
			   struct delayed_work *dw, unsigned long delay);
#define queue_delayed_work(wq, dw, d) queue_delayed_work_on(WORK_CPU_UNBOUND, wq, dw, d)
bool mod_delayed_work_on(int cpu, struct workqueue_struct *wq,
			 struct delayed_work *dw, unsigned long delay);
#define mod_delayed_work(wq, dw, d) mod_delayed_work_on(WORK_CPU_UNBOUND, wq, dw, d)
bool flush_work(struct work_struct *work);
bool flush_delayed_work(struct delayed_work *dw);
bool cancel_work_sync(struct work_struct *work);
bool cancel_delayed_work(struct delayed_work *dw);
bool cancel_delayed_work_sync(struct delayed_work *dw);
void flush_workqueue(struct workqueue_struct *wq);
void destroy_workqueue(struct workqueue_struct *wq);

/*
 * wait_var_event(): polls, running this CPU's work in between; so @var,
 * which the kernel sleeps on, is only named.
 */
#define wait_var_event(var, cond) do {					\
	(void)sizeof(var);						\
	while (!(cond))							\
		cond_resched();						\
} while (0)

static inline void wake_up_var(void *var)
{
}

/* === Pages, folios, pgmaps ================================================ */

#define PAGE_SHIFT		12
#define PAGE_SIZE		BIT(PAGE_SHIFT)
#define MAX_PAGE_ORDER		10
#define MAX_ORDER_NR_PAGES	BIT(MAX_PAGE_ORDER)
#define pageblock_order		9
#define pageblock_nr_pages	BIT(pageblock_order)
#define PHYS_PFN(x)		((unsigned long)((x) >> PAGE_SHIFT))
#define PFN_PHYS(x)		((phys_addr_t)(x) << PAGE_SHIFT)

/*
 * struct page: only the fields these files touch. PG_locked is bit 0 of
 * @flags. A device page's @pgmap is set by memremap_pages().
 */
struct dev_pagemap;
struct page {
	unsigned long flags;
	atomic_t _refcount;
	atomic_t _mapcount;
	struct dev_pagemap *pgmap;
	void *zone_device_data;
} __aligned(64);	/* 64 bytes, as the kernel's: a line each */

struct folio {
	struct page page;
};

#define PG_locked		0
/* The memmap: one array for every pfn, mapped lazily, as vmemmap. */
extern struct page *shim_vmemmap;
#define pfn_to_page(pfn)	(shim_vmemmap + (pfn))
#define page_to_pfn(page)	((unsigned long)((page) - shim_vmemmap))
#define page_folio(p)		((struct folio *)(p))
#define folio_page(f, n)	(&(f)->page + (n))
#define folio_pfn(f)		page_to_pfn(&(f)->page)
#define page_ref_count(p)	atomic_read(&(p)->_refcount)
#define set_page_count(p, v)	atomic_set(&(p)->_refcount, v)
#define folio_ref_count(f)	page_ref_count(&(f)->page)
#define folio_mapcount(f)	(atomic_read(&(f)->page._mapcount) + 1)
#define folio_test_locked(f)	test_bit(PG_locked, &(f)->page.flags)
/* No tracepoints: the argument names one. */
#define page_ref_tracepoint_active(...) false

/* Every folio is a page: no large folios. */
static inline long folio_nr_pages(const struct folio *folio)
{
	return 1;
}

static inline unsigned int folio_order(const struct folio *folio)
{
	return 0;
}

static inline bool folio_test_large(const struct folio *folio)
{
	return false;
}

static inline void __page_ref_unfreeze(struct page *page, int v)
{
}

static inline bool folio_trylock(struct folio *folio)
{
	return !__atomic_fetch_or(&folio->page.flags, 1UL << PG_locked, __ATOMIC_ACQUIRE);
}

static inline void folio_unlock(struct folio *folio)
{
	__atomic_fetch_and(&folio->page.flags, ~(1UL << PG_locked), __ATOMIC_RELEASE);
}

#define unlock_page(p)		folio_unlock(page_folio(p))
void lock_page(struct page *page);

static inline bool folio_ref_freeze(struct folio *folio, int count)
{
	return atomic_cmpxchg(&folio->page._refcount, count, 0) == count;
}

static inline void folio_get(struct folio *folio)
{
	atomic_inc(&folio->page._refcount);
}

/* The last put runs free_zone_device_folio(), as in mm/swap.c. */
void folio_put(struct folio *folio);
#define put_page(p)		folio_put(page_folio(p))
void free_zone_device_folio(struct folio *folio);

/*
 * percpu_ref: a count per CPU, as in percpu mode, so that CPUs do not share
 * a cache line for it; a get adds to this CPU's count and then checks
 * @dying, a kill sets @dying and then sums the counts, so one of the two
 * sees the other. (The kernel switches to one atomic count instead.)
 */
struct percpu_ref {
	struct {
		long count;
	} __aligned(64) cpu[SHIM_NR_CPUS];
	bool dying;
};

long shim_percpu_ref_sum(struct percpu_ref *ref);

bool percpu_ref_tryget(struct percpu_ref *ref);

/* Inline, as the kernel's: the fast paths of floor and pool pay alike. */
static inline void shim_percpu_ref_add(struct percpu_ref *ref, long n)
{
	/* Atomic: an interrupt thread may share the CPU's slot */
	__atomic_add_fetch(&ref->cpu[shim_cpu].count, n, __ATOMIC_SEQ_CST);
}

static inline bool percpu_ref_tryget_live(struct percpu_ref *ref)
{
	if (READ_ONCE(ref->dying))
		return false;
	shim_percpu_ref_add(ref, 1);
	if (__atomic_load_n(&ref->dying, __ATOMIC_SEQ_CST)) {
		shim_percpu_ref_add(ref, -1);
		return false;
	}
	return true;
}

static inline void percpu_ref_put(struct percpu_ref *ref)
{
	shim_percpu_ref_add(ref, -1);
}

#define percpu_ref_is_dying(ref) READ_ONCE((ref)->dying)

struct range {
	u64 start;
	u64 end;
};

static inline u64 range_len(const struct range *range)
{
	return range->end - range->start + 1;
}

enum memory_type {
	MEMORY_DEVICE_PRIVATE = 1,
	MEMORY_DEVICE_COHERENT,
	MEMORY_DEVICE_FS_DAX,
	MEMORY_DEVICE_GENERIC,
	MEMORY_DEVICE_PCI_P2PDMA,
};

struct vm_fault;
struct dev_pagemap_ops {
	void (*page_free)(struct page *page);
	vm_fault_t (*migrate_to_ram)(struct vm_fault *vmf);
};

struct pgmap_alloc_chunk;
struct dev_pagemap {
	struct percpu_ref ref;
	enum memory_type type;
	unsigned int flags;
	unsigned long vmemmap_shift;
	const struct dev_pagemap_ops *ops;
	void *owner;
	struct pgmap_alloc_chunk *allocator;
	int nr_range;
	union {
		struct range range;
		DECLARE_FLEX_ARRAY(struct range, ranges);
	};
};

static inline bool is_zone_device_page(const struct page *page)
{
	return READ_ONCE(page->pgmap);
}

static inline bool folio_is_device_private(const struct folio *folio)
{
	return folio->page.pgmap && folio->page.pgmap->type == MEMORY_DEVICE_PRIVATE;
}

static inline bool folio_is_device_coherent(const struct folio *folio)
{
	return folio->page.pgmap && folio->page.pgmap->type == MEMORY_DEVICE_COHERENT;
}

#define is_device_private_page(p) folio_is_device_private(page_folio(p))

/*
 * memremap_pages(): gives the pgmap's ranges pfns of their own (the
 * harness picks none: @range.start is set here, from a bump allocator, for
 * pgmaps whose start is 0), sets up their struct pages free, refcount 0,
 * and takes the pgmap's first reference. memunmap_pages() kills the
 * reference, waits for every page's reference to go, and poisons the pages.
 */
void *memremap_pages(struct dev_pagemap *pgmap, int nid);
void memunmap_pages(struct dev_pagemap *pgmap);
struct dev_pagemap *get_dev_pagemap(unsigned long pfn, struct dev_pagemap *pgmap);
static inline void put_dev_pagemap(struct dev_pagemap *pgmap)
{
	if (pgmap)
		percpu_ref_put(&pgmap->ref);
}

/* The hand-back of mm/memremap.c, with the project's patch applied. */
void pgmap_alloc_folio_freed(struct folio *folio);
static inline void pgmap_folio_freed(struct folio *folio)
{
	if (READ_ONCE(folio->page.pgmap->allocator))
		pgmap_alloc_folio_freed(folio);
}

struct folio *pgmap_request_folio(struct dev_pagemap *pgmap,
				  pgoff_t pgmap_offset, unsigned int order);
struct folio *pgmap_request_page(struct page *page);
int pgmap_cancel_folio(struct folio *folio);
pgoff_t page_pgmap_offset(const struct page *page);
unsigned long pgmap_nr_pages(const struct dev_pagemap *pgmap);
static inline void zone_device_page_init(struct page *page)
{
	shim_unmodelled("zone_device_page_init");
}

/* RAM pages: for eviction's destinations (malloc'ed, not in the memmap). */
struct page *alloc_page(gfp_t gfp);
void __free_page(struct page *page);

/*
 * Migration of device pages (eviction, removal, compaction) is not modelled
 * yet: pools in the harness have no copy callback, and these stop the run.
 */
#define MIGRATE_PFN_VALID	BIT(0)
#define MIGRATE_PFN_MIGRATE	BIT(1)
#define MIGRATE_PFN_WRITE	BIT(3)
#define MIGRATE_PFN_SHIFT	6
static inline unsigned long migrate_pfn(unsigned long pfn)
{
	return (pfn << MIGRATE_PFN_SHIFT) | MIGRATE_PFN_VALID;
}

static inline struct page *migrate_pfn_to_page(unsigned long mpfn)
{
	if (!(mpfn & MIGRATE_PFN_VALID))
		return NULL;
	return pfn_to_page(mpfn >> MIGRATE_PFN_SHIFT);
}

int migrate_device_range(unsigned long *src_pfns, unsigned long start,
			 unsigned long npages);
void migrate_device_pages(unsigned long *src_pfns, unsigned long *dst_pfns,
			  unsigned long npages);
void migrate_device_finalize(unsigned long *src_pfns, unsigned long *dst_pfns,
			     unsigned long npages);
struct mm_struct;
struct vm_area_struct;
long get_user_pages(unsigned long start, unsigned long nr_pages,
		    unsigned int gup_flags, struct page **pages);

/* === Devices, devres, OF: genalloc's devm and OF helpers, never called ===== */

struct device {
	const char *name;
};

struct device_node;
struct platform_device {
	struct device dev;
};

typedef void (*dr_release_t)(struct device *dev, void *res);
typedef int (*dr_match_t)(struct device *dev, void *res, void *match_data);
void *devres_alloc(dr_release_t release, size_t size, gfp_t gfp);
void devres_free(void *res);
void devres_add(struct device *dev, void *res);
void *devres_find(struct device *dev, dr_release_t release, dr_match_t match,
		  void *match_data);
int devm_add_action_or_reset(struct device *dev, void (*action)(void *), void *data);
void *devm_memremap_pages(struct device *dev, struct dev_pagemap *pgmap);

static inline void put_device(struct device *dev)
{
}

/* No device tree */
static inline struct device_node *of_parse_phandle(const struct device_node *np,
						   const char *phandle_name,
						   int index)
{
	return NULL;
}

static inline struct platform_device *of_find_device_by_node(struct device_node *np)
{
	return NULL;
}

static inline struct device_node *of_get_parent(const struct device_node *node)
{
	return NULL;
}

static inline void of_node_put(struct device_node *node)
{
}

static inline int of_property_read_string(const struct device_node *np,
					  const char *propname,
					  const char **out_string)
{
	return -ENODEV;
}

static inline const char *of_node_full_name(const struct device_node *np)
{
	return "?";
}

/* === debugfs, seq_file, shrinkers, tracepoints: no-ops ==================== */

struct dentry;
struct inode;
struct file;
struct seq_file {
	void *private;
};

struct file_operations {
	int unused;
};

#define DEFINE_SHOW_ATTRIBUTE(name)					\
	static const struct file_operations name##_fops __maybe_unused;	\
	static int (*const name##_show_fn)(struct seq_file *, void *) __maybe_unused = name##_show
#define DEFINE_DEBUGFS_ATTRIBUTE(fops, get, set, fmt)			\
	static const struct file_operations fops __maybe_unused;		\
	static int (*const fops##_get_fn)(void *, u64 *) __maybe_unused = get; \
	static int (*const fops##_set_fn)(void *, u64) __maybe_unused = set; \
	static const char fops##_fmt[] __maybe_unused = fmt
#define seq_printf(m, fmt...)	((void)(m))

static inline struct dentry *debugfs_create_dir(const char *name, struct dentry *parent)
{
	return ERR_PTR(-ENODEV);
}

static inline struct dentry *debugfs_lookup(const char *name, struct dentry *parent)
{
	return NULL;
}

static inline struct dentry *debugfs_create_file(const char *name, umode_t mode,
						 struct dentry *parent, void *data,
						 const struct file_operations *fops)
{
	return ERR_PTR(-ENODEV);
}

static inline struct dentry *debugfs_create_file_unsafe(const char *name, umode_t mode,
							struct dentry *parent, void *data,
							const struct file_operations *fops)
{
	return ERR_PTR(-ENODEV);
}

static inline void debugfs_create_u32(const char *name, umode_t mode,
				      struct dentry *parent, u32 *value)
{
}

static inline void debugfs_create_ulong(const char *name, umode_t mode,
					struct dentry *parent, unsigned long *value)
{
}

static inline void debugfs_remove_recursive(struct dentry *dentry)
{
}

static inline void dput(struct dentry *dentry)
{
}

/*
 * A shrinker is registered and called by the harness (shim_shrink()), as
 * memory pressure would.
 */
struct shrink_control {
	gfp_t gfp_mask;
	int nid;
	unsigned long nr_to_scan;
	unsigned long nr_scanned;
};

#define SHRINK_STOP		(~0UL)
#define SHRINK_EMPTY		(~0UL - 1)
#define DEFAULT_SEEKS		2
struct shrinker {
	unsigned long (*count_objects)(struct shrinker *shrinker, struct shrink_control *sc);
	unsigned long (*scan_objects)(struct shrinker *shrinker, struct shrink_control *sc);
	long batch;
	int seeks;
	void *private_data;
	struct shrinker *next;
};

struct shrinker *shrinker_alloc(unsigned int flags, const char *fmt, ...);
void shrinker_register(struct shrinker *shrinker);
void shrinker_free(struct shrinker *shrinker);

/* core_initcall(fn): shim_core_initcall() runs @fn. */
extern int (*const shim_initcall)(void);
#define core_initcall(fn)	int (*const shim_initcall)(void) = fn
int shim_core_initcall(void);

#endif /* SHIM_KERNEL_H */
