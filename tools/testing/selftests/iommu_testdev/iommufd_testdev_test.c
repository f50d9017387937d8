// SPDX-License-Identifier: GPL-2.0
/*
 * iommufd end to end: the test owns the address space through /dev/iommu,
 * as a VMM does; the driver binds the device to that iommufd in the kernel
 * and fires DMA at IOVAs the test mapped.  The oracle is the driver's own
 * pin of the same user memory, never the IOAS.
 */
#include <linux/iommufd.h>

#include "iommu_testdev_utils.h"

#define IOVA	0x1000000ULL

FIXTURE(iommufd) {
	int fd;			/* the test device */
	int ifd;		/* /dev/iommu */
	__u32 ioas;
	__u32 dev_id;
	__u32 hwpt;		/* what the device is attached to */
	struct iommu_testdev_info info;
	size_t pg;
};

static int ioas_alloc(int ifd, __u32 *id)
{
	struct iommu_ioas_alloc c = { .size = sizeof(c) };
	int ret = ioctl(ifd, IOMMU_IOAS_ALLOC, &c);

	*id = c.out_ioas_id;
	return ret;
}

/* Where the IOAS_COPY tests put the copy, in the new IOAS. */
#define COPY_IOVA (IOVA + (64ULL << 20))

/*
 * IOMMU_IOAS_COPY of [@iova, @iova + @len) of @src, read-write, to COPY_IOVA
 * of a new IOAS, whose id goes to @dst.
 */
static int ioas_copy_new(int ifd, __u32 src, __u64 iova, __u64 len,
			 __u32 *dst)
{
	struct iommu_ioas_copy c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | ITD_IOAS_RW,
		.src_ioas_id = src,
		.length = len,
		.src_iova = iova,
		.dst_iova = COPY_IOVA,
	};
	int ret = ioas_alloc(ifd, dst);

	if (ret)
		return ret;
	c.dst_ioas_id = *dst;
	return ioctl(ifd, IOMMU_IOAS_COPY, &c);
}

static int itd_attach(int fd, __u32 *pt_id, bool replace)
{
	struct iommu_testdev_iommufd_attach c = {
		.size = sizeof(c),
		.flags = replace ? IOMMU_TESTDEV_ATTACH_REPLACE : 0,
		.pt_id = *pt_id,
	};
	int ret = ioctl(fd, IOMMU_TESTDEV_IOMMUFD_ATTACH, &c);

	if (!ret)
		*pt_id = c.pt_id;
	return ret;
}

static int hwpt_alloc(int ifd, __u32 dev_id, __u32 pt_id, __u32 flags,
		      __u32 *hwpt)
{
	struct iommu_hwpt_alloc c = {
		.size = sizeof(c),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
	};
	int ret = ioctl(ifd, IOMMU_HWPT_ALLOC, &c);

	*hwpt = c.out_hwpt_id;
	return ret;
}

FIXTURE_SETUP(iommufd)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };

	self->ifd = -1;
	self->pg = itd_page_size();
	if (!itd_fixture_open(_metadata, &self->fd))
		SKIP(return, ITD_NO_DEVICE_MSG);
	test_cmd_get_info(&self->info);
	if (!(self->info.caps & IOMMU_TESTDEV_CAP_IOMMUFD)) {
		if (access("/dev/iommu", F_OK))
			SKIP(return, "kernel has no IOMMUFD");
		SKIP(return, "device has no IOMMU group of its own (group %d)",
		     self->info.group_id);
	}
	self->ifd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (self->ifd < 0 && errno == ENOENT)
		SKIP(return, "no /dev/iommu node (devtmpfs?)");
	ASSERT_LE(0, self->ifd);
	ASSERT_EQ(0, ioas_alloc(self->ifd, &self->ioas));
	b.iommufd = self->ifd;
	if (ioctl(self->fd, IOMMU_TESTDEV_IOMMUFD_BIND, &b)) {
		if (errno == EPERM)
			SKIP(return, "bind refused (EPERM): %s",
			     "MSIs not isolated, allow_unsafe_interrupts off");
		ASSERT_EQ(0, errno) TH_LOG("bind: %s", strerror(errno));
	}
	self->dev_id = b.out_dev_id;
	self->hwpt = self->ioas;
	ASSERT_EQ(0, itd_attach(self->fd, &self->hwpt, false))
		TH_LOG("attach to IOAS %u: %s", self->ioas, strerror(errno));
}

