/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the iommu_testdev selftests.
 *
 * Conventions, as in tools/testing/selftests/iommu/iommufd_utils.h:
 *   _test_cmd_x(fd, ...)     returns the ioctl's result, errno set
 *   test_cmd_x(...)          asserts it succeeded (uses self->fd)
 *   test_err_x(errno, ...)   asserts it failed with that errno
 */
#ifndef __ITD_UTILS_H
#define __ITD_UTILS_H

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <linux/iommu_testdev.h>
#include <linux/iommufd.h>

#include "../kselftest_harness.h"

#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

#define ITD_SZ_2M 0x200000UL
#define ITD_SZ_1G 0x40000000UL

static inline size_t itd_page_size(void)
{
	return (size_t)sysconf(_SC_PAGESIZE);
}

/* ---- iommufd (the caller's /dev/iommu) -------------------------------- */

/* IOMMU_IOAS_MAP of @len bytes at @va to the fixed @iova. */
static inline int itd_ioas_map(int ifd, __u32 ioas, void *va, __u64 len,
			       __u64 iova, __u32 prot)
{
	struct iommu_ioas_map c = {
		.size = sizeof(c),
		.flags = IOMMU_IOAS_MAP_FIXED_IOVA | prot,
		.ioas_id = ioas,
		.user_va = (uintptr_t)va,
		.length = len,
		.iova = iova,
	};

	return ioctl(ifd, IOMMU_IOAS_MAP, &c);
}

#define ITD_IOAS_RW (IOMMU_IOAS_MAP_READABLE | IOMMU_IOAS_MAP_WRITEABLE)

static inline int itd_ioas_unmap(int ifd, __u32 ioas, __u64 iova,
				 __u64 len)
{
	struct iommu_ioas_unmap c = {
		.size = sizeof(c),
		.ioas_id = ioas,
		.iova = iova,
		.length = len,
	};

	return ioctl(ifd, IOMMU_IOAS_UNMAP, &c);
}

/* IOMMU_DESTROY of any iommufd object. */
static inline int itd_iommufd_destroy(int ifd, __u32 id)
{
	struct iommu_destroy c = { .size = sizeof(c), .id = id };

	return ioctl(ifd, IOMMU_DESTROY, &c);
}

/* ---- the device ---------------------------------------------------- */

static inline int _test_cmd_get_info(int fd, struct iommu_testdev_info *info)
{
	memset(info, 0, sizeof(*info));
	info->size = sizeof(*info);
	return ioctl(fd, IOMMU_TESTDEV_GET_INFO, info);
}

/*
 * The device under test: $ITD_DEV, else the first /dev/iommu_testdevN.
 * Returns an fd or -errno; @path gets the node's name.
 */
static inline int itd_open_dev(char *path, size_t len)
{
	const char *env = getenv("ITD_DEV");
	int i, fd;

	if (env) {
		snprintf(path, len, "%s", env);
		fd = open(path, O_RDWR | O_CLOEXEC);
		return fd < 0 ? -errno : fd;
	}
	for (i = 0; i < 16; i++) {
		snprintf(path, len, "/dev/iommu_testdev%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			return fd;
		if (errno != ENOENT)
			return -errno;
	}
	return -ENOENT;
}

/*
 * The first test device whose engine has every capability in @caps (a
 * guest may hold iommu-testdev, which only writes, beside edu, which also
 * reads): $ITD_DEV alone when set.  Returns an fd, -ENOENT when there is
 * no device at all, -EOPNOTSUPP when none has @caps, or another -errno.
 */
static inline int itd_open_dev_caps(char *path, size_t len, __u32 caps)
{
	struct iommu_testdev_info info;
	int i, fd, ret = -ENOENT;

	if (getenv("ITD_DEV"))
		return itd_open_dev(path, len);
	for (i = 0; i < 16; i++) {
		snprintf(path, len, "/dev/iommu_testdev%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0) {
			if (errno != ENOENT)
				return -errno;
			continue;
		}
		if (!_test_cmd_get_info(fd, &info) &&
		    (info.caps & caps) == caps)
			return fd;
		close(fd);
		ret = -EOPNOTSUPP;
	}
	return ret;
}

/*
 * The first /dev/iommu_testdevN for which @match(its info, @arg) holds; its
 * info in @info.  Returns an fd or -1.
 */
static inline int itd_open_matching(bool (*match)(const struct iommu_testdev_info *,
						  const void *),
				    const void *arg,
				    struct iommu_testdev_info *info)
{
	char path[64];
	int i, fd;

	for (i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/iommu_testdev%d", i);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!_test_cmd_get_info(fd, info) && match(info, arg))
			return fd;
		close(fd);
	}
	return -1;
}

/*
 * /dev/iommu_testdevN of the @i-th test device (modulo their number) with
 * the engine of the first one; the tests that use several devices at once
 * stay on one engine (edu, beside iommu-testdev for its reads, would make
 * every DMA of theirs wait for its timer).  Returns the number of such
 * devices (at least 1) and writes the node of the @i-th to @path.
 */
static inline int itd_dev_nth(int i, char *path, size_t len)
{
	struct iommu_testdev_info info;
	int nodes[16], n, k = 0, fd;
	__u32 engine = 0;

	if (getenv("ITD_DEV")) {
		snprintf(path, len, "%s", getenv("ITD_DEV"));
		return 1;
	}
	for (n = 0; n < 16; n++) {
		snprintf(path, len, "/dev/iommu_testdev%d", n);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (!_test_cmd_get_info(fd, &info)) {
			if (!k)
				engine = info.engine;
			if (info.engine == engine)
				nodes[k++] = n;
		}
		close(fd);
	}
	if (!k) {
		snprintf(path, len, "/dev/iommu_testdev0");
		return 1;
	}
	snprintf(path, len, "/dev/iommu_testdev%d", nodes[i % k]);
	return k;
}

#define ITD_NO_DEVICE_MSG \
	"no /dev/iommu_testdevN: load iommu_testdev.ko in a guest with " \
	"QEMU -device iommu-testdev or -device edu"

/*
 * Open the device in a fixture setup.  False when there is none: the
 * caller SKIPs with ITD_NO_DEVICE_MSG; any other failure asserts.
 */
static inline bool itd_fixture_open(struct __test_metadata *_metadata,
				    int *fd)
{
	char path[64];

	*fd = itd_open_dev(path, sizeof(path));
	if (*fd == -ENOENT)
		return false;
	ASSERT_LE(0, *fd) TH_LOG("open %s: %s", path, strerror(-*fd));
	return true;
}

#define ITD_NO_READER_MSG \
	"no test device here reads memory (iommu-testdev only writes): " \
	"add QEMU -device edu"

/*
 * A test that needs what the fixture's device lacks (@caps, say the read
 * direction) closes it and takes the first device that has it.  False when
 * there is none: the caller SKIPs with the reason.
 */
static inline bool itd_fixture_reopen(struct __test_metadata *_metadata,
				      int *fd, __u32 caps)
{
	char path[64];

	if (*fd >= 0)
		close(*fd);
	*fd = itd_open_dev_caps(path, sizeof(path), caps);
	if (*fd == -ENOENT || *fd == -EOPNOTSUPP)
		return false;
	ASSERT_LE(0, *fd) TH_LOG("open %s: %s", path, strerror(-*fd));
	return true;
}

/*
 * Like SKIP(), for a failure that is a known bug outside this project (an
 * emulator's, say): the test reports XFAIL with the reason.  Use it only
 * after checking the failure has that bug's exact signature.  A test that
 * already failed (an EXPECT_*() before) stays failed: the known bug does
 * not excuse another one.
 */
#define XFAIL(statement, fmt, ...)                                          \
	do {                                                                \
		snprintf(_metadata->results->reason,                        \
			 sizeof(_metadata->results->reason), fmt,           \
			 ##__VA_ARGS__);                                    \
		TH_LOG("XFAIL: %s", _metadata->results->reason);            \
		if (_metadata->exit_code == KSFT_PASS)                      \
			_metadata->exit_code = KSFT_XFAIL;                  \
		else                                                        \
			TH_LOG("but the test had already failed");          \
		statement;                                                  \
	} while (0)

#define test_cmd_get_info(info) \
	ASSERT_EQ(0, _test_cmd_get_info(self->fd, info))

static inline const char *itd_engine_name(__u32 engine)
{
	switch (engine) {
	case IOMMU_TESTDEV_ENGINE_ITD:
		return "iommu-testdev";
	case IOMMU_TESTDEV_ENGINE_EDU:
		return "edu";
	}
	return "unknown";
}

static inline const char *itd_domain_name(__u32 type)
{
	static const char * const names[] = {
		[IOMMU_TESTDEV_DOMAIN_NONE] = "none",
		[IOMMU_TESTDEV_DOMAIN_BLOCKED] = "blocked",
		[IOMMU_TESTDEV_DOMAIN_IDENTITY] = "identity",
		[IOMMU_TESTDEV_DOMAIN_DMA] = "dma-strict",
		[IOMMU_TESTDEV_DOMAIN_DMA_FQ] = "dma-lazy",
		[IOMMU_TESTDEV_DOMAIN_UNMANAGED] = "unmanaged",
		[IOMMU_TESTDEV_DOMAIN_NESTED] = "nested",
		[IOMMU_TESTDEV_DOMAIN_OTHER] = "other",
	};

	return type < ARRAY_SIZE(names) ? names[type] : "?";
}

/* ---- buffers ------------------------------------------------------- */

enum itd_buf_kind {
	ITD_BUF_DRIVER,		/* driver pages, seen through mmap */
	ITD_BUF_USER,		/* the test's anonymous memory, pinned */
	ITD_BUF_USER_HUGE,	/* the test's hugetlb memory, pinned */
};

/* A buffer as a test sees it: an id for the driver, bytes for the CPU. */
struct itd_tbuf {
	__u32 id;
	__u32 flags;
	__u8 *p;
	size_t len;
};

static inline int _test_cmd_buf_alloc(int fd, __u32 flags, __u64 length,
				      __u64 user_va, __u32 *id,
				      __u64 *mmap_offset, __u32 *out_flags)
{
	struct iommu_testdev_buf_alloc cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.length = length,
		.user_va = user_va,
	};
	int ret = ioctl(fd, IOMMU_TESTDEV_BUF_ALLOC, &cmd);

	if (ret)
		return ret;
	if (id)
		*id = cmd.out_buf_id;
	if (mmap_offset)
		*mmap_offset = cmd.out_mmap_offset;
	if (out_flags)
		*out_flags = cmd.out_flags;
	return 0;
}

static inline int _test_cmd_buf_free(int fd, __u32 id)
{
	struct iommu_testdev_buf_free cmd = {
		.size = sizeof(cmd),
		.buf_id = id,
	};

	return ioctl(fd, IOMMU_TESTDEV_BUF_FREE, &cmd);
}

#define test_cmd_buf_free(id) ASSERT_EQ(0, _test_cmd_buf_free(self->fd, id))
#define test_err_buf_free(_errno, id)                                 \
	({                                                            \
		EXPECT_EQ(-1, _test_cmd_buf_free(self->fd, id));      \
		EXPECT_EQ(_errno, errno);                             \
	})

/*
 * Make a buffer of @kind.  Returns 0, or -errno; for hugetlb memory that
 * could not be had, -ENOMEM so the caller can SKIP with the reason.
 */
static inline int itd_buf_new(int fd, enum itd_buf_kind kind, size_t len,
			      size_t huge, struct itd_tbuf *b)
{
	__u64 off;
	void *p;

	memset(b, 0, sizeof(*b));
	b->len = len;
	if (kind == ITD_BUF_DRIVER) {
		if (_test_cmd_buf_alloc(fd, 0, len, 0, &b->id, &off, &b->flags))
			return -errno;
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
			 off);
		if (p == MAP_FAILED) {
			int err = -errno;

			_test_cmd_buf_free(fd, b->id);
			return err;
		}
		b->p = p;
		return 0;
	}

	if (kind == ITD_BUF_USER_HUGE) {
		int shift = __builtin_ctzl(huge);

		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB |
			 (shift << MAP_HUGE_SHIFT) | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
	} else {
		p = mmap(NULL, len, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (p == MAP_FAILED)
			return -errno;
	}
	b->p = p;
	if (_test_cmd_buf_alloc(fd, IOMMU_TESTDEV_BUF_PIN, len, (uintptr_t)p,
				&b->id, NULL, &b->flags)) {
		int err = -errno;

		munmap(p, len);
		b->p = NULL;
		return err;
	}
	return 0;
}

static inline void itd_buf_del(int fd, struct itd_tbuf *b)
{
	if (!b->p)
		return;
	_test_cmd_buf_free(fd, b->id);
	munmap(b->p, b->len);
	b->p = NULL;
}

/* Reserve hugetlb pages of @size bytes; true when @count are available. */
static inline bool itd_hugetlb_reserve(size_t size, unsigned long count)
{
	char path[128], buf[32];
	unsigned long have = 0;
	int fd;

	snprintf(path, sizeof(path),
		 "/sys/kernel/mm/hugepages/hugepages-%zukB/nr_hugepages",
		 size >> 10);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return false;
	if (read(fd, buf, sizeof(buf) - 1) > 0)
		have = strtoul(buf, NULL, 10);
	if (have < count) {
		snprintf(buf, sizeof(buf), "%lu", count);
		if (pwrite(fd, buf, strlen(buf), 0) > 0) {
			memset(buf, 0, sizeof(buf));
			if (pread(fd, buf, sizeof(buf) - 1, 0) > 0)
				have = strtoul(buf, NULL, 10);
		}
	}
	close(fd);
	return have >= count;
}

/* ---- seeded randomness ------------------------------------------------ */

static inline __u64 itd_rand(__u64 *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

static inline __u64 itd_seed(void)
{
	const char *env = getenv("ITD_SEED");
	__u64 seed;

	if (env)
		return strtoull(env, NULL, 0);
	/* Guests without an RTC start every boot at the same time(). */
	if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) == sizeof(seed))
		return seed;
	return (__u64)time(NULL) * 2654435761ULL + getpid();
}

