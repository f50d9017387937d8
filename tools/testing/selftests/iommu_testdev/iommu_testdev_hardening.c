// SPDX-License-Identifier: GPL-2.0
/*
 * Hostile input: every ioctl and every field rejected the documented way,
 * a seeded ioctl fuzzer over several threads and files, and concurrent
 * map / DMA / unmap / close.  The device must stay healthy throughout.
 */
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <linux/capability.h>

#include "iommu_testdev_utils.h"

FIXTURE(uapi) {
	int fd;
	struct iommu_testdev_info info;
	size_t pg;
};

FIXTURE_SETUP(uapi)
{
	self->pg = itd_page_size();
	if (!itd_fixture_open(_metadata, &self->fd))
		SKIP(return, ITD_NO_DEVICE_MSG);
	test_cmd_get_info(&self->info);
}

FIXTURE_TEARDOWN(uapi)
{
	if (self->fd >= 0)
		close(self->fd);
}

#define test_ioctl_err(_errno, _nr, _arg)                                 \
	({                                                                \
		EXPECT_EQ(-1, ioctl(self->fd, _nr, _arg));                \
		EXPECT_EQ(_errno, errno)                                  \
			TH_LOG("%s: %s", #_nr, strerror(errno));          \
	})

static const unsigned long itd_all_ioctls[] = {
	IOMMU_TESTDEV_GET_INFO,		IOMMU_TESTDEV_BUF_ALLOC,
	IOMMU_TESTDEV_BUF_FREE,		IOMMU_TESTDEV_DMA,
	IOMMU_TESTDEV_OWNED_ATTACH,	IOMMU_TESTDEV_OWNED_DETACH,
	IOMMU_TESTDEV_MAP,		IOMMU_TESTDEV_UNMAP,
	IOMMU_TESTDEV_IOMMUFD_BIND,	IOMMU_TESTDEV_IOMMUFD_ATTACH,
	IOMMU_TESTDEV_IOMMUFD_DETACH,	IOMMU_TESTDEV_IOMMUFD_UNBIND,
};

TEST_F(uapi, unknown_ioctls)
{
	__u32 arg[64] = { sizeof(arg) };

	test_ioctl_err(ENOTTY, _IO(IOMMU_TESTDEV_TYPE, 0x0c), arg);
	test_ioctl_err(ENOTTY, _IO(IOMMU_TESTDEV_TYPE, 0xff), arg);
	test_ioctl_err(ENOTTY, _IO(IOMMU_TESTDEV_TYPE + 1, 0), arg);
	test_ioctl_err(ENOTTY, _IOWR(IOMMU_TESTDEV_TYPE, 0,
				     struct iommu_testdev_info), arg);
	test_ioctl_err(EFAULT, IOMMU_TESTDEV_GET_INFO, NULL);
}

/* argsz: too short EINVAL, a non-zero unknown tail E2BIG, a zero tail ok. */
TEST_F(uapi, argsz)
{
	static union {
		__u8 b[2 * 65536];
		__u64 align;
	} u;
	__u8 *big = u.b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(itd_all_ioctls); i++) {
		__u32 *size = (__u32 *)big;

		memset(big, 0, sizeof(u.b));
		*size = 0;
		test_ioctl_err(EINVAL, itd_all_ioctls[i], big);
		*size = 4;
		test_ioctl_err(EINVAL, itd_all_ioctls[i], big);
		*size = 4096;
		big[4000] = 1;
		test_ioctl_err(E2BIG, itd_all_ioctls[i], big);
		*size = sizeof(u.b);
		test_ioctl_err(E2BIG, itd_all_ioctls[i], big);
	}

	/* GET_INFO with a zero tail beyond the struct works. */
	memset(big, 0, sizeof(u.b));
	*(__u32 *)big = 256;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_TESTDEV_GET_INFO, big));
	ASSERT_EQ(self->info.engine,
		  ((struct iommu_testdev_info *)big)->engine);
	ASSERT_EQ(0, big[200]);
}

TEST_F(uapi, get_info_fields)
{
	struct iommu_testdev_info i = { .size = sizeof(i) };

	i.flags = 1;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_GET_INFO, &i);
	i.flags = 0;
	i.__reserved = 1;
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_GET_INFO, &i);
}

static void __test_err_buf_alloc(struct __test_metadata *_metadata, int fd,
				 int err, __u32 flags, __u64 len, __u64 va)
{
	EXPECT_EQ(-1, _test_cmd_buf_alloc(fd, flags, len, va, NULL, NULL,
					  NULL));
	EXPECT_EQ(err, errno)
		TH_LOG("BUF_ALLOC %#x %#llx %#llx: %s", flags,
		       (unsigned long long)len, (unsigned long long)va,
		       strerror(errno));
}

#define test_err_buf_alloc(_errno, ...) \
	__test_err_buf_alloc(_metadata, self->fd, _errno, __VA_ARGS__)

