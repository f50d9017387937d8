// SPDX-License-Identifier: GPL-2.0
/*
 * Lifecycle: module unload while a file is open, repeated unload and
 * load, the device removed (hot-unplug) under open files and live
 * mappings and brought back, a DMA the driver gave up on (edu), and a
 * fail_nth sweep over the ioctls.  These take the device away from
 * everyone: run them last, alone.
 */
#include <sys/syscall.h>
#include <sys/stat.h>
#include <dirent.h>

#include "iommu_testdev_utils.h"

#define MODNAME "iommu_testdev"

static bool itd_module_loaded(void)
{
	return !access("/sys/module/" MODNAME "/refcnt", F_OK);
}

/* Wait up to @ms for /dev/iommu_testdevN to open; returns the fd or -1. */
static int itd_wait_open(int ms)
{
	char path[64];
	int fd;

	for (; ms > 0; ms -= 20) {
		fd = itd_open_dev(path, sizeof(path));
		if (fd >= 0)
			return fd;
		usleep(20000);
	}
	return -1;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	close(fd);
	return n < 0 ? -errno : 0;
}

/*
 * A DMA-API DMA on a fresh buffer lands, as the device and the driver say
 * and where the test looks: the device works.
 */
static void __device_works(struct __test_metadata *_metadata, int fd)
{
	struct itd_tbuf b;

	ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_DRIVER, itd_page_size(), 0, &b));
	itd_expect_landed(_metadata, fd, &b, 0, 64, 64);
	itd_buf_del(fd, &b);
}

#define device_works(fd) __device_works(_metadata, fd)

/* No state: the fixture only gives the tests their timeouts. */
FIXTURE(lifecycle) {
	int unused;
};

FIXTURE_SETUP(lifecycle)
{
}

FIXTURE_TEARDOWN(lifecycle)
{
}

/* An open file pins the module: unload is refused, not raced. */
TEST_F(lifecycle, unload_refused_while_open)
{
	char path[64];
	int fd;

	fd = itd_open_dev(path, sizeof(path));
	if (fd == -ENOENT)
		SKIP(return, ITD_NO_DEVICE_MSG);
	ASSERT_LE(0, fd);
	if (!itd_module_loaded())
		SKIP(return, "the driver is built in");
	ASSERT_EQ(-1, syscall(SYS_delete_module, MODNAME, O_NONBLOCK));
	ASSERT_TRUE(errno == EWOULDBLOCK || errno == EBUSY)
		TH_LOG("delete_module: %s", strerror(errno));
	device_works(fd);
	close(fd);
}

/*
 * Unload and load the module, 10 x $ITD_STRESS times (3 x on edu, whose
 * probe costs a DMA).  $ITD_MODULE names the .ko to load; its parameters
 * are carried over from the loaded module.
 */
TEST_F_TIMEOUT(lifecycle, reload, 300)
{
	const char *ko = getenv("ITD_MODULE");
	char params[64] = "", buf[32];
	struct iommu_testdev_info info;
	int i, fd, mfd, rounds = 10 * itd_stress();
	FILE *f;

	if (!itd_module_loaded())
		SKIP(return, "the driver is built in or not loaded");
	if (!ko || access(ko, R_OK))
		SKIP(return, "set ITD_MODULE=<path of iommu-testdev.ko> to reload it");
	f = fopen("/sys/module/" MODNAME "/parameters/edu_dma_bits", "r");
	if (f) {
		if (fgets(buf, sizeof(buf), f))
			snprintf(params, sizeof(params), "edu_dma_bits=%u",
				 (unsigned int)strtoul(buf, NULL, 10));
		fclose(f);
	}
	fd = itd_wait_open(100);
	if (fd < 0)
		SKIP(return, ITD_NO_DEVICE_MSG);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	close(fd);
	if (info.engine == IOMMU_TESTDEV_ENGINE_EDU)
		rounds = 3 * itd_stress();

	for (i = 0; i < rounds; i++) {
		ASSERT_EQ(0, syscall(SYS_delete_module, MODNAME, O_NONBLOCK))
			TH_LOG("round %d: delete_module: %s", i, strerror(errno));
		mfd = open(ko, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, mfd);
		ASSERT_EQ(0, syscall(SYS_finit_module, mfd, params, 0))
			TH_LOG("round %d: finit_module: %s", i, strerror(errno));
		close(mfd);
		fd = itd_wait_open(2000);
		ASSERT_LE(0, fd) TH_LOG("round %d: no device node", i);
		if (i % 10 == 0 || i == rounds - 1)
			device_works(fd);
		close(fd);
	}
	ksft_print_msg("reload: %d unload/load cycles (%s)\n", rounds,
		       params[0] ? params : "no parameters");
}

