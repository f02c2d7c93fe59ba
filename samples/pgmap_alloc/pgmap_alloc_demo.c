// SPDX-License-Identifier: GPL-2.0
/*
 * Demo of the pgmap_alloc sample driver: moves a buffer to device memory and
 * back, checks its contents at every step, tries the driver's bad input,
 * and prints the pool's statistics as it goes. Last, it unloads the module
 * with pages still on the device while it faults them back.
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
#define STATS	"/sys/kernel/debug/pgmap_alloc/sample/stats"

static long page_size;
static int checks, failures;

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

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void fill(__u64 *buf, size_t bytes, __u64 seed)
{
	size_t i;

	for (i = 0; i < bytes / sizeof(*buf); i++)
		buf[i] = (i * 0x9e3779b97f4a7c15ULL) ^ seed;
}

static int matches(const __u64 *buf, size_t bytes, __u64 seed)
{
	size_t i;

	for (i = 0; i < bytes / sizeof(*buf); i++)
		if (buf[i] != ((i * 0x9e3779b97f4a7c15ULL) ^ seed))
			return 0;
	return 1;
}

/* Returns 0 or the errno of the ioctl; *done gets the pages done. */
static int device_cmd(int fd, unsigned long cmd, void *addr,
		      unsigned long npages, void *buf, unsigned long *done)
{
	struct pgmap_alloc_sample_cmd c = {
		.addr = (uintptr_t)addr,
		.npages = npages,
		.buf = (uintptr_t)buf,
	};
	int ret = ioctl(fd, cmd, &c) ? errno : 0;

	if (done)
		*done = c.done;
	return ret;
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

static void round_trip(int fd, unsigned long mib)
{
	size_t bytes = mib << 20;
	unsigned long npages = bytes / page_size, done;
	__u64 *buf = map_anon(bytes), *copy = map_anon(bytes);
	long before = pages_in_use();
	double t;
	int ret;
	char what[128];

	printf("\n== Round trip: %lu MiB (%lu pages) to device memory and back\n",
	       mib, npages);
	fill(buf, bytes, 0x5eed);
	print_stats("before:");

	t = now_ms();
	ret = device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf, npages, NULL, &done);
	t = now_ms() - t;
	snprintf(what, sizeof(what), "migrated %lu of %lu pages to the device in %.1f ms (%s)",
		 done, npages, t, ret ? strerror(ret) : "no error");
	check(!ret && done == npages, what);
	print_stats("with the buffer on it:");
	check(pages_in_use() == before + (long)npages, "the pool counts every migrated page");

	ret = device_cmd(fd, PGMAP_ALLOC_SAMPLE_READ, buf, npages, copy, &done);
	check(!ret && done == npages && matches(copy, bytes, 0x5eed),
	      "device memory, read through the driver, holds the pattern");

	t = now_ms();
	ret = matches(buf, bytes, 0x5eed);	/* every page faults back */
	t = now_ms() - t;
	snprintf(what, sizeof(what), "the pattern survives the CPU faulting it back (%.1f ms)", t);
	check(ret, what);
	print_stats("after the faults:");
	check(pages_in_use() == before, "every device page went back to the pool");

	munmap(buf, bytes);
	munmap(copy, bytes);
}

