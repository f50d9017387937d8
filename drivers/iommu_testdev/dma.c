// SPDX-License-Identifier: GPL-2.0
/*
 * The DMA pipeline, top-down: itd_dma() takes IOMMU_TESTDEV_DMA, checks
 * what it can without the device, looks up the buffers and snapshots a
 * COPY's source; the device's mode (&itd_mode_ops.dma) resolves the
 * addresses: itd_dma_translated() below for a translating mode, the DMA
 * API's own in mode_dma_api.c.  Either fires the engine with
 * itd_dma_fire() and lets the CPU look at the oracle with itd_dma_check().
 */
#include <linux/kmemleak.h>
#include <linux/mm.h>
#include <linux/slab.h>

#include "itd.h"

/**
 * itd_dma() - IOMMU_TESTDEV_DMA: validate, then let the mode resolve it
 * @ucmd: the call: @ucmd->f is the calling file; @ucmd->cmd is the
 *        request, whose out_* fields are filled
 *
 * Return: 0 when the DMA ran (its verdict is in @cmd), else a negative errno.
 */
int itd_dma(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_dma *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	bool canary = cmd->flags & IOMMU_TESTDEV_DMA_F_CANARY;
	struct itd_buf *dst = NULL, *src = NULL;
	struct itd_dma_job job = { .cmd = cmd };
	u8 *want = NULL;
	int rc;

	if (cmd->flags & ~(IOMMU_TESTDEV_DMA_F_CANARY |
			   IOMMU_TESTDEV_DMA_F_REPLAY))
		return -EOPNOTSUPP;
	if (cmd->op != IOMMU_TESTDEV_DMA_WRITE &&
	    cmd->op != IOMMU_TESTDEV_DMA_COPY)
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_TESTDEV_DMA_COPY &&
	    !(idev->ops->caps & IOMMU_TESTDEV_CAP_COPY))
		return -EOPNOTSUPP;
	if (cmd->op == IOMMU_TESTDEV_DMA_WRITE &&
	    !(idev->ops->caps & IOMMU_TESTDEV_CAP_WRITE))
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;
	if (!cmd->length || cmd->length > idev->ops->max_len)
		return -EINVAL;
	if (cmd->op != IOMMU_TESTDEV_DMA_COPY &&
	    (cmd->src_buf_id != IOMMU_TESTDEV_BUF_NONE || cmd->src_offset))
		return -EINVAL;

	if (cmd->buf_id != IOMMU_TESTDEV_BUF_NONE) {
		dst = itd_buf_get(f, cmd->buf_id);
		if (!dst)
			return -ENOENT;
		rc = itd_buf_range(dst, cmd->buf_offset, cmd->length);
		if (rc)
			goto out;
	} else if (cmd->buf_offset) {
		return -EINVAL;
	}
	if (cmd->src_buf_id != IOMMU_TESTDEV_BUF_NONE) {
		/* Without a landing place there is nothing to compare with. */
		rc = -EINVAL;
		if (!dst)
			goto out;
		src = itd_buf_get(f, cmd->src_buf_id);
		rc = -ENOENT;
		if (!src)
			goto out;
		rc = itd_buf_range(src, cmd->src_offset, cmd->length);
		if (rc)
			goto out;
		/*
		 * Nothing the device reads may be what it writes, nor what
		 * the canary fill overwrites: the source is snapshotted
		 * before the DMA and must not change under it.
		 */
		rc = -EINVAL;
		if (src == dst)
			goto out;
		rc = itd_buf_share(dst, canary ? 0 : cmd->buf_offset,
				   canary ? dst->length : cmd->length,
				   src, cmd->src_offset, cmd->length);
		if (rc) {
			rc = rc < 0 ? rc : -EINVAL;
			goto out;
		}
		/* The expected bytes; allocated before anything fires. */
		rc = -ENOMEM;
		want = kvmalloc(cmd->length, GFP_KERNEL);
		if (!want)
			goto out;
		itd_buf_read(src, cmd->src_offset, cmd->length, want);
	} else if (cmd->src_offset) {
		rc = -EINVAL;
		goto out;
	}

	mutex_lock(&idev->lock);
	rc = -ENODEV;
	if (idev->dead)
		goto unlock;
	/* Off the bus after a DMA it never finished (itd_dma_keep()). */
	rc = -EIO;
	if (idev->stuck)
		goto unlock;
	rc = -EBUSY;
	if (idev->owner && idev->owner != f)
		goto unlock;
	job.dst = dst;
	job.src = src;
	job.want = want;
	rc = idev->mode->dma(idev, &job);
unlock:
	mutex_unlock(&idev->lock);
out:
	kvfree(want);
	if (src)
		itd_buf_put(src);
	if (dst)
		itd_buf_put(dst);
	return rc;
}

/**
 * itd_dma_translated() - one DMA at the IOVAs the caller names
 * @idev: the device, in a translating mode (OWNED, IOMMUFD)
 * @job: the DMA
 *
 * The &itd_mode_ops.dma of the translating modes: whatever the domain maps
 * at those IOVAs is what the device reaches, and @job->dst is only where
 * the caller expects the bytes.
 *
 * Context: &itd_dev.lock held.
 * Return: 0 when the DMA ran (its verdict is in @job->cmd), else a negative
 * errno.
 */