/*
 * How hard the stress tests push: $ITD_STRESS, 1 (the default, a quick
 * run) to 100.  The fuzzer, the races, the reloads, the unplugs and the
 * churn multiply their counts by it; the functional tests ignore it.
 */
static inline unsigned int itd_stress(void)
{
	const char *env = getenv("ITD_STRESS");
	unsigned long n = env ? strtoul(env, NULL, 0) : 1;

	return n < 1 ? 1 : n > 100 ? 100 : n;
}

/*
 * $ITD_IOMMU=1: whoever runs the suite knows the device sits behind an
 * IOMMU that translates it (every guest of scripts/guests.sh).  Then "no
 * IOMMU" or a pass-through domain is a broken IOMMU, not an environment to
 * skip in.  Unset (any other machine): the tests take what they find.
 */
static inline bool itd_iommu_expected(void)
{
	const char *env = getenv("ITD_IOMMU");

	return env && !strcmp(env, "1");
}

/* ---- the pattern --------------------------------------------------- */

static inline __u8 itd_pattern_byte(size_t i)
{
	return IOMMU_TESTDEV_PATTERN >> (8 * (i & 3));
}

static inline void itd_fill_pattern(__u8 *p, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = itd_pattern_byte(i);
}

static inline void itd_fill_random(__u8 *p, size_t len, __u64 *seed)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = itd_rand(seed) >> 56;
}

/*
 * Does p[0..len) hold the pattern, with byte 0 of the DMA at p - @phase?
 * Returns the index of the first wrong byte, or -1.  Eight words per
 * branch, as itd_check_fill() below: every word at an offset that is a
 * multiple of eight holds the same eight pattern bytes.  One byte per
 * iteration made a 1 MiB check cost as much under TCG as the DMA itself.
 */
static inline long itd_check_pattern(const __u8 *p, size_t len,
				     size_t phase)
{
	__u64 want, w[8];
	__u8 bytes[8];
	size_t i;

	for (i = 0; i < sizeof(bytes); i++)
		bytes[i] = itd_pattern_byte(i + phase);
	memcpy(&want, bytes, sizeof(want));
	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(w, p + i, sizeof(w));
		if ((w[0] ^ want) | (w[1] ^ want) | (w[2] ^ want) |
		    (w[3] ^ want) | (w[4] ^ want) | (w[5] ^ want) |
		    (w[6] ^ want) | (w[7] ^ want))
			break;
	}
	for (; i < len; i++)
		if (p[i] != itd_pattern_byte(i + phase))
			return i;
	return -1;
}

/*
 * Index of the first byte of p[0..len) that is not @c, or -1.  Canary
 * checks cover whole buffers after every DMA: compare eight words per
 * branch (under TCG a loop over single words takes four times as long)
 * and find the byte in the block that differs.
 */
