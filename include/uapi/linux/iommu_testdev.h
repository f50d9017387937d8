/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * iommu_testdev: drive a DMA test device through the kernel's IOMMU stack.
 *
 * This header is the single source of truth for the ioctl ABI of
 * /dev/iommu_testdevN.  The driver and the selftests both include it.
 */
#ifndef _UAPI_LINUX_IOMMU_TESTDEV_H
#define _UAPI_LINUX_IOMMU_TESTDEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * DOC: General ioctl format
 *
 * Every ioctl takes a pointer to a structure whose first __u32 is @size, the
 * number of bytes userspace passes.  The kernel copies min(@size, its own
 * struct size) bytes.  A @size smaller than the first release of the struct
 * is rejected with EINVAL; bytes beyond what the kernel knows must be zero
 * (else E2BIG).  Output fields are written back only up to @size.  Fields
 * named __reserved must be zero; unknown bits in @flags give EOPNOTSUPP.
 *
 * Common errnos:
 *
 *  - ENOTTY: the ioctl number is unknown.
 *  - E2BIG: non-zero bytes past the end of the struct the kernel knows.
 *  - EOPNOTSUPP: an unknown flag or op, or an operation the device, the
 *    engine or the kernel cannot do.
 *  - EINVAL: a field is out of range or misaligned, or a reserved field is
 *    set.
 *  - EOVERFLOW: an address plus a length wraps.
 *  - ENOENT: an unknown buffer id, or no mapping in an UNMAP range.
 *  - EEXIST: a MAP range overlaps an existing mapping.
 *  - EBUSY: another file owns the device, or the object is in use.
 *  - ENODEV: the device was unplugged.  Buffers can still be freed and
 *    their mmap()s stay usable; close() releases everything.
 *  - EPERM: open() without CAP_SYS_RAWIO; IOMMUFD_BIND where iommufd
 *    refuses the device (no MSI isolation, or the DMA API owns it).
 */

/* Documentation/userspace-api/ioctl/ioctl-number.rst: 0xB9 00-0F */
#define IOMMU_TESTDEV_TYPE 0xB9

enum {
	IOMMU_TESTDEV_CMD_GET_INFO = 0x00,
	IOMMU_TESTDEV_CMD_BUF_ALLOC = 0x01,
	IOMMU_TESTDEV_CMD_BUF_FREE = 0x02,
	IOMMU_TESTDEV_CMD_DMA = 0x03,
	IOMMU_TESTDEV_CMD_OWNED_ATTACH = 0x04,
	IOMMU_TESTDEV_CMD_OWNED_DETACH = 0x05,
	IOMMU_TESTDEV_CMD_MAP = 0x06,
	IOMMU_TESTDEV_CMD_UNMAP = 0x07,
	IOMMU_TESTDEV_CMD_IOMMUFD_BIND = 0x08,
	IOMMU_TESTDEV_CMD_IOMMUFD_ATTACH = 0x09,
	IOMMU_TESTDEV_CMD_IOMMUFD_DETACH = 0x0a,
	IOMMU_TESTDEV_CMD_IOMMUFD_UNBIND = 0x0b,
};

/* The engines: which emulated device does the DMA. */
enum iommu_testdev_engine {
	IOMMU_TESTDEV_ENGINE_ITD = 1,	/* QEMU iommu-testdev, 1b36:0005 */
	IOMMU_TESTDEV_ENGINE_EDU = 2,	/* QEMU edu, 1234:11e8 */
};

/* Who translates the device's DMA right now. */
enum iommu_testdev_mode {
	IOMMU_TESTDEV_MODE_DMA_API = 0,	/* the default domain, via the DMA API */
	IOMMU_TESTDEV_MODE_OWNED = 1,	/* a paging domain owned by the driver */
	IOMMU_TESTDEV_MODE_IOMMUFD = 2,	/* bound to a user iommufd */
};

/* Type of the domain the device is attached to. */
enum iommu_testdev_domain_type {
	IOMMU_TESTDEV_DOMAIN_NONE = 0,	/* the device has no IOMMU */
	IOMMU_TESTDEV_DOMAIN_BLOCKED = 1,
	IOMMU_TESTDEV_DOMAIN_IDENTITY = 2,
	IOMMU_TESTDEV_DOMAIN_DMA = 3,	/* strict DMA-API domain */
	IOMMU_TESTDEV_DOMAIN_DMA_FQ = 4,	/* lazy (flush queue) DMA-API domain */
	IOMMU_TESTDEV_DOMAIN_UNMANAGED = 5,
	IOMMU_TESTDEV_DOMAIN_NESTED = 6,
	IOMMU_TESTDEV_DOMAIN_OTHER = 7,
};