FIXTURE_TEARDOWN(iommufd)
{
	/* Close the device first: it unbinds before the iommufd goes. */
	if (self->fd >= 0)
		close(self->fd);
	if (self->ifd >= 0)
		close(self->ifd);
}

/* User memory, mapped in an IOAS by the test and pinned by the driver. */
static void user_buf(struct __test_metadata *_metadata, int fd, size_t len,
		     struct itd_tbuf *b)
{
	ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_USER, len, 0, b));
}

#define landed(_b, ...) \
	itd_expect_landed(_metadata, self->fd, &(_b), __VA_ARGS__)
#define probe_pages(_b, ...) \
	itd_probe_pages(_metadata, self->fd, &self->info, &(_b), __VA_ARGS__)
#define refused(_b, ...) \
	itd_expect_fault(_metadata, self->fd, &self->info, &(_b), __VA_ARGS__)
/* A refusal and the IOMMU driver's record of it (itd_flog). */
#define flog_open(fl) itd_flog_open(_metadata, &(fl), &self->info)
#define refused_logged(fl, _b, iova, off, len, event) \
	itd_flog_fault(&(fl), self->fd, &(_b), iova, off, len, event)
#define probe_logged(fl, _b, iova, off, len) \
	itd_probe_logged(_metadata, self->fd, &(_b), iova, off, len, &(fl))

TEST_F(iommufd, ioas_map_dma)
{
	struct iommu_testdev_info info;
	struct itd_tbuf b;

	test_cmd_get_info(&info);
	ASSERT_EQ(IOMMU_TESTDEV_MODE_IOMMUFD, info.mode);
	TH_LOG("dev_id %u attached to hwpt %u (IOAS %u), domain %s",
	       self->dev_id, self->hwpt, self->ioas,
	       itd_domain_name(info.domain_type));
	user_buf(_metadata, self->fd, 4 * self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, IOVA,
				  ITD_IOAS_RW));
	landed(b, IOVA + 100, 100, 64);
	landed(b, IOVA + self->pg - 16, self->pg - 16, 32);
	landed(b, IOVA + 3 * self->pg + 8, 3 * self->pg + 8, 4);
}

TEST_F(iommufd, ioas_unmap_faults)
{
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, IOVA,
				  ITD_IOAS_RW));
	landed(b, IOVA + 64, 64, 64);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, IOVA, b.len));
	flog_open(fl);
	refused_logged(fl, b, IOVA + 64, 64, 64, 0x10);
	itd_flog_close(&fl);
	/* Mapped again at a new IOVA: only there. */
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len,
				  IOVA + 16 * self->pg, ITD_IOAS_RW));
	refused(b, IOVA + 64, 64, 4);
	landed(b, IOVA + 16 * self->pg + 64, 64, 4);
}

TEST_F(iommufd, ioas_readonly_faults)
{
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, IOVA,
				  IOMMU_IOAS_MAP_READABLE));
	flog_open(fl);
	refused_logged(fl, b, IOVA + 32, 32, 4, 0x13);
	itd_flog_close(&fl);
	/* The control: the same page, writable, at another IOVA. */
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len,
				  IOVA + 16 * self->pg, ITD_IOAS_RW));
	landed(b, IOVA + 16 * self->pg + 32, 32, 4);
}