int itd_dma_translated(struct itd_dev *idev, const struct itd_dma_job *job)
{
	struct iommu_testdev_dma *cmd = job->cmd;
	struct itd_buf *dst = job->dst;
	u64 mask = DMA_BIT_MASK(idev->dma_bits);
	bool canary = cmd->flags & IOMMU_TESTDEV_DMA_F_CANARY;
	struct itd_dma_req req = {
		.op = cmd->op,
		.len = cmd->length,
		.iova = cmd->iova,
		.src_iova = cmd->src_iova,
	};
	u64 last;
	int rc;

	if (cmd->flags & IOMMU_TESTDEV_DMA_F_REPLAY)
		return -EINVAL;
	/* Checked on entry to the mode too: never DMA at a raw address. */
	rc = itd_iommu_isolated(itd_to_dev(idev));
	if (rc)
		return rc;
	if (cmd->op != IOMMU_TESTDEV_DMA_COPY && cmd->src_iova)
		return -EINVAL;
	if (check_add_overflow(cmd->iova, (u64)cmd->length - 1, &last))
		return -EOVERFLOW;
	if (last > mask)
		return -EINVAL;
	rc = itd_resv_check(idev, cmd->iova, cmd->length);
	if (rc)
		return rc;
	if (cmd->op == IOMMU_TESTDEV_DMA_COPY) {
		if (check_add_overflow(cmd->src_iova, (u64)cmd->length - 1,
				       &last))
			return -EOVERFLOW;
		if (last > mask)
			return -EINVAL;
		rc = itd_resv_check(idev, cmd->src_iova, cmd->length);
		if (rc)
			return rc;
	}

	if (dst) {
		req.expect_phys = itd_buf_phys(dst, cmd->buf_offset,
					       cmd->length);
		if (canary)
			itd_buf_fill(dst, 0, dst->length, IOMMU_TESTDEV_CANARY);
	}
	cmd->out_flags = 0;
	rc = itd_dma_fire(idev, &req, &cmd->out_result, &cmd->out_flags);
	if (rc < 0) {
		itd_dma_keep(idev, job);
		return rc;
	}
	cmd->out_status = rc;
	cmd->out_iova = req.iova;
	cmd->out_src_iova = req.src_iova;
	if (dst)
		cmd->out_flags |= itd_dma_check(job);
	return 0;
}

/**
 * itd_dma_fire() - run one DMA on the engine and read the device's verdict
 * @idev: the device
 * @req: the DMA; a zero @req->expect_phys is replaced by the scratch page
 * @result: the raw device result
 * @flags: IOMMU_TESTDEV_DMA_DEV_VERIFIED is added when the device itself
 *         compared the landing place with @req->expect_phys
 *
 * Context: &itd_dev.lock held.
 * Return: an &enum iommu_testdev_dma_status, or a negative errno.
 */
int itd_dma_fire(struct itd_dev *idev, struct itd_dma_req *req, u32 *result,
		 u32 *flags)
{
	bool known = req->expect_phys != 0;
	int status;

	lockdep_assert_held(&idev->lock);
	if (!known)
		req->expect_phys = page_to_phys(idev->scratch);
	status = idev->ops->dma(idev, req, result);
	if (!known)
		req->expect_phys = 0;
	if (status < 0)
		return status;
	/*
	 * Without a known landing place the device compared against the
	 * scratch page: a mismatch then only says the write went through.
	 */
	if (!known && status == IOMMU_TESTDEV_STATUS_MISMATCH)
		status = IOMMU_TESTDEV_STATUS_OK;
	/* Only a DMA that got through reaches the device's compare step. */
	if (known && (idev->ops->caps & IOMMU_TESTDEV_CAP_DEV_VERIFY) &&
	    (status == IOMMU_TESTDEV_STATUS_OK ||
	     status == IOMMU_TESTDEV_STATUS_MISMATCH))
		*flags |= IOMMU_TESTDEV_DMA_DEV_VERIFIED;
	return status;
}

/**
 * itd_dma_check() - the CPU's look at the oracle after a DMA
 * @job: the DMA; @job->dst must be set
 *
 * Return: IOMMU_TESTDEV_DMA_* out flags.
 */
u32 itd_dma_check(const struct itd_dma_job *job)
{
	struct iommu_testdev_dma *cmd = job->cmd;
	bool canary = cmd->flags & IOMMU_TESTDEV_DMA_F_CANARY;

	return itd_buf_check(job->dst, cmd->buf_offset, cmd->length, canary,
			     job->want);
}

/**
 * itd_dma_keep() - keep the memory of a DMA the device may still carry out
 * @idev: the device
 * @job: the DMA that just failed
 *
 * When the engine gave up on a DMA it could not stop (&itd_dev.stuck),
 * the buffers it aimed at are never freed: each gets a reference that is
 * never dropped (and kmemleak is told so).  The engine has cut the device
 * off the bus already; this keeps the pages too, should a late write get
 * through anyway.
 *
 * Context: &itd_dev.lock held.
 */
void itd_dma_keep(struct itd_dev *idev, const struct itd_dma_job *job)
{
	lockdep_assert_held(&idev->lock);
	if (!idev->stuck)
		return;
	if (job->dst) {
		kref_get(&job->dst->ref);
		kmemleak_not_leak(job->dst);
	}
	if (job->src) {
		kref_get(&job->src->ref);
		kmemleak_not_leak(job->src);
	}
	pci_warn(idev->pdev, "keeping the buffers of a stuck DMA (leaked)\n");
}