/* Capabilities reported by GET_INFO. */
#define IOMMU_TESTDEV_CAP_WRITE		(1U << 0) /* device writes memory */
#define IOMMU_TESTDEV_CAP_COPY		(1U << 1) /* device reads memory */
#define IOMMU_TESTDEV_CAP_DEV_VERIFY	(1U << 2) /* device checks the oracle */
#define IOMMU_TESTDEV_CAP_FAULT_STATUS	(1U << 3) /* device reports faults */
/*
 * OWNED: an IOMMU translates the device's DMA and its IOMMU group holds no
 * other device.  IOMMUFD: the same, and the kernel has IOMMUFD.  Without
 * them the driver refuses both modes, whatever iommufd would accept.
 */
#define IOMMU_TESTDEV_CAP_OWNED		(1U << 4)
#define IOMMU_TESTDEV_CAP_IOMMUFD	(1U << 5)

/* Every DMA writes this 32-bit value, little-endian, repeated. */
#define IOMMU_TESTDEV_PATTERN		0x12345678U
/* F_CANARY fills the oracle buffer with this byte before the DMA. */
#define IOMMU_TESTDEV_CANARY		0xa5
/* A buffer id that names no buffer: ids start at 1, a zeroed field is none. */
#define IOMMU_TESTDEV_BUF_NONE		0U

/**
 * struct iommu_testdev_info - ioctl(IOMMU_TESTDEV_GET_INFO)
 * @size: sizeof(struct iommu_testdev_info)
 * @flags: must be 0
 * @engine: &enum iommu_testdev_engine
 * @caps: IOMMU_TESTDEV_CAP_* bits
 * @max_length: largest DMA length in bytes the engine accepts
 * @dma_mask_bits: addresses the device can emit (an IOVA must fit)
 * @mode: &enum iommu_testdev_mode of the device now
 * @domain_type: &enum iommu_testdev_domain_type of the current domain
 * @default_domain_type: &enum iommu_testdev_domain_type of the default domain
 * @group_id: IOMMU group id, or -1 when the device has no IOMMU
 * @pci_segment: PCI segment (domain) number of the device
 * @pci_rid: PCI requester id, bus << 8 | devfn
 * @page_size: the CPU page size; buffer and map granularity
 * @__reserved: must be 0
 * @pgsize_bitmap: page sizes of the default domain, 0 without one
 * @aperture_start: first IOVA of the default domain's aperture
 * @aperture_end: last IOVA of the default domain's aperture
 * @buf_budget: bytes of buffer length one open file may hold: BUF_ALLOC
 *              refuses a longer buffer with E2BIG and one that would take
 *              the file past it with ENOSPC
 */
struct iommu_testdev_info {
	__u32 size;
	__u32 flags;
	__u32 engine;
	__u32 caps;
	__u32 max_length;
	__u32 dma_mask_bits;
	__u32 mode;
	__u32 domain_type;
	__u32 default_domain_type;
	__s32 group_id;
	__u32 pci_segment;
	__u32 pci_rid;
	__u32 page_size;
	__u32 __reserved;
	__aligned_u64 pgsize_bitmap;
	__aligned_u64 aperture_start;
	__aligned_u64 aperture_end;
	__aligned_u64 buf_budget;
};

#define IOMMU_TESTDEV_GET_INFO \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_GET_INFO)

/* BUF_ALLOC flags */
#define IOMMU_TESTDEV_BUF_PIN		(1U << 0) /* pin user memory at @user_va */

/* BUF_ALLOC out_flags */
#define IOMMU_TESTDEV_BUF_CONTIG	(1U << 0) /* physically contiguous */

