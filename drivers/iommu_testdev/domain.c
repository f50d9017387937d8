// SPDX-License-Identifier: GPL-2.0
/*
 * Plain helpers about the device's IOMMU: its group, its reserved regions,
 * the uAPI name of a domain type.  They call nothing else in the driver.
 */
#include <linux/iommu.h>

#include "itd.h"

/**
 * itd_domain_type() - the uAPI name of a domain's type
 * @domain: a domain, or NULL for a device without an IOMMU
 *
 * Return: an &enum iommu_testdev_domain_type.
 */
u32 itd_domain_type(struct iommu_domain *domain)
{
	if (!domain)
		return IOMMU_TESTDEV_DOMAIN_NONE;
	switch (domain->type) {
	case IOMMU_DOMAIN_BLOCKED:
		return IOMMU_TESTDEV_DOMAIN_BLOCKED;
	case IOMMU_DOMAIN_IDENTITY:
		return IOMMU_TESTDEV_DOMAIN_IDENTITY;
	case IOMMU_DOMAIN_DMA:
		return IOMMU_TESTDEV_DOMAIN_DMA;
	case IOMMU_DOMAIN_DMA_FQ:
		return IOMMU_TESTDEV_DOMAIN_DMA_FQ;
	case IOMMU_DOMAIN_UNMANAGED:
		return IOMMU_TESTDEV_DOMAIN_UNMANAGED;
	case IOMMU_DOMAIN_NESTED:
		return IOMMU_TESTDEV_DOMAIN_NESTED;
	default:
		return IOMMU_TESTDEV_DOMAIN_OTHER;
	}
}

/**
 * itd_resv_load() - note the device's reserved IOVA regions
 * @idev: the device, about to enter a translating mode
 *
 * Context: &itd_dev.lock held.
 * Return: 0.
 */
int itd_resv_load(struct itd_dev *idev)
{
	iommu_get_resv_regions(itd_to_dev(idev), &idev->resv);
	return 0;
}

void itd_resv_drop(struct itd_dev *idev)
{
	iommu_put_resv_regions(itd_to_dev(idev), &idev->resv);
	INIT_LIST_HEAD(&idev->resv);
}

/**
 * itd_resv_check() - keep DMA and mappings out of reserved regions
 * @idev: the device
 * @iova: first IOVA
 * @len: bytes, not 0, not wrapping
 *
 * MSI doorbells and interrupt ranges live there: a DMA write into them is an
 * interrupt, not a memory access.
 *
 * Return: 0, or -EADDRINUSE if the range meets a reserved region.
 */
int itd_resv_check(struct itd_dev *idev, u64 iova, u64 len)
{
	struct iommu_resv_region *r;
	u64 last = iova + len - 1;

	list_for_each_entry(r, &idev->resv, list) {
		u64 rlast = r->start + r->length - 1;

		if (r->length && iova <= rlast && r->start <= last)
			return -EADDRINUSE;
	}
	return 0;
}

static int itd_count_dev(struct device *dev, void *data)
{
	(*(int *)data)++;
	return 0;
}

/**
 * itd_group_devices() - how many devices share the device's IOMMU group
 * @dev: the device
 *
 * Return: the count, or 0 when the device has no IOMMU group.
 */
int itd_group_devices(struct device *dev)
{
	struct iommu_group *group = iommu_group_get(dev);
	int n = 0;

	if (!group)
		return 0;
	iommu_group_for_each_dev(group, &n, itd_count_dev);
	iommu_group_put(group);
	return n;
}

/**
 * itd_iommu_isolated() - may a translating mode take this device?
 * @dev: the device
 *
 * The OWNED and IOMMUFD modes fire DMA at addresses the caller names.  That
 * is safe only where an IOMMU translates every one of them, for this device
 * alone: an IOMMU driver manages the device (&device.iommu is set; VFIO's
 * no-IOMMU mode gives a device a group without one, and since Linux 7.0 a
 * kernel with CONFIG_IOMMUFD_NOIOMMU lets iommufd_device_bind() take a
 * device with neither), and its IOMMU group holds no other device.
 * Without this check, an IOVA would be a raw physical address.
 *
 * Return: 0, or -EOPNOTSUPP when the device has no IOMMU or shares its group.
 */
int itd_iommu_isolated(struct device *dev)
{
	if (!device_iommu_mapped(dev) || !dev->iommu)
		return -EOPNOTSUPP;
	if (itd_group_devices(dev) != 1)
		return -EOPNOTSUPP;
	return 0;
}
