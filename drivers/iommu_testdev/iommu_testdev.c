// SPDX-License-Identifier: GPL-2.0
/*
 * iommu_testdev: fire DMA from an emulated PCI device at IOVAs a test
 * chooses, through the DMA API, a paging domain the driver owns, or the
 * caller's iommufd, and report where the bytes landed.
 *
 * This file binds the PCI devices, owns /dev/iommu_testdevN and holds the
 * ioctl table.  A DMA enters at itd_ioctl() and goes on in dma.c; the
 * device's mode (&itd_dev.mode) resolves its addresses, and its engine
 * (&itd_dev.ops) fires it.  itd.h lists the files from the top down.
 */
#include <linux/capability.h>
#include <linux/dma-mapping.h>
#include <linux/fs.h>
#include <linux/idr.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "itd.h"

#define PCI_VENDOR_ID_ITD	0x1b36	/* Red Hat, Inc. (QEMU) */
#define PCI_DEVICE_ID_ITD	0x0005	/* iommu-testdev; pci-testdev too */
#define PCI_VENDOR_ID_EDU	0x1234
#define PCI_DEVICE_ID_EDU	0x11e8

static DEFINE_IDA(itd_ida);

static void itd_dev_release(struct kref *ref)
{
	struct itd_dev *idev = container_of(ref, struct itd_dev, ref);

	if (idev->scratch)
		__free_pages(idev->scratch, get_order(idev->ops->max_len));
	ida_free(&itd_ida, idev->id);
	pci_dev_put(idev->pdev);
	mutex_destroy(&idev->lock);
	lockdep_unregister_key(&idev->lock_key);
	kfree(idev);
}

static void itd_dev_put(struct itd_dev *idev)
{
	kref_put(&idev->ref, itd_dev_release);
}

static int itd_get_info(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_info *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	struct device *dev = itd_to_dev(idev);
	struct iommu_group *group;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	mutex_lock(&idev->lock);
	if (idev->dead) {
		mutex_unlock(&idev->lock);
		return -ENODEV;
	}
	cmd->engine = idev->ops->engine;
	cmd->caps = idev->ops->caps;
	cmd->max_length = idev->ops->max_len;
	cmd->dma_mask_bits = idev->dma_bits;
	cmd->mode = idev->mode->id;
	cmd->domain_type = itd_domain_type(iommu_get_domain_for_dev(dev));
	cmd->default_domain_type = idev->default_type;
	cmd->pci_segment = pci_domain_nr(idev->pdev->bus);
	cmd->pci_rid = pci_dev_id(idev->pdev);
	cmd->page_size = PAGE_SIZE;
	cmd->pgsize_bitmap = idev->default_pgsize;
	cmd->aperture_start = idev->default_start;
	cmd->aperture_end = idev->default_end;
	cmd->buf_budget = ITD_BUF_BUDGET;
	group = iommu_group_get(dev);
	cmd->group_id = group ? iommu_group_id(group) : -1;
	iommu_group_put(group);
	if (!itd_iommu_isolated(dev)) {
		cmd->caps |= IOMMU_TESTDEV_CAP_OWNED;
		if (IS_ENABLED(CONFIG_IOMMUFD))
			cmd->caps |= IOMMU_TESTDEV_CAP_IOMMUFD;
	}
	mutex_unlock(&idev->lock);
	return 0;
}

/*
 * The ioctl table.  @size is the kernel's struct, @min_size the first
 * release of it: a caller's struct may be anywhere from @min_size up.
 * Every handler has the one type of &itd_ioctl.fn, called without a cast;
 * the buffer below must hold each struct, which ITD_IOCTL() checks at
 * build time.
 */
union itd_ucmd_buf {
	struct iommu_testdev_info info;
	struct iommu_testdev_buf_alloc buf_alloc;
	struct iommu_testdev_buf_free buf_free;
	struct iommu_testdev_dma dma;
	struct iommu_testdev_owned_attach owned_attach;
	struct iommu_testdev_cmd cmd;
	struct iommu_testdev_map map;
	struct iommu_testdev_unmap unmap;
	struct iommu_testdev_iommufd_bind bind;
	struct iommu_testdev_iommufd_attach attach;
};