/**
 * struct iommu_testdev_buf_alloc - ioctl(IOMMU_TESTDEV_BUF_ALLOC)
 * @size: sizeof(struct iommu_testdev_buf_alloc)
 * @flags: 0 for driver pages, or IOMMU_TESTDEV_BUF_PIN
 * @length: bytes, a non-zero multiple of the page size.  Driver pages are
 *          one physically contiguous block aligned to its power-of-two size.
 * @user_va: with IOMMU_TESTDEV_BUF_PIN, the page-aligned start of writable
 *           user memory to pin; else 0
 * @out_buf_id: the new buffer's id, valid for this file only; never
 *              IOMMU_TESTDEV_BUF_NONE (0)
 * @out_flags: IOMMU_TESTDEV_BUF_* facts about the memory
 * @out_mmap_offset: driver pages: the mmap() offset that shows them
 *
 * The buffer is the oracle of a test: the driver knows its physical pages
 * from the allocation or the pin, never from an IOMMU page table.
 */
struct iommu_testdev_buf_alloc {
	__u32 size;
	__u32 flags;
	__aligned_u64 length;
	__aligned_u64 user_va;
	__u32 out_buf_id;
	__u32 out_flags;
	__aligned_u64 out_mmap_offset;
};

#define IOMMU_TESTDEV_BUF_ALLOC \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_BUF_ALLOC)

/**
 * struct iommu_testdev_buf_free - ioctl(IOMMU_TESTDEV_BUF_FREE)
 * @size: sizeof(struct iommu_testdev_buf_free)
 * @flags: must be 0
 * @buf_id: buffer to free; EBUSY while a MAP still uses it
 * @__reserved: must be 0
 */
struct iommu_testdev_buf_free {
	__u32 size;
	__u32 flags;
	__u32 buf_id;
	__u32 __reserved;
};

#define IOMMU_TESTDEV_BUF_FREE \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_BUF_FREE)

/* DMA ops */
enum iommu_testdev_dma_op {
	IOMMU_TESTDEV_DMA_WRITE = 0,	/* device writes the pattern at @iova */
	IOMMU_TESTDEV_DMA_COPY = 1,	/* device reads @src_iova, writes @iova */
};

/* DMA flags */
#define IOMMU_TESTDEV_DMA_F_CANARY	(1U << 0) /* fill the oracle first */
#define IOMMU_TESTDEV_DMA_F_REPLAY	(1U << 1) /* DMA-API: replay after unmap */

/* DMA out_status */
enum iommu_testdev_dma_status {
	IOMMU_TESTDEV_STATUS_OK = 0,	/* the device saw no error */
	IOMMU_TESTDEV_STATUS_FAULT = 1,	/* the device saw its DMA fail */
	IOMMU_TESTDEV_STATUS_MISMATCH = 2, /* device wrote, oracle differed */
	IOMMU_TESTDEV_STATUS_TIMEOUT = 3, /* the device never finished */
	IOMMU_TESTDEV_STATUS_ERROR = 4,	/* any other device error */
};

/* DMA out_flags */
#define IOMMU_TESTDEV_DMA_LANDED	(1U << 0) /* CPU saw the whole pattern */
#define IOMMU_TESTDEV_DMA_TOUCHED	(1U << 1) /* CPU saw the range change */
#define IOMMU_TESTDEV_DMA_CANARY_OK	(1U << 2) /* rest of oracle untouched */
#define IOMMU_TESTDEV_DMA_DEV_VERIFIED	(1U << 3) /* device compared oracle */
#define IOMMU_TESTDEV_DMA_REPLAY_LANDED	(1U << 4) /* replay reached memory */
#define IOMMU_TESTDEV_DMA_REPLAY_FAULT	(1U << 5) /* replay was refused */