TEST_F(uapi, buf_alloc_fields)
{
	size_t pg = self->pg;
	void *ro, *mem;
	__u32 id;

	mem = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ro = mmap(NULL, pg, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	ASSERT_NE(MAP_FAILED, ro);

	test_err_buf_alloc(EOPNOTSUPP, 2, pg, 0);
	test_err_buf_alloc(EOPNOTSUPP, 0x80000000, pg, 0);
	test_err_buf_alloc(EINVAL, 0, 0, 0);
	test_err_buf_alloc(EINVAL, 0, pg + 1, 0);
	test_err_buf_alloc(EINVAL, 0, pg, (uintptr_t)mem);
	test_err_buf_alloc(E2BIG, 0, 1ULL << 40, 0);
	test_err_buf_alloc(E2BIG, 0, ~0ULL & ~((__u64)pg - 1), 0);
	/* Beyond what one physically contiguous allocation can be. */
	test_err_buf_alloc(EINVAL, 0, (__u64)pg << 14, 0);
	test_err_buf_alloc(EINVAL, IOMMU_TESTDEV_BUF_PIN, pg, 0);
	test_err_buf_alloc(EINVAL, IOMMU_TESTDEV_BUF_PIN, pg,
			   (uintptr_t)mem + 1);
	test_err_buf_alloc(EOVERFLOW, IOMMU_TESTDEV_BUF_PIN, 2 * pg,
			   ~0ULL & ~((__u64)pg - 1));
	test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, pg, (uintptr_t)ro);
	test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, pg, pg);
	/* Partly mapped: nothing stays pinned. */
	ASSERT_EQ(0, munmap((char *)mem + 2 * pg, 2 * pg));
	test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, 4 * pg,
			   (uintptr_t)mem);
	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, IOMMU_TESTDEV_BUF_PIN,
					 2 * pg, (uintptr_t)mem, &id, NULL,
					 NULL));
	test_cmd_buf_free(id);
	munmap(mem, 2 * pg);
	munmap(ro, pg);
}

/*
 * The per-file byte budget, GET_INFO's buf_budget: a request over it is
 * E2BIG, one that would take the file past it is ENOSPC, and freed or
 * failed buffers give their bytes back.  The driver counts a request
 * against the budget before it allocates or pins, so pins of a PROT_NONE
 * reservation probe the count without memory: EFAULT means "within
 * budget".
 */
TEST_F(uapi, buf_budget)
{
	const __u64 budget = self->info.buf_budget;
	size_t pg = self->pg;
	void *res, *mem;
	char path[64];
	int i, fd2;
	__u64 va;
	__u32 id;

	mem = mmap(NULL, pg, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, mem);
	res = mmap(NULL, budget + pg, PROT_NONE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	va = (uintptr_t)res;

	test_err_buf_alloc(E2BIG, IOMMU_TESTDEV_BUF_PIN, budget + pg, va);
	test_err_buf_alloc(E2BIG, 0, budget + pg, 0);
	test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, budget, va);

	/* One real page of each kind counts. */
	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, pg, 0, &id, NULL, NULL));
	test_err_buf_alloc(ENOSPC, IOMMU_TESTDEV_BUF_PIN, budget, va);
	test_err_buf_alloc(ENOSPC, 0, budget, 0);
	/* Exactly what is left fits, again and again: failures give back. */
	for (i = 0; i < 8; i++)
		test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, budget - pg,
				   va);
	/* Another file has a budget of its own. */
	fd2 = itd_open_dev(path, sizeof(path));
	ASSERT_LE(0, fd2);
	__test_err_buf_alloc(_metadata, fd2, EFAULT, IOMMU_TESTDEV_BUF_PIN,
			     budget, va);
	close(fd2);
	test_cmd_buf_free(id);
	test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, budget, va);

	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, IOMMU_TESTDEV_BUF_PIN, pg,
					 (uintptr_t)mem, &id, NULL, NULL));
	test_err_buf_alloc(ENOSPC, IOMMU_TESTDEV_BUF_PIN, budget, va);
	test_cmd_buf_free(id);
	test_err_buf_alloc(EFAULT, IOMMU_TESTDEV_BUF_PIN, budget, va);
	munmap(res, budget + pg);
	munmap(mem, pg);
}

TEST_F(uapi, buf_free_fields)
{
	struct iommu_testdev_buf_free f = { .size = sizeof(f) };
	__u32 id;

	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, self->pg, 0, &id, NULL,
					 NULL));
	/* 0 names no buffer, even while one exists: a zeroed field is none. */
	ASSERT_NE(IOMMU_TESTDEV_BUF_NONE, id);
	test_err_buf_free(ENOENT, IOMMU_TESTDEV_BUF_NONE);
	f.buf_id = id;
	f.flags = 1;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_BUF_FREE, &f);
	f.flags = 0;
	f.__reserved = 1;
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_BUF_FREE, &f);
	test_cmd_buf_free(id);
	test_err_buf_free(ENOENT, id);
	test_err_buf_free(ENOENT, IOMMU_TESTDEV_BUF_NONE);
}

TEST_F(uapi, mmap_rules)
{
	struct itd_tbuf user;
	__u64 off;
	__u32 id;
	void *p;

	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, 2 * self->pg, 0, &id,
					 &off, NULL));
	p = mmap(NULL, 3 * self->pg, PROT_READ, MAP_SHARED, self->fd, off);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	p = mmap(NULL, self->pg, PROT_READ, MAP_SHARED, self->fd,
		 off + (1000ULL << 20));
	ASSERT_EQ(MAP_FAILED, p);
	/* The mapping outlives BUF_FREE; the pages go with munmap. */
	p = mmap(NULL, 2 * self->pg, PROT_READ | PROT_WRITE, MAP_SHARED,
		 self->fd, off);
	ASSERT_NE(MAP_FAILED, p);
	test_cmd_buf_free(id);
	memset(p, 0x5a, 2 * self->pg);
	ASSERT_EQ(0, munmap(p, 2 * self->pg));
	/* Pinned user memory is the user's already: no mmap of it. */
	ASSERT_EQ(0, itd_buf_new(self->fd, ITD_BUF_USER, self->pg, 0, &user));
	p = mmap(NULL, self->pg, PROT_READ, MAP_SHARED, self->fd,
		 (__u64)user.id * self->pg);
	ASSERT_EQ(MAP_FAILED, p);
	ASSERT_EQ(EINVAL, errno);
	itd_buf_del(self->fd, &user);
}

