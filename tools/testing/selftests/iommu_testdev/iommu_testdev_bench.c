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
 *
 * nested_dma_64B is owned_dma_64B through two stages: the device bound to
 * an iommufd in the driver's IOMMUFD mode, an IOAS as stage 2 and a
 * stage 1 of ours over it (arm-smmu-v3 only; iommufd_nested_test.c tests
 * that path).  Where nesting does not open it is one line,
 * "bench: nested_dma_64B n/a <why>".
 */
#include <stdarg.h>
#include <linux/iommufd.h>

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
	char path[64];
	bool no_nested;
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

/*
 * ---- nested: a compact copy of iommufd_nested_test.c's setup -----------
 * One CD and one 3-level stage-1 table set (4 KiB granule, 39-bit IOVA) in
 * our memory at TBL_IPA, our data page at DATA_IPA, both mapped in the IOAS
 * (stage 2); stage 1 sends N_IOVA to DATA_IPA.  The uAPI of Linux 6.13+
 * is declared here, as the test does, to build against older headers.
 */
#define N_VIOMMU_ALLOC		_IO(IOMMUFD_TYPE, 0x90)
#define N_VDEVICE_ALLOC		_IO(IOMMUFD_TYPE, 0x91)
#define N_HW_INFO_SMMUV3	2
#define N_HWPT_DATA_SMMUV3	2
#define N_VIOMMU_SMMUV3		1

struct n_viommu_alloc {
	__u32 size, flags, type, dev_id, hwpt_id, out_viommu_id;
	__u32 data_len, __reserved;
	__aligned_u64 data_uptr;
};

struct n_vdevice_alloc {
	__u32 size, viommu_id, dev_id, out_vdevice_id;
	__aligned_u64 virt_id;
};

#define N_TBL_IPA	0x20000000ULL	/* CD, L1, L2, L3: a 4 KiB unit each */
#define N_DATA_IPA	0x30000000ULL
#define N_IOVA		0x40000000ULL	/* L1 index 1, L2 and L3 index 0 */
#define N_VSID		0x42
#define N_UNIT(u)	(N_TBL_IPA + (u) * 0x1000ULL)
#ifndef BIT_ULL
#define BIT_ULL(n)	(1ULL << (n))
#endif
#define N_TABLE		(BIT_ULL(0) | BIT_ULL(1))	/* valid | table */
/* valid | page | AP[1] (EL0) | inner shareable | AF | nG */
#define N_PAGE_RW	(N_TABLE | BIT_ULL(6) | 3ULL << 8 | BIT_ULL(10) | \
			 BIT_ULL(11))
/* CD0: T0SZ 25, TG0 4K, WBRA, IS, EPD1, V, IPS 48, AA64, R, A, ASET, ASID */
#define N_CD0		(25ULL | BIT_ULL(8) | BIT_ULL(10) | 3ULL << 12 |	\
			 BIT_ULL(30) | BIT_ULL(31) | 5ULL << 32 | BIT_ULL(41) | \
			 BIT_ULL(45) | BIT_ULL(46) | BIT_ULL(47) | 0x11ULL << 48)
/* STE0: V, Config S1 translate, S1ContextPtr; STE1: CD fetch WBRA, IS */
#define N_STE0		(BIT_ULL(0) | 5ULL << 1 | N_UNIT(0))
#define N_STE1		(BIT_ULL(2) | BIT_ULL(4) | 3ULL << 6)

struct nested {
	int fd, ifd;
	__u64 *tbl;
	size_t tbl_len;
	struct itd_tbuf data;
};

static int n_map(struct nested *n, __u32 ioas, void *va, __u64 len,
		 __u64 iova)
{
	struct iommu_ioas_map c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | IOMMU_IOAS_MAP_READABLE |
			 IOMMU_IOAS_MAP_WRITEABLE,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(n->ifd, IOMMU_IOAS_MAP, &c);
}