/**
 * struct iommu_testdev_dma - ioctl(IOMMU_TESTDEV_DMA)
 * @size: sizeof(struct iommu_testdev_dma)
 * @flags: IOMMU_TESTDEV_DMA_F_* bits
 * @op: &enum iommu_testdev_dma_op
 * @length: bytes, 1 to &iommu_testdev_info.max_length
 * @iova: where the device writes, in the OWNED and IOMMUFD modes; 0 in
 *        the DMA_API mode, where the kernel picks it (see @out_iova)
 * @src_iova: COPY: where the device reads; same rules as @iova
 * @buf_id: the oracle: the buffer the bytes must land in, or
 *          IOMMU_TESTDEV_BUF_NONE.  Required in the DMA_API mode.
 * @src_buf_id: COPY: the source buffer, or IOMMU_TESTDEV_BUF_NONE.  In the
 *              DMA_API mode it is what the device reads (required); in the
 *              translated modes it is the oracle of what @src_iova holds.
 * @buf_offset: offset of the landing place in @buf_id
 * @src_offset: offset of the source in @src_buf_id
 * @out_result: the device's raw result register (0 on edu)
 * @out_status: &enum iommu_testdev_dma_status
 * @out_flags: IOMMU_TESTDEV_DMA_* facts the CPU observed in the oracle
 * @__reserved: must be 0
 * @out_iova: the IOVA the device wrote at (in the DMA_API mode the one
 *            dma_map gave, else @iova)
 * @out_src_iova: COPY: the IOVA the device read at, else 0
 *
 * WRITE makes the device write @length bytes of IOMMU_TESTDEV_PATTERN,
 * little-endian, starting at @iova.  COPY makes it read @length bytes at
 * @src_iova and write them at @iova.  After the DMA the CPU compares the
 * oracle range with what should be there: the pattern, or for a COPY with a
 * source buffer, that buffer's bytes (give each COPY fresh bytes: a device
 * whose read failed may write what it read the time before).
 *
 * In the OWNED and IOMMUFD modes any IOVA outside the device's reserved
 * regions may be aimed at: the domain holds only the caller's mappings, so an
 * unmapped IOVA faults.  In the DMA_API mode the device only ever reaches
 * the caller's buffers.
 *
 * IOMMU_TESTDEV_DMA_F_REPLAY (DMA_API mode, WRITE): after the DMA and
 * dma_unmap, refill the oracle range and fire again at the unmapped IOVA.
 * A strict domain must refuse it; a lazy one may let it land until its flush
 * queue drains.  REPLAY_LANDED / REPLAY_FAULT say what happened.  Only in a
 * DMA or DMA-FQ domain that serves the device alone, for a trusted device
 * (elsewhere the DMA API may bounce through swiotlb): else EOPNOTSUPP.
 */
struct iommu_testdev_dma {
	__u32 size;
	__u32 flags;
	__u32 op;
	__u32 length;
	__aligned_u64 iova;
	__aligned_u64 src_iova;
	__u32 buf_id;
	__u32 src_buf_id;
	__aligned_u64 buf_offset;
	__aligned_u64 src_offset;
	__u32 out_result;
	__u32 out_status;
	__u32 out_flags;
	__u32 __reserved;
	__aligned_u64 out_iova;
	__aligned_u64 out_src_iova;
};

#define IOMMU_TESTDEV_DMA _IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_DMA)

/**
 * struct iommu_testdev_owned_attach - ioctl(IOMMU_TESTDEV_OWNED_ATTACH)
 * @size: sizeof(struct iommu_testdev_owned_attach)
 * @flags: must be 0
 * @out_domain_type: &enum iommu_testdev_domain_type of the new domain
 * @__reserved: must be 0
 * @out_pgsize_bitmap: page sizes the domain can map
 * @out_aperture_start: first IOVA the domain translates
 * @out_aperture_end: last IOVA the domain translates
 *
 * Take the device from its default domain (DMA ownership is claimed for this
 * file) into a new, empty paging domain.  Closing the file or OWNED_DETACH
 * unmaps everything and returns the device to its default domain.
 */
struct iommu_testdev_owned_attach {
	__u32 size;
	__u32 flags;
	__u32 out_domain_type;
	__u32 __reserved;
	__aligned_u64 out_pgsize_bitmap;
	__aligned_u64 out_aperture_start;
	__aligned_u64 out_aperture_end;
};

#define IOMMU_TESTDEV_OWNED_ATTACH \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_OWNED_ATTACH)

/**
 * struct iommu_testdev_cmd - a command with no arguments
 * @size: sizeof(struct iommu_testdev_cmd)
 * @flags: must be 0
 *
 * Used by OWNED_DETACH, IOMMUFD_DETACH and IOMMUFD_UNBIND.
 */
struct iommu_testdev_cmd {
	__u32 size;
	__u32 flags;
};

#define IOMMU_TESTDEV_OWNED_DETACH \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_OWNED_DETACH)

/* MAP flags */
#define IOMMU_TESTDEV_MAP_READ		(1U << 0) /* device may read */
#define IOMMU_TESTDEV_MAP_WRITE		(1U << 1) /* device may write */