/* IOAS_COPY: the same pages at another IOVA of another IOAS. */
TEST_F(iommufd, ioas_copy)
{
	__u32 ioas2, hwpt;
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, 2 * self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, IOVA,
				  ITD_IOAS_RW));
	ASSERT_EQ(0, ioas_copy_new(self->ifd, self->ioas, IOVA, b.len, &ioas2));
	hwpt = ioas2;
	ASSERT_EQ(0, itd_attach(self->fd, &hwpt, true));
	landed(b, COPY_IOVA + self->pg + 4, self->pg + 4, 16);
	flog_open(fl);
	refused_logged(fl, b, IOVA + 4, 4, 4, 0x10);
	itd_flog_close(&fl);
}

/*
 * Stale translations through iommufd: every page reached before an
 * IOAS_UNMAP must fault after it (itd_probe_pages()), for an odd page
 * count, for a range across a 2 MiB boundary, at an IOVA the kernel picked,
 * with huge pages off, and for two HWPTs of one IOAS (the unmap must reach
 * both).  Each ends with a control DMA into the same buffer.  The records
 * of the first and the last page's faults after each unmap are read
 * (itd_probe_logged()).
 */
static void unmap_sweep(struct __test_metadata *_metadata,
			struct _test_data_iommufd *self, __u64 iova, size_t pages)
{
	size_t len = pages * self->pg;
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, len, &b);
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, len, iova, ITD_IOAS_RW));
	probe_pages(b, iova, 0, len, true);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, iova, len));
	flog_open(fl);
	probe_logged(fl, b, iova, 0, len);
	itd_flog_close(&fl);
	ASSERT_EQ(-1, itd_check_fill(b.p, b.len, IOMMU_TESTDEV_CANARY));
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p + len - self->pg,
				  self->pg, iova, ITD_IOAS_RW));
	landed(b, iova + 4, len - self->pg + 4, 4);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, iova, self->pg));
	itd_buf_del(self->fd, &b);
}

TEST_F(iommufd, unmap_every_page)
{
	unmap_sweep(_metadata, self, IOVA, 33);
	unmap_sweep(_metadata, self, IOVA + 64 * ITD_SZ_2M - 3 * self->pg, 7);
}

/* IOAS_MAP without FIXED_IOVA: the kernel picks, the sweep holds there. */
TEST_F(iommufd, kernel_picked_iova)
{
	size_t pages = 17, len = pages * self->pg;
	struct iommu_ioas_map c = {
		.size = sizeof(c),
		.flags = ITD_IOAS_RW,
		.ioas_id = self->ioas,
		.length = len,
	};
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, len, &b);
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	c.user_va = (uintptr_t)b.p;
	ASSERT_EQ(0, ioctl(self->ifd, IOMMU_IOAS_MAP, &c));
	TH_LOG("the kernel picked IOVA %#llx", (unsigned long long)c.iova);
	ASSERT_LE(c.iova + len - 1, itd_dma_mask(&self->info));
	probe_pages(b, c.iova, 0, len, true);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, c.iova, len));
	flog_open(fl);
	probe_logged(fl, b, c.iova, 0, len);
	itd_flog_close(&fl);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, self->pg, IOVA,
				  ITD_IOAS_RW));
	landed(b, IOVA + 8, 8, 4);
}

