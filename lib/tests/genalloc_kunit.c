// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of gen_pool_remove_chunk(): a chunk comes out of a pool only
 * when none of it is allocated, the rest of the pool goes on, and allocations
 * that walk the chunk list under RCU meanwhile are safe.
 */

#include <kunit/test.h>
#include <linux/cpumask.h>
#include <linux/genalloc.h>
#include <linux/kthread.h>
#include <linux/sched.h>

/* Two chunks of 64 bytes, far apart; the pool hands out single bytes. */
#define CHUNK_A		0x10000UL
#define CHUNK_B		0x20000UL
#define CHUNK_SIZE	64

static void destroy_pool(void *pool)
{
	gen_pool_destroy(pool);
}

static struct gen_pool *make_pool(struct kunit *test, int nr_chunks)
{
	struct gen_pool *pool = gen_pool_create(0, NUMA_NO_NODE);

	KUNIT_ASSERT_NOT_NULL(test, pool);
	KUNIT_ASSERT_EQ(test, 0, kunit_add_action_or_reset(test, destroy_pool, pool));
	KUNIT_ASSERT_EQ(test, 0, gen_pool_add(pool, CHUNK_A, CHUNK_SIZE, NUMA_NO_NODE));
	if (nr_chunks > 1)
		KUNIT_ASSERT_EQ(test, 0, gen_pool_add(pool, CHUNK_B, CHUNK_SIZE,
						      NUMA_NO_NODE));
	return pool;
}

static void remove_free_chunk(struct kunit *test)
{
	struct gen_pool *pool = make_pool(test, 2);
	unsigned long addr;
	int i;

	KUNIT_EXPECT_EQ(test, 0, gen_pool_remove_chunk(pool, CHUNK_B));
	KUNIT_EXPECT_EQ(test, CHUNK_SIZE, gen_pool_size(pool));
	KUNIT_EXPECT_EQ(test, CHUNK_SIZE, gen_pool_avail(pool));
	KUNIT_EXPECT_FALSE(test, gen_pool_has_addr(pool, CHUNK_B, 1));
	/* Everything now comes from the chunk that is left, until it is full. */
	for (i = 0; i < CHUNK_SIZE; i++) {
		addr = gen_pool_alloc(pool, 1);
		KUNIT_ASSERT_TRUE(test, addr >= CHUNK_A && addr < CHUNK_A + CHUNK_SIZE);
	}
	KUNIT_EXPECT_EQ(test, 0, gen_pool_alloc(pool, 1));
	gen_pool_free(pool, CHUNK_A, CHUNK_SIZE);
}

static void remove_busy_chunk(struct kunit *test)
{
	struct gen_pool *pool = make_pool(test, 1);
	unsigned long addr = gen_pool_alloc(pool, 1);

	KUNIT_ASSERT_NE(test, 0, addr);
	KUNIT_EXPECT_EQ(test, -EBUSY, gen_pool_remove_chunk(pool, CHUNK_A));
	/* Refused: the chunk is whole and in use. */
	KUNIT_EXPECT_EQ(test, CHUNK_SIZE, gen_pool_size(pool));
	KUNIT_EXPECT_EQ(test, CHUNK_SIZE - 1, gen_pool_avail(pool));
	gen_pool_free(pool, addr, 1);
	KUNIT_EXPECT_EQ(test, 0, gen_pool_remove_chunk(pool, CHUNK_A));
	KUNIT_EXPECT_EQ(test, 0, gen_pool_size(pool));
	KUNIT_EXPECT_EQ(test, 0, gen_pool_alloc(pool, 1));
}

static void remove_unknown_address(struct kunit *test)
{
	struct gen_pool *pool = make_pool(test, 1);

	/* Only a chunk's start names it. */
	KUNIT_EXPECT_EQ(test, -ENOENT, gen_pool_remove_chunk(pool, CHUNK_A + 1));
	KUNIT_EXPECT_EQ(test, -ENOENT, gen_pool_remove_chunk(pool, CHUNK_B));
	KUNIT_EXPECT_EQ(test, 0, gen_pool_remove_chunk(pool, CHUNK_A));
	KUNIT_EXPECT_EQ(test, -ENOENT, gen_pool_remove_chunk(pool, CHUNK_A));
	KUNIT_EXPECT_EQ(test, 0, gen_pool_size(pool));
}