#define test_err_dma(_errno, d)                                             \
	({                                                                  \
		EXPECT_EQ(-1, _test_cmd_dma(self->fd, d));                  \
		EXPECT_EQ(_errno, errno)                                    \
			TH_LOG("line %d: %s", __LINE__, strerror(errno));   \
	})

TEST_F(uapi, dma_fields)
{
	struct iommu_testdev_dma d;
	struct itd_tbuf b;
	__u32 id, id2, max = self->info.max_length;

	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, self->pg, 0, &id, NULL,
					 NULL));
	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, self->pg, 0, &id2, NULL,
					 NULL));
#define DMA(...) itd_dma_init(&d, IOMMU_TESTDEV_DMA_WRITE, 0, 0, 4, id, 0)
	DMA();
	d.flags = 1U << 7;
	test_err_dma(EOPNOTSUPP, &d);
	DMA();
	d.op = 7;
	test_err_dma(EOPNOTSUPP, &d);
	DMA();
	d.__reserved = 1;
	test_err_dma(EINVAL, &d);
	DMA();
	d.length = 0;
	test_err_dma(EINVAL, &d);
	DMA();
	d.length = max + 1;
	test_err_dma(EINVAL, &d);
	DMA();
	d.iova = 0x1000;	/* the kernel picks it in this mode */
	test_err_dma(EINVAL, &d);
	DMA();
	d.buf_id = IOMMU_TESTDEV_BUF_NONE;
	test_err_dma(EINVAL, &d);
	DMA();
	d.buf_id = id + 100;
	test_err_dma(ENOENT, &d);
	DMA();
	d.buf_offset = self->pg - 2;
	test_err_dma(EINVAL, &d);
	DMA();
	d.buf_offset = ~0ULL - 1;
	test_err_dma(EOVERFLOW, &d);
	DMA();
	d.src_buf_id = id;
	test_err_dma(EINVAL, &d);
	DMA();
	d.src_offset = 4;
	test_err_dma(EINVAL, &d);
	DMA();
	d.src_iova = 0x1000;
	test_err_dma(EINVAL, &d);
	if (!(self->info.caps & IOMMU_TESTDEV_CAP_COPY)) {
		DMA();
		d.op = IOMMU_TESTDEV_DMA_COPY;
		test_err_dma(EOPNOTSUPP, &d);
	} else {
		DMA();
		d.op = IOMMU_TESTDEV_DMA_COPY;	/* no source buffer */
		test_err_dma(EINVAL, &d);
		DMA();
		d.op = IOMMU_TESTDEV_DMA_COPY;
		d.flags = IOMMU_TESTDEV_DMA_F_REPLAY;
		d.src_buf_id = id2;
		test_err_dma(EOPNOTSUPP, &d);
	}
#undef DMA
	test_cmd_buf_free(id);
	test_cmd_buf_free(id2);
	/* The valid form works: the bytes are where the test looks. */
	ASSERT_EQ(0, itd_buf_new(self->fd, ITD_BUF_DRIVER, self->pg, 0, &b));
	itd_expect_landed(_metadata, self->fd, &b, 0, 0, 4);
	itd_buf_del(self->fd, &b);
}

/*
 * COPY reads what it must not write: the same buffer, or pinned buffers
 * of the same user memory, where the canary fill or the DMA itself would
 * change the source.  Then the expected bytes could be there with no DMA
 * at all.  The control: aliases on pages the DMA does not touch.
 */
TEST_F(uapi, copy_overlap)
{
	struct itd_tbuf a, b;
	struct iommu_testdev_dma d;
	__u8 *p;

	if (!(self->info.caps & IOMMU_TESTDEV_CAP_COPY)) {
		if (!itd_fixture_reopen(_metadata, &self->fd,
					IOMMU_TESTDEV_CAP_COPY))
			SKIP(return, ITD_NO_READER_MSG);
		test_cmd_get_info(&self->info);
	}
	ASSERT_EQ(0, itd_buf_new(self->fd, ITD_BUF_USER, 2 * self->pg, 0, &a));
	p = a.p;
	memset(p, 0x11, a.len);
	/* The same buffer, disjoint ranges, with and without the canary. */
	itd_dma_init(&d, IOMMU_TESTDEV_DMA_COPY, IOMMU_TESTDEV_DMA_F_CANARY, 0,
		     64, a.id, self->pg);
	d.src_buf_id = a.id;
	test_err_dma(EINVAL, &d);
	d.flags = 0;
	test_err_dma(EINVAL, &d);
	/* A second pin of the same memory: another id, the same pages. */
	b = a;
	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, IOMMU_TESTDEV_BUF_PIN, a.len,
					 (uintptr_t)a.p, &b.id, NULL, NULL));
	itd_dma_init(&d, IOMMU_TESTDEV_DMA_COPY, IOMMU_TESTDEV_DMA_F_CANARY, 0,
		     64, b.id, self->pg);
	d.src_buf_id = a.id;
	test_err_dma(EINVAL, &d);	/* the canary fill covers the source */
	d.src_offset = self->pg;
	d.flags = 0;
	test_err_dma(EINVAL, &d);	/* the DMA writes what it reads */
	EXPECT_EQ(-1, itd_check_fill(p, a.len, 0x11));
	/* The control: source page 0, destination page 1, no canary. */
	itd_fill_pattern(p, 64);
	d.src_offset = 0;
	ASSERT_EQ(0, _test_cmd_dma(self->fd, &d)) TH_LOG("%s", strerror(errno));
	ASSERT_EQ(IOMMU_TESTDEV_STATUS_OK, d.out_status);
	ASSERT_EQ(IOMMU_TESTDEV_DMA_LANDED, d.out_flags);
	ASSERT_EQ(0, memcmp(p + self->pg, p, 64));
	EXPECT_EQ(-1, itd_check_fill(p + self->pg + 64, self->pg - 64, 0x11));
	ASSERT_EQ(0, _test_cmd_buf_free(self->fd, b.id));
	itd_buf_del(self->fd, &a);
}