/* IOMMU_OPTION_HUGE_PAGES=0: 2 MiB of hugetlb memory as small pages. */
TEST_F(iommufd, no_huge_pages_unmap)
{
	struct iommu_option o = {
		.size = sizeof(o),
		.option_id = IOMMU_OPTION_HUGE_PAGES,
		.op = IOMMU_OPTION_OP_SET,
		.object_id = self->ioas,
		.val64 = 0,
	};
	__u64 iova = 32 * ITD_SZ_2M;
	struct itd_flog fl;
	struct itd_tbuf b;

	if (!itd_hugetlb_reserve(ITD_SZ_2M, 1) ||
	    itd_buf_new(self->fd, ITD_BUF_USER_HUGE, ITD_SZ_2M, ITD_SZ_2M, &b))
		SKIP(return, "no 2 MiB hugetlb page to be had");
	ASSERT_EQ(0, ioctl(self->ifd, IOMMU_OPTION, &o))
		TH_LOG("IOMMU_OPTION_HUGE_PAGES: %s", strerror(errno));
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, iova,
				  ITD_IOAS_RW));
	probe_pages(b, iova, 0, b.len, true);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, iova, b.len));
	flog_open(fl);
	probe_logged(fl, b, iova, 0, b.len);
	itd_flog_close(&fl);
	ASSERT_EQ(-1, itd_check_fill(b.p, b.len, IOMMU_TESTDEV_CANARY));
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, self->pg, IOVA,
				  ITD_IOAS_RW));
	landed(b, IOVA + 8, 8, 4);
}

/* Two HWPTs of one IOAS: an IOAS_UNMAP must reach the one not attached. */
TEST_F(iommufd, two_hwpts_one_unmap)
{
	size_t pages = 5, len = pages * self->pg;
	__u32 hwpt_a, hwpt_b, pt;
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, len, &b);
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, len, IOVA, ITD_IOAS_RW));
	ASSERT_EQ(0, hwpt_alloc(self->ifd, self->dev_id, self->ioas, 0,
				&hwpt_a));
	ASSERT_EQ(0, hwpt_alloc(self->ifd, self->dev_id, self->ioas, 0,
				&hwpt_b));
	pt = hwpt_a;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	probe_pages(b, IOVA, 0, len, true);
	pt = hwpt_b;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	probe_pages(b, IOVA, 0, len, true);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, IOVA, len));
	flog_open(fl);
	probe_logged(fl, b, IOVA, 0, len);
	pt = hwpt_a;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	probe_logged(fl, b, IOVA, 0, len);
	itd_flog_close(&fl);
	ASSERT_EQ(-1, itd_check_fill(b.p, b.len, IOMMU_TESTDEV_CANARY));
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, self->pg,
				  IOVA + 64 * self->pg, ITD_IOAS_RW));
	landed(b, IOVA + 64 * self->pg + 8, 8, 4);
}

/*
 * IOAS_COPY, then the source unmapped: the copy keeps its own pin and
 * still reaches the pages; the source IOVA faults.
 */
TEST_F(iommufd, copy_after_source_unmap)
{
	__u32 ioas2, pt;
	struct itd_flog fl;
	struct itd_tbuf b;

	user_buf(_metadata, self->fd, 3 * self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, IOVA,
				  ITD_IOAS_RW));
	ASSERT_EQ(0, ioas_copy_new(self->ifd, self->ioas, IOVA, b.len, &ioas2));
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	probe_pages(b, IOVA, 0, b.len, true);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, IOVA, b.len));
	flog_open(fl);
	probe_logged(fl, b, IOVA, 0, b.len);
	itd_flog_close(&fl);
	pt = ioas2;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	probe_pages(b, COPY_IOVA, 0, b.len, true);
	landed(b, COPY_IOVA + 2 * self->pg + 4, 2 * self->pg + 4, 4);
}

