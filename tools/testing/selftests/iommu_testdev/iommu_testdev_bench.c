// SPDX-License-Identifier: GPL-2.0
/*
 * iommu_testdev_bench: how fast the path from ioctl through the IOMMU to
 * the device is, and how far that is from the device's own speed.  A
 * benchmark, not a test: it prints numbers and exits 0 unless it cannot run.
 *
 * Usage: iommu_testdev_bench [seconds per sample, default 0.2] [rounds, default 5]
 *
 * Every measurement is sampled once per round; the rounds interleave, so a
 * change in the host's speed hits every measurement alike.  One line per
 * sample:
 *
 *   bench: <name> <value> <unit> [<floor>]
 *
 * where <floor>, when given, names the measurement this one is a ratio to
 * (scripts/bench.sh pairs the samples of a round).  The DMA floor,
 * raw_dma_64B, is the same 64-byte DMA fired from userspace through the
 * device's BAR0 (/sys/bus/pci/devices/<bdf>/resource0): the device in the
 * same owned domain, the IOVA already mapped and the DMA registers left as
 * the driver's last DMA set them, so it costs exactly the doorbell write
 * and the two reads the driver's engine does, and nothing of the ioctl path.
 * Map and unmap latencies ("us") are per ioctl, for comparison with the
 * kernel's dma_map_benchmark (scripts/guest-bench.sh runs it afterwards).
 */
#include <stdarg.h>

#include "iommu_testdev_utils.h"

#define IOVA 0x1000000ULL
#define IOVA_2M (8 * ITD_SZ_2M)

/* iommu-testdev's BAR0 (QEMU hw/misc/iommu-testdev.c). */
#define ITD_REG_TRIGGER	0x00
#define ITD_REG_RESULT	0x10
#define ITD_REG_DBELL	0x14

static double secs = 0.2;

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void sample(const char *name, double value, const char *unit,
		   const char *floor)
{
	printf("bench: %s %.3f %s%s%s\n", name, value, unit,
	       floor ? " " : "", floor ? floor : "");
	fflush(stdout);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	exit(1);
}

/* Run @body until secs passed (or @max runs); print runs/s. */
#define MEASURE(name, unit, floor, max, body)                                \
	do {                                                                  \
		unsigned long __n = 0;                                        \
		double __t0 = now(), __t;                                     \
		do {                                                          \
			body;                                                 \
			__n++;                                                \
			__t = now() - __t0;                                   \
		} while (__t < secs && __n < (max));                          \
		sample(name, __n / __t, unit, floor);                         \
	} while (0)

struct acc {
	unsigned long n;
	double t;
};

/* Run @body for secs / b->slices (or @max runs) more, into *@a. */
#define SLICE(a, max, body)                                                  \
	do {                                                                  \
		struct acc *__a = (a);                                        \
		unsigned long __n = 0;                                        \
		double __t0 = now(), __t;                                     \
		do {                                                          \
			body;                                                 \
			__n++;                                                \
			__t = now() - __t0;                                   \
		} while (__t < secs / b->slices && __n < (max));              \
		__a->n += __n;                                                \
		__a->t += __t;                                                \
	} while (0)

/* BAR0 of the device behind @fd, mapped from sysfs; NULL when it cannot be. */
static uint32_t *map_bar0(const struct iommu_testdev_info *info)
{
	char bdf[32], path[96];
	void *p;
	int fd;

	itd_pci_name(info, bdf, sizeof(bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/resource0", bdf);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0) {
		printf("bench: raw floor: skipped: %s: %s\n", path,
		       strerror(errno));
		return NULL;
	}
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED) {
		printf("bench: raw floor: skipped: mmap %s: %s\n", path,
		       strerror(errno));
		return NULL;
	}
	return p;
}

/*
 * The driver's DMA minus the driver: doorbell, trigger, result.  Relaxed
 * atomics are plain loads and stores the compiler must emit, once each;
 * the signal fences keep their order (BAR0 is uncached device memory, in
 * program order on the bus).
 */