static inline long itd_check_fill(const __u8 *p, size_t len, __u8 c)
{
	const __u64 word = 0x0101010101010101ULL * c;
	__u64 w[8];
	size_t i;

	for (i = 0; i + sizeof(w) <= len; i += sizeof(w)) {
		memcpy(w, p + i, sizeof(w));	/* four ldp at -O2 */
		if ((w[0] ^ word) | (w[1] ^ word) | (w[2] ^ word) |
		    (w[3] ^ word) | (w[4] ^ word) | (w[5] ^ word) |
		    (w[6] ^ word) | (w[7] ^ word))
			break;
	}
	for (; i < len; i++)
		if (p[i] != c)
			return i;
	return -1;
}

/* ---- DMA, domains, mappings ------------------------------------------ */

static inline void itd_dma_init(struct iommu_testdev_dma *cmd, __u32 op,
				__u32 flags, __u64 iova, __u32 length,
				__u32 buf_id, __u64 buf_offset)
{
	memset(cmd, 0, sizeof(*cmd));
	cmd->size = sizeof(*cmd);
	cmd->op = op;
	cmd->flags = flags;
	cmd->iova = iova;
	cmd->length = length;
	cmd->buf_id = buf_id;
	cmd->buf_offset = buf_offset;
	cmd->src_buf_id = IOMMU_TESTDEV_BUF_NONE;
}

static inline int _test_cmd_dma(int fd, struct iommu_testdev_dma *cmd)
{
	return ioctl(fd, IOMMU_TESTDEV_DMA, cmd);
}

/* A WRITE DMA at @iova with an oracle; the result lands in *cmd. */
static inline int _test_cmd_dma_write(int fd, __u64 iova, __u32 length,
				      __u32 buf_id, __u64 buf_offset,
				      __u32 flags,
				      struct iommu_testdev_dma *cmd)
{
	itd_dma_init(cmd, IOMMU_TESTDEV_DMA_WRITE, flags, iova, length, buf_id,
		     buf_offset);
	return _test_cmd_dma(fd, cmd);
}

static inline int _test_cmd_owned_attach(int fd,
					 struct iommu_testdev_owned_attach *a)
{
	memset(a, 0, sizeof(*a));
	a->size = sizeof(*a);
	return ioctl(fd, IOMMU_TESTDEV_OWNED_ATTACH, a);
}

static inline int _test_cmd_simple(int fd, unsigned long ioctl_nr)
{
	struct iommu_testdev_cmd cmd = { .size = sizeof(cmd) };

	return ioctl(fd, ioctl_nr, &cmd);
}

static inline int _test_cmd_map(int fd, __u32 buf_id, __u64 buf_offset,
				__u64 length, __u64 iova, __u32 flags)
{
	struct iommu_testdev_map cmd = {
		.size = sizeof(cmd),
		.flags = flags,
		.buf_id = buf_id,
		.buf_offset = buf_offset,
		.length = length,
		.iova = iova,
	};

	return ioctl(fd, IOMMU_TESTDEV_MAP, &cmd);
}

#define ITD_RW (IOMMU_TESTDEV_MAP_READ | IOMMU_TESTDEV_MAP_WRITE)
#define test_cmd_map(buf_id, off, len, iova, flags) \
	ASSERT_EQ(0, _test_cmd_map(self->fd, buf_id, off, len, iova, flags))
#define test_err_map(_errno, buf_id, off, len, iova, flags)                 \
	({                                                                   \
		EXPECT_EQ(-1, _test_cmd_map(self->fd, buf_id, off, len, iova,\
					    flags));                         \
		EXPECT_EQ(_errno, errno);                                    \
	})

static inline int _test_cmd_unmap(int fd, __u64 iova, __u64 length,
				  __u64 *unmapped)
{
	struct iommu_testdev_unmap cmd = {
		.size = sizeof(cmd),
		.iova = iova,
		.length = length,
	};
	int ret = ioctl(fd, IOMMU_TESTDEV_UNMAP, &cmd);

	if (!ret && unmapped)
		*unmapped = cmd.length;
	return ret;
}

/* UNMAP that must succeed and remove exactly @len bytes. */
static inline void __test_cmd_unmap(struct __test_metadata *_metadata, int fd,
				    __u64 iova, __u64 len)
{
	__u64 done = 0;

	ASSERT_EQ(0, _test_cmd_unmap(fd, iova, len, &done))
		TH_LOG("UNMAP %#llx+%#llx: %s", (unsigned long long)iova,
		       (unsigned long long)len, strerror(errno));
	ASSERT_EQ(len, done);
}

#define test_cmd_unmap(iova, len) \
	__test_cmd_unmap(_metadata, self->fd, iova, len)
#define test_err_unmap(_errno, iova, len)                                   \
	({                                                                   \
		EXPECT_EQ(-1, _test_cmd_unmap(self->fd, iova, len, NULL));   \
		EXPECT_EQ(_errno, errno);                                    \
	})

/*
 * A DMA that must land exactly at b->p[off..off + len) and nowhere else:
 * the device's result, the driver's CPU check and the test's own look.
 */
static inline void itd_expect_landed(struct __test_metadata *_metadata,
				     int fd, const struct itd_tbuf *b,
				     __u64 iova, size_t off, size_t len)
{
	struct iommu_testdev_dma d;

	ASSERT_EQ(0, _test_cmd_dma_write(fd, iova, len, b->id, off,
					 IOMMU_TESTDEV_DMA_F_CANARY, &d))
		TH_LOG("DMA at %#llx: %s", (unsigned long long)iova,
		       strerror(errno));
	ASSERT_EQ(IOMMU_TESTDEV_STATUS_OK, d.out_status)
		TH_LOG("DMA at %#llx: result %#x", (unsigned long long)iova,
		       d.out_result);
	ASSERT_EQ(-1, itd_check_pattern(b->p + off, len, 0))
		TH_LOG("DMA at %#llx: pattern missing", (unsigned long long)iova);
	ASSERT_EQ(-1, itd_check_fill(b->p, off, IOMMU_TESTDEV_CANARY))
		TH_LOG("DMA at %#llx: bytes before the target changed",
		       (unsigned long long)iova);
	ASSERT_EQ(-1, itd_check_fill(b->p + off + len, b->len - off - len,
				     IOMMU_TESTDEV_CANARY))
		TH_LOG("DMA at %#llx: bytes after the target changed",
		       (unsigned long long)iova);
	ASSERT_EQ(IOMMU_TESTDEV_DMA_LANDED | IOMMU_TESTDEV_DMA_TOUCHED |
		  IOMMU_TESTDEV_DMA_CANARY_OK,
		  d.out_flags & ~IOMMU_TESTDEV_DMA_DEV_VERIFIED);
}

/* A DMA the IOMMU must refuse; b is memory that must stay untouched. */
static inline void itd_expect_fault(struct __test_metadata *_metadata, int fd,
				    const struct iommu_testdev_info *info,
				    const struct itd_tbuf *b, __u64 iova,
				    size_t off, size_t len)
{
	struct iommu_testdev_dma d;

	ASSERT_EQ(0, _test_cmd_dma_write(fd, iova, len, b->id, off,
					 IOMMU_TESTDEV_DMA_F_CANARY, &d));
	if (info->caps & IOMMU_TESTDEV_CAP_FAULT_STATUS)
		ASSERT_EQ(IOMMU_TESTDEV_STATUS_FAULT, d.out_status)
			TH_LOG("DMA at %#llx: result %#x",
			       (unsigned long long)iova, d.out_result);
	ASSERT_EQ(IOMMU_TESTDEV_DMA_CANARY_OK, d.out_flags)
		TH_LOG("DMA at %#llx reached memory: flags %#x",
		       (unsigned long long)iova, d.out_flags);
	ASSERT_EQ(-1, itd_check_fill(b->p, b->len, IOMMU_TESTDEV_CANARY));
}

/*
 * A refusal paired with its control.  A refusal alone also passes on a
 * device that did nothing, and, where the device reports no fault status
 * (edu), on an IOMMU that let the DMA through to some other address: the
 * DMA at @iova must be refused with @b untouched, then the same DMA at
 * @ctl_iova, which the test mapped to @b at @ctl_off, must land exactly
 * there.
 */
static inline void itd_expect_refused(struct __test_metadata *_metadata,
				      int fd,
				      const struct iommu_testdev_info *info,
				      const struct itd_tbuf *b, __u64 iova,
				      size_t off, size_t len, __u64 ctl_iova,
				      size_t ctl_off)
{
	itd_expect_fault(_metadata, fd, info, b, iova, off, len);
	itd_expect_landed(_metadata, fd, b, ctl_iova, ctl_off, len);
}

/* ---- the IOMMU driver's own fault record ------------------------------ */

enum itd_iommu_kind {
	ITD_IOMMU_NONE,
	ITD_IOMMU_SMMUV3,
	ITD_IOMMU_VTD,
	ITD_IOMMU_VIRTIO,
	ITD_IOMMU_AMD,
	ITD_IOMMU_OTHER,
};