/* The allowed ranges exclude reserved regions; DMA lands at their ends. */
TEST_F(iommufd, iova_ranges)
{
	struct iommu_iova_range r[16];
	struct iommu_ioas_iova_ranges c = {
		.size = sizeof(c),
		.ioas_id = self->ioas,
		.num_iovas = 16,
		.allowed_iovas = (uintptr_t)r,
	};
	__u64 mask = itd_dma_mask(&self->info);
	struct itd_tbuf b;
	unsigned int i;
	__u64 iova;

	ASSERT_EQ(0, ioctl(self->ifd, IOMMU_IOAS_IOVA_RANGES, &c));
	ASSERT_LT(0, c.num_iovas);
	ASSERT_GE(16, c.num_iovas);
	for (i = 0; i < c.num_iovas; i++) {
		TH_LOG("allowed %#llx-%#llx", (unsigned long long)r[i].start,
		       (unsigned long long)r[i].last);
		ASSERT_LE(r[i].start, r[i].last);
		if (i)
			ASSERT_LT(r[i - 1].last + 1, r[i].start);
	}
	user_buf(_metadata, self->fd, self->pg, &b);
	/* A hole between two ranges is reserved: mapping there fails. */
	if (c.num_iovas > 1)
		ASSERT_NE(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len,
					  r[0].last + 1, ITD_IOAS_RW));
	iova = (r[0].start + self->pg - 1) & ~((__u64)self->pg - 1);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, iova,
				  ITD_IOAS_RW));
	landed(b, iova, 0, 8);
	ASSERT_EQ(0, itd_ioas_unmap(self->ifd, self->ioas, iova, b.len));
	/* The highest page the device can address in the last range. */
	iova = r[c.num_iovas - 1].last < mask ? r[c.num_iovas - 1].last : mask;
	iova = ((iova + 1) & ~((__u64)self->pg - 1)) - self->pg;
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, iova,
				  ITD_IOAS_RW));
	TH_LOG("top page %#llx", (unsigned long long)iova);
	landed(b, iova + self->pg - 8, self->pg - 8, 8);
}

/* Many IOASes, each with its own page at the same IOVA. */
TEST_F(iommufd, many_ioas)
{
	enum { N = 8 };
	struct itd_tbuf b[N];
	__u32 ioas[N], pt;
	int i, round;

	for (i = 0; i < N; i++) {
		user_buf(_metadata, self->fd, self->pg, &b[i]);
		ASSERT_EQ(0, ioas_alloc(self->ifd, &ioas[i]));
		ASSERT_EQ(0, itd_ioas_map(self->ifd, ioas[i], b[i].p, self->pg,
					  IOVA, ITD_IOAS_RW));
	}
	for (round = 0; round < 2; round++) {
		for (i = 0; i < N; i++) {
			pt = ioas[(i * 3 + round) % N];
			ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
			landed(b[(i * 3 + round) % N], IOVA + 8 * i, 8 * i, 8);
		}
	}
}

/*
 * HWPTs: an explicit paging HWPT, replaced with DMA between each step,
 * then detached (blocked) and attached again.
 */
TEST_F(iommufd, hwpt_replace_detach)
{
	struct itd_tbuf a, b;
	__u32 ioas2, hwpt_a, hwpt_b, pt;

	user_buf(_metadata, self->fd, self->pg, &a);
	user_buf(_metadata, self->fd, self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, a.p, self->pg, IOVA,
				  ITD_IOAS_RW));
	ASSERT_EQ(0, ioas_alloc(self->ifd, &ioas2));
	ASSERT_EQ(0, itd_ioas_map(self->ifd, ioas2, b.p, self->pg, IOVA,
				  ITD_IOAS_RW));
	ASSERT_EQ(0, hwpt_alloc(self->ifd, self->dev_id, self->ioas, 0,
				&hwpt_a));
	ASSERT_EQ(0, hwpt_alloc(self->ifd, self->dev_id, ioas2, 0, &hwpt_b));

	pt = hwpt_a;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	ASSERT_EQ(hwpt_a, pt);
	landed(a, IOVA + 16, 16, 16);
	pt = hwpt_b;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	memset(a.p, IOMMU_TESTDEV_CANARY, a.len);
	landed(b, IOVA + 16, 16, 16);
	ASSERT_EQ(-1, itd_check_fill(a.p, a.len, IOMMU_TESTDEV_CANARY));
	pt = hwpt_a;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	landed(a, IOVA + 16, 16, 16);

	/* An attached HWPT cannot be destroyed; a detached one can. */
	ASSERT_EQ(-1, itd_iommufd_destroy(self->ifd, hwpt_a));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, _test_cmd_simple(self->fd, IOMMU_TESTDEV_IOMMUFD_DETACH));
	refused(a, IOVA + 16, 16, 4);
	ASSERT_EQ(0, itd_iommufd_destroy(self->ifd, hwpt_a));
	/* Attach (not replace) after detach. */
	pt = hwpt_b;
	ASSERT_EQ(-1, itd_attach(self->fd, &pt, true));
	ASSERT_EQ(EINVAL, errno);
	ASSERT_EQ(0, itd_attach(self->fd, &pt, false));
	landed(b, IOVA + 32, 32, 8);
	ASSERT_EQ(-1, itd_attach(self->fd, &pt, false));
	ASSERT_EQ(EINVAL, errno);
}

