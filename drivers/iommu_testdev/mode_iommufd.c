// SPDX-License-Identifier: GPL-2.0
/*
 * IOMMUFD mode: the caller owns the address space through /dev/iommu, as a
 * VMM does; the driver binds the device to that iommufd in the kernel and
 * attaches it to the IOAS or HWPT the caller names.  The oracle of a DMA is
 * a buffer the driver pinned itself from the same user memory.
 */
#include <linux/file.h>
#include <linux/iommufd.h>
#include <linux/module.h>

#include "compat.h"
#include "itd.h"

/* MODULE_IMPORT_NS(IOMMUFD) in 6.12, MODULE_IMPORT_NS("IOMMUFD") since. */
MODULE_INFO(import_ns, "IOMMUFD");

/**
 * itd_iommufd_bind() - IOMMU_TESTDEV_IOMMUFD_BIND
 * @ucmd: the call: @ucmd->f is the calling file, which becomes the
 *        owner; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_iommufd_bind(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_iommufd_bind *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	struct iommufd_device *ifd;
	struct iommufd_ctx *ictx;
	u32 id;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->iommufd < 0)
		return -EBADF;
	ictx = iommufd_ctx_from_fd(cmd->iommufd);
	if (IS_ERR(ictx))
		return PTR_ERR(ictx);

	mutex_lock(&idev->lock);
	rc = itd_require_mode(f, &itd_mode_dma_api);
	if (rc)
		goto out;
	/* iommufd may bind a device without an IOMMU (IOMMUFD_NOIOMMU). */
	rc = itd_iommu_isolated(itd_to_dev(idev));
	if (rc)
		goto out;
	ifd = iommufd_device_bind(ictx, itd_to_dev(idev), &id);
	if (IS_ERR(ifd)) {
		rc = PTR_ERR(ifd);
		goto out;
	}
	itd_resv_load(idev);
	idev->ifd = ifd;
	idev->ifd_attached = false;
	idev->mode = &itd_mode_iommufd;
	idev->owner = f;
	cmd->out_dev_id = id;
out:
	mutex_unlock(&idev->lock);
	/* A bound device holds its own reference on the context. */
	iommufd_ctx_put(ictx);
	return rc;
}

/**
 * itd_iommufd_attach() - IOMMU_TESTDEV_IOMMUFD_ATTACH
 * @ucmd: the call: @ucmd->f is the owner; @ucmd->cmd is the request,
 *        whose pt_id returns the attached HWPT
 *
 * Return: 0 or a negative errno.
 */
int itd_iommufd_attach(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_iommufd_attach *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	bool replace = cmd->flags & IOMMU_TESTDEV_ATTACH_REPLACE;
	u32 pt_id = cmd->pt_id;
	int rc;

	if (cmd->flags & ~IOMMU_TESTDEV_ATTACH_REPLACE)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	mutex_lock(&idev->lock);
	rc = itd_require_mode(f, &itd_mode_iommufd);
	if (rc)
		goto out;
	/* Attach needs a detached device, replace an attached one. */
	rc = -EINVAL;
	if (replace != idev->ifd_attached)
		goto out;
	if (replace)
		rc = itd_ifd_replace(idev->ifd, &pt_id);
	else
		rc = itd_ifd_attach(idev->ifd, &pt_id);
	if (rc)
		goto out;
	idev->ifd_attached = true;
	cmd->pt_id = pt_id;
out:
	mutex_unlock(&idev->lock);
	return rc;
}

static void itd_iommufd_do_detach(struct itd_dev *idev)
{
	if (idev->ifd_attached)
		itd_ifd_detach(idev->ifd);
	idev->ifd_attached = false;
}

/**
 * itd_iommufd_detach() - IOMMU_TESTDEV_IOMMUFD_DETACH: the device is
 * blocked until the next attach
 * @ucmd: the call: @ucmd->f is the owner; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_iommufd_detach(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_cmd *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	mutex_lock(&idev->lock);
	rc = itd_require_mode(f, &itd_mode_iommufd);
	if (!rc && !idev->ifd_attached)
		rc = -EINVAL;
	if (!rc)
		itd_iommufd_do_detach(idev);
	mutex_unlock(&idev->lock);
	return rc;
}

/* Detach, unbind, back to the default domain (&itd_mode_ops.teardown). */
static void itd_iommufd_teardown(struct itd_dev *idev)
{
	lockdep_assert_held(&idev->lock);
	itd_iommufd_do_detach(idev);
	iommufd_device_unbind(idev->ifd);
	idev->ifd = NULL;
	itd_resv_drop(idev);
}

/**
 * itd_iommufd_unbind() - IOMMU_TESTDEV_IOMMUFD_UNBIND
 * @ucmd: the call: @ucmd->f is the owner; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_iommufd_unbind(struct itd_ucmd *ucmd)
{
	return itd_mode_leave(ucmd, &itd_mode_iommufd);
}

/* A DMA in the IOMMUFD mode goes through the caller's IOAS or HWPT. */
const struct itd_mode_ops itd_mode_iommufd = {
	.id = IOMMU_TESTDEV_MODE_IOMMUFD,
	.name = "iommufd",
	.dma = itd_dma_translated,
	.teardown = itd_iommufd_teardown,
};
