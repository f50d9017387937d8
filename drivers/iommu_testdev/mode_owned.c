// SPDX-License-Identifier: GPL-2.0
/*
 * OWNED mode: the driver claims DMA ownership of the device, attaches an
 * empty paging domain of its own, and maps exactly what the caller asks
 * for.  Everything else in the domain faults: that is what the fault tests
 * aim at.
 */
#include <linux/iommu.h>
#include <linux/slab.h>

#include "itd.h"

/**
 * itd_owned_attach() - IOMMU_TESTDEV_OWNED_ATTACH
 * @ucmd: the call: @ucmd->f is the calling file, which becomes the
 *        owner; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_owned_attach(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_owned_attach *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	struct device *dev = itd_to_dev(idev);
	struct iommu_domain *domain;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	mutex_lock(&idev->lock);
	rc = itd_require_mode(f, &itd_mode_dma_api);
	if (rc)
		goto out;
	/* iommu_attach_device() wants the group to itself. */
	rc = itd_iommu_isolated(dev);
	if (rc)
		goto out;
	/*
	 * The canary fill and the check are CPU accesses with no cache
	 * maintenance around the DMA, as iommufd assumes at bind.
	 */
	rc = -EOPNOTSUPP;
	if (!device_iommu_capable(dev, IOMMU_CAP_CACHE_COHERENCY))
		goto out;
	rc = iommu_device_claim_dma_owner(dev, f);
	if (rc)
		goto out;
	domain = iommu_paging_domain_alloc(dev);
	if (IS_ERR(domain)) {
		rc = PTR_ERR(domain);
		goto err_owner;
	}
	/* Buffers are whole CPU pages: the domain must map that finely. */
	rc = -EOPNOTSUPP;
	if (!domain->pgsize_bitmap ||
	    (1UL << __ffs(domain->pgsize_bitmap)) > PAGE_SIZE)
		goto err_domain;
	rc = iommu_attach_device(domain, dev);
	if (rc)
		goto err_domain;
	itd_resv_load(idev);
	idev->domain = domain;
	idev->mode = &itd_mode_owned;
	idev->owner = f;

	cmd->out_domain_type = itd_domain_type(domain);
	cmd->out_pgsize_bitmap = domain->pgsize_bitmap;
	cmd->out_aperture_start = domain->geometry.aperture_start;
	cmd->out_aperture_end = domain->geometry.aperture_end;
	mutex_unlock(&idev->lock);
	return 0;

err_domain:
	iommu_domain_free(domain);
err_owner:
	iommu_device_release_dma_owner(dev);
out:
	mutex_unlock(&idev->lock);
	return rc;
}

static void itd_map_drop(struct itd_dev *idev, struct itd_map *map)
{
	interval_tree_remove(&map->node, &idev->maps);
	idev->nr_maps--;
	map->buf->map_count--;
	itd_buf_put(map->buf);
	kfree(map);
}

/* Back to the default domain, mappings dropped (&itd_mode_ops.teardown). */
static void itd_owned_teardown(struct itd_dev *idev)
{
	struct device *dev = itd_to_dev(idev);
	struct interval_tree_node *node;

	lockdep_assert_held(&idev->lock);
	/* Detach first: the device is blocked before any table is freed. */
	iommu_detach_device(idev->domain, dev);
	iommu_domain_free(idev->domain);
	idev->domain = NULL;
	iommu_device_release_dma_owner(dev);
	while ((node = interval_tree_iter_first(&idev->maps, 0, U64_MAX)))
		itd_map_drop(idev, container_of(node, struct itd_map, node));
	itd_resv_drop(idev);
}

/**
 * itd_owned_detach() - IOMMU_TESTDEV_OWNED_DETACH
 * @ucmd: the call: @ucmd->f is the owner; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_owned_detach(struct itd_ucmd *ucmd)
{
	return itd_mode_leave(ucmd, &itd_mode_owned);
}

/* Map physically contiguous runs of the buffer's pages in one call each. */
static int itd_map_pages(struct itd_dev *idev, struct itd_buf *buf,
			 u64 offset, u64 len, u64 iova, int prot)
{
	unsigned long first = offset >> PAGE_SHIFT;
	unsigned long n = len >> PAGE_SHIFT;
	unsigned long i = 0, j;
	int rc;

	while (i < n) {
		unsigned long pfn = page_to_pfn(buf->pages[first + i]);

		for (j = i + 1; j < n; j++)
			if (page_to_pfn(buf->pages[first + j]) != pfn + (j - i))
				break;
		rc = iommu_map(idev->domain, iova + (i << PAGE_SHIFT),
			       PFN_PHYS(pfn), (j - i) << PAGE_SHIFT, prot,
			       GFP_KERNEL);
		if (rc) {
			if (i)
				iommu_unmap(idev->domain, iova,
					    i << PAGE_SHIFT);
			return rc;
		}
		i = j;
	}
	return 0;
}