/*
 * Hot-unplug: remove the PCI device under two open files, one of them
 * owning a domain with live mappings and an mmap of a buffer.  Every
 * ioctl then says ENODEV, the memory stays usable until closed, nothing
 * leaks; a rescan brings the device back and it works.  2 x $ITD_STRESS
 * cycles.
 */
TEST_F_TIMEOUT(lifecycle, unplug_replug, 120)
{
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_info info;
	struct iommu_testdev_dma d;
	char bdf[32], path[128], name[64];
	struct itd_tbuf b, b2;
	int cycle, cycles = 2 * itd_stress(), fd, fd2;

	fd = itd_wait_open(100);
	if (fd < 0)
		SKIP(return, ITD_NO_DEVICE_MSG);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	close(fd);
	itd_pci_name(&info, bdf, sizeof(bdf));
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/remove", bdf);
	if (access(path, W_OK))
		SKIP(return, "no %s", path);

	for (cycle = 0; cycle < cycles; cycle++) {
		fd = itd_wait_open(5000);
		ASSERT_LE(0, fd) TH_LOG("cycle %d: device did not come back",
					cycle);
		fd2 = itd_open_dev(name, sizeof(name));
		ASSERT_LE(0, fd2);
		ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_DRIVER, itd_page_size(),
					 0, &b));
		ASSERT_EQ(0, itd_buf_new(fd2, ITD_BUF_USER, itd_page_size(),
					 0, &b2));
		if (info.caps & IOMMU_TESTDEV_CAP_OWNED) {
			ASSERT_EQ(0, _test_cmd_owned_attach(fd, &a));
			ASSERT_EQ(0, _test_cmd_map(fd, b.id, 0, b.len, 0x1000000,
						   ITD_RW));
			ASSERT_EQ(0, _test_cmd_dma_write(fd, 0x1000000, 16,
							 b.id, 0, 0, &d));
			ASSERT_NE(0, d.out_flags & IOMMU_TESTDEV_DMA_LANDED);
		}

		ASSERT_EQ(0, write_file(path, "1"));

		ASSERT_EQ(-1, _test_cmd_get_info(fd, &info));
		ASSERT_EQ(ENODEV, errno);
		ASSERT_EQ(-1, _test_cmd_dma_write(fd, 0x1000000, 16, b.id, 0,
						  0, &d));
		ASSERT_EQ(ENODEV, errno);
		ASSERT_EQ(-1, _test_cmd_dma_write(fd2, 0, 16, b2.id, 0, 0, &d));
		ASSERT_EQ(ENODEV, errno);
		ASSERT_EQ(-1, _test_cmd_owned_attach(fd2, &a));
		ASSERT_EQ(ENODEV, errno);
		/* The memory is the caller's until it lets go. */
		memset(b.p, 0x11, b.len);
		memset(b2.p, 0x22, b2.len);
		itd_buf_del(fd, &b);
		itd_buf_del(fd2, &b2);
		close(fd);
		close(fd2);

		ASSERT_EQ(0, write_file("/sys/bus/pci/rescan", "1"));
		fd = itd_wait_open(5000);
		ASSERT_LE(0, fd) TH_LOG("cycle %d: no device after rescan",
					cycle);
		ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
		device_works(fd);
		close(fd);
	}
	ksft_print_msg("unplug: %d remove/rescan cycles of %s with open files\n",
		       cycles, bdf);
}

/* ---- PCI reset ------------------------------------------------------ */

/* Where itd_open_resettable() writes what it found. */
struct itd_reset_path {
	char *bdf, *reset;
	size_t bdf_len, reset_len;
};

/* itd_open_matching(): a device with a PCI reset method, its paths in @arg. */
static bool itd_resettable(const struct iommu_testdev_info *info,
			   const void *arg)
{
	const struct itd_reset_path *p = arg;

	itd_pci_name(info, p->bdf, p->bdf_len);
	snprintf(p->reset, p->reset_len, "/sys/bus/pci/devices/%s/reset",
		 p->bdf);
	return !access(p->reset, W_OK);
}

