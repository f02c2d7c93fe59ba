// SPDX-License-Identifier: GPL-2.0
/*
 * Demo of the pgmap_alloc sample driver: moves a buffer to device memory,
 * lets the CPU fault it back, and shows the pool's occupancy as it goes;
 * compacts device memory that a process fragmented; then shows the memmap
 * following use: a burst maps pgmaps, idleness and memory pressure unmap
 * them.
 *
 * The second half of this file is the demo's checks, which the project's
 * end-to-end tests run: bad input, a full device, a process killed while
 * it migrates, and unloading the module with pages on the device. That is
 * why the demo ends by unloading the module.
 *
 * Usage: pgmap_alloc_demo [MiB to migrate, default 8]
 * Needs the pgmap_alloc_sample module loaded, debugfs mounted and rmmod.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pgmap_alloc_sample.h"

#define DEVICE	"/dev/pgmap_alloc_sample"
#define POOL	"/sys/kernel/debug/pgmap_alloc/sample/"
#define STATS	POOL "stats"
#define DEVICE_MIB	"/sys/module/pgmap_alloc_sample/parameters/device_mib"
/* sizeof(struct page) on x86_64: what each device page costs in memmap */
#define MEMMAP_BYTES_PER_PAGE	64
/* What memremap_pages() maps at a time, and so what the sample grows by */
#define PGMAP_PAGES	512

static long page_size;
static int checks, failures;

/* Prints the "ok"/"FAIL" lines that the end-to-end tests count. */
static void check(int ok, const char *what)
{
	checks++;
	failures += !ok;
	printf("  %s  %s\n", ok ? "ok  " : "FAIL", what);
}

/* One value from the pool's debugfs statistics, or -1. */
static long stat_value(const char *key)
{
	char line[128];
	long value = -1;
	size_t len = strlen(key);
	FILE *f = fopen(STATS, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, len) && line[len] == ':')
			value = strtol(line + len + 1, NULL, 10);
	fclose(f);
	return value;
}

