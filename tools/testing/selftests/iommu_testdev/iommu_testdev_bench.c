// SPDX-License-Identifier: GPL-2.0
/*
 * iommu_testdev_bench: how fast the path from ioctl through the IOMMU to
 * the device is.  A benchmark, not a test: it prints numbers, one per line,
 * as "bench: <name> <value> <unit>", and exits 0 unless it cannot run.
 *
 * Usage: iommu_testdev_bench [seconds per measurement, default 1]
 */
#include <stdarg.h>

#include "iommu_testdev_utils.h"

#define IOVA 0x1000000ULL

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void report(const char *name, unsigned long n, double secs,
		   const char *unit)
{
	printf("bench: %-28s %12.0f %s\n", name, secs > 0 ? n / secs : 0.0,
	       unit);
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

/* Run @fn until @secs passed (or @max calls); return calls/s via report. */
#define MEASURE(name, unit, secs, max, body)                                 \
	do {                                                                  \
		unsigned long __n = 0;                                        \
		double __t0 = now(), __t;                                     \
		do {                                                          \
			body;                                                 \
			__n++;                                                \
			__t = now() - __t0;                                   \
		} while (__t < (secs) && __n < (max));                        \
		report(name, __n, __t, unit);                                 \
	} while (0)

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_info info;
	struct iommu_testdev_dma d;
	struct itd_tbuf small, big;
	unsigned long max;
	char path[64];
	int fd;

	fd = itd_open_dev(path, sizeof(path));
	if (fd < 0) {
		printf("bench: skipped: %s\n", ITD_NO_DEVICE_MSG);
		return 4;
	}
	if (_test_cmd_get_info(fd, &info))
		die("GET_INFO: %s\n", strerror(errno));
	/* edu needs 100 ms a DMA: a handful of samples is all there is. */
	max = info.engine == IOMMU_TESTDEV_ENGINE_EDU ? 5 : ~0UL;
	printf("bench: device %s engine %s domain %s\n", path,
	       itd_engine_name(info.engine), itd_domain_name(info.domain_type));

	if (itd_buf_new(fd, ITD_BUF_DRIVER, itd_page_size(), 0, &small))
		die("buffer: %s\n", strerror(errno));
	MEASURE("dma_api_dma_64B", "DMA/s", secs, max, {
		if (_test_cmd_dma_write(fd, 0, 64, small.id, 0, 0, &d))
			die("DMA: %s\n", strerror(errno));
	});

	if (!(info.caps & IOMMU_TESTDEV_CAP_OWNED)) {
		printf("bench: owned domain: skipped: no IOMMU group of its own\n");
		return 0;
	}
	if (_test_cmd_owned_attach(fd, &a))
		die("OWNED_ATTACH: %s\n", strerror(errno));
	if (_test_cmd_map(fd, small.id, 0, itd_page_size(), IOVA, ITD_RW))
		die("MAP: %s\n", strerror(errno));
	MEASURE("owned_dma_64B", "DMA/s", secs, max, {
		if (_test_cmd_dma_write(fd, IOVA, 64, IOMMU_TESTDEV_BUF_NONE, 0,
					0, &d) ||
		    d.out_status != IOMMU_TESTDEV_STATUS_OK)
			die("DMA: %s %u\n", strerror(errno), d.out_status);
	});
	MEASURE("owned_dma_64B_checked", "DMA/s", secs, max, {
		if (_test_cmd_dma_write(fd, IOVA, 64, small.id, 0, 0, &d) ||
		    !(d.out_flags & IOMMU_TESTDEV_DMA_LANDED))
			die("DMA: %s %#x\n", strerror(errno), d.out_flags);
	});
	if (_test_cmd_unmap(fd, IOVA, itd_page_size(), NULL))
		die("UNMAP: %s\n", strerror(errno));

	MEASURE("map_unmap_4K", "cycles/s", secs, ~0UL, {
		if (_test_cmd_map(fd, small.id, 0, itd_page_size(), IOVA,
				  ITD_RW) ||
		    _test_cmd_unmap(fd, IOVA, itd_page_size(), NULL))
			die("map/unmap: %s\n", strerror(errno));
	});
	MEASURE("map_dma_unmap_4K", "cycles/s", secs, max, {
		if (_test_cmd_map(fd, small.id, 0, itd_page_size(), IOVA,
				  ITD_RW) ||
		    _test_cmd_dma_write(fd, IOVA, 64, IOMMU_TESTDEV_BUF_NONE,
					0, 0, &d) ||
		    _test_cmd_unmap(fd, IOVA, itd_page_size(), NULL))
			die("cycle: %s\n", strerror(errno));
	});

	if (itd_buf_new(fd, ITD_BUF_DRIVER, ITD_SZ_2M, 0, &big)) {
		printf("bench: 2M: skipped: no 2 MiB of contiguous memory\n");
		return 0;
	}
	MEASURE("map_unmap_2M", "cycles/s", secs, ~0UL, {
		if (_test_cmd_map(fd, big.id, 0, ITD_SZ_2M, 8 * ITD_SZ_2M,
				  ITD_RW) ||
		    _test_cmd_unmap(fd, 8 * ITD_SZ_2M, ITD_SZ_2M, NULL))
			die("map/unmap 2M: %s\n", strerror(errno));
	});
	MEASURE("map_dma_unmap_2M", "cycles/s", secs, max, {
		if (_test_cmd_map(fd, big.id, 0, ITD_SZ_2M, 8 * ITD_SZ_2M,
				  ITD_RW) ||
		    _test_cmd_dma_write(fd, 8 * ITD_SZ_2M + ITD_SZ_2M - 64, 64,
					IOMMU_TESTDEV_BUF_NONE, 0, 0, &d) ||
		    _test_cmd_unmap(fd, 8 * ITD_SZ_2M, ITD_SZ_2M, NULL))
			die("cycle 2M: %s\n", strerror(errno));
	});
	close(fd);
	return 0;
}