/* This process's VmLck (mm->locked_vm) in KiB, or -1. */
static long itd_vmlck_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmLck: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* Drop CAP_IPC_LOCK from the effective set: RLIMIT_MEMLOCK then holds. */
static int itd_drop_ipc_lock(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct c[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &h, c))
		return -1;
	c[CAP_TO_INDEX(CAP_IPC_LOCK)].effective &= ~CAP_TO_MASK(CAP_IPC_LOCK);
	return syscall(SYS_capset, &h, c);
}

/*
 * Pinned user pages count against RLIMIT_MEMLOCK, as vfio's and iommufd's
 * do: a pin within the limit shows in VmLck until freed, one past it is
 * ENOMEM.  (The test process runs as root: without CAP_IPC_LOCK.)
 */
TEST_F(uapi, pin_memlock)
{
	struct rlimit rl = { 8 * self->pg, 8 * self->pg };
	long kib = self->pg / 1024, before;
	struct itd_tbuf b;
	__u32 id;
	void *p;

	ASSERT_EQ(0, itd_drop_ipc_lock()) TH_LOG("capset: %s", strerror(errno));
	ASSERT_EQ(0, setrlimit(RLIMIT_MEMLOCK, &rl));
	before = itd_vmlck_kib();
	ASSERT_LE(0, before);
	ASSERT_EQ(0, itd_buf_new(self->fd, ITD_BUF_USER, 4 * self->pg, 0, &b));
	EXPECT_EQ(before + 4 * kib, itd_vmlck_kib());
	p = mmap(NULL, 8 * self->pg, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, p);
	EXPECT_EQ(-1, _test_cmd_buf_alloc(self->fd, IOMMU_TESTDEV_BUF_PIN,
					  8 * self->pg, (uintptr_t)p, &id, NULL,
					  NULL));
	EXPECT_EQ(ENOMEM, errno);
	EXPECT_EQ(before + 4 * kib, itd_vmlck_kib());
	/* Driver pages are the driver's: not charged. */
	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, 8 * self->pg, 0, &id,
					 NULL, NULL));
	EXPECT_EQ(before + 4 * kib, itd_vmlck_kib());
	test_cmd_buf_free(id);
	itd_buf_del(self->fd, &b);
	EXPECT_EQ(before, itd_vmlck_kib());
	munmap(p, 8 * self->pg);
}

