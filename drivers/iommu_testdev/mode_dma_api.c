// SPDX-License-Identifier: GPL-2.0
/*
 * DMA_API mode: the device stays in its default domain and every DMA goes
 * through dma_map_sgtable() on the caller's own buffer.  The kernel picks
 * the IOVA; the device never reaches anything but that buffer.
 */
#include <linux/dma-mapping.h>
#include <linux/kmemleak.h>
#include <linux/scatterlist.h>

#include "itd.h"

struct itd_dma_map {
	struct sg_table sgt;
	dma_addr_t iova;
	enum dma_data_direction dir;
	bool mapped;
};

/* Map a byte range of a buffer as one DMA segment. */
static int itd_dma_map_range(struct device *dev, struct itd_buf *buf,
			     u64 offset, u32 len, enum dma_data_direction dir,
			     struct itd_dma_map *m)
{
	unsigned long first = offset >> PAGE_SHIFT;
	unsigned long last = (offset + len - 1) >> PAGE_SHIFT;
	int rc;

	rc = sg_alloc_table_from_pages(&m->sgt, buf->pages + first,
				       last - first + 1, offset_in_page(offset),
				       len, GFP_KERNEL);
	if (rc)
		return rc;
	rc = dma_map_sgtable(dev, &m->sgt, dir, 0);
	if (rc)
		goto err_free;
	/* Without an IOMMU, scattered pages stay scattered: one DMA can't. */
	if (m->sgt.nents != 1) {
		dma_unmap_sgtable(dev, &m->sgt, dir, 0);
		rc = -EINVAL;
		goto err_free;
	}
	m->iova = sg_dma_address(m->sgt.sgl);
	m->dir = dir;
	m->mapped = true;
	return 0;

err_free:
	sg_free_table(&m->sgt);
	return rc;
}

static void itd_dma_unmap_range(struct device *dev, struct itd_dma_map *m)
{
	if (!m->mapped)
		return;
	dma_unmap_sgtable(dev, &m->sgt, m->dir, 0);
	sg_free_table(&m->sgt);
	m->mapped = false;
}

/*
 * Replaying at an unmapped IOVA is safe only in a translating DMA domain
 * that serves this device alone: then nothing else can be handed that IOVA
 * meanwhile, and the pages stay ours until after the replay.  Without one
 * (no IOMMU, identity) the DMA API may have bounced the buffer through
 * swiotlb, whose slot is no longer ours once unmapped; an untrusted device
 * may be bounced even by iommu-dma.
 */
static bool itd_replay_safe(struct itd_dev *idev)
{
	struct device *dev = itd_to_dev(idev);
	struct iommu_domain *domain = iommu_get_domain_for_dev(dev);

	if (!domain || idev->pdev->untrusted)
		return false;
	if (domain->type != IOMMU_DOMAIN_DMA &&
	    domain->type != IOMMU_DOMAIN_DMA_FQ)
		return false;
	return itd_group_devices(dev) == 1;
}

/*
 * One DMA: map the caller's buffers with the DMA API, fire at the IOVAs it
 * gave, unmap, check the oracle; with F_REPLAY, fire once more at the
 * IOVA dma_unmap just gave back.
 */
static int itd_dma_api_map_fire(struct itd_dev *idev,
				const struct itd_dma_job *job)
{
	struct iommu_testdev_dma *cmd = job->cmd;
	struct itd_buf *dst = job->dst, *src = job->src;
	struct device *dev = itd_to_dev(idev);
	bool canary = cmd->flags & IOMMU_TESTDEV_DMA_F_CANARY;
	bool replay = cmd->flags & IOMMU_TESTDEV_DMA_F_REPLAY;
	bool copy = cmd->op == IOMMU_TESTDEV_DMA_COPY;
	struct itd_dma_map dm = {}, sm = {};
	struct itd_dma_req req = {
		.op = cmd->op,
		.len = cmd->length,
	};
	u32 result, replay_flags = 0;
	int rc;

	if (cmd->iova || cmd->src_iova || !dst)
		return -EINVAL;
	if (copy != !!src)
		return -EINVAL;
	if (replay && (copy || !itd_replay_safe(idev)))
		return -EOPNOTSUPP;

	/* CPU writes first: dma_map hands the memory to the device. */
	if (canary)
		itd_buf_fill(dst, 0, dst->length, IOMMU_TESTDEV_CANARY);
	rc = itd_dma_map_range(dev, dst, cmd->buf_offset, cmd->length,
			       DMA_FROM_DEVICE, &dm);
	if (rc)
		return rc;
	if (src) {
		rc = itd_dma_map_range(dev, src, cmd->src_offset, cmd->length,
				       DMA_TO_DEVICE, &sm);
		if (rc)
			goto out;
		req.src_iova = sm.iova;
	}
	req.iova = dm.iova;
	req.expect_phys = itd_buf_phys(dst, cmd->buf_offset, cmd->length);

	cmd->out_flags = 0;
	rc = itd_dma_fire(idev, &req, &cmd->out_result, &cmd->out_flags);
	if (rc < 0 && idev->stuck)
		goto keep;
	itd_dma_unmap_range(dev, &sm);
	itd_dma_unmap_range(dev, &dm);
	if (rc < 0)
		goto out;
	cmd->out_status = rc;
	cmd->out_iova = req.iova;
	cmd->out_src_iova = req.src_iova;
	cmd->out_flags |= itd_dma_check(job);
	rc = 0;

	if (replay) {
		/* The same DMA at the IOVA dma_unmap just gave back. */
		itd_buf_fill(dst, cmd->buf_offset, cmd->length,
			     IOMMU_TESTDEV_CANARY);
		rc = itd_dma_fire(idev, &req, &result, &replay_flags);
		if (rc < 0) {
			itd_dma_keep(idev, job);
			goto out;
		}
		if (rc == IOMMU_TESTDEV_STATUS_FAULT)
			cmd->out_flags |= IOMMU_TESTDEV_DMA_REPLAY_FAULT;
		if (itd_buf_check(dst, cmd->buf_offset, cmd->length, false,
				  NULL) & IOMMU_TESTDEV_DMA_LANDED)
			cmd->out_flags |= IOMMU_TESTDEV_DMA_REPLAY_LANDED;
		rc = 0;
	}
out:
	itd_dma_unmap_range(dev, &sm);
	itd_dma_unmap_range(dev, &dm);
	return rc;

keep:
	/*
	 * The device may still write at these IOVAs: leave them mapped to
	 * the caller's pages, and keep the pages (and the tables) for good.
	 */
	if (dm.mapped)
		kmemleak_not_leak(dm.sgt.sgl);
	if (sm.mapped)
		kmemleak_not_leak(sm.sgt.sgl);
	itd_dma_keep(idev, job);
	return rc;
}

const struct itd_mode_ops itd_mode_dma_api = {
	.id = IOMMU_TESTDEV_MODE_DMA_API,
	.name = "dma-api",
	.dma = itd_dma_api_map_fire,
};