/**
 * itd_owned_map() - IOMMU_TESTDEV_MAP
 * @ucmd: the call: @ucmd->f is the owner; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_owned_map(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_map *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	struct iommu_domain *domain;
	struct itd_buf *buf;
	struct itd_map *map;
	u64 last, end;
	int prot = 0;
	int rc;

	if (cmd->flags & ~(IOMMU_TESTDEV_MAP_READ | IOMMU_TESTDEV_MAP_WRITE))
		return -EOPNOTSUPP;
	if (!cmd->flags || cmd->__reserved || !cmd->length)
		return -EINVAL;
	if (!PAGE_ALIGNED(cmd->iova) || !PAGE_ALIGNED(cmd->length) ||
	    !PAGE_ALIGNED(cmd->buf_offset))
		return -EINVAL;
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last) ||
	    check_add_overflow(cmd->buf_offset, cmd->length, &end))
		return -EOVERFLOW;
	map = kzalloc(sizeof(*map), GFP_KERNEL);
	if (!map)
		return -ENOMEM;

	mutex_lock(&idev->lock);
	/*
	 * Look the buffer up under the lock BUF_FREE takes: a free that
	 * wins is ENOENT here, a MAP that wins makes the free EBUSY.
	 */
	buf = itd_buf_get(f, cmd->buf_id);
	rc = -ENOENT;
	if (!buf)
		goto err_unlock;
	rc = -EINVAL;
	if (end > buf->length)
		goto err_put;
	rc = itd_require_mode(f, &itd_mode_owned);
	if (rc)
		goto err_put;
	domain = idev->domain;
	rc = -EINVAL;
	if (cmd->iova < domain->geometry.aperture_start ||
	    last > domain->geometry.aperture_end)
		goto err_put;
	rc = itd_resv_check(idev, cmd->iova, cmd->length);
	if (rc)
		goto err_put;
	rc = -EEXIST;
	if (interval_tree_iter_first(&idev->maps, cmd->iova, last))
		goto err_put;
	rc = -ENOSPC;
	if (idev->nr_maps >= ITD_MAX_MAPS)
		goto err_put;

	if (cmd->flags & IOMMU_TESTDEV_MAP_READ)
		prot |= IOMMU_READ;
	if (cmd->flags & IOMMU_TESTDEV_MAP_WRITE)
		prot |= IOMMU_WRITE;
	/* Coherent: checked at attach. */
	prot |= IOMMU_CACHE;
	rc = itd_map_pages(idev, buf, cmd->buf_offset, cmd->length, cmd->iova,
			   prot);
	if (rc)
		goto err_put;

	map->node.start = cmd->iova;
	map->node.last = last;
	map->buf = buf;		/* keeps the reference taken above */
	map->offset = cmd->buf_offset;
	buf->map_count++;
	interval_tree_insert(&map->node, &idev->maps);
	idev->nr_maps++;
	mutex_unlock(&idev->lock);
	return 0;

err_put:
	itd_buf_put(buf);
err_unlock:
	mutex_unlock(&idev->lock);
	kfree(map);
	return rc;
}

/**
 * itd_owned_unmap() - IOMMU_TESTDEV_UNMAP
 * @ucmd: the call: @ucmd->f is the owner; @ucmd->cmd is the request,
 *        whose length returns the bytes unmapped
 *
 * Return: 0; -EIO when the IOMMU undid less than a mapping, which is then
 * kept with its buffer (part of it may still translate); or another
 * negative errno.
 */
int itd_owned_unmap(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_unmap *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_dev *idev = f->idev;
	struct interval_tree_node *node;
	u64 last, done = 0;
	int rc;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (!cmd->length)
		return -EINVAL;
	if (check_add_overflow(cmd->iova, cmd->length - 1, &last))
		return -EOVERFLOW;

	mutex_lock(&idev->lock);
	rc = itd_require_mode(f, &itd_mode_owned);
	if (rc)
		goto out;
	/* All or nothing: no mapping may stick out of the range. */
	rc = -ENOENT;
	for (node = interval_tree_iter_first(&idev->maps, cmd->iova, last);
	     node; node = interval_tree_iter_next(node, cmd->iova, last)) {
		if (node->start < cmd->iova || node->last > last) {
			rc = -EINVAL;
			goto out;
		}
		rc = 0;
	}
	if (rc)
		goto out;

	while ((node = interval_tree_iter_first(&idev->maps, cmd->iova,
						last))) {
		size_t size = node->last - node->start + 1;
		size_t got = iommu_unmap(idev->domain, node->start, size);

		if (got != size) {
			/*
			 * Some of it may still translate to the buffer's
			 * pages: the mapping, and with it the buffer and the
			 * IOVA, stays until the domain goes (teardown).
			 */
			dev_err(itd_to_dev(idev),
				"unmap of %zu bytes at %#lx undid %zu: mapping kept\n",
				size, node->start, got);
			rc = -EIO;
			break;
		}
		done += size;
		itd_map_drop(idev, container_of(node, struct itd_map, node));
	}
	cmd->length = done;
out:
	mutex_unlock(&idev->lock);
	return rc;
}

/*
 * A DMA in the OWNED mode goes wherever the caller aims it: the domain holds
 * only the caller's MAPs, so anything else faults.
 */
const struct itd_mode_ops itd_mode_owned = {
	.id = IOMMU_TESTDEV_MODE_OWNED,
	.name = "owned",
	.dma = itd_dma_translated,
	.teardown = itd_owned_teardown,
};