/* Unbind returns the device to the DMA API; bind again works. */
TEST_F(iommufd, unbind_rebind)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };
	struct iommu_testdev_info info;
	struct itd_tbuf buf;
	__u32 pt = self->ioas;

	ASSERT_EQ(0, _test_cmd_simple(self->fd, IOMMU_TESTDEV_IOMMUFD_UNBIND));
	test_cmd_get_info(&info);
	ASSERT_EQ(IOMMU_TESTDEV_MODE_DMA_API, info.mode);
	ASSERT_EQ(info.default_domain_type, info.domain_type);
	user_buf(_metadata, self->fd, self->pg, &buf);
	/* Back in the DMA API's hands: a DMA lands where the test looks. */
	landed(buf, 0, 0, 16);
	b.iommufd = self->ifd;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_TESTDEV_IOMMUFD_BIND, &b));
	ASSERT_EQ(0, itd_attach(self->fd, &pt, false));
	/* And through the IOAS again. */
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, buf.p, buf.len, IOVA,
				  ITD_IOAS_RW));
	landed(buf, IOVA + 8, 8, 8);
}

/* Another file can neither take the device nor DMA while it is bound. */
TEST_F(iommufd, second_file_busy)
{
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_dma d;
	struct itd_tbuf b;
	char path[64];
	int fd2 = itd_open_dev(path, sizeof(path));

	ASSERT_LE(0, fd2);
	ASSERT_EQ(0, itd_buf_new(fd2, ITD_BUF_DRIVER, self->pg, 0, &b));
	ASSERT_EQ(-1, _test_cmd_owned_attach(fd2, &a));
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, _test_cmd_dma_write(fd2, 0, 4, b.id, 0, 0, &d));
	ASSERT_EQ(EBUSY, errno);
	itd_buf_del(fd2, &b);
	close(fd2);
}

/* What the IOMMU driver tells a VMM about itself. */
TEST_F(iommufd, get_hw_info)
{
	struct {
		__u32 flags;
		__u32 __reserved;
		__u32 idr[6];
		__u32 iidr;
		__u32 aidr;
	} smmu = {};
	struct iommu_hw_info_vtd vtd = {};
	__u8 data[128] = {};
	struct iommu_hw_info c = {
		.size = sizeof(c),
		.dev_id = self->dev_id,
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)data,
	};

	ASSERT_EQ(0, ioctl(self->ifd, IOMMU_GET_HW_INFO, &c));
	TH_LOG("type %u, %u bytes, capabilities %#llx", c.out_data_type,
	       c.data_len, (unsigned long long)c.out_capabilities);
	switch (c.out_data_type) {
	case IOMMU_HW_INFO_TYPE_INTEL_VTD:
		ASSERT_EQ(sizeof(vtd), c.data_len);
		memcpy(&vtd, data, sizeof(vtd));
		TH_LOG("VT-d cap %#llx ecap %#llx",
		       (unsigned long long)vtd.cap_reg,
		       (unsigned long long)vtd.ecap_reg);
		ASSERT_NE(0, vtd.cap_reg);
		/* SAGAW: at least one supported page-table depth. */
		ASSERT_NE(0, (vtd.cap_reg >> 8) & 0x1f);
		break;
	case 2:	/* IOMMU_HW_INFO_TYPE_ARM_SMMUV3, Linux 6.14+ */
		ASSERT_EQ(sizeof(smmu), c.data_len);
		memcpy(&smmu, data, sizeof(smmu));
		TH_LOG("SMMUv3 IDR0 %#x IDR1 %#x IDR5 %#x", smmu.idr[0],
		       smmu.idr[1], smmu.idr[5]);
		/* IDR0.S1P or S2P: some translation stage exists. */
		ASSERT_NE(0, smmu.idr[0] & 0x3);
		/* IDR5: at least one translation granule (bits 4-6). */
		ASSERT_NE(0, smmu.idr[5] & 0x70);
		break;
	case IOMMU_HW_INFO_TYPE_NONE:
		ASSERT_EQ(0, c.data_len);
		SKIP(return, "the IOMMU driver reports no hardware info (type NONE)");
	default:
		SKIP(return, "unknown hw_info type %u", c.out_data_type);
	}
}