static int n_hwpt(struct nested *n, __u32 dev_id, __u32 pt_id, __u32 flags,
		  __u32 type, void *data, __u32 len, __u32 *out)
{
	struct iommu_hwpt_alloc c = {
		.size = sizeof(c),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = type,
		.data_len = len,
		.data_uptr = (uintptr_t)data,
	};
	int ret = ioctl(n->ifd, IOMMU_HWPT_ALLOC, &c);

	*out = c.out_hwpt_id;
	return ret;
}

static void nested_close(struct nested *n)
{
	/* The device first: it unbinds before the iommufd goes. */
	if (n->fd >= 0)
		close(n->fd);
	if (n->ifd >= 0)
		close(n->ifd);
	if (n->tbl)
		munmap(n->tbl, n->tbl_len);
	if (n->data.p)
		munmap(n->data.p, n->data.len);
}

/*
 * Open the device again, bind it to a new iommufd, build S2 and S1 and
 * attach, then check that a DMA at N_IOVA lands in our data page, and
 * nowhere else.  Returns 0, or 1 with @why when nesting is not to be had
 * (anything up to a vIOMMU); dies on a failure after that.
 */
static int nested_open(struct bench *b, struct nested *n, char *why,
		       size_t len)
{
	struct iommu_testdev_iommufd_bind bind = { .size = sizeof(bind) };
	struct iommu_testdev_iommufd_attach at = { .size = sizeof(at) };
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct n_viommu_alloc va = { .size = sizeof(va) };
	struct n_vdevice_alloc vd = { .size = sizeof(vd) };
	__u32 idr[10] = {}, parent, nested;
	struct iommu_hw_info hw = {
		.size = sizeof(hw),
		.data_len = sizeof(idr),
		.data_uptr = (uintptr_t)idr,
	};
	__u64 ste[2] = { N_STE0, N_STE1 }, *t;
	struct iommu_testdev_dma d;
	size_t pg = itd_page_size();

#define NA(...) ({ snprintf(why, len, __VA_ARGS__); 1; })
	memset(n, 0, sizeof(*n));
	n->ifd = -1;
	n->fd = open(b->path, O_RDWR | O_CLOEXEC);
	if (n->fd < 0)
		return NA("%s: %s", b->path, strerror(errno));
	if (!(b->info.caps & IOMMU_TESTDEV_CAP_IOMMUFD))
		return NA("no IOMMUFD (kernel) or no IOMMU group of its own");
	n->ifd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (n->ifd < 0)
		return NA("/dev/iommu: %s", strerror(errno));
	if (ioctl(n->ifd, IOMMU_IOAS_ALLOC, &ia))
		return NA("IOAS_ALLOC: %s", strerror(errno));
	bind.iommufd = n->ifd;
	if (ioctl(n->fd, IOMMU_TESTDEV_IOMMUFD_BIND, &bind))
		return NA("IOMMUFD_BIND: %s", strerror(errno));
	hw.dev_id = bind.out_dev_id;
	if (ioctl(n->ifd, IOMMU_GET_HW_INFO, &hw))
		return NA("GET_HW_INFO: %s", strerror(errno));
	if (hw.out_data_type != N_HW_INFO_SMMUV3)
		return NA("hw_info type %u: the row is arm-smmu-v3's",
			  hw.out_data_type);
	/* struct iommu_hw_info_arm_smmuv3: flags, reserved, IDR0.S1P|S2P */
	if ((idr[2] & 3) != 3)
		return NA("SMMUv3 without both stages: IDR0 %#x", idr[2]);
	if (n_hwpt(n, bind.out_dev_id, ia.out_ioas_id,
		   IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, &parent))
		return NA("NEST_PARENT HWPT: %s", strerror(errno));
	va.type = N_VIOMMU_SMMUV3;
	va.dev_id = bind.out_dev_id;
	va.hwpt_id = parent;
	if (ioctl(n->ifd, N_VIOMMU_ALLOC, &va))
		return NA("VIOMMU_ALLOC: %s%s", strerror(errno),
			  errno == EOPNOTSUPP ?
			  " (no S2FWB, no IORT CANWBS: the -nested guests set it)" :
			  errno == ENOTTY ? " (kernel before 6.13)" : "");
#undef NA

	vd.viommu_id = va.out_viommu_id;
	vd.dev_id = bind.out_dev_id;
	vd.virt_id = N_VSID;
	if (ioctl(n->ifd, N_VDEVICE_ALLOC, &vd))
		die("VDEVICE_ALLOC: %s\n", strerror(errno));
	n->tbl_len = (4 * 0x1000 + pg - 1) & ~(pg - 1);
	n->tbl = mmap(NULL, n->tbl_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (n->tbl == MAP_FAILED) {
		n->tbl = NULL;
		die("mmap: %s\n", strerror(errno));
	}
	memset(n->tbl, 0, n->tbl_len);
	t = n->tbl;
	t[0] = N_CD0;				/* the CD, unit 0 */
	t[1] = N_UNIT(1);			/* TTB0: L1 */
	t[3] = 0xff;				/* MAIR attr 0: WB memory */
	t[512 + 1] = N_UNIT(2) | N_TABLE;	/* L1[1] */
	t[1024] = N_UNIT(3) | N_TABLE;		/* L2[0] */
	t[1536] = N_DATA_IPA | N_PAGE_RW;	/* L3[0] */
	__sync_synchronize();
	if (n_map(n, ia.out_ioas_id, n->tbl, n->tbl_len, N_TBL_IPA))
		die("IOAS_MAP tables: %s\n", strerror(errno));
	if (itd_buf_new(n->fd, ITD_BUF_USER, pg, 0, &n->data))
		die("data buffer: %s\n", strerror(errno));
	if (n_map(n, ia.out_ioas_id, n->data.p, n->data.len, N_DATA_IPA))
		die("IOAS_MAP data: %s\n", strerror(errno));
	if (n_hwpt(n, bind.out_dev_id, va.out_viommu_id, 0,
		   N_HWPT_DATA_SMMUV3, ste, sizeof(ste), &nested))
		die("nested HWPT: %s\n", strerror(errno));
	at.pt_id = nested;
	if (ioctl(n->fd, IOMMU_TESTDEV_IOMMUFD_ATTACH, &at))
		die("attach to the nested HWPT: %s\n", strerror(errno));

	/* The first DMA must land at its offset in the page and only there. */
	if (_test_cmd_dma_write(n->fd, N_IOVA + 0x40, 64, n->data.id, 0x40,
				IOMMU_TESTDEV_DMA_F_CANARY, &d))
		die("nested DMA: %s\n", strerror(errno));
	if (d.out_status != IOMMU_TESTDEV_STATUS_OK ||
	    !(d.out_flags & IOMMU_TESTDEV_DMA_LANDED) ||
	    itd_check_pattern(n->data.p + 0x40, 64, 0) != -1 ||
	    itd_check_fill(n->data.p, 0x40, IOMMU_TESTDEV_CANARY) != -1 ||
	    itd_check_fill(n->data.p + 0x80, n->data.len - 0x80,
			   IOMMU_TESTDEV_CANARY) != -1)
		die("nested DMA at %#llx: status %u flags %#x, not landed\n",
		    N_IOVA + 0x40, d.out_status, d.out_flags);
	return 0;
}

static void round_nested(struct bench *b)
{
	const char *fl = b->bar ? "raw_dma_64B" : NULL;
	struct nested n;
	char why[160];

	if (nested_open(b, &n, why, sizeof(why))) {
		printf("bench: nested_dma_64B n/a %s\n", why);
		b->no_nested = true;
	} else {
		MEASURE("nested_dma_64B", "DMA/s", fl, b->max,
			dma_or_die(n.fd, N_IOVA, IOMMU_TESTDEV_BUF_NONE,
				   false));
	}
	nested_close(&n);
}

int main(int argc, char **argv)
{
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	struct bench b = { .max = ~0UL, .slices = 10 };
	char bdf[32];
	bool owned;
	int i;

	if (argc > 1)
		secs = atof(argv[1]);
	b.fd = open_bench_dev(b.path, sizeof(b.path), &b.info);
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
	printf("bench: device %s pci %s engine %s domain %s rounds %d\n", b.path,
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
		if (!b.no_nested)
			round_nested(&b);
	}
	close(b.fd);
	return 0;
}