/* The highest address the device can emit (its DMA mask). */
static inline __u64 itd_dma_mask(const struct iommu_testdev_info *info)
{
	return info->dma_mask_bits >= 64 ? ~0ULL :
	       (1ULL << info->dma_mask_bits) - 1;
}

/* The device's PCI name as sysfs spells it: 0000:00:02.0. */
static inline void itd_pci_name(const struct iommu_testdev_info *info,
				char *name, size_t len)
{
	snprintf(name, len, "%04x:%02x:%02x.%x", info->pci_segment,
		 info->pci_rid >> 8, (info->pci_rid >> 3) & 0x1f,
		 info->pci_rid & 7);
}

/* Which IOMMU driver translates the device, from sysfs. */
static inline enum itd_iommu_kind
itd_iommu_kind(const struct iommu_testdev_info *info, char *name, size_t len)
{
	char path[512], link[256], pci[32];
	const char *base;
	ssize_t n;

	itd_pci_name(info, pci, sizeof(pci));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu", pci);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		snprintf(name, len, "none");
		return ITD_IOMMU_NONE;
	}
	link[n] = 0;
	base = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
	snprintf(name, len, "%.63s", base);
	if (!strncmp(base, "dmar", 4))
		return ITD_IOMMU_VTD;
	if (!strncmp(base, "ivhd", 4))
		return ITD_IOMMU_AMD;
	if (!strncmp(base, "smmu3.", 6))
		return ITD_IOMMU_SMMUV3;
	snprintf(path, sizeof(path), "/sys/class/iommu/%s/device/driver", base);
	n = readlink(path, link, sizeof(link) - 1);
	if (n > 0) {
		link[n] = 0;
		if (strstr(link, "virtio_iommu"))
			return ITD_IOMMU_VIRTIO;
		if (strstr(link, "arm-smmu-v3"))
			return ITD_IOMMU_SMMUV3;
	}
	return ITD_IOMMU_OTHER;
}

/*
 * Now, on the kernel log's clock: its records carry local_clock(), which
 * is not CLOCK_MONOTONIC (the two drift apart, and differ by any time
 * suspended), so write a record and read its timestamp back.  Falls back
 * to CLOCK_MONOTONIC where /dev/kmsg cannot be written.
 */
static inline unsigned long long itd_kmsg_now_us(void)
{
	int w = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	int r = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	unsigned long long ts = 0;
	struct timespec now;
	char tag[64], rec[2048];
	ssize_t n;

	if (w >= 0 && r >= 0) {
		lseek(r, 0, SEEK_END);
		snprintf(tag, sizeof(tag), "iommu_testdev: kmsg clock %d",
			 getpid());
		if (write(w, tag, strlen(tag)) > 0) {
			for (;;) {
				errno = 0;
				n = read(r, rec, sizeof(rec) - 1);
				if (n < 0 && errno == EPIPE)
					continue;
				if (n <= 0)
					break;
				rec[n] = 0;
				if (strstr(rec, tag) &&
				    sscanf(rec, "%*u,%*u,%llu", &ts) == 1)
					break;
			}
		}
	}
	if (w >= 0)
		close(w);
	if (r >= 0)
		close(r);
	if (ts)
		return ts;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec * 1000000ULL + now.tv_nsec / 1000;
}

/*
 * The arm-smmu-v3 probe line "... (features 0x%08x)" from the kernel log:
 * true and *@features when found.
 */
static inline bool itd_smmu_features(unsigned int *features)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	bool found = false;
	char rec[2048];
	ssize_t n;

	if (fd < 0)
		return false;
	for (;;) {
		const char *f;

		errno = 0;
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;
		if (n <= 0)
			break;
		rec[n] = 0;
		f = strstr(rec, "(features 0x");
		if (strstr(rec, "arm-smmu-v3") && f &&
		    sscanf(f, "(features 0x%x)", features) == 1)
			found = true;
	}
	close(fd);
	return found;
}

/*
 * Can the page-table format the IOMMU driver uses for this device's paging
 * domains say "write, not read"?  Arm stage 2 (S2AP), AMD-Vi (IR/IW) and
 * virtio-iommu (the host's flags) can; Arm stage 1 cannot (AP has no
 * write-only), nor 6.12's VT-d (it sets bit 0, read, in every PTE).
 * arm-smmu-v3 uses stage 1 where the SMMU has it (ARM_SMMU_FEAT_TRANS_S1,
 * bit 9 of the features it logs at probe), else stage 2.  @name gets the
 * format for the messages.
 */
static inline bool itd_write_only_format(enum itd_iommu_kind kind,
					 char *name, size_t len)
{
	unsigned int features = 0;
	size_t used = strlen(name);

	switch (kind) {
	case ITD_IOMMU_SMMUV3:
		if (!itd_smmu_features(&features)) {
			snprintf(name + used, len - used, " (stages unknown)");
			return true;
		}
		snprintf(name + used, len - used, " (stage %d)",
			 features & (1U << 9) ? 1 : 2);
		return !(features & (1U << 9));
	case ITD_IOMMU_VTD:
		return false;
	default:
		return true;
	}
}

/* /dev/kmsg, positioned after everything logged so far. */
static inline int itd_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * IOMMU drivers rate limit their fault messages with the kernel's default
 * ratelimit state: 10 calls of __ratelimit() per 5 s window, the window
 * starting at the first call after the last one ended.  Only the calls
 * that succeed take a token.  What each driver spends per record:
 *   arm-smmu-v3: one token per event it prints (6.12 logs the raw record,
 *     "event 0x.. received:"; 7.x that and the decoded "event: ..." line);
 *   VT-d: a token for "DRHD: handling fault status", one per record, and
 *     one more for the loop's last look at the empty fault register, which
 *     prints nothing: three per fault, two of them printed;
 *   virtio-iommu and AMD-Vi: one per record.
 * The weight of a message is the tokens it stands for: arm-smmu-v3's
 * decoded line 0 after its raw header; VT-d's status line 2 (its silent
 * last look succeeds only if the status line, earlier in the same window,
 * did); the others 1.
 */
enum itd_kmsg_kind {
	ITD_KMSG_OTHER,		/* no fault message */
	ITD_KMSG_RAW,		/* arm-smmu-v3 "event 0x.. received:" */
	ITD_KMSG_DECODED,	/* arm-smmu-v3 (7.x) "event: ..." */
	ITD_KMSG_DRHD,		/* VT-d "DRHD: handling fault status" */
	ITD_KMSG_RECORD,	/* one fault record (VT-d, virtio-iommu, AMD-Vi) */
};

static inline enum itd_kmsg_kind itd_kmsg_kind(const char *rec)
{
	if (strstr(rec, "event 0x"))
		return ITD_KMSG_RAW;
	if (strstr(rec, "event: "))
		return ITD_KMSG_DECODED;
	if (strstr(rec, "DRHD: handling fault"))
		return ITD_KMSG_DRHD;
	if (strstr(rec, "] fault addr 0x") || strstr(rec, "fault from EP") ||
	    strstr(rec, "IO_PAGE_FAULT"))
		return ITD_KMSG_RECORD;
	return ITD_KMSG_OTHER;
}

static inline unsigned int itd_kmsg_weight(enum itd_kmsg_kind kind,
					   bool *raw)
{
	switch (kind) {
	case ITD_KMSG_RAW:
		*raw = true;
		return 1;
	case ITD_KMSG_DECODED:
		if (*raw) {
			*raw = false;
			return 0;
		}
		return 1;
	case ITD_KMSG_DRHD:
		return 2;
	case ITD_KMSG_RECORD:
		return 1;
	default:
		return 0;
	}
}

/*
 * The fault messages read so far from the kernel log, the newest
 * ITD_KMSG_KEEP of them, shared by a test program and the children the
 * harness forks for its tests (memory and file mapped and opened before
 * the first fork): each look reads on from where the last one, in any of
 * them, stopped.  A read of the whole log each time (a system call and a
 * formatted record per message) took 3.6 ms under TCG on the minimal
 * kernel right after its boot, and most tests that read fault records
 * look once or more.  The tests run one at a time; the harness waits for
 * each child.
 */
#define ITD_KMSG_KEEP 256
struct itd_kmsg_seen {
	int fd;			/* /dev/kmsg, or -1 */
	unsigned int n;
	unsigned long long when[ITD_KMSG_KEEP];
	unsigned char kind[ITD_KMSG_KEEP];	/* enum itd_kmsg_kind */
};

static struct itd_kmsg_seen *itd_kmsg_seen;