TEST_F(uapi, owned_fields)
{
	struct iommu_testdev_owned_attach a = { .size = sizeof(a) };
	struct iommu_testdev_cmd c = { .size = sizeof(c) };
	struct iommu_testdev_dma d;
	struct iommu_testdev_unmap u = { .size = sizeof(u) };
	size_t pg = self->pg;
	__u32 id;

	if (!(self->info.caps & IOMMU_TESTDEV_CAP_OWNED))
		SKIP(return, "device has no IOMMU group of its own");
	ASSERT_EQ(0, _test_cmd_buf_alloc(self->fd, 0, 4 * pg, 0, &id, NULL,
					 NULL));
	/* Nothing to map into, nothing to detach yet. */
	test_err_map(EINVAL, id, 0, pg, 0x100000, ITD_RW);
	test_err_unmap(EINVAL, 0x100000, pg);
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_OWNED_DETACH, &c);

	a.flags = 1;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_OWNED_ATTACH, &a);
	a.flags = 0;
	a.__reserved = 1;
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_OWNED_ATTACH, &a);
	a.__reserved = 0;
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_TESTDEV_OWNED_ATTACH, &a));
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_OWNED_ATTACH, &a);

	test_err_map(EOPNOTSUPP, id, 0, pg, 0x100000, 4);
	test_err_map(EINVAL, id, 0, pg, 0x100000, 0);
	test_err_map(EINVAL, id, 0, 0, 0x100000, ITD_RW);
	test_err_map(EINVAL, id, 0, pg, 0x100001, ITD_RW);
	test_err_map(EINVAL, id, 1, pg, 0x100000, ITD_RW);
	test_err_map(EINVAL, id, 0, pg + 1, 0x100000, ITD_RW);
	test_err_map(EINVAL, id, 0, 8 * pg, 0x100000, ITD_RW);
	test_err_map(EINVAL, id, 3 * pg, 2 * pg, 0x100000, ITD_RW);
	test_err_map(ENOENT, id + 1, 0, pg, 0x100000, ITD_RW);
	test_err_map(EOVERFLOW, id, 0, 2 * pg, ~0ULL & ~((__u64)pg - 1),
		     ITD_RW);
	test_err_map(EOVERFLOW, id, ~0ULL & ~((__u64)pg - 1), 2 * pg,
		     0x100000, ITD_RW);
	{
		struct iommu_testdev_map m = {
			.size = sizeof(m), .flags = ITD_RW, .buf_id = id,
			.length = pg, .iova = 0x100000, .__reserved = 1,
		};
		test_ioctl_err(EINVAL, IOMMU_TESTDEV_MAP, &m);
	}

	u.flags = 1;
	u.iova = 0x100000;
	u.length = pg;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_UNMAP, &u);
	test_err_unmap(EINVAL, 0x100000, 0);
	test_err_unmap(EOVERFLOW, ~0ULL - 10, 100);

	/* Translated DMA: address wrap, reach of the device, replay. */
	itd_dma_init(&d, IOMMU_TESTDEV_DMA_WRITE, 0, ~0ULL - 1, 4, id, 0);
	test_err_dma(EOVERFLOW, &d);
	if (self->info.dma_mask_bits < 64) {
		itd_dma_init(&d, IOMMU_TESTDEV_DMA_WRITE, 0,
			     1ULL << self->info.dma_mask_bits, 4, id, 0);
		test_err_dma(EINVAL, &d);
	}
	itd_dma_init(&d, IOMMU_TESTDEV_DMA_WRITE, IOMMU_TESTDEV_DMA_F_REPLAY,
		     0x100000, 4, id, 0);
	test_err_dma(EINVAL, &d);
	itd_dma_init(&d, IOMMU_TESTDEV_DMA_WRITE, 0, 0x100000, 4, id, 0);
	d.src_buf_id = id;
	test_err_dma(EINVAL, &d);

	c.flags = 1;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_OWNED_DETACH, &c);
	c.flags = 0;
	/* A mapped buffer stays until the domain goes. */
	test_cmd_map(id, 0, pg, 0x100000, ITD_RW);
	test_err_buf_free(EBUSY, id);
	ASSERT_EQ(0, ioctl(self->fd, IOMMU_TESTDEV_OWNED_DETACH, &c));
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_OWNED_DETACH, &c);
	test_cmd_buf_free(id);
}

TEST_F(uapi, iommufd_fields)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };
	struct iommu_testdev_iommufd_attach a = { .size = sizeof(a) };
	struct iommu_testdev_cmd c = { .size = sizeof(c) };
	int nul = open("/dev/null", O_RDWR);

	ASSERT_LE(0, nul);
	b.flags = 1;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_IOMMUFD_BIND, &b);
	b.flags = 0;
	if (access("/dev/iommu", F_OK)) {
		b.iommufd = nul;
		test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_IOMMUFD_BIND, &b);
		test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_IOMMUFD_ATTACH, &a);
		close(nul);
		SKIP(return, "kernel has no IOMMUFD: only EOPNOTSUPP checked");
	}
	b.iommufd = -1;
	test_ioctl_err(EBADF, IOMMU_TESTDEV_IOMMUFD_BIND, &b);
	b.iommufd = 100000;
	test_ioctl_err(EBADF, IOMMU_TESTDEV_IOMMUFD_BIND, &b);
	b.iommufd = nul;
	EXPECT_EQ(-1, ioctl(self->fd, IOMMU_TESTDEV_IOMMUFD_BIND, &b));
	EXPECT_TRUE(errno == EBADFD || errno == EBADF) TH_LOG("%s",
							      strerror(errno));
	/* Not bound: attach, detach, unbind have nothing to act on. */
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_IOMMUFD_ATTACH, &a);
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_IOMMUFD_DETACH, &c);
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_IOMMUFD_UNBIND, &c);
	a.flags = 2;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_IOMMUFD_ATTACH, &a);
	a.flags = 0;
	a.__reserved = 1;
	test_ioctl_err(EINVAL, IOMMU_TESTDEV_IOMMUFD_ATTACH, &a);
	c.flags = 1;
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_IOMMUFD_DETACH, &c);
	test_ioctl_err(EOPNOTSUPP, IOMMU_TESTDEV_IOMMUFD_UNBIND, &c);
	close(nul);
}

/* ---- the fuzzer ------------------------------------------------------ */

struct fuzz_ctx {
	__u64 seed;
	unsigned int rounds;
	unsigned int calls;
	unsigned int ok;
	unsigned int dmas;
	unsigned int engine;
	bool virtio;		/* QEMU's virtio-iommu translates the device */
	unsigned int bad_errno;	/* calls that failed outside fuzz_errno_ok() */
	int first_bad;		/* the first such errno, its ioctl */
	unsigned long first_bad_nr;
};

/*
 * What a malformed or badly timed request may fail with.  Not EIO,
 * ETIMEDOUT or ENODEV: a device that stopped answering, an UNMAP that
 * undid less than it should, a device gone.
 */
static bool fuzz_errno_ok(int e)
{
	switch (e) {
	case EINVAL: case EOPNOTSUPP: case ENOTTY: case ENOENT: case EEXIST:
	case EBUSY: case ENOMEM: case ENOSPC: case EOVERFLOW: case E2BIG:
	case EFAULT: case EPERM: case EBADF: case EADDRINUSE: case ERANGE:
		return true;
	}
	return false;
}