/*
 * Open the first test device that has a PCI reset method; its address in
 * @bdf and its sysfs reset file in @reset.  Returns the fd or -1.
 */
static int itd_open_resettable(char *bdf, size_t bdf_len, char *reset,
			       size_t reset_len)
{
	struct itd_reset_path p = { bdf, reset, bdf_len, reset_len };
	struct iommu_testdev_info info;

	return itd_open_matching(itd_resettable, &p, &info);
}

/*
 * A PCI reset of the device (QEMU: the bus reset of the port it sits
 * behind) under an open file with live mappings, in an owned domain where
 * the device has an IOMMU group of its own, else through the DMA API.
 * The reset clears the device's registers: the same DMA as before it, and
 * one 4 GiB up where the domain reaches that far, must land, so a driver
 * that keeps copies of the registers must have forgotten them.
 * $ITD_STRESS resets.
 */
TEST_F_TIMEOUT(lifecycle, pci_reset, 60)
{
	__u64 iova = 0, far = 0, top;
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_info info;
	int i, resets = itd_stress(), fd;
	char bdf[32], reset[128];
	size_t pg = itd_page_size();
	struct itd_tbuf b;
	bool owned;

	fd = itd_open_resettable(bdf, sizeof(bdf), reset, sizeof(reset));
	if (fd < 0)
		SKIP(return, "no test device with a PCI reset method %s",
		     "(QEMU: one behind a pcie-root-port)");
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_DRIVER, 2 * pg, 0, &b));
	owned = info.caps & IOMMU_TESTDEV_CAP_OWNED;
	if (owned) {
		ASSERT_EQ(0, _test_cmd_owned_attach(fd, &a));
		top = itd_dma_mask(&info);
		if (a.out_aperture_end < top)
			top = a.out_aperture_end;
		iova = 0x1000000;
		far = iova + (1ULL << 32);
		if (far + pg - 1 > top)
			far = iova + 2 * pg;	/* the device reaches no higher */
		ASSERT_EQ(0, _test_cmd_map(fd, b.id, 0, pg, iova, ITD_RW));
		ASSERT_EQ(0, _test_cmd_map(fd, b.id, pg, pg, far, ITD_RW));
	}
	/* The DMA API chooses its own IOVAs: 0 asks for that. */
	itd_expect_landed(_metadata, fd, &b, iova ? iova + 0x40 : 0, 0x40, 64);
	for (i = 0; i < resets; i++) {
		ASSERT_EQ(0, write_file(reset, "1")) TH_LOG("reset %d", i);
		itd_expect_landed(_metadata, fd, &b, iova ? iova + 0x40 : 0,
				  0x40, 64);
		itd_expect_landed(_metadata, fd, &b, far ? far + 0x80 : 0,
				  pg + 0x80, 32);
	}
	if (owned) {
		ASSERT_EQ(0, _test_cmd_unmap(fd, iova, pg, NULL));
		ASSERT_EQ(0, _test_cmd_unmap(fd, far, pg, NULL));
	}
	itd_buf_del(fd, &b);
	close(fd);
	ksft_print_msg("reset: %d PCI resets of %s under an open file (%s)\n",
		       resets, bdf, owned ? "owned domain" : "DMA API");
}

/*
 * The PCI address of the bridge on the root bus above the device @bdf
 * (its root port) in @out, or false when the device is on the root bus.
 */
static bool itd_bridge_of(const char *bdf, char *out, size_t len)
{
	char link[300], path[300];
	char *root, *top, *end;
	ssize_t l;

	snprintf(link, sizeof(link), "/sys/bus/pci/devices/%s", bdf);
	l = readlink(link, path, sizeof(path) - 1);
	if (l <= 0)
		return false;
	path[l] = 0;
	/* .../pci0000:00/<root port>/.../<bdf> */
	root = strstr(path, "/pci");
	top = root ? strchr(root + 1, '/') : NULL;
	end = top ? strchr(top + 1, '/') : NULL;
	if (!end)
		return false;
	*end = 0;
	snprintf(out, len, "%s", top + 1);
	return true;
}

/*
 * Two test devices behind one root port: their fds, and the port's sysfs
 * reset_subordinate file in @reset.  False when there are none.
 */