/* Write @value to the file @path; 0 or -1. */
static int write_file(const char *path, const char *value)
{
	FILE *f = fopen(path, "w");
	int ret;

	if (!f)
		return -1;
	ret = fputs(value, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : ret;
}

/* The size of the device's memory, mapped or not, in pages; or -1. */
static long device_pages(void)
{
	long mib = -1;
	FILE *f = fopen(DEVICE_MIB, "r");

	if (!f)
		return -1;
	if (fscanf(f, "%ld", &mib) != 1)
		mib = -1;
	fclose(f);
	return mib < 0 ? -1 : (mib << 20) / page_size;
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait up to @ms for the statistic @key to be @want; returns its value. */
static long wait_for_stat(const char *key, long want, long ms)
{
	long end = now_ms() + ms, value;

	while ((value = stat_value(key)) != want && now_ms() < end)
		usleep(20000);
	return value;
}

static long pages_in_use(void)
{
	return stat_value("size") - stat_value("free");
}

static void print_stats(const char *when)
{
	printf("  pool %-22s %6ld of %ld pages in use, largest free block order %ld\n",
	       when, pages_in_use(), stat_value("size"),
	       stat_value("largest_free_order"));
}

/* Returns the number of pages migrated, or -errno. */
static long migrate(int fd, void *addr, unsigned long npages)
{
	struct pgmap_alloc_sample_range r = {
		.addr = (uintptr_t)addr,
		.npages = npages,
	};
	long ret = ioctl(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, &r);

	return ret < 0 ? -errno : ret;
}

static void *map_anon(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(2);
	}
	return p;
}

static __u64 pattern(size_t i, __u64 seed)
{
	return (i * 0x9e3779b97f4a7c15ULL) ^ seed;
}

static void fill(__u64 *buf, size_t bytes, __u64 seed)
{
	size_t i;

	for (i = 0; i < bytes / sizeof(*buf); i++)
		buf[i] = pattern(i, seed);
}

static int matches(const __u64 *buf, size_t bytes, __u64 seed)
{
	size_t i;

	for (i = 0; i < bytes / sizeof(*buf); i++)
		if (buf[i] != pattern(i, seed))
			return 0;
	return 1;
}

static void round_trip(int fd, unsigned long mib)
{
	size_t bytes = mib << 20;
	long npages = bytes / page_size, before = pages_in_use(), ret;
	__u64 *buf = map_anon(bytes);
	char what[128];

	printf("\n== Round trip: %lu MiB (%ld pages) to device memory and back\n",
	       mib, npages);
	fill(buf, bytes, 0x5eed);
	print_stats("before:");
	ret = migrate(fd, buf, npages);
	snprintf(what, sizeof(what), "migrated %ld of %ld pages to the device (%s)",
		 ret < 0 ? 0 : ret, npages, ret < 0 ? strerror(-ret) : "no error");
	check(ret == npages, what);
	print_stats("with the buffer on it:");
	check(pages_in_use() == before + npages, "the pool counts every migrated page");

	/* Every page faults back to system RAM as it is read. */
	check(matches(buf, bytes, 0x5eed), "the pattern survives the CPU faulting it back");
	print_stats("after the faults:");
	check(pages_in_use() == before, "every device page went back to the pool");
	munmap(buf, bytes);
}

/*
 * Compaction: a process fills the device, then keeps one page in 16: most
 * of the device is free, but no 2 MiB block is. Writing 9 to debugfs
 * "compact" moves pages device to device until one is, as a GFP_KERNEL
 * pgmap_alloc_range() of 512 pages would by itself; the process's data
 * goes with them.
 */
static void compaction(int fd)
{
	long npages = device_pages(), moved = stat_value("compact_pages_moved");
	long freed = stat_value("compact_blocks_freed"), i, kept = 0;
	size_t bytes = npages * page_size, words = page_size / sizeof(__u64);
	__u64 *buf = map_anon(bytes);
	char what[128];
	int whole = 1;

	printf("\n== Compaction: a page in 16 kept on the device, then a 2 MiB block freed\n");
	fill(buf, bytes, 0xc0de);
	check(migrate(fd, buf, npages) == npages, "the whole device migrated to");
	for (i = 0; i < npages; i++) {
		if (i % 16)
			munmap((char *)buf + i * page_size, page_size);
		else
			kept++;
	}
	print_stats("fragmented:");
	snprintf(what, sizeof(what), "%ld of %ld pages free, but no free 2 MiB block",
		 stat_value("free"), stat_value("size"));
	check(stat_value("largest_free_order") < 9 && pages_in_use() == kept, what);
	check(!write_file(POOL "compact", "9"), "echo 9 > compact");
	print_stats("compacted:");
	check(stat_value("largest_free_order") >= 9, "a 2 MiB block is free");
	moved = stat_value("compact_pages_moved") - moved;
	snprintf(what, sizeof(what), "%ld pages moved device to device for 1 block",
		 moved);
	check(stat_value("compact_blocks_freed") == freed + 1 && moved > 0 &&
	      moved <= PGMAP_PAGES, what);
	for (i = 0; i < npages; i += 16) {
		__u64 *page = buf + i * words;
		size_t w;

		for (w = 0; w < words; w++)
			whole &= page[w] == pattern(i * words + w, 0xc0de);
	}
	check(whole, "every kept page has its data after the CPU faults it back");
	check(pages_in_use() == 0, "every device page went back to the pool");
	for (i = 0; i < npages; i += 16)
		munmap((char *)buf + i * page_size, page_size);
}

/* === The demo's checks ===================================================
 *
 * Not part of the example: tests of the driver and the pool that the
 * project's end-to-end tests (make test) count through check().
 */

/* Migrate @bytes of a new buffer to the device and free it there. */
static long burst(int fd, size_t bytes)
{
	__u64 *buf = map_anon(bytes);
	long ret;

	fill(buf, bytes, 0xb0257);
	ret = migrate(fd, buf, bytes / page_size);
	printf("  %zu MiB on the device: %ld pgmaps mapped, memmap %ld KiB\n", bytes >> 20,
	       stat_value("pgmaps"), stat_value("memmap_bytes") >> 10);
	/* The device pages go back to the pool: they are free, still mapped. */
	munmap(buf, bytes);
	return ret;
}

/*
 * The sample maps its device memory a pgmap at a time as it is used; the
 * pool gives a pgmap back once it has been free for its idle time, and
 * every free one when the kernel is short of memory (its shrinker, which
 * drop_caches runs). Only the first pgmap stays.
 */
static void memmap_follows_use(int fd)
{
	size_t bytes = 12 << 20;
	long npages = bytes / page_size, pgmap_bytes, removals, t, pgmaps;
	char what[160];

	printf("\n== The memmap follows use\n");
	check(!write_file(POOL "idle_ms", "500"), "idle time set to 500 ms in debugfs");
	pgmaps = wait_for_stat("pgmaps", 1, 15000);
	/* The first pgmap's; the others may still be on their way out */
	pgmap_bytes = stat_value("size") * MEMMAP_BYTES_PER_PAGE;
	wait_for_stat("memmap_bytes", pgmap_bytes, 5000);
	snprintf(what, sizeof(what), "at rest: %ld pgmap mapped, memmap %ld KiB", pgmaps,
		 pgmap_bytes >> 10);
	check(pgmaps == 1 && pgmap_bytes > 0, what);

	removals = stat_value("removals");
	check(burst(fd, bytes) == npages, "12 MiB burst migrated to the device");
	pgmaps = stat_value("pgmaps");
	snprintf(what, sizeof(what), "the burst grew the pool to %ld pgmaps, the memmap to %ld KiB",
		 pgmaps, stat_value("memmap_bytes") >> 10);
	check(pgmaps >= npages / PGMAP_PAGES &&
	      stat_value("memmap_bytes") == pgmaps * pgmap_bytes, what);
	t = now_ms();
	/* Until ->release has unmapped them, the pgmaps' memmap counts. */
	wait_for_stat("memmap_bytes", pgmap_bytes, 15000);
	pgmaps = stat_value("pgmaps");
	snprintf(what, sizeof(what),
		 "%ld ms after the burst: %ld pgmap, memmap %ld KiB (%ld pgmaps removed)",
		 now_ms() - t, pgmaps, stat_value("memmap_bytes") >> 10,
		 stat_value("removals") - removals);
	check(pgmaps == 1 && stat_value("memmap_bytes") == pgmap_bytes, what);

	check(!write_file(POOL "idle_ms", "0"), "idle time 0: pgmaps go only under pressure");
	check(burst(fd, bytes) == npages, "12 MiB burst migrated to the device");
	/* More than the per-CPU caches' idle time, so that no page is held */
	sleep(2);
	pgmaps = stat_value("pgmaps");
	snprintf(what, sizeof(what), "2 s later the free pgmaps are still mapped: %ld", pgmaps);
	check(pgmaps > 1, what);
	t = now_ms();
	check(!write_file("/proc/sys/vm/drop_caches", "2"), "echo 2 > /proc/sys/vm/drop_caches");
	wait_for_stat("memmap_bytes", pgmap_bytes, 5000);
	pgmaps = stat_value("pgmaps");
	snprintf(what, sizeof(what), "%ld ms later: %ld pgmap, memmap %ld KiB", now_ms() - t,
		 pgmaps, stat_value("memmap_bytes") >> 10);
	check(pgmaps == 1 && stat_value("memmap_bytes") == pgmap_bytes, what);
	write_file(POOL "idle_ms", "5000");
}

static void bad_input(int fd)
{
	long device = device_pages(), before = pages_in_use(), ret, n;
	char *buf = map_anon(64 * page_size), *big, *shared;
	char what[128];

	printf("\n== Bad input: each gets a clear errno, nothing is lost\n");
	buf[0] = 1;
	check(migrate(fd, buf + 1, 1) == -EINVAL, "unaligned address: EINVAL");
	check(migrate(fd, buf, 0) == -EINVAL, "zero pages: EINVAL");
	munmap(buf + 32 * page_size, 32 * page_size);
	check(migrate(fd, buf + 32 * page_size, 1) == -EFAULT,
	      "a range that is not mapped: EFAULT");

	shared = mmap(NULL, page_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	check(shared != MAP_FAILED && migrate(fd, shared, 1) == -EINVAL,
	      "shared memory, not anonymous: EINVAL");
	munmap(shared, page_size);

	memset(buf, 1, 32 * page_size);
	check(migrate(fd, buf, 32) == 32, "32 pages to the device");
	check(migrate(fd, buf, 32) == 0, "the same pages again: none migrated");
	munmap(buf, 32 * page_size);
	check(pages_in_use() == before, "unmapping device pages frees them to the pool");

	n = device + 256;
	big = map_anon(n * page_size);
	memset(big, 2, n * page_size);
	ret = migrate(fd, big, n);
	snprintf(what, sizeof(what), "%ld pages, more than the device's %ld: %ld migrated",
		 n, device, ret);
	check(ret == device, what);
	print_stats("with the device full:");
	munmap(big, n * page_size);
	check(pages_in_use() == before, "back to the starting occupancy");
}

/* A child migrates in a loop; killing it mid-migration loses nothing. */
static void killed_mid_migration(void)
{
	long before = pages_in_use();
	pid_t pid;

	printf("\n== A process killed in the middle of migrations\n");
	pid = fork();
	if (pid == 0) {
		int fd = open(DEVICE, O_RDWR);
		size_t bytes = 8 << 20;
		char *p = map_anon(bytes);

		for (;;) {
			memset(p, 4, bytes);
			migrate(fd, p, bytes / page_size);
		}
	}
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	check(pages_in_use() == before, "killed: the pool is back to its starting occupancy");
}

/*
 * Unload the module with pages on the device while this process faults them
 * back, so that the module's eviction races the faults. Every page must come
 * back intact either way. Closes @fd, which pins the module.
 */
static void unload_with_pages_on_device(int fd)
{
	size_t bytes = 8 << 20, npages = bytes / page_size, i, word;
	__u64 *buf = map_anon(bytes);
	unsigned long wrong = 0;
	int status = 0;
	pid_t pid;

	printf("\n== Unloading the module while %zu pages are on the device\n", npages);
	fill(buf, bytes, 0x10ad);
	check(migrate(fd, buf, npages) == (long)npages, "8 MiB migrated to the device");
	close(fd);

	pid = fork();
	if (pid == 0) {
		execlp("rmmod", "rmmod", "pgmap_alloc_sample", (char *)NULL);
		_exit(127);
	}
	/* From the end, slowly: the unload evicts the pages not reached yet. */
	for (i = npages; i-- > 0; ) {
		word = i * page_size / sizeof(*buf);
		wrong += buf[word] != pattern(word, 0x10ad);
		usleep(100);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	check(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "rmmod pgmap_alloc_sample succeeded with pages on the device");
	check(!wrong && matches(buf, bytes, 0x10ad),
	      "every page came back intact, by fault or by eviction");
}

int main(int argc, char **argv)
{
	unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 0) : 8;
	int fd;

	page_size = sysconf(_SC_PAGESIZE);
	setvbuf(stdout, NULL, _IOLBF, 0);
	fd = open(DEVICE, O_RDWR);
	if (fd < 0 || stat_value("size") < 0) {
		perror("pgmap_alloc demo: " DEVICE " or " STATS);
		printf("pgmap_alloc demo: FAIL (%s)\n",
		       "is pgmap_alloc_sample loaded and debugfs mounted?");
		return 1;
	}
	printf("pgmap_alloc demo: device memory %ld MiB (%ld pages), %ld pages mapped\n",
	       device_pages() * page_size >> 20, device_pages(), stat_value("size"));

	round_trip(fd, mib);
	compaction(fd);
	memmap_follows_use(fd);

	/* The demo's checks. */
	bad_input(fd);
	killed_mid_migration();
	unload_with_pages_on_device(fd);

	printf("\npgmap_alloc demo: %s (%d checks, %d failed)\n",
	       failures ? "FAIL" : "PASS", checks, failures);
	return failures ? 1 : 0;
}