struct itd_ioctl {
	unsigned int size;
	unsigned int min_size;
	int (*fn)(struct itd_ucmd *ucmd);
};

#define ITD_IOCTL(_ioctl, _fn, _struct, _last)				\
	[_IOC_NR(_ioctl)] = {						\
		.size = sizeof(_struct) +				\
			BUILD_BUG_ON_ZERO(sizeof(union itd_ucmd_buf) <	\
					  sizeof(_struct)),		\
		.min_size = offsetofend(_struct, _last),		\
		.fn = _fn,						\
	}

static const struct itd_ioctl itd_ioctls[] = {
	ITD_IOCTL(IOMMU_TESTDEV_GET_INFO, itd_get_info,
		  struct iommu_testdev_info, aperture_end),
	ITD_IOCTL(IOMMU_TESTDEV_BUF_ALLOC, itd_buf_alloc,
		  struct iommu_testdev_buf_alloc, out_mmap_offset),
	ITD_IOCTL(IOMMU_TESTDEV_BUF_FREE, itd_buf_free,
		  struct iommu_testdev_buf_free, __reserved),
	ITD_IOCTL(IOMMU_TESTDEV_DMA, itd_dma,
		  struct iommu_testdev_dma, __reserved),
	ITD_IOCTL(IOMMU_TESTDEV_OWNED_ATTACH, itd_owned_attach,
		  struct iommu_testdev_owned_attach, out_aperture_end),
	ITD_IOCTL(IOMMU_TESTDEV_OWNED_DETACH, itd_owned_detach,
		  struct iommu_testdev_cmd, flags),
	ITD_IOCTL(IOMMU_TESTDEV_MAP, itd_owned_map,
		  struct iommu_testdev_map, iova),
	ITD_IOCTL(IOMMU_TESTDEV_UNMAP, itd_owned_unmap,
		  struct iommu_testdev_unmap, length),
	ITD_IOCTL(IOMMU_TESTDEV_IOMMUFD_BIND, itd_iommufd_bind,
		  struct iommu_testdev_iommufd_bind, out_dev_id),
	ITD_IOCTL(IOMMU_TESTDEV_IOMMUFD_ATTACH, itd_iommufd_attach,
		  struct iommu_testdev_iommufd_attach, __reserved),
	ITD_IOCTL(IOMMU_TESTDEV_IOMMUFD_DETACH, itd_iommufd_detach,
		  struct iommu_testdev_cmd, flags),
	ITD_IOCTL(IOMMU_TESTDEV_IOMMUFD_UNBIND, itd_iommufd_unbind,
		  struct iommu_testdev_cmd, flags),
};

static long itd_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct itd_file *f = file->private_data;
	void __user *uarg = (void __user *)arg;
	const struct itd_ioctl *op;
	union itd_ucmd_buf buf;
	struct itd_ucmd ucmd = { .f = f, .cmd = &buf };
	unsigned int nr;
	u32 usize;
	int rc;

	if (_IOC_TYPE(cmd) != IOMMU_TESTDEV_TYPE || _IOC_DIR(cmd) != _IOC_NONE ||
	    _IOC_SIZE(cmd))
		return -ENOTTY;
	nr = _IOC_NR(cmd);
	if (nr >= ARRAY_SIZE(itd_ioctls) || !itd_ioctls[nr].fn)
		return -ENOTTY;
	op = &itd_ioctls[array_index_nospec(nr, ARRAY_SIZE(itd_ioctls))];

	if (get_user(usize, (u32 __user *)uarg))
		return -EFAULT;
	if (usize < op->min_size)
		return -EINVAL;
	if (usize > PAGE_SIZE)
		return -E2BIG;
	rc = copy_struct_from_user(&buf, op->size, uarg, usize);
	if (rc)
		return rc;

	rc = op->fn(&ucmd);
	if (rc)
		return rc;
	if (copy_to_user(uarg, &buf, min_t(u32, usize, op->size)))
		return -EFAULT;
	return 0;
}