static bool itd_open_siblings(int fd[2], char *reset, size_t len)
{
	struct iommu_testdev_info info;
	char bdf[32], br[16][64];
	int n, m, fds[16];
	bool found = false;

	for (n = 0; n < 16; n++) {
		char node[64];

		snprintf(node, sizeof(node), "/dev/iommu_testdev%d", n);
		fds[n] = open(node, O_RDWR | O_CLOEXEC);
		br[n][0] = 0;
		if (fds[n] < 0 || _test_cmd_get_info(fds[n], &info))
			continue;
		itd_pci_name(&info, bdf, sizeof(bdf));
		itd_bridge_of(bdf, br[n], sizeof(br[n]));
		for (m = 0; m < n && !found; m++) {
			if (!br[n][0] || strcmp(br[m], br[n]))
				continue;
			snprintf(reset, len,
				 "/sys/bus/pci/devices/%.63s/reset_subordinate",
				 br[n]);
			found = !access(reset, W_OK);
			fd[0] = fds[m];
			fd[1] = fds[n];
		}
		if (found)
			break;
	}
	for (m = 0; m < 16 && m <= n; m++)
		if (fds[m] >= 0 && (!found || (fds[m] != fd[0] &&
					       fds[m] != fd[1])))
			close(fds[m]);
	return found;
}

/*
 * A secondary bus reset of a port with two test devices below it: the
 * PCI core calls both devices' reset_prepare before either reset_done,
 * each holding its own device lock in between (under lockdep: no
 * "possible recursive locking").  Both work before and after.
 */
TEST_F_TIMEOUT(lifecycle, bus_reset_two, 60)
{
	size_t pg = itd_page_size();
	struct itd_tbuf b[2];
	char reset[400];
	int fd[2], i;

	if (!itd_open_siblings(fd, reset, sizeof(reset)))
		SKIP(return, "no two test devices behind one root port %s",
		     "with reset_subordinate (QEMU: G_BRIDGE)");
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(0, itd_buf_new(fd[i], ITD_BUF_DRIVER, pg, 0, &b[i]));
		itd_expect_landed(_metadata, fd[i], &b[i], 0, 0x40, 64);
	}
	ASSERT_EQ(0, write_file(reset, "1")) TH_LOG("%s", reset);
	for (i = 0; i < 2; i++) {
		itd_expect_landed(_metadata, fd[i], &b[i], 0, 0x80, 64);
		itd_buf_del(fd[i], &b[i]);
		close(fd[i]);
	}
	ksft_print_msg("reset: a bus reset of %s with two test devices\n",
		       reset);
}

/* ---- hot-unplug by the hypervisor -------------------------------------- */

/*
 * The test device in a hot-plug slot: its PCI address in @bdf.  Such a
 * device is in /sys/bus/pci/slots/<n>/address even while unplugged.
 */
