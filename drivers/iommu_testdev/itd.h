/* SPDX-License-Identifier: GPL-2.0 */
/*
 * iommu_testdev internals: the device, the engines that fire DMA, the
 * buffers that serve as oracles and the domain modes that translate.
 *
 * Where things live, from the top down (each file calls only those below
 * it; the ops tables are how the pipeline reaches an engine and a mode):
 *   iommu_testdev.c  PCI binding, the char device, the ioctl table, GET_INFO
 *   mode_owned.c     OWNED: attach/detach, MAP/UNMAP, its &itd_mode_ops
 *   mode_iommufd.c   IOMMUFD: bind/attach/detach/unbind, its &itd_mode_ops
 *   mode_dma_api.c   DMA_API: the DMA API maps, fires, unmaps
 *   dma.c            the DMA pipeline: IOMMU_TESTDEV_DMA, fire, check
 *   domain.c         groups, reserved regions, domain types
 *   buffer.c         driver pages and pinned user pages (the oracles)
 *   engine_itd.c     QEMU iommu-testdev
 *   engine_edu.c     QEMU edu
 */
#ifndef _ITD_H
#define _ITD_H

#include <linux/interval_tree.h>
#include <linux/iommu.h>
#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/xarray.h>
#include <uapi/linux/iommu_testdev.h>

struct itd_dev;
struct itd_file;
struct iommufd_device;

/*
 * Bytes of buffer length one open file may hold (GET_INFO's buf_budget).
 * 1.5 GiB: a 1 GiB block test fits, with room to spare.
 */
#define ITD_BUF_BUDGET		(3ULL << 29)

/* Most mappings one owned domain holds. */
#define ITD_MAX_MAPS		65536

/**
 * struct itd_dma_req - one DMA as an engine sees it
 * @op: IOMMU_TESTDEV_DMA_WRITE or IOMMU_TESTDEV_DMA_COPY
 * @len: bytes
 * @iova: where the device writes
 * @src_iova: COPY: where the device reads
 * @expect_phys: the physical address the bytes must land at, or 0 when the
 *               landing place is unknown or not physically contiguous
 */
struct itd_dma_req {
	u32 op;
	u32 len;
	dma_addr_t iova;
	dma_addr_t src_iova;
	phys_addr_t expect_phys;
};

/**
 * struct itd_engine_ops - a DMA engine: one per supported device model
 * @name: short name, printed and used in logs
 * @engine: &enum iommu_testdev_engine
 * @caps: IOMMU_TESTDEV_CAP_* the engine provides
 * @max_len: largest DMA in bytes
 * @match: is @pdev really this model?  Called before anything touches it.
 * @probe: set the device up; BAR0 is mapped.  Bus mastering is the
 *         engine's to enable, once nothing an earlier binding started can
 *         land any more
 * @remove: quiesce the device; no DMA may be in flight afterwards
 * @reset_done: optional: a PCI reset or a system sleep cleared the
 *              device's registers
 * @dma: run @req to completion; fill @result (raw) and return an
 *       &enum iommu_testdev_dma_status, or a negative errno.  A device
 *       that may still be copying when @dma gives up on it must be cut
 *       off the bus first, and &itd_dev.stuck set: the callers then keep
 *       the memory the DMA aimed at
 */
struct itd_engine_ops {
	const char *name;
	u32 engine;
	u32 caps;
	u32 max_len;
	bool (*match)(struct pci_dev *pdev);
	int (*probe)(struct itd_dev *idev);
	void (*remove)(struct itd_dev *idev);
	void (*reset_done)(struct itd_dev *idev);
	int (*dma)(struct itd_dev *idev, const struct itd_dma_req *req,
		   u32 *result);
};

extern const struct itd_engine_ops itd_engine_testdev;
extern const struct itd_engine_ops itd_engine_edu;

/**
 * struct itd_dma_job - one IOMMU_TESTDEV_DMA, checked, as a mode runs it
 * @cmd: the request; the mode fills its out_* fields
 * @dst: the oracle: where the bytes must land, or NULL
 * @src: COPY: the source buffer, or NULL
 * @want: COPY with @src: @src's bytes before the DMA; else NULL (the pattern)
 */
struct itd_dma_job {
	struct iommu_testdev_dma *cmd;
	struct itd_buf *dst;
	struct itd_buf *src;
	const u8 *want;
};

/**
 * struct itd_mode_ops - a mode: who translates the device's DMA
 * @id: &enum iommu_testdev_mode
 * @name: short name
 * @dma: run one DMA: resolve its addresses, fire, check the oracle
 * @teardown: leave the mode, back to the default domain; NULL for the
 *            DMA_API mode, which is that domain
 *
 * Entering a mode is an ioctl in the mode's file (OWNED_ATTACH,
 * IOMMUFD_BIND), which sets &itd_dev.mode; leaving it is itd_mode_exit().
 * Both ops run with &itd_dev.lock held.
 */