static void remove_and_add_again(struct kunit *test)
{
	struct gen_pool *pool = make_pool(test, 1);
	unsigned long addr;

	KUNIT_ASSERT_EQ(test, 0, gen_pool_remove_chunk(pool, CHUNK_A));
	KUNIT_ASSERT_EQ(test, 0, gen_pool_add(pool, CHUNK_A, CHUNK_SIZE, NUMA_NO_NODE));
	addr = gen_pool_alloc(pool, CHUNK_SIZE);
	KUNIT_EXPECT_EQ(test, CHUNK_A, addr);
	gen_pool_free(pool, addr, CHUNK_SIZE);
}

/*
 * The contract of gen_pool_remove_chunk(): allocations keep away from a
 * chunk being removed. This algorithm never allocates from chunk B.
 */
static unsigned long first_fit_not_b(unsigned long *map, unsigned long size,
				     unsigned long start, unsigned int nr,
				     void *data, struct gen_pool *pool,
				     unsigned long start_addr)
{
	if (start_addr == CHUNK_B)
		return size;
	return gen_pool_first_fit(map, size, start, nr, data, pool, start_addr);
}

struct allocator {
	struct gen_pool *pool;
	unsigned long nr_allocs;
	unsigned long nr_outside;	/* addresses outside chunk A */
};

static int allocate_from_a(void *arg)
{
	struct allocator *a = arg;

	while (!kthread_should_stop()) {
		unsigned long addr = gen_pool_alloc_algo(a->pool, 1, first_fit_not_b, NULL);

		if (addr < CHUNK_A || addr >= CHUNK_A + CHUNK_SIZE)
			a->nr_outside++;
		if (addr)
			gen_pool_free(a->pool, addr, 1);
		WRITE_ONCE(a->nr_allocs, a->nr_allocs + 1);
		cond_resched();
	}
	return 0;
}

/*
 * Chunk B comes and goes while another CPU allocates and frees in chunk A,
 * walking the list that B leaves: with KASAN, a chunk freed before the
 * walkers left it is reported. Each removal frees the chunk after a grace
 * period, so thousands of chunks are in flight.
 */
static void remove_while_allocating(struct kunit *test)
{
	struct gen_pool *pool = make_pool(test, 2);
	struct allocator a = { .pool = pool };
	struct task_struct *task;
	unsigned long timeout;
	unsigned int cpu;
	int i;

	task = kthread_create(allocate_from_a, &a, "genalloc_kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(task));
	/* Another CPU than ours, if there is one; we may move, it may not. */
	cpu = cpumask_any_but(cpu_online_mask, raw_smp_processor_id());
	if (cpu < nr_cpu_ids)
		kthread_bind(task, cpu);
	wake_up_process(task);
	/*
	 * Removal does not wait for the chunk to be freed: go on until the
	 * other CPU has allocated a good many times, or a few seconds passed.
	 */
	timeout = jiffies + 5 * HZ;
	for (i = 0; i < 100 || (READ_ONCE(a.nr_allocs) < 10000 &&
				time_before(jiffies, timeout)); i++) {
		KUNIT_ASSERT_EQ(test, 0, gen_pool_remove_chunk(pool, CHUNK_B));
		KUNIT_ASSERT_EQ(test, 0, gen_pool_add(pool, CHUNK_B, CHUNK_SIZE,
						      NUMA_NO_NODE));
		cond_resched();
	}
	kthread_stop(task);
	KUNIT_EXPECT_GT(test, a.nr_allocs, 0);
	KUNIT_EXPECT_EQ(test, 0, a.nr_outside);
	KUNIT_EXPECT_EQ(test, 2 * CHUNK_SIZE, gen_pool_avail(pool));
}

static struct kunit_case genalloc_remove_cases[] = {
	KUNIT_CASE(remove_free_chunk),
	KUNIT_CASE(remove_busy_chunk),
	KUNIT_CASE(remove_unknown_address),
	KUNIT_CASE(remove_and_add_again),
	KUNIT_CASE_SLOW(remove_while_allocating),
	{}
};

static struct kunit_suite genalloc_remove_suite = {
	.name = "genalloc_remove_chunk",
	.test_cases = genalloc_remove_cases,
};

kunit_test_suite(genalloc_remove_suite);

MODULE_DESCRIPTION("KUnit tests of gen_pool_remove_chunk()");
MODULE_LICENSE("GPL");