static bool itd_hotplug_bdf(char *bdf, size_t len)
{
	struct dirent *de;
	bool found = false;
	DIR *d = opendir("/sys/bus/pci/slots");

	if (!d)
		return false;
	while (!found && (de = readdir(d))) {
		char path[300], addr[64] = "";
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/bus/pci/slots/%s/address",
			 de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		if (fgets(addr, sizeof(addr), f))
			addr[strcspn(addr, "\n")] = 0;
		fclose(f);
		snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s.0/misc",
			 addr);
		if (addr[0] && !access(path, F_OK)) {
			snprintf(bdf, len, "%s.0", addr);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* Open the iommu_testdev node of the PCI device @bdf, waiting up to @ms. */
static int itd_open_bdf(const char *bdf, int ms)
{
	char path[300], node[300];
	struct dirent *de;
	int fd = -1;
	DIR *d;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/misc", bdf);
	for (; ms > 0 && fd < 0; ms -= 20) {
		d = opendir(path);
		while (d && (de = readdir(d))) {
			if (strncmp(de->d_name, "iommu_testdev", 13))
				continue;
			snprintf(node, sizeof(node), "/dev/%s", de->d_name);
			fd = open(node, O_RDWR | O_CLOEXEC);
			break;
		}
		if (d)
			closedir(d);
		if (fd < 0)
			usleep(20000);
	}
	return fd;
}

/* Ask the host (scripts/qmp-hotplug.py) for a QMP command. */
static int itd_ask_host(const char *what)
{
	int fd = open("/dev/console", O_WRONLY | O_CLOEXEC);
	int n;

	if (fd < 0)
		return -errno;
	n = dprintf(fd, "\nITD-QMP %s\n", what);
	close(fd);
	return n > 0 ? 0 : -EIO;
}

/*
 * Hot-unplug by the hypervisor: QEMU's device_del under an open file with
 * a domain and mappings, then device_add.  Runs where a test device sits
 * in a hot-plug slot and the host answers "ITD-QMP" requests on the
 * console (scripts/guests.sh sets that up for arm64-smmuv3).  $ITD_STRESS
 * cycles.
 */
TEST_F_TIMEOUT(lifecycle, qmp_unplug_replug, 180)
{
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_info info;
	struct iommu_testdev_dma d;
	char bdf[64], path[300];
	int cycle, cycles = itd_stress(), fd, ms;
	struct itd_tbuf b;

	if (!itd_hotplug_bdf(bdf, sizeof(bdf)))
		SKIP(return, "no test device in a hot-plug slot %s",
		     "(QEMU: behind a pcie-root-port, pciehp in the kernel)");
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	for (cycle = 0; cycle < cycles; cycle++) {
		fd = itd_open_bdf(bdf, 100);
		ASSERT_LE(0, fd) TH_LOG("cycle %d: no node for %s", cycle, bdf);
		ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
		ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_DRIVER, itd_page_size(), 0,
					 &b));
		if (info.caps & IOMMU_TESTDEV_CAP_OWNED) {
			ASSERT_EQ(0, _test_cmd_owned_attach(fd, &a));
			ASSERT_EQ(0, _test_cmd_map(fd, b.id, 0, b.len, 0x1000000,
						   ITD_RW));
		}
		ASSERT_EQ(0, itd_ask_host("device_del"));
		for (ms = 60000; ms > 0 && !access(path, F_OK); ms -= 50)
			usleep(50000);
		if (cycle == 0 && !access(path, F_OK))
			SKIP(return, "nobody answered device_del for %s", bdf);
		ASSERT_NE(0, access(path, F_OK)) TH_LOG("cycle %d", cycle);

		ASSERT_EQ(-1, _test_cmd_get_info(fd, &info));
		ASSERT_EQ(ENODEV, errno);
		ASSERT_EQ(-1, _test_cmd_dma_write(fd, 0x1000000, 8, b.id, 0, 0,
						  &d));
		ASSERT_EQ(ENODEV, errno);
		memset(b.p, 0x33, b.len);
		itd_buf_del(fd, &b);
		close(fd);

		ASSERT_EQ(0, itd_ask_host("device_add"));
		fd = itd_open_bdf(bdf, 60000);
		ASSERT_LE(0, fd) TH_LOG("cycle %d: %s did not come back",
					cycle, bdf);
		device_works(fd);
		close(fd);
	}
	ksft_print_msg("unplug: %d QMP device_del/device_add cycles of %s with open files\n",
		       cycles, bdf);
}

/* ---- a DMA the driver gave up on ------------------------------------ */

#define EDU_TIMEOUT "/sys/module/" MODNAME "/parameters/edu_timeout_ms"
#define ITD_DRIVER "/sys/bus/pci/drivers/" MODNAME

static bool itd_is_edu(const struct iommu_testdev_info *info, const void *arg)
{
	return info->engine == IOMMU_TESTDEV_ENGINE_EDU;
}

/* The first edu test device, its info in @info; an fd or -1. */
static int itd_open_edu(struct iommu_testdev_info *info)
{
	return itd_open_matching(itd_is_edu, NULL, info);
}

/*
 * edu copies when its 100 ms timer fires, through whatever the IOMMU maps
 * at that moment.  The driver is made to give up on a DMA long before
 * (edu_timeout_ms=1): it must fail the DMA with EIO and keep the device
 * from ever landing it.  Then the IOVA is handed to another buffer (an
 * owned domain) or the buffer taken back (the DMA API), and the timer
 * left to fire: neither buffer may change.  The stuck device refuses
 * DMAs; an unbind and bind bring it back, and a DMA lands.
 */