struct itd_mode_ops {
	u32 id;
	const char *name;
	int (*dma)(struct itd_dev *idev, const struct itd_dma_job *job);
	void (*teardown)(struct itd_dev *idev);
};

extern const struct itd_mode_ops itd_mode_dma_api;
extern const struct itd_mode_ops itd_mode_owned;
extern const struct itd_mode_ops itd_mode_iommufd;

/**
 * struct itd_buf - memory a test owns; the independent oracle of a DMA
 * @ref: held by the file's table, every mapping and every mmap
 * @length: bytes
 * @npages: pages in @pages
 * @pinned: user pages pinned with pin_user_pages (else driver pages)
 * @mm: pinned: the mm whose locked_vm they are charged to
 * @contig: physically contiguous
 * @order: driver pages: the allocation order
 * @map_count: owned-domain mappings using it (under &itd_dev.lock)
 * @pages: the pages, in order
 * @file: the file whose table holds it, for byte accounting
 */
struct itd_buf {
	struct kref ref;
	size_t length;
	unsigned long npages;
	bool pinned;
	struct mm_struct *mm;
	bool contig;
	unsigned int order;
	unsigned int map_count;
	struct page **pages;
	struct itd_file *file;
};

/**
 * struct itd_map - one mapping of an owned domain
 * @node: interval of IOVAs, inclusive
 * @buf: the mapped buffer (a reference is held)
 * @offset: offset of @node.start in @buf
 */
struct itd_map {
	struct interval_tree_node node;
	struct itd_buf *buf;
	u64 offset;
};

/**
 * struct itd_dev - one bound PCI device
 * @pdev: the PCI device
 * @ref: held by the driver binding and by every open file
 * @ops: its engine
 * @regs: BAR0
 * @engine_priv: the engine's own state
 * @misc: /dev/iommu_testdevN
 * @name: "iommu_testdevN"
 * @id: N
 * @lock: serialises every DMA, mode change and mapping change; held from
 *        a PCI reset's prepare to its done
 * @lock_key: @lock's lockdep class, one per device
 * @dead: the device was removed; only close() still works
 * @stuck: a DMA the engine gave up on may still be pending: the device is
 *         off the bus, refuses DMAs, and the memory that DMA aimed at is
 *         never freed (until the engine sees it idle after a reset)
 * @dma_bits: width of the addresses the device emits
 * @scratch: driver pages, max_len long: the device's oracle when the
 *           caller has none
 * @mode: the mode the device is in
 * @owner: the file that moved the device out of the DMA_API mode
 * @default_type: uAPI type of the default domain, noted at probe
 * @default_pgsize: page sizes of the default domain
 * @default_start: default domain aperture start
 * @default_end: default domain aperture end
 * @resv: the device's reserved regions while a translating mode is active
 * @domain: OWNED: the paging domain
 * @maps: OWNED: mappings by IOVA
 * @nr_maps: OWNED: entries in @maps
 * @ifd: IOMMUFD: the bound iommufd device
 * @ifd_attached: IOMMUFD: attached to a page table
 */
struct itd_dev {
	struct pci_dev *pdev;
	struct kref ref;
	const struct itd_engine_ops *ops;
	void __iomem *regs;
	void *engine_priv;
	struct miscdevice misc;
	char name[32];
	int id;

	struct mutex lock;	/* see @lock above */
	struct lock_class_key lock_key;
	bool dead;
	bool stuck;
	unsigned int dma_bits;
	struct page *scratch;

	const struct itd_mode_ops *mode;
	struct itd_file *owner;
	u32 default_type;
	u64 default_pgsize;
	u64 default_start;
	u64 default_end;
	struct list_head resv;

	struct iommu_domain *domain;
	struct rb_root_cached maps;
	unsigned int nr_maps;

	struct iommufd_device *ifd;
	bool ifd_attached;
};

/**
 * struct itd_file - one open file of /dev/iommu_testdevN
 * @idev: the device (a reference is held)
 * @bufs: buffers by id
 * @buf_bytes: bytes held in @bufs, bounded by ITD_BUF_BUDGET
 */
struct itd_file {
	struct itd_dev *idev;
	struct xarray bufs;
	atomic64_t buf_bytes;
};

/**
 * struct itd_ucmd - one ioctl call, as every ioctl handler takes it
 * @f: the calling file
 * @cmd: the caller's struct, copied in (the handler's own struct type, which
 *       &union itd_ucmd_buf holds); copied back out when the handler
 *       returns 0
 *
 * One handler type for every ioctl, as iommufd's &struct iommufd_ucmd: a
 * kernel with CONFIG_CFI_CLANG calls each through the same prototype.
 */
struct itd_ucmd {
	struct itd_file *f;
	void *cmd;
};

static inline struct device *itd_to_dev(struct itd_dev *idev)
{
	return &idev->pdev->dev;
}