static int itd_open(struct inode *inode, struct file *file)
{
	struct itd_dev *idev = container_of(file->private_data,
					    struct itd_dev, misc);
	struct itd_file *f;

	/* DMA at chosen addresses: raw I/O, whatever the node's mode says. */
	if (!capable(CAP_SYS_RAWIO))
		return -EPERM;
	f = kzalloc(sizeof(*f), GFP_KERNEL);
	if (!f)
		return -ENOMEM;
	/* Id 0 is IOMMU_TESTDEV_BUF_NONE: a zeroed field names no buffer. */
	xa_init_flags(&f->bufs, XA_FLAGS_ALLOC1);
	atomic64_set(&f->buf_bytes, 0);
	kref_get(&idev->ref);
	f->idev = idev;
	file->private_data = f;
	return 0;
}

static int itd_release(struct inode *inode, struct file *file)
{
	struct itd_file *f = file->private_data;
	struct itd_dev *idev = f->idev;

	mutex_lock(&idev->lock);
	if (idev->owner == f)
		itd_mode_exit(idev);
	mutex_unlock(&idev->lock);
	itd_buf_free_all(f);
	xa_destroy(&f->bufs);
	kfree(f);
	itd_dev_put(idev);
	return 0;
}

static int itd_mmap(struct file *file, struct vm_area_struct *vma)
{
	return itd_buf_mmap(file->private_data, vma);
}

static const struct file_operations itd_fops = {
	.owner = THIS_MODULE,
	.open = itd_open,
	.release = itd_release,
	.unlocked_ioctl = itd_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = itd_mmap,
	.llseek = noop_llseek,
};

static const struct itd_engine_ops *itd_engine_of(struct pci_dev *pdev)
{
	if (pdev->vendor == PCI_VENDOR_ID_EDU)
		return &itd_engine_edu;
	return &itd_engine_testdev;
}

static void itd_note_default_domain(struct itd_dev *idev)
{
	struct iommu_domain *domain;

	domain = iommu_get_domain_for_dev(itd_to_dev(idev));
	idev->default_type = itd_domain_type(domain);
	if (domain && (domain->type & __IOMMU_DOMAIN_PAGING)) {
		idev->default_pgsize = domain->pgsize_bitmap;
		idev->default_start = domain->geometry.aperture_start;
		idev->default_end = domain->geometry.aperture_end;
	}
}

static int itd_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct itd_dev *idev;
	int rc;

	if (!itd_engine_of(pdev)->match(pdev))
		return -ENODEV;

	idev = kzalloc(sizeof(*idev), GFP_KERNEL);
	if (!idev)
		return -ENOMEM;
	kref_init(&idev->ref);
	/*
	 * A class per device: a bus reset holds the lock of every device on
	 * the bus from reset_prepare to reset_done, one after the other.
	 */
	lockdep_register_key(&idev->lock_key);
	__mutex_init(&idev->lock, "itd_dev.lock", &idev->lock_key);
	INIT_LIST_HEAD(&idev->resv);
	idev->maps = RB_ROOT_CACHED;
	idev->mode = &itd_mode_dma_api;
	idev->pdev = pci_dev_get(pdev);
	idev->ops = itd_engine_of(pdev);
	idev->dma_bits = 64;
	rc = ida_alloc(&itd_ida, GFP_KERNEL);
	if (rc < 0) {
		pci_dev_put(pdev);
		mutex_destroy(&idev->lock);
		lockdep_unregister_key(&idev->lock_key);
		kfree(idev);
		return rc;
	}
	idev->id = rc;
	/* The device may compare a whole DMA's length against it. */
	idev->scratch = alloc_pages(GFP_KERNEL | __GFP_ZERO,
				    get_order(idev->ops->max_len));
	if (!idev->scratch) {
		rc = -ENOMEM;
		goto err_put;
	}

	rc = pcim_enable_device(pdev);
	if (rc)
		goto err_put;
	idev->regs = pcim_iomap_region(pdev, 0, KBUILD_MODNAME);
	if (IS_ERR(idev->regs)) {
		rc = PTR_ERR(idev->regs);
		goto err_put;
	}
	/* Bus mastering is the engine's: it knows what may still be pending. */
	dma_set_max_seg_size(&pdev->dev, UINT_MAX);

	rc = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (rc)
		goto err_put;
	snprintf(idev->name, sizeof(idev->name), "iommu_testdev%d", idev->id);
	rc = idev->ops->probe(idev);
	if (rc)
		goto err_put;
	itd_note_default_domain(idev);

	idev->misc.minor = MISC_DYNAMIC_MINOR;
	idev->misc.name = idev->name;
	idev->misc.fops = &itd_fops;
	idev->misc.parent = &pdev->dev;
	idev->misc.mode = 0600;
	rc = misc_register(&idev->misc);
	if (rc)
		goto err_engine;

	pci_set_drvdata(pdev, idev);
	pci_info(pdev, "%s engine, /dev/%s, %u-bit DMA\n", idev->ops->name,
		 idev->name, idev->dma_bits);
	return 0;