static void __attribute__((constructor)) itd_kmsg_seen_init(void)
{
	void *p = mmap(NULL, sizeof(*itd_kmsg_seen), PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return;
	itd_kmsg_seen = p;
	itd_kmsg_seen->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
}

/* Read the messages logged since the last look; false without the log. */
static inline bool itd_kmsg_catch_up(void)
{
	struct itd_kmsg_seen *s = itd_kmsg_seen;
	unsigned long long ts;
	enum itd_kmsg_kind k;
	char rec[2048];
	ssize_t len;

	if (!s || s->fd < 0)
		return false;
	for (;;) {
		errno = 0;
		len = read(s->fd, rec, sizeof(rec) - 1);
		if (len < 0 && errno == EPIPE)
			continue;
		if (len <= 0)
			break;
		rec[len] = 0;
		k = itd_kmsg_kind(rec);
		if (k == ITD_KMSG_OTHER ||
		    sscanf(rec, "%*u,%*u,%llu", &ts) != 1)
			continue;
		if (s->n == ITD_KMSG_KEEP) {
			memmove(s->when, s->when + 1,
				sizeof(s->when[0]) * (ITD_KMSG_KEEP - 1));
			memmove(s->kind, s->kind + 1,
				sizeof(s->kind[0]) * (ITD_KMSG_KEEP - 1));
			s->n--;
		}
		s->when[s->n] = ts;
		s->kind[s->n++] = k;
	}
	return true;
}

/*
 * How long to wait, in microseconds, before the IOMMU driver of @kind has
 * room to log @need more fault records, one per fault (VT-d: 3 @need - 1
 * tokens; ITD_IOMMU_OTHER: 3 @need, to be safe).  Every message of the current window is younger
 * than 5 s, so the weights of the messages of the last 5.5 s over-count
 * the tokens it has spent: 0 when that leaves room, else the time until
 * enough of the oldest are 5.5 s old.
 */
static inline unsigned long long itd_kmsg_room_us(enum itd_iommu_kind kind,
						  unsigned int need)
{
	enum { BURST = 10, SPAN_US = 5500000 };
	unsigned long long ts, now_us, when[ITD_KMSG_KEEP];
	unsigned int i, n = 0, used = 0, tokens, w, weight[ITD_KMSG_KEEP];
	bool raw = false;

	if (kind == ITD_IOMMU_SMMUV3 || kind == ITD_IOMMU_VIRTIO ||
	    kind == ITD_IOMMU_AMD)
		tokens = need;
	else if (kind == ITD_IOMMU_VTD)
		tokens = need ? 3 * need - 1 : 0;
	else
		tokens = 3 * need;
	if (tokens > BURST)
		tokens = BURST;
	now_us = itd_kmsg_now_us();
	if (!itd_kmsg_catch_up())
		return 0;
	/* The fault messages of the last 5.5 s, oldest first. */
	for (i = 0; i < itd_kmsg_seen->n; i++) {
		ts = itd_kmsg_seen->when[i];
		if (ts + SPAN_US < now_us)
			continue;
		w = itd_kmsg_weight(itd_kmsg_seen->kind[i], &raw);
		if (!w)
			continue;
		when[n] = ts;
		weight[n++] = w;
		used += w;
	}
	/* Age out the oldest until the rest and @need fit in the burst. */
	for (i = 0, ts = 0; i < n && used + tokens > BURST; i++) {
		used -= weight[i];
		ts = when[i];
	}
	return ts && ts + SPAN_US > now_us ? ts + SPAN_US - now_us : 0;
}

/* Make room for @need more fault records (see itd_kmsg_room_us()). */
static inline void itd_kmsg_wait_quiet(unsigned int need)
{
	unsigned long long us = itd_kmsg_room_us(ITD_IOMMU_OTHER, need);

	if (us)
		usleep(us);
}

/*
 * Append the message text of every new record to @text (newline separated).
 * Returns the length of @text.
 */
static inline size_t itd_kmsg_read(int fd, char *text, size_t size,
				   size_t used)
{
	char rec[2048];
	ssize_t n;

	for (;;) {
		char *msg, *nl;

		errno = 0;
		n = read(fd, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)
			continue;	/* records were overwritten: go on */
		if (n <= 0)
			break;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		msg++;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		n = snprintf(text + used, size - used, "%s\n", msg);
		if (n > 0 && (size_t)n < size - used)
			used += n;
	}
	return used;
}

/*
 * Is the hex number at @p exactly @v: the whole number, up to a character
 * that cannot continue it (0x1000000 is not 0x10000000)?
 */
static inline bool itd_hex_is(const char *p, __u64 v)
{
	unsigned long long x;
	char *end;

	if (strncmp(p, "0x", 2) || !isxdigit((unsigned char)p[2]))
		return false;
	errno = 0;
	x = strtoull(p + 2, &end, 16);
	return !errno && x == v && !isalnum((unsigned char)*end) &&
	       *end != '_';
}

/* The arm-smmu-v3 event names of 7.x's decoded records. */
static inline const char *itd_smmu_event_name(unsigned int id)
{
	switch (id) {
	case 0x10:
		return "F_TRANSLATION";
	case 0x11:
		return "F_ADDR_SIZE";
	case 0x12:
		return "F_ACCESS";
	case 0x13:
		return "F_PERMISSION";
	}
	return NULL;
}

/* The start of the line of @text that @p is in. */
static inline const char *itd_line_start(const char *text, const char *p)
{
	while (p > text && p[-1] != '\n')
		p--;
	return p;
}

/*
 * The next line of @text after @p's that the same device logged (it starts
 * as @p's line does up to @p, "arm-smmu-v3 c000000.smmuv3: "), past the
 * prefix; NULL when none of the next eight does.  Other messages may land
 * between the lines of one record ("hrtimer: interrupt took ...").
 */
static inline const char *itd_dev_next_line(const char *text, const char *p)
{
	const char *start = itd_line_start(text, p), *q = p;
	size_t n = p - start;
	int i;

	for (i = 0; i < 8; i++) {
		q = strchr(q, '\n');
		if (!q)
			return NULL;
		q++;
		if (!strncmp(q, start, n))
			return q + n;
	}
	return NULL;
}

/*
 * 6.12's raw record at @p in @text ("event 0xNN received:", four dwords on
 * the device's next lines), of a @read or write access.
 */
static inline bool itd_smmu_raw(const char *text, const char *p,
				const struct iommu_testdev_info *info,
				__u64 iova, unsigned int event, bool read)
{
	unsigned long long d[4];
	unsigned int id;
	const char *q = p;
	int i;

	if (sscanf(p, "event 0x%x received:", &id) != 1)
		return false;
	/* Each dword on its own line, after "<dev>: \t". */
	for (i = 0; i < 4; i++) {
		const char *x, *nl;

		q = itd_dev_next_line(text, q);
		if (!q || !strncmp(q, "event ", 6))
			return false;
		x = strstr(q, "0x");
		nl = strchr(q, '\n');
		if (!x || (nl && x > nl) || sscanf(x, "0x%llx", &d[i]) != 1)
			return false;
	}
	/*
	 * dword0: event id [7:0], StreamID [63:32]; dword1: RnW [35];
	 * dword2: the address.
	 */
	return (!event || id == event) && (d[0] & 0xff) == id &&
	       (d[0] >> 32) == info->pci_rid && !!(d[1] & (1ULL << 35)) == read &&
	       d[2] == iova;
}

/*
 * 7.x's decoded record at @p in @text: "event: F_TRANSLATION client:
 * 0000:00:02.0 sid: 0x10 ssid: 0x0 iova: 0x900024 ipa: 0x900000", then on
 * the device's next line "unpriv data write s1 ..." (@read: "read").
 */
static inline bool itd_smmu_decoded(const char *text, const char *p,
				    const struct iommu_testdev_info *info,
				    __u64 iova, unsigned int event, bool read)
{
	const char *name = itd_smmu_event_name(event), *nl = strchr(p, '\n');
	const char *rec = p, *sid, *va, *dir, *nl2, *next;

	p += strlen("event: ");
	if (event && (!name || strncmp(p, name, strlen(name)) ||
		      p[strlen(name)] != ' '))
		return false;
	sid = strstr(p, " sid: ");
	va = strstr(p, " iova: ");
	if (!sid || !va || !nl || sid > nl || va > nl)
		return false;
	/* The direction: on the line the same SMMU logged next. */
	next = itd_dev_next_line(text, rec);
	if (!next)
		return false;
	nl2 = strchr(next, '\n');
	dir = strstr(next, read ? " data read " : " data write ");
	if (!dir || (nl2 && dir > nl2))
		return false;
	return itd_hex_is(sid + 6, info->pci_rid) && itd_hex_is(va + 7, iova);
}

/* A VT-d fault reason for a write refused as @event (0x10/0x13, 0: any). */
static inline bool itd_vtd_reason_ok(unsigned long reason, unsigned int event)
{
	if (reason == 0x05)	/* second level: no W, present or not */
		return true;
	if (reason == 0x71)	/* first level: not present */
		return event != 0x13;
	if (reason == 0x85)	/* first level: no write permission */
		return event != 0x10;
	return false;
}

/*
 * VT-d names the requester "Request device [00:01.0] fault addr " (7.x:
 * with the segment, [0000:00:01.0]): this device's two ways, to match at
 * the start of a record's second part.
 */
struct itd_vtd_rid {
	char want[64], want7[64];
};

static inline void itd_vtd_rid_init(const struct iommu_testdev_info *info,
				    struct itd_vtd_rid *r)
{
	unsigned int bus = info->pci_rid >> 8, slot = (info->pci_rid >> 3) & 0x1f;
	unsigned int fn = info->pci_rid & 7;

	snprintf(r->want, sizeof(r->want),
		 "Request device [%02x:%02x.%d] fault addr ", bus, slot, fn);
	snprintf(r->want7, sizeof(r->want7),
		 "Request device [%04x:%02x:%02x.%d] fault addr ",
		 info->pci_segment, bus, slot, fn);
}

/* The fault address after this device's requester at @p, or NULL. */
static inline const char *itd_vtd_rid_at(const struct itd_vtd_rid *r,
					 const char *p)
{
	if (!strncmp(p, r->want, strlen(r->want)))
		return p + strlen(r->want);
	if (!strncmp(p, r->want7, strlen(r->want7)))
		return p + strlen(r->want7);
	return NULL;
}

/*
 * Does @text hold this device's fault record for a DMA at @iova, a @read
 * or a write?  Each IOMMU driver logs its own way, and every field it
 * gives is read exactly: the address to its delimiter, the device, the
 * kind of fault, the direction (arm-smmu-v3 and VT-d give it; QEMU's
 * virtio-iommu and AMD-Vi leave the flags empty or unread here).  @event is
 * the arm-smmu-v3 event id that must match (0x10 F_TRANSLATION, 0x13
 * F_PERMISSION), 0 for any translation-class event.
 */
static inline bool itd_fault_logged_dir(enum itd_iommu_kind kind,
					const char *text,
					const struct iommu_testdev_info *info,
					__u64 iova, unsigned int event,
					bool read)
{
	char want[128], pci[32];
	struct itd_vtd_rid rid;
	const char *p = text;

	itd_pci_name(info, pci, sizeof(pci));
	switch (kind) {
	case ITD_IOMMU_SMMUV3:
		/* 6.12 logs the raw record, 7.x the decoded one (and raw). */
		for (p = text; (p = strstr(p, "event 0x")); p++)
			if (itd_smmu_raw(text, p, info, iova, event, read))
				return true;
		for (p = text; (p = strstr(p, "event: ")); p++)
			if (itd_smmu_decoded(text, p, info, iova, event, read))
				return true;
		return false;
	case ITD_IOMMU_VTD:
		/*
		 * "[DMA Write NO_PASID] Request device [00:01.0] fault addr
		 * 0x1001000 [fault reason 0x05] PTE Write access is not set"
		 * (7.x: the segment too, [0000:00:01.0]).  The reason: a write
		 * through a second-level table, to a non-present or read-only
		 * entry, is 0x05; through a first-level table (scalable mode,
		 * first stage) a non-present entry is 0x71 and a read-only one
		 * 0x85.
		 */
		itd_vtd_rid_init(info, &rid);
		for (p = text; *p; p++) {
			const char *line, *nl, *a, *r, *w;

			a = itd_vtd_rid_at(&rid, p);
			if (!a)
				continue;
			nl = strchr(p, '\n');
			line = itd_line_start(text, p);
			w = strstr(line, read ? "[DMA Read " : "[DMA Write ");
			r = strstr(a, " [fault reason 0x");
			if (w && w < a && r && (!nl || r < nl) &&
			    itd_hex_is(a, iova & ~0xfffULL) &&
			    itd_vtd_reason_ok(strtoul(r + strlen(" [fault reason 0x"),
						      NULL, 16), event))
				return true;
		}
		return false;
	case ITD_IOMMU_VIRTIO:
		/*
		 * "page fault from EP 16 at 0x4 []": reason "page" (no
		 * mapping, or not one that allows the access), the endpoint
		 * (its RID), the address exact or as the page.
		 */
		snprintf(want, sizeof(want), "page fault from EP %u at ",
			 info->pci_rid);
		for (p = text; (p = strstr(p, want)); p++) {
			const char *a = p + strlen(want);

			if ((itd_hex_is(a, iova) || itd_hex_is(a, iova & ~0xfffULL)) &&
			    strchr(a, ' ') && !strncmp(strchr(a, ' '), " [", 2))
				return true;
		}
		return false;
	case ITD_IOMMU_AMD:
		/*
		 * "<dev> 0000:00:02.0: AMD-Vi: Event logged [IO_PAGE_FAULT
		 * domain=0x0001 address=0x1000040 flags=0x0030]", or with
		 * "device=0000:00:02.0" where the device is not known.
		 */
		for (p = text; (p = strstr(p, "Event logged [IO_PAGE_FAULT ")); p++) {
			const char *line = itd_line_start(text, p);
			const char *nl = strchr(p, '\n'), *a;

			snprintf(want, sizeof(want), " %s: ", pci);
			if (!(strstr(line, want) && strstr(line, want) < p)) {
				snprintf(want, sizeof(want), "device=%s ", pci);
				if (!strstr(p, want) || (nl && strstr(p, want) > nl))
					continue;
			}
			a = strstr(p, " address=");
			if (a && (!nl || a < nl) && itd_hex_is(a + 9, iova))
				return true;
		}
		return false;
	default:
		return false;
	}
}

/* itd_fault_logged_dir() for a write. */
static inline bool itd_fault_logged(enum itd_iommu_kind kind, const char *text,
				    const struct iommu_testdev_info *info,
				    __u64 iova, unsigned int event)
{
	return itd_fault_logged_dir(kind, text, info, iova, event, false);
}

/*
 * QEMU's AMD-Vi (11.1) logs its IO_PAGE_FAULT events with domain 0 and
 * address 0 whatever the fault: does @text hold such records for this
 * device, and no other IO_PAGE_FAULT of it?  The exact signature of that
 * emulator bug, for an XFAIL.
 */
static inline bool itd_amd_fault_addr_zero(const char *text,
					   const struct iommu_testdev_info *info)
{
	const char *p = text;
	char pci[32], dev[96];
	unsigned int zero = 0;

	itd_pci_name(info, pci, sizeof(pci));
	snprintf(dev, sizeof(dev), " %s: AMD-Vi: Event logged [IO_PAGE_FAULT ",
		 pci);
	while ((p = strstr(p, dev))) {
		p += strlen(dev);
		if (strncmp(p, "domain=0x0000 address=0x0 ", 26))
			return false;
		zero++;
	}
	return zero;
}

/* Does itd_fault_logged() know how this IOMMU driver logs a fault? */
static inline bool itd_fault_log_known(enum itd_iommu_kind kind)
{
	return kind == ITD_IOMMU_SMMUV3 || kind == ITD_IOMMU_VTD ||
	       kind == ITD_IOMMU_VIRTIO || kind == ITD_IOMMU_AMD;
}

/**
 * struct itd_fault - a fault the IOMMU driver should log
 * @iova: where the device was refused
 * @event: the arm-smmu-v3 event id expected (see itd_fault_logged())
 * @seen: set by itd_fault_wait() once the log records it
 */
struct itd_fault {
	__u64 iova;
	unsigned int event;
	bool seen;
};

/*
 * Read the kernel log from @kfd (opened before the faults) for up to 2 s,
 * until every fault of @f[0..n) is recorded; the text read stays in @text
 * for the failure message.  Returns true when all were seen.
 */
static inline bool itd_fault_wait(int kfd, enum itd_iommu_kind kind,
				  const struct iommu_testdev_info *info,
				  char *text, size_t size,
				  struct itd_fault *f, unsigned int n)
{
	unsigned int i, tries, left = n;
	size_t used = 0;

	text[0] = 0;
	for (tries = 0; tries < 200 && left; tries++) {
		usleep(10000);
		used = itd_kmsg_read(kfd, text, size, used);
		for (i = 0, left = 0; i < n; i++) {
			if (!f[i].seen)
				f[i].seen = itd_fault_logged(kind, text, info,
							     f[i].iova,
							     f[i].event);
			left += !f[i].seen;
		}
	}
	return !left;
}

/*
 * The fault record of every refused DMA a test checks.  A test opens one
 * before its faults, checks the record right after each refused DMA it
 * names, and closes it:
 *
 *	struct itd_flog fl;
 *
 *	itd_flog_open(_metadata, &fl, &self->info);
 *	itd_flog_arm(&fl, 1);		(room for one record, before the DMA)
 *	itd_expect_fault(...);		(the refusal and its oracle, unchanged)
 *	itd_flog_check(&fl, iova, 0x10, false);
 *	itd_flog_close(&fl);
 *
 * (itd_flog_fault() is the middle three, and fires the DMA once more when
 * VT-d's fault compression took its record, see itd_flog_compressed();
 * itd_flog_check_write() does the same for a write the caller fired.  Only
 * a read, and the DMA API's replay, whose IOVA the caller cannot aim at,
 * are checked once.)
 * The refusal and its control DMA stay the verdict; the record adds to it:
 * a refused DMA the IOMMU driver does not log, or logs with another
 * device, address, direction or fault type (arm-smmu-v3's 0x10
 * translation against 0x13 permission: a PTE left behind by an unmap
 * faults as a permission fault, not a translation one) fails the test.
 * Where the record cannot be read, the check of that fault is left out
 * with the reason (TH_LOG), never the test skipped: an IOMMU whose log
 * format is unknown, QEMU 7.2's AMD-Vi that logs nothing.
 * QEMU's AMD-Vi (11.1) logs address 0: its exact signature
 * (itd_amd_fault_addr_zero()) is taken for the record, and said.
 *
 * The drivers rate limit these messages (itd_kmsg_room_us()): itd_flog_arm()
 * waits until the records to come will be printed.  Under -icount a wait
 * costs no wall time; in real time it does, so $ITD_FAULT_LOG_WAIT_MS, when
 * set, caps it: a fault that would need longer is not checked, and the
 * test says so.  After each record the next fault may follow at once: the
 * wait for a record also lets QEMU's VT-d, which holds one fault record
 * and drops a fault that comes before it is cleared, have it cleared.
 */
struct itd_flog {
	struct __test_metadata *md;
	const struct iommu_testdev_info *info;
	enum itd_iommu_kind kind;
	char name[64];
	const char *off;	/* why no record is checked here, or NULL */
	int kfd;
	bool armed;
	long max_wait_ms;	/* -1: no cap */
	unsigned int checked, left_out, quirk;
	char text[1 << 15];
};

static inline void itd_flog_open(struct __test_metadata *_metadata,
				 struct itd_flog *fl,
				 const struct iommu_testdev_info *info)
{
	const char *env = getenv("ITD_FAULT_LOG_WAIT_MS");

	memset(fl, 0, offsetof(struct itd_flog, text));
	fl->text[0] = 0;
	fl->md = _metadata;
	fl->info = info;
	fl->max_wait_ms = env ? strtol(env, NULL, 0) : -1;
	fl->kind = itd_iommu_kind(info, fl->name, sizeof(fl->name));
	fl->kfd = -1;
	if (!itd_fault_log_known(fl->kind)) {
		fl->off = "no known fault log format for this IOMMU";
		return;
	}
	fl->kfd = itd_kmsg_open();
	if (fl->kfd < 0)
		fl->off = "no /dev/kmsg to read";
}

/*
 * Before the refused DMAs whose @n records the test checks next: wait for
 * room under the rate limit (within $ITD_FAULT_LOG_WAIT_MS), and start
 * reading the log from here.  False when they will not be checked.
 */
static inline bool itd_flog_arm(struct itd_flog *fl, unsigned int n)
{
	struct __test_metadata *_metadata = fl->md;
	unsigned long long us;

	fl->armed = false;
	if (fl->off)
		return false;
	us = itd_kmsg_room_us(fl->kind, n);
	if (us && fl->max_wait_ms >= 0 &&
	    us > (unsigned long long)fl->max_wait_ms * 1000) {
		fl->left_out += n;
		TH_LOG("%s: %u record(s) not read: rate limit wait %llu ms > %ld ms",
		       fl->name, n, us / 1000, fl->max_wait_ms);
		return false;
	}
	if (us)
		usleep(us);
	/* Only what comes after this counts. */
	itd_kmsg_read(fl->kfd, fl->text, sizeof(fl->text), 0);
	fl->text[0] = 0;
	fl->armed = true;
	return true;
}

/*
 * Does @text hold a VT-d fault record of this device at all (any address,
 * reason or direction)?
 */
static inline bool itd_vtd_requester_logged(const char *text,
					    const struct iommu_testdev_info *info)
{
	struct itd_vtd_rid rid;

	itd_vtd_rid_init(info, &rid);
	return strstr(text, rid.want) || strstr(text, rid.want7);
}

/*
 * After a refused DMA: wait up to 2 s for its record (see itd_flog_check()),
 * gathering the records of the window in fl->text.  *@zero: QEMU's AMD-Vi
 * logged its address-0 record instead.
 */
static inline bool itd_flog_wait(struct itd_flog *fl, __u64 iova,
				 unsigned int event, bool read, bool *zero)
{
	unsigned int tries;
	bool seen = false;
	size_t used = 0;

	*zero = false;
	fl->text[0] = 0;
	for (tries = 0; tries < 200; tries++) {
		used = itd_kmsg_read(fl->kfd, fl->text, sizeof(fl->text), used);
		seen = itd_fault_logged_dir(fl->kind, fl->text, fl->info, iova,
					    event, read);
		*zero = fl->kind == ITD_IOMMU_AMD &&
			itd_amd_fault_addr_zero(fl->text, fl->info);
		if (seen || *zero)
			break;
		usleep(10000);
	}
	return seen;
}

/*
 * VT-d records one fault per requester at a time: while a fault record of
 * this device is still pending, QEMU drops the device's next fault (its
 * "compression of faults"), and hardware may.
 * A record can be left pending with no interrupt (likeliest, from the
 * code, not traced: it arrives while dmar_fault() is finishing with the
 * one before, after its last look at the record register and before it
 * clears the status) and waits for the next one.  Seen once in a
 * make soak (x86_64-vtd-fsts): the late record of the previous test's
 * last fault, then none of this test's.  So: no record of ours, but one of
 * this device's in the window.
 */
static inline bool itd_flog_compressed(const struct itd_flog *fl)
{
	return fl->kind == ITD_IOMMU_VTD &&
	       itd_vtd_requester_logged(fl->text, fl->info);
}

/*
 * After a refused DMA: its record, a @read or a write at @iova of
 * arm-smmu-v3 @event (see itd_fault_logged_dir()), must be in the log
 * within 2 s.  Does nothing when not armed.
 */
static inline void itd_flog_verdict(struct itd_flog *fl, __u64 iova,
				    unsigned int event, bool read, bool seen,
				    bool zero)
{
	struct __test_metadata *_metadata = fl->md;

	if (seen) {
		fl->checked++;
		return;
	}
	if (zero) {
		if (!fl->quirk++)
			TH_LOG("%s: QEMU's AMD-Vi logs address 0: taken as the record of %#llx",
			       fl->name, (unsigned long long)iova);
		return;
	}
	if (fl->kind == ITD_IOMMU_AMD && !strstr(fl->text, "IO_PAGE_FAULT")) {
		/* QEMU 7.2: no event at all; stop waiting for the others. */
		fl->off = "QEMU's AMD-Vi logs no IO_PAGE_FAULT event";
		fl->left_out++;
		return;
	}
	EXPECT_TRUE(seen)
		TH_LOG("%s: no record of the %s at %#llx (event %#x)%s in:\n%s",
		       fl->name, read ? "read" : "write",
		       (unsigned long long)iova, event,
		       itd_flog_compressed(fl) ?
		       " (one of this device's came: see itd_flog_compressed())" :
		       "", fl->text);
}

static inline void itd_flog_check(struct itd_flog *fl, __u64 iova,
				  unsigned int event, bool read)
{
	bool seen, zero;

	if (!fl->armed)
		return;
	seen = itd_flog_wait(fl, iova, event, read, &zero);
	itd_flog_verdict(fl, iova, event, read, seen, zero);
}

/*
 * After the wait for the record of a refused write at @iova: did VT-d's
 * fault compression take it (see itd_flog_compressed())?  Then the write
 * is worth firing once more, and the test's log says so.
 */
static inline bool itd_flog_once_more(struct itd_flog *fl, __u64 iova,
				      bool seen, bool zero)
{
	struct __test_metadata *_metadata = fl->md;

	if (seen || zero || !itd_flog_compressed(fl))
		return false;
	TH_LOG("%s: no record of the write at %#llx (fault compression?): once more",
	       fl->name, (unsigned long long)iova);
	return true;
}

/*
 * itd_flog_check() of a refused write at @iova that the caller fired on
 * @fd, where the caller picks the IOVA (a domain it owns, an iommufd
 * HWPT).  When VT-d's fault compression took the record (see
 * itd_flog_compressed()), the write is fired once more, 4 bytes with no
 * buffer, as itd_flog_fault() does: refused again, it changes nothing.
 */
static inline void itd_flog_check_write(struct itd_flog *fl, int fd,
					__u64 iova, unsigned int event)
{
	struct __test_metadata *_metadata = fl->md;
	struct iommu_testdev_dma d;
	bool seen, zero;

	if (!fl->armed)
		return;
	seen = itd_flog_wait(fl, iova, event, false, &zero);
	if (itd_flog_once_more(fl, iova, seen, zero)) {
		/* Room for this record and one more the caller may check. */
		if (!itd_flog_arm(fl, 2))
			return;
		ASSERT_EQ(0, _test_cmd_dma_write(fd, iova, 4,
						 IOMMU_TESTDEV_BUF_NONE, 0, 0,
						 &d));
		if (fl->info->caps & IOMMU_TESTDEV_CAP_FAULT_STATUS)
			ASSERT_EQ(IOMMU_TESTDEV_STATUS_FAULT, d.out_status);
		seen = itd_flog_wait(fl, iova, event, false, &zero);
	}
	itd_flog_verdict(fl, iova, event, false, seen, zero);
}

/* Say what was checked and what was not, and why. */
static inline void itd_flog_close(struct itd_flog *fl)
{
	struct __test_metadata *_metadata = fl->md;

	if (fl->off)
		TH_LOG("%s: fault records not checked: %s", fl->name, fl->off);
	else if (fl->left_out)
		TH_LOG("%s: %u fault record(s) checked, %u left out",
		       fl->name, fl->checked, fl->left_out);
	if (fl->kfd >= 0)
		close(fl->kfd);
	fl->kfd = -1;
}

/* itd_expect_fault() of a write at @iova, and its record (@event). */
static inline void itd_flog_fault(struct itd_flog *fl, int fd,
				  const struct itd_tbuf *b, __u64 iova,
				  size_t off, size_t len, unsigned int event)
{
	bool armed, seen, zero;
	int tries;

	for (tries = 0;; tries++) {
		/* Not armed: left out, and said, under the rate limit's cap. */
		armed = itd_flog_arm(fl, 1);
		itd_expect_fault(fl->md, fd, fl->info, b, iova, off, len);
		if (!armed)
			return;
		seen = itd_flog_wait(fl, iova, event, false, &zero);
		/* The pending record is out now: the same fault, once more. */
		if (tries || !itd_flog_once_more(fl, iova, seen, zero))
			break;
	}
	itd_flog_verdict(fl, iova, event, false, seen, zero);
}

/*
 * Is page @i of @n, at @iova, one itd_probe_pages() probes?  Every page of
 * a range of up to @every pages; else the ends, and those of each 2M.
 */
static inline bool itd_probe_page(size_t i, size_t n, __u64 iova,
				  size_t every)
{
	size_t pg = itd_page_size();

	return n <= every || !i || i == n - 1 || !(iova & (ITD_SZ_2M - 1)) ||
	       !((iova + pg) & (ITD_SZ_2M - 1));
}

/*
 * The pages of [@iova, @iova + @len), which map @b from @off: every page of
 * a range of up to 512 pages (2 MiB of 4 KiB pages; 64 on edu, whose every
 * DMA waits 100 ms of guest time); of a longer one the first and the last
 * page, and the first and the last page of each 2 MiB (and so of each
 * 1 GiB) block in it.  Each gets one 4-byte DMA at an offset that varies from page
 * to page.  @mapped: each must land exactly there (this also fills the
 * IOTLB that the UNMAP after must invalidate); else, after an UNMAP, each
 * must fault and leave its page as it was: a stale translation (an IOTLB
 * entry left valid, a range invalidation that stopped short, a PTE left
 * behind) writes into the page it used to reach.  The bytes probed must
 * hold IOMMU_TESTDEV_CANARY before (the caller fills the buffer once).
 * Only the probed page is checked per DMA: the driver's oracle would fill
 * and scan all of a 1 GiB buffer for every DMA.  Returns the pages probed.
 * With @stale, a page still reached after the UNMAP is counted there (and
 * logged) instead of failing the test: for a caller that checks a known
 * bug's signature first.  With @fl, after an UNMAP, the last page is probed
 * first and the first page second, and the IOMMU driver's record of each of
 * these two faults is checked (a translation fault at the probed address:
 * a PTE left behind read-only would fault as a permission fault); the
 * other faults come after them and may go unlogged (the rate limit).
 */
static inline unsigned int __itd_probe_pages(struct __test_metadata *_metadata,
					     int fd,
					     const struct iommu_testdev_info *info,
					     const struct itd_tbuf *b, __u64 iova,
					     size_t off, size_t len, bool mapped,
					     unsigned int *stale,
					     struct itd_flog *fl)
{
	size_t pg = itd_page_size(), n = len / pg, k;
	size_t every = info->engine == IOMMU_TESTDEV_ENGINE_EDU ? 64 : 512;
	bool logged = fl && !mapped;
	unsigned int probes = 0;

	for (k = 0; k < n; k++) {
		/* Logged: the last page first, then the others in order. */
		size_t i = !logged ? k : !k ? n - 1 : k - 1;
		size_t o = ((i * 68) % (pg - 4)) & ~3UL;
		__u8 *p = b->p + off + i * pg;
		__u64 a = iova + i * pg;
		struct iommu_testdev_dma d;
		bool rec = logged && k < 2;

		if (!itd_probe_page(i, n, a, every))
			continue;
		probes++;
		if (rec && !k)
			itd_flog_arm(fl, n > 1 ? 2 : 1);
		ASSERT_EQ(0, _test_cmd_dma_write(fd, a + o, 4,
						 IOMMU_TESTDEV_BUF_NONE, 0, 0,
						 &d))
			TH_LOG("DMA at %#llx: %s", (unsigned long long)(a + o),
			       strerror(errno));
		if (mapped) {
			ASSERT_EQ(IOMMU_TESTDEV_STATUS_OK, d.out_status)
				TH_LOG("page %zu of %zu (IOVA %#llx): result %#x",
				       i, n, (unsigned long long)a,
				       d.out_result);
			ASSERT_EQ(-1, itd_check_pattern(p + o, 4, 0))
				TH_LOG("page %zu of %zu (IOVA %#llx): DMA did not land",
				       i, n, (unsigned long long)a);
			memset(p + o, IOMMU_TESTDEV_CANARY, 4);
			continue;
		}
		if (stale && (((info->caps & IOMMU_TESTDEV_CAP_FAULT_STATUS) &&
			       d.out_status != IOMMU_TESTDEV_STATUS_FAULT) ||
			      itd_check_fill(p, pg, IOMMU_TESTDEV_CANARY) != -1)) {
			TH_LOG("page %zu of %zu (IOVA %#llx) reached after UNMAP",
			       i, n, (unsigned long long)a);
			memset(p, IOMMU_TESTDEV_CANARY, pg);
			(*stale)++;
			continue;
		}
		if (info->caps & IOMMU_TESTDEV_CAP_FAULT_STATUS)
			ASSERT_EQ(IOMMU_TESTDEV_STATUS_FAULT, d.out_status)
				TH_LOG("page %zu of %zu (IOVA %#llx) translates after UNMAP: %#x",
				       i, n, (unsigned long long)a,
				       d.out_result);
		ASSERT_EQ(-1, itd_check_fill(p, pg, IOMMU_TESTDEV_CANARY))
			TH_LOG("page %zu of %zu (IOVA %#llx) written after UNMAP (stale)",
			       i, n, (unsigned long long)a);
		if (rec)
			itd_flog_check_write(fl, fd, a + o, 0x10);
	}
	return probes;
}

#define itd_probe_pages(_metadata, fd, info, b, iova, off, len, mapped) \
	__itd_probe_pages(_metadata, fd, info, b, iova, off, len, mapped, \
			  NULL, NULL)
/* After an UNMAP, with the records of the last and the first page read. */
static inline unsigned int itd_probe_logged(struct __test_metadata *_metadata,
					    int fd, const struct itd_tbuf *b,
					    __u64 iova, size_t off, size_t len,
					    struct itd_flog *fl)
{
	return __itd_probe_pages(_metadata, fd, fl->info, b, iova, off, len,
				 false, NULL, fl);
}

#endif /* __ITD_UTILS_H */