/*
 * A NEST_PARENT paging HWPT works as a stage 2 on its own.  Nesting on top
 * of it is iommufd_nested_test's.
 */
TEST_F(iommufd, nest_parent)
{
	struct itd_tbuf b;
	__u32 parent, pt;

	if (hwpt_alloc(self->ifd, self->dev_id, self->ioas,
		       IOMMU_HWPT_ALLOC_NEST_PARENT, &parent))
		SKIP(return, "NEST_PARENT HWPT refused: %s", strerror(errno));
	/* A nest parent is a working stage-2 on its own. */
	user_buf(_metadata, self->fd, self->pg, &b);
	ASSERT_EQ(0, itd_ioas_map(self->ifd, self->ioas, b.p, b.len, IOVA,
				  ITD_IOAS_RW));
	pt = parent;
	ASSERT_EQ(0, itd_attach(self->fd, &pt, true));
	landed(b, IOVA + 8, 8, 8);
}

/* Faults through iommufd go to the kernel log; the device sees them. */
TEST_F(iommufd, fault_record)
{
	static char text[1 << 16];
	struct itd_fault f = { IOVA + 0x40, 0x10 };	/* F_TRANSLATION */
	enum itd_iommu_kind kind;
	struct itd_tbuf b;
	char name[64];
	int kfd;

	kind = itd_iommu_kind(&self->info, name, sizeof(name));
	user_buf(_metadata, self->fd, self->pg, &b);
	usleep(itd_kmsg_room_us(kind, 1));
	kfd = itd_kmsg_open();
	ASSERT_LE(0, kfd);
	refused(b, IOVA + 0x40, 0, 4);
	if (itd_fault_log_known(kind))
		itd_fault_wait(kfd, kind, &self->info, text, sizeof(text), &f,
			       1);
	close(kfd);
	if (!itd_fault_log_known(kind))
		SKIP(return, "no known fault log format for IOMMU '%s'", name);
	EXPECT_TRUE(f.seen) TH_LOG("%s: no record of IOVA %#llx in:\n%s",
				   name, IOVA + 0x40, text);
}

/* The physical address of a byte of this process's memory (root: pagemap). */
static __u64 self_phys(void *p)
{
	size_t pg = itd_page_size();
	__u64 e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	if (pread(fd, &e, sizeof(e), (uintptr_t)p / pg * sizeof(e)) !=
	    sizeof(e))
		e = 0;
	close(fd);
	if (!(e & (1ULL << 63)))	/* not present */
		return 0;
	return (e & ((1ULL << 55) - 1)) * pg + (uintptr_t)p % pg;
}

/*
 * A device without an IOMMU.  Since Linux 7.0 a kernel with
 * CONFIG_IOMMUFD_NOIOMMU (VFIO no-IOMMU with the device cdev) lets
 * iommufd_device_bind() take such a device, and every IOVA would be a raw
 * physical address.  The driver must refuse the bind and every DMA at an
 * address the caller names: aimed at the physical address of the test's
 * own buffer, nothing may land there.  The control: the DMA API, which picks
 * the address itself, still lands in the same buffer.
 */