err_engine:
	idev->ops->remove(idev);
err_put:
	itd_dev_put(idev);
	return rc;
}

static void itd_remove(struct pci_dev *pdev)
{
	struct itd_dev *idev = pci_get_drvdata(pdev);

	misc_deregister(&idev->misc);
	mutex_lock(&idev->lock);
	itd_mode_exit(idev);
	idev->dead = true;
	idev->ops->remove(idev);
	mutex_unlock(&idev->lock);
	pci_clear_master(pdev);
	itd_dev_put(idev);
}

/*
 * A function or bus reset (sysfs "reset", VFIO-style users, a hot-plug
 * slot's reset) clears the device's registers: keep DMAs out from
 * prepare to done, and let the engine forget what it wrote before.
 */
static void itd_reset_prepare(struct pci_dev *pdev)
{
	struct itd_dev *idev = pci_get_drvdata(pdev);

	mutex_lock(&idev->lock);
}

static void itd_reset_done(struct pci_dev *pdev)
{
	struct itd_dev *idev = pci_get_drvdata(pdev);

	if (idev->ops->reset_done)
		idev->ops->reset_done(idev);
	mutex_unlock(&idev->lock);
}

static const struct pci_error_handlers itd_err_handlers = {
	.reset_prepare = itd_reset_prepare,
	.reset_done = itd_reset_done,
};

/* A system sleep may have powered the device off: the same, afterwards. */
static int itd_resume(struct device *dev)
{
	struct pci_dev *pdev = to_pci_dev(dev);

	itd_reset_prepare(pdev);
	itd_reset_done(pdev);
	return 0;
}

static DEFINE_SIMPLE_DEV_PM_OPS(itd_pm_ops, NULL, itd_resume);

/*
 * iommu-testdev and pci-testdev share vendor, device, revision and class:
 * the engine's probe tells them apart by their BARs.
 */
static const struct pci_device_id itd_pci_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_ITD, PCI_DEVICE_ID_ITD) },
	{ PCI_DEVICE(PCI_VENDOR_ID_EDU, PCI_DEVICE_ID_EDU) },
	{ }
};
MODULE_DEVICE_TABLE(pci, itd_pci_ids);

static struct pci_driver itd_pci_driver = {
	.name = KBUILD_MODNAME,
	.id_table = itd_pci_ids,
	.probe = itd_probe,
	.remove = itd_remove,
	.err_handler = &itd_err_handlers,
	.driver.pm = pm_sleep_ptr(&itd_pm_ops),
	/* The driver moves the device between domains itself. */
	.driver_managed_dma = true,
};
module_pci_driver(itd_pci_driver);

MODULE_DESCRIPTION("DMA test driver for QEMU iommu-testdev and edu");
MODULE_LICENSE("GPL");
