/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel interfaces this driver uses that changed between Linux 6.12
 * (what CI builds against) and mainline.  Each shim names the release that
 * changed it; in a kernel tree only the newest branch stays.
 *
 * (MODULE_IMPORT_NS() took a bare token before 6.13 and takes a string
 * since; mode_iommufd.c spells the import as the MODULE_INFO() both expand
 * to instead.  iommu_domain_alloc(), gone in 6.13, is not used.)
 */
#ifndef _ITD_COMPAT_H
#define _ITD_COMPAT_H

#include <linux/version.h>

/* 6.15: iommufd device attach, replace and detach take a PASID. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 15, 0)
#define itd_ifd_attach(ifd, pt_id) \
	iommufd_device_attach(ifd, IOMMU_NO_PASID, pt_id)
#define itd_ifd_replace(ifd, pt_id) \
	iommufd_device_replace(ifd, IOMMU_NO_PASID, pt_id)
#define itd_ifd_detach(ifd) iommufd_device_detach(ifd, IOMMU_NO_PASID)
#else
#define itd_ifd_attach(ifd, pt_id) iommufd_device_attach(ifd, pt_id)
#define itd_ifd_replace(ifd, pt_id) iommufd_device_replace(ifd, pt_id)
#define itd_ifd_detach(ifd) iommufd_device_detach(ifd)
#endif

#endif /* _ITD_COMPAT_H */