static void fuzz_mutate(__u64 *s, __u8 *arg, size_t len)
{
	unsigned int n = itd_rand(s) % 4, i;

	for (i = 0; i < n; i++) {
		size_t at = itd_rand(s) % len;

		switch (itd_rand(s) % 4) {
		case 0:
			arg[at] ^= 1U << (itd_rand(s) % 8);
			break;
		case 1:
			arg[at] = itd_rand(s);
			break;
		case 2:
			arg[at] = 0;
			break;
		default:
			arg[at] = 0xff;
			break;
		}
	}
}

/* A plausible argument for @nr: a valid template, then mutated. */
static void fuzz_template(__u64 *s, unsigned long nr, __u8 *arg,
			  size_t len, __u32 buf_id)
{
	__u64 pg = itd_page_size();
	__u64 iova = 0x1000000ULL + (itd_rand(s) % 64) * pg;

	memset(arg, 0, len);
	switch (_IOC_NR(nr)) {
	case IOMMU_TESTDEV_CMD_BUF_ALLOC: {
		struct iommu_testdev_buf_alloc *c = (void *)arg;

		c->size = sizeof(*c);
		c->length = pg << (itd_rand(s) % 4);
		break;
	}
	case IOMMU_TESTDEV_CMD_BUF_FREE: {
		struct iommu_testdev_buf_free *c = (void *)arg;

		c->size = sizeof(*c);
		c->buf_id = buf_id + itd_rand(s) % 3;
		break;
	}
	case IOMMU_TESTDEV_CMD_DMA: {
		struct iommu_testdev_dma *c = (void *)arg;

		itd_dma_init(c, IOMMU_TESTDEV_DMA_WRITE,
			     itd_rand(s) & 1 ? IOMMU_TESTDEV_DMA_F_CANARY : 0,
			     itd_rand(s) & 1 ? iova : 0, 4 + itd_rand(s) % 64,
			     buf_id, (itd_rand(s) % 16) * 4);
		break;
	}
	case IOMMU_TESTDEV_CMD_MAP: {
		struct iommu_testdev_map *c = (void *)arg;

		c->size = sizeof(*c);
		c->flags = 1 + itd_rand(s) % 3;
		c->buf_id = buf_id;
		c->length = pg;
		c->iova = iova;
		break;
	}
	case IOMMU_TESTDEV_CMD_UNMAP: {
		struct iommu_testdev_unmap *c = (void *)arg;

		c->size = sizeof(*c);
		c->iova = iova;
		c->length = pg << (itd_rand(s) % 3);
		break;
	}
	default:
		*(__u32 *)arg = 64;
		break;
	}
}

/* A DMA request that would start on the last byte of a page. */
static bool fuzz_last_byte(const __u8 *arg)
{
	const struct iommu_testdev_dma *c = (const void *)arg;
	__u64 last = itd_page_size() - 1;

	return (c->iova & last) == last ||
	       (!c->iova && (c->buf_offset & last) == last);
}

static void *fuzz_thread(void *data)
{
	struct fuzz_ctx *ctx = data;
	__u64 s = ctx->seed;
	union {
		__u8 b[256];
		__u64 align;
	} u;
	__u8 *arg = u.b;
	__u32 buf_id = 0;
	char path[64];
	unsigned int i;
	int fd;

	fd = itd_open_dev(path, sizeof(path));
	if (fd < 0)
		return NULL;
	_test_cmd_buf_alloc(fd, 0, itd_page_size(), 0, &buf_id, NULL, NULL);
	for (i = 0; i < ctx->rounds; i++) {
		unsigned long nr = itd_all_ioctls[itd_rand(&s) % ARRAY_SIZE(itd_all_ioctls)];

		/* Keep binds away from random fds: this is not an fd fuzzer. */
		if (nr == IOMMU_TESTDEV_IOMMUFD_BIND)
			continue;
		fuzz_template(&s, nr, arg, sizeof(u.b), buf_id);
		if (itd_rand(&s) % 4)
			fuzz_mutate(&s, arg, 64);
		if (_IOC_NR(nr) == IOMMU_TESTDEV_CMD_DMA) {
			ctx->dmas++;
			/* edu takes 100 ms a DMA: keep its share small. */
			if (ctx->engine == IOMMU_TESTDEV_ENGINE_EDU &&
			    ctx->dmas % 50)
				continue;
			/*
			 * QEMU's virtio-iommu sends the first byte of a DMA
			 * that starts at the last byte of a mapping, with
			 * another mapping next, one byte before that one's
			 * page (owned.dma_from_last_byte): memory that is
			 * nobody's here.  Not from the fuzzer: neither at
			 * such an IOVA nor, through the DMA API (whose
			 * IOVAs are page aligned, and the next page often
			 * another mapping), at such a buffer offset.
			 */
			if (ctx->virtio && fuzz_last_byte(arg))
				continue;
		}
		ctx->calls++;
		if (!ioctl(fd, nr, arg)) {
			ctx->ok++;
		} else if (!fuzz_errno_ok(errno) && !ctx->bad_errno++) {
			ctx->first_bad = errno;
			ctx->first_bad_nr = nr;
		}
	}
	close(fd);
	return NULL;
}

/*
 * A seed and $ITD_STRESS name the run: each thread draws 5000 x stress
 * ioctls from its own stream, so the same seed makes the same requests.
 */