TEST_F_TIMEOUT(lifecycle, edu_stuck_dma, 60)
{
	size_t pg = itd_page_size();
	struct iommu_testdev_owned_attach a;
	struct iommu_testdev_info info;
	struct iommu_testdev_dma d;
	char bdf[32], old[32] = "";
	int fd, rc = 0, err = 0, try;
	struct itd_tbuf b, b2;
	__u64 iova = 0;
	FILE *f;

	fd = itd_open_edu(&info);
	if (fd < 0)
		SKIP(return, "no edu test device (QEMU -device edu)");
	itd_pci_name(&info, bdf, sizeof(bdf));
	f = fopen(EDU_TIMEOUT, "r");
	ASSERT_NE(NULL, f) TH_LOG("%s: %s", EDU_TIMEOUT, strerror(errno));
	ASSERT_NE(NULL, fgets(old, sizeof(old), f));
	fclose(f);
	ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_DRIVER, pg, 0, &b));
	ASSERT_EQ(0, itd_buf_new(fd, ITD_BUF_DRIVER, pg, 0, &b2));
	if (info.caps & IOMMU_TESTDEV_CAP_OWNED) {
		ASSERT_EQ(0, _test_cmd_owned_attach(fd, &a));
		iova = 0x1000000;
		ASSERT_EQ(0, _test_cmd_map(fd, b.id, 0, pg, iova, ITD_RW));
	}

	/*
	 * A host that stalls the guest past edu's timer lets the DMA finish
	 * inside even a 1 ms wait (a TIMEOUT status, no harm): try again.
	 */
	for (try = 0; try < 5; try++) {
		ASSERT_EQ(0, write_file(EDU_TIMEOUT, "1"));
		rc = _test_cmd_dma_write(fd, iova, 64, b.id, 0,
					 IOMMU_TESTDEV_DMA_F_CANARY, &d);
		err = errno;
		ASSERT_EQ(0, write_file(EDU_TIMEOUT, old));
		if (rc)
			break;
		ASSERT_EQ(IOMMU_TESTDEV_STATUS_TIMEOUT, d.out_status)
			TH_LOG("a DMA given 1 ms of edu's 100 ms: status %u",
			       d.out_status);
	}
	ASSERT_EQ(-1, rc) TH_LOG("the driver always waited for edu");
	ASSERT_EQ(EIO, err) TH_LOG("a DMA the driver gave up on: %s",
				   strerror(err));

	/* The IOVA to another buffer; the first one the caller's again. */
	if (iova) {
		ASSERT_EQ(0, _test_cmd_unmap(fd, iova, pg, NULL));
		ASSERT_EQ(0, _test_cmd_map(fd, b2.id, 0, pg, iova, ITD_RW));
	}
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	memset(b2.p, IOMMU_TESTDEV_CANARY, b2.len);
	usleep(500000);		/* edu's timer: 100 ms of the same clock */
	EXPECT_EQ(-1, itd_check_fill(b.p, b.len, IOMMU_TESTDEV_CANARY))
		TH_LOG("the DMA the driver gave up on landed in its buffer later");
	EXPECT_EQ(-1, itd_check_fill(b2.p, b2.len, IOMMU_TESTDEV_CANARY))
		TH_LOG("the DMA the driver gave up on landed later, %s",
		       "in the buffer mapped at its IOVA since");
	EXPECT_EQ(-1, _test_cmd_dma_write(fd, iova, 16, b2.id, 0, 0, &d));
	EXPECT_EQ(EIO, errno) TH_LOG("a DMA on a stuck device");
	itd_buf_del(fd, &b);
	itd_buf_del(fd, &b2);
	close(fd);

	/* The control: rebound, the device works. */
	ASSERT_EQ(0, write_file(ITD_DRIVER "/unbind", bdf));
	ASSERT_EQ(0, write_file(ITD_DRIVER "/bind", bdf));
	fd = itd_open_bdf(bdf, 5000);
	ASSERT_LE(0, fd) TH_LOG("no node for %s after bind", bdf);
	device_works(fd);
	close(fd);
	ksft_print_msg("stuck DMA: %s cut off (%s), rebound\n", bdf,
		       iova ? "owned domain" : "DMA API");
}

/* ---- fail_nth ------------------------------------------------------- */

static int fail_nth_fd(void)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/task/%ld/fail-nth",
		 (long)syscall(SYS_gettid));
	return open(path, O_RDWR | O_CLOEXEC);
}