static uint32_t raw_dma(uint32_t *bar)
{
	__atomic_store_n(&bar[ITD_REG_DBELL / 4], 1, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	(void)__atomic_load_n(&bar[ITD_REG_TRIGGER / 4], __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&bar[ITD_REG_RESULT / 4], __ATOMIC_RELAXED);
}

/*
 * The device to measure: $ITD_DEV, else the first iommu-testdev with an
 * IOMMU group of its own (the raw floor needs both), else the best there is.
 */
static int open_bench_dev(char *path, size_t len,
			  struct iommu_testdev_info *info)
{
	int i, fd, best = -1, best_score = -1, score;
	struct iommu_testdev_info in;
	char p[64];

	if (getenv("ITD_DEV"))
		return itd_open_dev(path, len);
	for (i = 0; i < 16; i++) {
		snprintf(p, sizeof(p), "/dev/iommu_testdev%d", i);
		fd = open(p, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (_test_cmd_get_info(fd, &in)) {
			close(fd);
			continue;
		}
		score = 2 * !!(in.caps & IOMMU_TESTDEV_CAP_OWNED) +
			(in.engine == IOMMU_TESTDEV_ENGINE_ITD);
		if (score <= best_score) {
			close(fd);
			continue;
		}
		if (best >= 0)
			close(best);
		best = fd;
		best_score = score;
		*info = in;
		snprintf(path, len, "%s", p);
	}
	return best >= 0 ? best : -ENOENT;
}

struct bench {
	int fd;
	struct iommu_testdev_info info;
	struct itd_tbuf small, big;
	bool have_big;
	uint32_t *bar;
	unsigned long max;
	int slices;
};

static void dma_or_die(int fd, __u64 iova, __u32 buf, bool want_landed)
{
	struct iommu_testdev_dma d;

	if (_test_cmd_dma_write(fd, iova, 64, buf, 0, 0, &d))
		die("DMA at %#llx: %s\n", (unsigned long long)iova,
		    strerror(errno));
	if (d.out_status != IOMMU_TESTDEV_STATUS_OK ||
	    (want_landed && !(d.out_flags & IOMMU_TESTDEV_DMA_LANDED)))
		die("DMA at %#llx: status %u flags %#x\n",
		    (unsigned long long)iova, d.out_status, d.out_flags);
}

static void map_or_die(int fd, __u32 buf, __u64 len, __u64 iova)
{
	if (_test_cmd_map(fd, buf, 0, len, iova, ITD_RW))
		die("MAP %#llx: %s\n", (unsigned long long)iova,
		    strerror(errno));
}

static void unmap_or_die(int fd, __u64 len, __u64 iova)
{
	if (_test_cmd_unmap(fd, iova, len, NULL))
		die("UNMAP %#llx: %s\n", (unsigned long long)iova,
		    strerror(errno));
}

/* Map and unmap @len at @iova for secs: latencies of each, and cycles/s. */
static void map_unmap(struct bench *b, __u32 buf, __u64 len, __u64 iova,
		      const char *sz)
{
	double t0 = now(), t1, t2, tmap = 0, tunmap = 0, t;
	unsigned long n = 0;
	char name[64], fl[64];

	do {
		t1 = now();
		map_or_die(b->fd, buf, len, iova);
		t2 = now();
		unmap_or_die(b->fd, len, iova);
		t = now();
		tmap += t2 - t1;
		tunmap += t - t2;
		n++;
	} while (t - t0 < secs);
	snprintf(name, sizeof(name), "map_unmap_%s", sz);
	snprintf(fl, sizeof(fl), "dmabench_cycle_%s", sz);
	sample(name, n / (t - t0), "cycles/s", fl);
	snprintf(name, sizeof(name), "map_%s", sz);
	snprintf(fl, sizeof(fl), "dmabench_map_%s", sz);
	sample(name, tmap / n * 1e6, "us", fl);
	snprintf(name, sizeof(name), "unmap_%s", sz);
	snprintf(fl, sizeof(fl), "dmabench_unmap_%s", sz);
	sample(name, tunmap / n * 1e6, "us", fl);
}

static void round_dma_api(struct bench *b)
{
	const char *fl = b->bar ? "raw_dma_64B" : NULL;

	MEASURE("dma_api_dma_64B", "DMA/s", fl, b->max,
		dma_or_die(b->fd, 0, b->small.id, true));
}

static void round_owned(struct bench *b)
{
	const char *fl = b->bar ? "raw_dma_64B" : NULL;
	struct acc raw = {}, nul = {}, own = {}, chk = {};
	struct iommu_testdev_owned_attach a;
	uint32_t r;
	int i;

	if (_test_cmd_owned_attach(b->fd, &a))
		die("OWNED_ATTACH: %s\n", strerror(errno));
	map_or_die(b->fd, b->small.id, itd_page_size(), IOVA);

	/*
	 * The floor and the DMA ioctls take turns in short slices, so that
	 * the host's load, which changes by the second, weighs on each alike
	 * and their ratio holds still.  A DMA with the buffer as oracle (the
	 * checked one) leaves the registers holding this IOVA, 64 bytes and
	 * the buffer's physical address: the raw DMA after it is the same
	 * DMA, and the device's compare makes RESULT 0 only when it landed.
	 */
	for (i = 0; i < b->slices; i++) {
		SLICE(&chk, b->max,
		      dma_or_die(b->fd, IOVA, b->small.id, true));
		if (b->bar)
			SLICE(&raw, ~0UL, {
				r = raw_dma(b->bar);
				if (r)
					die("raw DMA: result %#x\n", r);
			});
		/* What any ioctl costs: one the driver refuses at once. */
		SLICE(&nul, ~0UL, (void)!ioctl(b->fd, _IO('x', 0), NULL));
		SLICE(&own, b->max,
		      dma_or_die(b->fd, IOVA, IOMMU_TESTDEV_BUF_NONE, false));
	}
	if (b->bar)
		sample("raw_dma_64B", raw.n / raw.t, "DMA/s", NULL);
	sample("null_ioctl", nul.n / nul.t, "calls/s", NULL);
	/*
	 * The most any driver could do with one ioctl per DMA: the raw DMA
	 * plus a null ioctl.  Its ratio to the floor bounds owned_dma_64B's.
	 */
	if (b->bar)
		sample("ioctl_bound_64B", 1 / (raw.t / raw.n + nul.t / nul.n),
		       "DMA/s", fl);
	sample("owned_dma_64B", own.n / own.t, "DMA/s", fl);
	sample("owned_dma_64B_checked", chk.n / chk.t, "DMA/s", fl);
	unmap_or_die(b->fd, itd_page_size(), IOVA);

	map_unmap(b, b->small.id, itd_page_size(), IOVA, "4K");
	MEASURE("map_dma_unmap_4K", "cycles/s", fl, b->max, {
		map_or_die(b->fd, b->small.id, itd_page_size(), IOVA);
		dma_or_die(b->fd, IOVA, IOMMU_TESTDEV_BUF_NONE, false);
		unmap_or_die(b->fd, itd_page_size(), IOVA);
	});
	if (b->have_big) {
		map_unmap(b, b->big.id, ITD_SZ_2M, IOVA_2M, "2M");
		MEASURE("map_dma_unmap_2M", "cycles/s", fl, b->max, {
			map_or_die(b->fd, b->big.id, ITD_SZ_2M, IOVA_2M);
			dma_or_die(b->fd, IOVA_2M + ITD_SZ_2M - 64,
				   IOMMU_TESTDEV_BUF_NONE, false);
			unmap_or_die(b->fd, ITD_SZ_2M, IOVA_2M);
		});
	}
	if (_test_cmd_simple(b->fd, IOMMU_TESTDEV_OWNED_DETACH))
		die("OWNED_DETACH: %s\n", strerror(errno));
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct bench b = { .max = ~0UL, .slices = 10 };
	char path[64], bdf[32];
	bool owned;
	int i;

	if (argc > 1)
		secs = atof(argv[1]);
	b.fd = open_bench_dev(path, sizeof(path), &b.info);
	if (b.fd < 0) {
		printf("bench: skipped: %s\n", ITD_NO_DEVICE_MSG);
		return 4;
	}
	if (_test_cmd_get_info(b.fd, &b.info))
		die("GET_INFO: %s\n", strerror(errno));
	owned = b.info.caps & IOMMU_TESTDEV_CAP_OWNED;
	itd_pci_name(&b.info, bdf, sizeof(bdf));
	/* edu needs 100 ms a DMA: a handful of samples is all there is. */
	if (b.info.engine == IOMMU_TESTDEV_ENGINE_EDU) {
		b.max = 5;
		b.slices = 1;
	}
	printf("bench: device %s pci %s engine %s domain %s rounds %d\n", path,
	       bdf, itd_engine_name(b.info.engine),
	       itd_domain_name(b.info.domain_type), rounds);
	if (!owned)
		printf("bench: owned domain: skipped: no IOMMU group of its own\n");
	else if (b.info.engine == IOMMU_TESTDEV_ENGINE_ITD)
		b.bar = map_bar0(&b.info);

	if (itd_buf_new(b.fd, ITD_BUF_DRIVER, itd_page_size(), 0, &b.small))
		die("buffer: %s\n", strerror(errno));
	b.have_big = !itd_buf_new(b.fd, ITD_BUF_DRIVER, ITD_SZ_2M, 0, &b.big);
	if (!b.have_big)
		printf("bench: 2M: skipped: no 2 MiB of contiguous memory\n");

	for (i = 0; i < rounds; i++) {
		round_dma_api(&b);
		if (owned)
			round_owned(&b);
	}
	close(b.fd);
	return 0;
}