/* domain.c: helpers that call nothing back */
u32 itd_domain_type(struct iommu_domain *domain);
int itd_group_devices(struct device *dev);
int itd_iommu_isolated(struct device *dev);
int itd_resv_check(struct itd_dev *idev, u64 iova, u64 len);
int itd_resv_load(struct itd_dev *idev);
void itd_resv_drop(struct itd_dev *idev);

/* buffer.c */
int itd_buf_alloc(struct itd_ucmd *ucmd);
int itd_buf_free(struct itd_ucmd *ucmd);
struct itd_buf *itd_buf_get(struct itd_file *f, u32 id);
void itd_buf_put(struct itd_buf *buf);
void itd_buf_free_all(struct itd_file *f);
int itd_buf_mmap(struct itd_file *f, struct vm_area_struct *vma);
int itd_buf_range(struct itd_buf *buf, u64 offset, u64 len);
phys_addr_t itd_buf_phys(struct itd_buf *buf, u64 offset, u64 len);
void itd_buf_fill(struct itd_buf *buf, u64 offset, u64 len, u8 byte);
void itd_buf_read(struct itd_buf *buf, u64 offset, u64 len, u8 *to);
int itd_buf_share(struct itd_buf *a, u64 aoff, u64 alen,
		  struct itd_buf *b, u64 boff, u64 blen);
u32 itd_buf_check(struct itd_buf *buf, u64 offset, u64 len, bool canary,
		  const u8 *want);

/* dma.c: the DMA pipeline */
int itd_dma(struct itd_ucmd *ucmd);
int itd_dma_translated(struct itd_dev *idev, const struct itd_dma_job *job);
int itd_dma_fire(struct itd_dev *idev, struct itd_dma_req *req,
		 u32 *result, u32 *flags);
u32 itd_dma_check(const struct itd_dma_job *job);
void itd_dma_keep(struct itd_dev *idev, const struct itd_dma_job *job);

/* mode_owned.c */
int itd_owned_attach(struct itd_ucmd *ucmd);
int itd_owned_detach(struct itd_ucmd *ucmd);
int itd_owned_map(struct itd_ucmd *ucmd);
int itd_owned_unmap(struct itd_ucmd *ucmd);

/* mode_iommufd.c */
#if IS_ENABLED(CONFIG_IOMMUFD)
int itd_iommufd_bind(struct itd_ucmd *ucmd);
int itd_iommufd_attach(struct itd_ucmd *ucmd);
int itd_iommufd_detach(struct itd_ucmd *ucmd);
int itd_iommufd_unbind(struct itd_ucmd *ucmd);
#else
static inline int itd_iommufd_bind(struct itd_ucmd *ucmd)
{
	return -EOPNOTSUPP;
}

static inline int itd_iommufd_attach(struct itd_ucmd *ucmd)
{
	return -EOPNOTSUPP;
}

static inline int itd_iommufd_detach(struct itd_ucmd *ucmd)
{
	return -EOPNOTSUPP;
}

static inline int itd_iommufd_unbind(struct itd_ucmd *ucmd)
{
	return -EOPNOTSUPP;
}
#endif

/**
 * itd_require_mode() - may this file act on the device in this mode?
 * @f: the calling file
 * @mode: the mode the operation needs
 *
 * Context: &itd_dev.lock held.
 * Return: 0, -ENODEV after unplug, -EBUSY when another file owns the device,
 * -EINVAL when the device is in another mode.
 */
static inline int itd_require_mode(struct itd_file *f,
				   const struct itd_mode_ops *mode)
{
	struct itd_dev *idev = f->idev;

	lockdep_assert_held(&idev->lock);
	if (idev->dead)
		return -ENODEV;
	if (idev->owner && idev->owner != f)
		return -EBUSY;
	if (idev->mode != mode)
		return -EINVAL;
	return 0;
}

/**
 * itd_mode_exit() - the device leaves whatever mode a file put it in
 * @idev: the device; back in the DMA_API mode, owned by no file, after
 *
 * Context: &itd_dev.lock held.
 */
static inline void itd_mode_exit(struct itd_dev *idev)
{
	lockdep_assert_held(&idev->lock);
	if (idev->mode->teardown)
		idev->mode->teardown(idev);
	idev->mode = &itd_mode_dma_api;
	idev->owner = NULL;
}

/**
 * itd_mode_leave() - an ioctl that gives the device back to the DMA API
 * @ucmd: the call (OWNED_DETACH, IOMMUFD_UNBIND): @ucmd->f must own the
 *        device in @mode
 * @mode: the mode the ioctl leaves
 *
 * Return: 0 or a negative errno.
 */
static inline int itd_mode_leave(struct itd_ucmd *ucmd,
				 const struct itd_mode_ops *mode)
{
	struct iommu_testdev_cmd *cmd = ucmd->cmd;
	struct itd_dev *idev = ucmd->f->idev;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	mutex_lock(&idev->lock);
	rc = itd_require_mode(ucmd->f, mode);
	if (!rc)
		itd_mode_exit(idev);
	mutex_unlock(&idev->lock);
	return rc;
}

#endif /* _ITD_H */