/* Let fail-nth reach GFP_KERNEL and order-0 allocations too. */
static bool fail_nth_setup(void)
{
	static const char * const knobs[][2] = {
		{ "/sys/kernel/debug/failslab/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-wait", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/ignore-gfp-highmem", "N" },
		{ "/sys/kernel/debug/fail_page_alloc/min-order", "0" },
		{ "/sys/kernel/debug/failslab/verbose", "0" },
		{ "/sys/kernel/debug/fail_page_alloc/verbose", "0" },
	};
	unsigned int i;
	bool any = false;

	for (i = 0; i < ARRAY_SIZE(knobs); i++)
		any |= !write_file(knobs[i][0], knobs[i][1]);
	return any;
}

static bool fail_nth_fired(int nfd)
{
	char buf[16] = "";

	/* Reading gives what is left of the count: 0 once it fired. */
	if (pread(nfd, buf, sizeof(buf) - 1, 0) <= 0)
		return false;
	return strtol(buf, NULL, 10) == 0;
}

/*
 * One pass of what the driver allocates for, with the @n-th allocation of
 * the task failing (0: none): buffers of both kinds and a DMA through the
 * DMA API or, with @owned, through a domain of its own (the domain,
 * mappings, a DMA, an unmap over two mappings), and the way back.  Two
 * sweeps, so that the owned one reaches the unmap's allocations whatever
 * the DMA API's do first.  Errors are expected (that is the point);
 * crashes, leaks and a device left in a bad state are not.
 *
 * Injection is disarmed before the teardown: returning a device to its
 * default domain is a must-succeed path in the IOMMU core, and in Linux
 * 6.12 arm-smmu-v3 allocates in it (a failure there is a core WARN, not a
 * driver error path).  ITD_FAIL_NTH_TEARDOWN=1 keeps it armed throughout.
 */
static int fail_nth_pass(int fd, int nfd, int n, void *user, size_t pg,
			 bool owned, bool *fired, int *short_unmaps)
{
	bool teardown = getenv("ITD_FAIL_NTH_TEARDOWN");
	struct iommu_testdev_owned_attach a;
	bool attached = false, short_unmap = false;
	struct iommu_testdev_dma d;
	__u32 id1 = ~0U, id2 = ~0U;
	char buf[16];
	int err = 0;

	memset(user, 0, 4 * pg);
	snprintf(buf, sizeof(buf), "%d", n);
	if (n && pwrite(nfd, buf, strlen(buf), 0) <= 0)
		return -errno;
	if (_test_cmd_buf_alloc(fd, 0, 4 * pg, 0, &id1, NULL, NULL) ||
	    _test_cmd_buf_alloc(fd, IOMMU_TESTDEV_BUF_PIN, 4 * pg,
				(uintptr_t)user, &id2, NULL, NULL)) {
		err = -errno;
		goto disarm;
	}
	if (!owned) {
		if (_test_cmd_dma_write(fd, 0, 64, id2, 8,
					IOMMU_TESTDEV_DMA_F_CANARY, &d))
			err = -errno;
		/* Refused, though mapped (the sweep counts it). */
		else if (d.out_status != IOMMU_TESTDEV_STATUS_OK)
			err = -EREMOTEIO;
		/* Done, says the driver: the bytes are in the test's memory. */
		else if (itd_check_pattern((__u8 *)user + 8, 64, 0) != -1)
			err = -EILSEQ;
		goto disarm;
	}
	if (_test_cmd_owned_attach(fd, &a)) {
		err = -errno;
		goto disarm;
	}
	attached = true;
	if (_test_cmd_map(fd, id1, 0, 4 * pg, 0x1000000, ITD_RW) ||
	    _test_cmd_map(fd, id2, 0, 4 * pg, 0x2000000, ITD_RW) ||
	    _test_cmd_dma_write(fd, 0x2000010, 64, id2, 16, 0, &d)) {
		err = -errno;
	} else if (d.out_status != IOMMU_TESTDEV_STATUS_OK) {
		err = -EREMOTEIO;
	} else if (itd_check_pattern((__u8 *)user + 16, 64, 0) != -1) {
		err = -EILSEQ;
	} else if (_test_cmd_unmap(fd, 0x1000000, 0x2000000, NULL)) {
		err = -errno;
		short_unmap = errno == EIO;
	}
disarm:
	if (!teardown) {
		*fired = n && fail_nth_fired(nfd);
		pwrite(nfd, "0", 1, 0);
		/*
		 * An unmap the IOMMU did only in part (virtio-iommu allocates
		 * for it) keeps that mapping, which may still reach its
		 * buffer: there is still something to unmap.
		 */
		if (short_unmap &&
		    _test_cmd_unmap(fd, 0x1000000, 0x2000000, NULL) &&
		    errno == ENOENT)
			err = -ENOTRECOVERABLE;
		*short_unmaps += short_unmap;
	}
	if (attached && _test_cmd_simple(fd, IOMMU_TESTDEV_OWNED_DETACH) &&
	    !err)
		err = -errno;
	if (id2 != ~0U)
		_test_cmd_buf_free(fd, id2);
	if (id1 != ~0U)
		_test_cmd_buf_free(fd, id1);
	if (teardown) {
		*fired = n && fail_nth_fired(nfd);
		pwrite(nfd, "0", 1, 0);
	}
	return err;
}

/* What a pass's result says, for the log. */
static const char *fail_nth_why(int rc)
{
	switch (rc) {
	case -EILSEQ:
		return "a DMA said done, its bytes are not there";
	case -EREMOTEIO:
		return "a DMA refused, though its mapping was made";
	case -ENOTRECOVERABLE:
		return "a short unmap dropped its mapping";
	}
	return strerror(-rc);
}

TEST_F_TIMEOUT(lifecycle, fail_nth_sweep, 300)
{
	struct iommu_testdev_info info;
	size_t pg = itd_page_size();
	int nfd, fd, n, rc, points = 0, errors = 0, short_unmaps = 0;
	int refused = 0, first_refused = 0, first_refused_stage = 0;
	bool owned, fired;
	void *user;
	int stage;

	nfd = fail_nth_fd();
	if (nfd < 0)
		SKIP(return, "no fail-nth: kernel lacks CONFIG_FAULT_INJECTION");
	if (!fail_nth_setup())
		SKIP(return, "no failslab/fail_page_alloc in debugfs");
	fd = itd_wait_open(100);
	if (fd < 0)
		SKIP(return, ITD_NO_DEVICE_MSG);
	ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
	owned = info.caps & IOMMU_TESTDEV_CAP_OWNED;
	user = mmap(NULL, 4 * pg, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, user);
	/* Stage 0: a domain of the driver's own (if any); 1: the DMA API. */
	for (stage = owned ? 0 : 1; stage < 2; stage++) {
		/* The sequence must work without injection first. */
		rc = fail_nth_pass(fd, nfd, 0, user, pg, !stage, &fired,
				   &short_unmaps);
		ASSERT_EQ(0, rc)
			TH_LOG("%s, no injection: %s", stage ? "DMA API" : "owned",
			       fail_nth_why(rc));
		for (n = 1; n < 10000; n++) {
			rc = fail_nth_pass(fd, nfd, n, user, pg, !stage, &fired,
					   &short_unmaps);

			/*
			 * An error, or success with every byte in place; and
			 * an unmap the IOMMU did in part kept its mapping.
			 */
			ASSERT_TRUE(rc != -EILSEQ && rc != -ENOTRECOVERABLE)
				TH_LOG("allocation %d failed: %s", n,
				       fail_nth_why(rc));
			/*
			 * A DMA refused after its mapping was made: the
			 * IOMMU lost a mapping its driver said it made.  Not
			 * this driver's error path: noted, the sweep goes on.
			 */
			if (rc == -EREMOTEIO && !refused++) {
				first_refused = n;
				first_refused_stage = stage;
			}
			if (rc)
				errors++;
			if (!fired)
				break;	/* the n-th allocation was never reached */
			points++;
			/* Whatever failed, the device is ours again. */
			ASSERT_EQ(0, _test_cmd_get_info(fd, &info));
			ASSERT_EQ(IOMMU_TESTDEV_MODE_DMA_API, info.mode);
		}
	}
	ASSERT_LT(0, points);
	EXPECT_EQ(0, refused)
		TH_LOG("%d passes saw a mapped DMA refused (first: allocation %d, %s)",
		       refused, first_refused,
		       first_refused_stage ? "DMA API" : "owned domain");
	/* Some injected failure must have surfaced as an error. */
	ASSERT_LT(0, errors);
	ksft_print_msg("fail_nth: %d injection points, %d passes saw an error, %d a short unmap\n",
		       points, errors, short_unmaps);
	device_works(fd);
	close(fd);
	close(nfd);
}

TEST_HARNESS_MAIN