/**
 * struct iommu_testdev_map - ioctl(IOMMU_TESTDEV_MAP)
 * @size: sizeof(struct iommu_testdev_map)
 * @flags: IOMMU_TESTDEV_MAP_READ and/or IOMMU_TESTDEV_MAP_WRITE
 * @buf_id: the buffer whose pages are mapped
 * @__reserved: must be 0
 * @buf_offset: page-aligned offset into the buffer
 * @length: page-aligned length
 * @iova: page-aligned IOVA; the range must lie in the aperture, outside
 *        reserved regions and outside every existing mapping
 *
 * OWNED mode only.  Physically contiguous, aligned runs are mapped as large
 * pages or blocks where the domain supports them.
 */
struct iommu_testdev_map {
	__u32 size;
	__u32 flags;
	__u32 buf_id;
	__u32 __reserved;
	__aligned_u64 buf_offset;
	__aligned_u64 length;
	__aligned_u64 iova;
};

#define IOMMU_TESTDEV_MAP _IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_MAP)

/**
 * struct iommu_testdev_unmap - ioctl(IOMMU_TESTDEV_UNMAP)
 * @size: sizeof(struct iommu_testdev_unmap)
 * @flags: must be 0
 * @iova: start of the range
 * @length: in: bytes of the range; out: bytes unmapped
 *
 * OWNED mode only.  Removes every mapping inside the range; a mapping that
 * straddles an end of the range gives EINVAL, an empty range ENOENT.  On
 * return the IOTLB holds no entry for the range.  EIO: the IOMMU undid
 * less than a whole mapping (an allocation failed in its driver, say);
 * that mapping, the ones after it and their buffers stay in use until
 * the domain is detached.
 */
struct iommu_testdev_unmap {
	__u32 size;
	__u32 flags;
	__aligned_u64 iova;
	__aligned_u64 length;
};

#define IOMMU_TESTDEV_UNMAP _IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_UNMAP)

/**
 * struct iommu_testdev_iommufd_bind - ioctl(IOMMU_TESTDEV_IOMMUFD_BIND)
 * @size: sizeof(struct iommu_testdev_iommufd_bind)
 * @flags: must be 0
 * @iommufd: an open /dev/iommu file descriptor of the caller
 * @out_dev_id: the iommufd device object id
 *
 * Bind the device to the caller's iommufd, as a VMM binds a VFIO device.  The
 * device is blocked until IOMMUFD_ATTACH.  Needs CONFIG_IOMMUFD (else
 * EOPNOTSUPP) and an IOMMU that isolates MSIs (else EPERM, unless iommufd's
 * allow_unsafe_interrupts is set).
 */
struct iommu_testdev_iommufd_bind {
	__u32 size;
	__u32 flags;
	__s32 iommufd;
	__u32 out_dev_id;
};

#define IOMMU_TESTDEV_IOMMUFD_BIND \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_IOMMUFD_BIND)

/* IOMMUFD_ATTACH flags */
#define IOMMU_TESTDEV_ATTACH_REPLACE	(1U << 0) /* replace, do not detach */

/**
 * struct iommu_testdev_iommufd_attach - ioctl(IOMMU_TESTDEV_IOMMUFD_ATTACH)
 * @size: sizeof(struct iommu_testdev_iommufd_attach)
 * @flags: 0 or IOMMU_TESTDEV_ATTACH_REPLACE
 * @pt_id: in: an IOAS or HWPT id of the bound iommufd; out: the HWPT id the
 *         device is attached to (iommufd creates one for an IOAS)
 * @__reserved: must be 0
 */
struct iommu_testdev_iommufd_attach {
	__u32 size;
	__u32 flags;
	__u32 pt_id;
	__u32 __reserved;
};

#define IOMMU_TESTDEV_IOMMUFD_ATTACH \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_IOMMUFD_ATTACH)
#define IOMMU_TESTDEV_IOMMUFD_DETACH \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_IOMMUFD_DETACH)
#define IOMMU_TESTDEV_IOMMUFD_UNBIND \
	_IO(IOMMU_TESTDEV_TYPE, IOMMU_TESTDEV_CMD_IOMMUFD_UNBIND)

#endif /* _UAPI_LINUX_IOMMU_TESTDEV_H */