TEST_F_TIMEOUT(uapi, fuzz, 60)
{
	enum { THREADS = 4 };
	struct fuzz_ctx ctx[THREADS] = {};
	pthread_t th[THREADS];
	__u64 seed = itd_seed();
	unsigned int calls = 0, ok = 0, i;
	struct iommu_testdev_info info;
	struct itd_tbuf guard;
	char name[64];
	bool virtio;

	/*
	 * A guard: memory of another file, which no fuzzed request can name.
	 * Every DMA the fuzzer got through must have landed inside a buffer
	 * of its own file, so this one stays as it was.
	 */
	ASSERT_EQ(0, itd_buf_new(self->fd, ITD_BUF_DRIVER, 16 * self->pg, 0,
				 &guard));
	memset(guard.p, IOMMU_TESTDEV_CANARY, guard.len);
	virtio = itd_iommu_kind(&self->info, name, sizeof(name)) ==
		 ITD_IOMMU_VIRTIO;
	for (i = 0; i < THREADS; i++) {
		ctx[i].seed = seed + i * 0x9e3779b97f4a7c15ULL;
		ctx[i].rounds = 5000 * itd_stress();
		ctx[i].engine = self->info.engine;
		ctx[i].virtio = virtio;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, fuzz_thread, &ctx[i]));
	}
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		calls += ctx[i].calls;
		ok += ctx[i].ok;
		EXPECT_EQ(0, ctx[i].bad_errno)
			TH_LOG("thread %u: %u calls failed unexpectedly, the first %#lx with %s",
			       i, ctx[i].bad_errno, ctx[i].first_bad_nr,
			       strerror(ctx[i].first_bad));
	}
	ksft_print_msg("fuzz: seed %#llx, %u threads x 1 file, %u ioctls, %u succeeded\n",
		       (unsigned long long)seed, THREADS, calls, ok);
	ASSERT_LT(1000, calls);
	ASSERT_LT(0, ok);
	ASSERT_EQ(-1, itd_check_fill(guard.p, guard.len, IOMMU_TESTDEV_CANARY))
		TH_LOG("a fuzzed DMA wrote outside its own buffers");
	itd_buf_del(self->fd, &guard);
	/* The device is still healthy and back in the DMA API's hands. */
	ASSERT_EQ(0, _test_cmd_get_info(self->fd, &info));
	ASSERT_EQ(IOMMU_TESTDEV_MODE_DMA_API, info.mode);
}

/* ---- concurrency ----------------------------------------------------- */

struct race_ctx {
	int fd;
	int own;		/* owned-domain churn instead of DMA-API DMA */
	int *stop;
	unsigned int done;	/* operations, EBUSY not counted */
	unsigned int busy;
	unsigned int bad;
	int err;		/* closer_thread: errno of its last call */
};

/*
 * After EBUSY, sleep a little instead of spinning: the owner keeps its
 * turn short anyway, and an idle CPU lets a guest under -icount skip
 * ahead to the next device timer (edu's DMAs).
 */
static void itd_backoff(void)
{
	usleep(50);
}

static void *race_thread(void *data)
{
	struct race_ctx *c = data;
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_dma d;
	struct itd_tbuf b;

	if (itd_buf_new(c->fd, ITD_BUF_DRIVER, itd_page_size(), 0, &b))
		return NULL;
	while (!__atomic_load_n(c->stop, __ATOMIC_RELAXED)) {
		if (c->own) {
			if (_test_cmd_owned_attach(c->fd, &a)) {
				c->busy++;
				itd_backoff();
				continue;
			}
			if (_test_cmd_map(c->fd, b.id, 0, b.len, 0x1000000, ITD_RW) ||
			    _test_cmd_dma_write(c->fd, 0x1000040, 4, b.id, 0x40,
						0, &d) ||
			    !(d.out_flags & IOMMU_TESTDEV_DMA_LANDED))
				c->bad++;
			_test_cmd_simple(c->fd, IOMMU_TESTDEV_OWNED_DETACH);
			/* Give the DMA-API threads a turn. */
			itd_backoff();
		} else if (_test_cmd_dma_write(c->fd, 0, 16, b.id, 32, 0, &d)) {
			if (errno == EBUSY) {
				c->busy++;
				itd_backoff();
				continue;
			}
			c->bad++;
		} else if (!(d.out_flags & IOMMU_TESTDEV_DMA_LANDED)) {
			c->bad++;
		}
		/* The main thread reads it while this one runs. */
		__atomic_add_fetch(&c->done, 1, __ATOMIC_RELAXED);
	}
	itd_buf_del(c->fd, &b);
	return NULL;
}

/* The @i-th device of the first one's engine (see itd_dev_nth()). */
static int itd_open_nth(int i)
{
	char path[64];

	itd_dev_nth(i, path, sizeof(path));
	return open(path, O_RDWR | O_CLOEXEC);
}

/*
 * Threads on separate files of every device: DMA-API DMAs while one file
 * per device keeps taking it into an owned domain and back.  Every DMA
 * either lands or is told EBUSY; none lands wrong.  The race runs until
 * the threads have finished 5 x $ITD_STRESS operations each on average
 * (DMAs, or attach-map-DMA-detach cycles; EBUSY does not count) and each
 * at least one, or for 10 x $ITD_STRESS seconds.
 */