static void bad_input(int fd)
{
	long device_pages = stat_value("size"), before = pages_in_use();
	unsigned long done, n;
	char *buf = map_anon(64 * page_size), *big;
	char tmpl[] = "/tmp/pgmap_demo_XXXXXX";
	int ret, file, fd2;
	void *shared;
	char what[160];

	printf("\n== Bad input: each gets a clear errno, nothing is lost\n");
	buf[0] = 1;
	check(device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf + 1, 1, NULL, NULL) == EINVAL,
	      "unaligned address: EINVAL");
	check(device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf, 0, NULL, NULL) == EINVAL,
	      "zero pages: EINVAL");

	munmap(buf + 32 * page_size, 32 * page_size);
	ret = device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf + 32 * page_size, 1, NULL, NULL);
	check(ret == EFAULT, "a range that is not mapped: EFAULT");

	file = mkstemp(tmpl);
	if (file < 0 || ftruncate(file, page_size))
		perror("temporary file");
	shared = mmap(NULL, page_size, PROT_READ | PROT_WRITE, MAP_SHARED, file, 0);
	check(shared != MAP_FAILED &&
	      device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, shared, 1, NULL, NULL) == EINVAL,
	      "a file mapping, not anonymous: EINVAL");
	munmap(shared, page_size);
	close(file);
	unlink(tmpl);

	memset(buf, 1, 32 * page_size);
	ret = device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf, 32, NULL, &done);
	check(!ret && done == 32, "32 pages to the device");
	check(device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf, 32, NULL, &done) == EALREADY &&
	      done == 0, "the same pages again: EALREADY");
	munmap(buf, 32 * page_size);
	check(pages_in_use() == before, "unmapping device pages frees them to the pool");

	n = device_pages + 256;
	big = map_anon(n * page_size);
	memset(big, 2, n * page_size);
	ret = device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, big, n, NULL, &done);
	snprintf(what, sizeof(what), "%lu pages, more than the device's %ld: ENOSPC, %lu migrated",
		 n, device_pages, done);
	check(ret == ENOSPC && done == (unsigned long)device_pages, what);
	print_stats("with the device full:");
	munmap(big, n * page_size);
	check(pages_in_use() == before, "back to the starting occupancy");

	fd2 = open(DEVICE, O_RDWR);
	buf = map_anon(64 * page_size);
	memset(buf, 3, 64 * page_size);
	ret = device_cmd(fd2, PGMAP_ALLOC_SAMPLE_MIGRATE, buf, 64, NULL, &done);
	close(fd2);
	check(!ret && pages_in_use() == before + 64,
	      "closing the file leaves the pages on the device, with the process");
	check(buf[5 * page_size] == 3, "and they still fault back");
	munmap(buf, 64 * page_size);
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
			device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, p, bytes / page_size,
				   NULL, NULL);
		}
	}
	usleep(300 * 1000);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	check(pages_in_use() == before, "killed: the pool is back to its starting occupancy");
}

/*
 * Unload the module with pages on the device while this process faults them
 * back: its exit path evicts them at the same time. Every page must come
 * back intact, by one way or the other. Closes @fd, which pins the module.
 */
static void unload_with_pages_on_device(int fd)
{
	size_t bytes = 8 << 20, npages = bytes / page_size, i;
	__u64 *buf = map_anon(bytes), seen;
	unsigned long done, faulted = 0, wrong = 0;
	int ret, status = 0;
	double t;
	pid_t pid;

	printf("\n== Unloading the module while %zu pages are on the device\n", npages);
	fill(buf, bytes, 0x10ad);
	ret = device_cmd(fd, PGMAP_ALLOC_SAMPLE_MIGRATE, buf, npages, NULL, &done);
	check(!ret && done == npages, "8 MiB migrated to the device");
	close(fd);

	pid = fork();
	if (pid == 0) {
		execlp("rmmod", "rmmod", "pgmap_alloc_sample", (char *)NULL);
		_exit(127);
	}
	/*
	 * Fault the pages back one by one, from the end, slowly enough for the
	 * unload to evict some of them meanwhile. A read that takes over 20 us
	 * was a fault to device memory.
	 */
	for (i = npages; i-- > 0; ) {
		size_t word = i * page_size / sizeof(*buf);

		t = now_ms();
		seen = buf[word];
		faulted += now_ms() - t > 0.02;
		wrong += seen != ((word * 0x9e3779b97f4a7c15ULL) ^ 0x10ad);
		usleep(100);
	}
	if (pid > 0)
		waitpid(pid, &status, 0);
	check(pid > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "rmmod pgmap_alloc_sample succeeded with pages on the device");
	printf("  %lu of %zu pages were faulted back by this process,", faulted, npages);
	printf(" the others evicted by the unload\n");
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
	printf("pgmap_alloc demo: device memory %ld MiB (%ld pages)\n",
	       stat_value("size") * page_size >> 20, stat_value("size"));

	round_trip(fd, mib);
	bad_input(fd);
	killed_mid_migration();
	unload_with_pages_on_device(fd);

	printf("\npgmap_alloc demo: %s (%d checks, %d failed)\n",
	       failures ? "FAIL" : "PASS", checks, failures);
	return failures ? 1 : 0;
}