TEST(noiommu_bind_refused)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };
	struct iommu_testdev_owned_attach oa;
	size_t pg = itd_page_size();
	struct iommu_testdev_info info;
	struct iommu_testdev_dma d;
	struct itd_tbuf buf;
	__u32 ioas, pt;
	int fd, ifd, rc;
	__u64 phys;

	if (!itd_fixture_open(_metadata, &fd))
		SKIP(return, ITD_NO_DEVICE_MSG);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	if (info.domain_type != IOMMU_TESTDEV_DOMAIN_NONE)
		SKIP(return, "the device has an IOMMU (domain %s)",
		     itd_domain_name(info.domain_type));
	ASSERT_EQ(0, info.caps & (IOMMU_TESTDEV_CAP_OWNED |
				  IOMMU_TESTDEV_CAP_IOMMUFD));
	ifd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (ifd < 0)
		SKIP(return, "no /dev/iommu: kernel has no IOMMUFD");
	ASSERT_EQ(0, ioas_alloc(ifd, &ioas));
	ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_USER, 4 * pg, 0, &buf));
	phys = self_phys(buf.p);
	ASSERT_NE(0, phys) TH_LOG("no physical address in /proc/self/pagemap");

	/* The control: the DMA API's own address lands in the buffer. */
	ASSERT_EQ(0, _test_cmd_dma_write(fd, 0, 64, buf.id, 100,
					 IOMMU_TESTDEV_DMA_F_CANARY, &d))
		TH_LOG("DMA_API DMA: %s", strerror(errno));
	ASSERT_EQ(IOMMU_TESTDEV_STATUS_OK, d.out_status);
	ASSERT_EQ(IOMMU_TESTDEV_DMA_LANDED | IOMMU_TESTDEV_DMA_TOUCHED |
		  IOMMU_TESTDEV_DMA_CANARY_OK,
		  d.out_flags & ~IOMMU_TESTDEV_DMA_DEV_VERIFIED);
	ASSERT_EQ(-1, itd_check_pattern(buf.p + 100, 64, 0));

	memset(buf.p, IOMMU_TESTDEV_CANARY, buf.len);
	b.iommufd = ifd;
	rc = ioctl(fd, IOMMU_TESTDEV_IOMMUFD_BIND, &b);
	if (!rc) {
		/* The hole: attach, and aim at the buffer's physical address. */
		pt = ioas;
		rc = itd_attach(fd, &pt, false);
		TH_LOG("bound a device without an IOMMU; attach: %s",
		       rc ? strerror(errno) : "ok");
		rc = _test_cmd_dma_write(fd, phys, 64, buf.id, 0, 0, &d);
		TH_LOG("DMA at physical %#llx: %s, status %u, flags %#x",
		       (unsigned long long)phys, rc ? strerror(errno) : "ran",
		       d.out_status, d.out_flags);
		rc = 0;
	}
	EXPECT_EQ(-1, rc);
	EXPECT_EQ(EOPNOTSUPP, errno);
	/* Still in the DMA_API mode: no DMA at an address the caller names. */
	EXPECT_EQ(-1, _test_cmd_dma_write(fd, phys, 64, buf.id, 0, 0, &d));
	EXPECT_EQ(-1, itd_check_fill(buf.p, buf.len, IOMMU_TESTDEV_CANARY))
		TH_LOG("a DMA reached the buffer at physical %#llx",
		       (unsigned long long)phys);
	/* Nor an owned domain. */
	EXPECT_EQ(-1, _test_cmd_owned_attach(fd, &oa));
	EXPECT_EQ(EOPNOTSUPP, errno);
	itd_buf_del(fd, &buf);
	close(fd);
	close(ifd);
}

TEST_HARNESS_MAIN