TEST_F_TIMEOUT(uapi, concurrent_files, 180)
{
	enum { THREADS = 4 };
	struct race_ctx c[THREADS] = {};
	int stop = 0;
	pthread_t th[THREADS];
	unsigned int i, n, done = 0, busy = 0, want = 5 * itd_stress();
	struct timespec t0, t1;
	char node[64];
	int ndev = itd_dev_nth(0, node, sizeof(node));

	for (i = 0; i < THREADS; i++) {
		c[i].fd = itd_open_nth(i);
		ASSERT_LE(0, c[i].fd);
		/* One owner per device, at most half the threads. */
		c[i].own = (int)i < ndev && i < THREADS / 2 &&
			   (self->info.caps & IOMMU_TESTDEV_CAP_OWNED);
		c[i].stop = &stop;
		ASSERT_EQ(0, pthread_create(&th[i], NULL, race_thread, &c[i]));
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		unsigned int least = ~0U;

		for (i = 0, n = 0; i < THREADS; i++) {
			unsigned int d = __atomic_load_n(&c[i].done,
							 __ATOMIC_RELAXED);

			n += d;
			least = d < least ? d : least;
		}
		if (least && n >= want * THREADS)
			break;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec >= 10 * itd_stress())
			break;
		usleep(1000);
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	for (i = 0; i < THREADS; i++) {
		pthread_join(th[i], NULL);
		EXPECT_EQ(0, c[i].bad) TH_LOG("thread %u", i);
		/* Every thread, owners too, got through at least once. */
		EXPECT_LT(0, c[i].done)
			TH_LOG("thread %u (%s) did nothing: %u EBUSY", i,
			       c[i].own ? "owner" : "DMA API", c[i].busy);
		done += c[i].done;
		busy += c[i].busy;
		close(c[i].fd);
	}
	/* One file per thread. */
	ksft_print_msg("concurrency: %d devices, %u ops (%u/%u/%u/%u per thread), %u EBUSY\n",
		       ndev, done, c[0].done, c[1].done, c[2].done, c[3].done,
		       busy);
	ASSERT_LT(THREADS, done);
}

static void *closer_thread(void *data)
{
	struct race_ctx *c = data;
	struct iommu_testdev_dma d;
	struct itd_tbuf b;

	if (itd_buf_new(c->fd, ITD_BUF_DRIVER, itd_page_size(), 0, &b)) {
		c->err = errno;
		__atomic_store_n(c->stop, 1, __ATOMIC_RELEASE);
		return NULL;
	}
	/*
	 * Until the close: no count of its own, or beside a CPU flooded
	 * with fault events (an owner's DMAs at an unmapped IOVA) it may
	 * run out before the closer runs at all (Linux 7.3, ACPI).
	 */
	for (;;) {
		if (_test_cmd_dma_write(c->fd, 0, 8, b.id, 0, 0, &d)) {
			c->err = errno;	/* EBADF once the file is closed */
			break;
		}
		__atomic_add_fetch(&c->done, 1, __ATOMIC_RELEASE);
	}
	/* Whatever stopped it, the closer must not wait for more DMAs. */
	__atomic_store_n(c->stop, 1, __ATOMIC_RELEASE);
	/* The mmap holds the file: drop it, or the file never closes. */
	munmap(b.p, b.len);
	return NULL;
}

/* close() while another thread is inside an ioctl on the same file. */
TEST_F_TIMEOUT(uapi, close_during_ioctl, 60)
{
	unsigned int round, rounds = 4 * itd_stress(), total = 0;
	char path[64];

	/* Odd rounds close an owner: both ways back to the DMA API. */
	for (round = 0; round < rounds; round++) {
		int stop = 0;
		struct race_ctx c = { .stop = &stop };
		struct iommu_testdev_owned_attach a;
		pthread_t th;

		c.fd = itd_open_dev(path, sizeof(path));
		ASSERT_LE(0, c.fd);
		if ((round & 1) && (self->info.caps & IOMMU_TESTDEV_CAP_OWNED))
			ASSERT_EQ(0, _test_cmd_owned_attach(c.fd, &a))
				TH_LOG("round %u: OWNED_ATTACH: %s", round,
				       strerror(errno));
		ASSERT_EQ(0, pthread_create(&th, NULL, closer_thread, &c));
		/*
		 * Close once the thread is firing DMAs, rather than after a
		 * fixed sleep: beside a busy CPU a guest under -icount sleeps
		 * in real time.  Poll in 1 ms sleeps, not sched_yield(): a
		 * timer wakeup preempts the thread, while a yield on the same
		 * CPU let it run on through all its DMAs (Linux 7.3).  The
		 * thread then stops on its own, at EBADF.
		 */
		while (__atomic_load_n(&c.done, __ATOMIC_ACQUIRE) < 2 &&
		       !__atomic_load_n(&stop, __ATOMIC_ACQUIRE))
			usleep(1000);
		close(c.fd);
		pthread_join(th, NULL);
		ASSERT_LE(2, c.done) TH_LOG("round %u: the thread fired %u DMAs: %s",
					    round, c.done, strerror(c.err));
		ASSERT_EQ(EBADF, c.err) TH_LOG("round %u: the thread stopped with %s",
					       round, strerror(c.err));
		total += c.done;
	}
	ksft_print_msg("close during ioctl: %u rounds, %u DMAs in flight\n",
		       rounds, total);
	/* Every owner closed: the device is back with the DMA API. */
	ASSERT_EQ(0, _test_cmd_get_info(self->fd, &self->info));
	ASSERT_EQ(IOMMU_TESTDEV_MODE_DMA_API, self->info.mode);
}

TEST_HARNESS_MAIN
