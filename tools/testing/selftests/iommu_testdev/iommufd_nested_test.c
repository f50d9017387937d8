// SPDX-License-Identifier: GPL-2.0
/*
 * Nested iommufd end to end on arm-smmu-v3, as a VMM drives it: the test's
 * IOAS is stage 2 (a NEST_PARENT HWPT), the test plays the guest and owns
 * stage 1 (a context descriptor and page tables it writes in its own
 * memory, mapped into the IOAS), and the kernel's arm-smmu-v3 installs both
 * in the SMMU through a vIOMMU, a vDEVICE and a nested HWPT whose vSTE
 * points at the test's CD.  A DMA at a stage-1 IOVA must land exactly where
 * stage 1 then stage 2 send it: in the test's own buffer, never checked
 * against a page table read back.  Faults come back through the vEVENTQ.
 *
 * The uAPI structures Linux 6.13-6.15 added (vIOMMU, vDEVICE, vEVENTQ,
 * the SMMUv3 vSTE and commands) are declared here, so the binary builds
 * against older headers and SKIPs on older kernels.
 * Documentation/iommu_testdev_nested.rst walks through the layout.
 */
#include <poll.h>
#include <linux/iommufd.h>

#include "iommu_testdev_utils.h"

/* ---- uAPI of Linux 6.13+ (include/uapi/linux/iommufd.h) --------------- */

#define ITD_CMD_VIOMMU_ALLOC	_IO(IOMMUFD_TYPE, 0x90)
#define ITD_CMD_VDEVICE_ALLOC	_IO(IOMMUFD_TYPE, 0x91)
#define ITD_CMD_VEVENTQ_ALLOC	_IO(IOMMUFD_TYPE, 0x93)
#define ITD_HW_INFO_ARM_SMMUV3	2	/* IOMMU_HW_INFO_TYPE_ARM_SMMUV3 */
#define ITD_HWPT_DATA_SMMUV3	2	/* IOMMU_HWPT_DATA_ARM_SMMUV3 */
#define ITD_VIOMMU_SMMUV3	1	/* IOMMU_VIOMMU_TYPE_ARM_SMMUV3 */
#define ITD_VEVENTQ_SMMUV3	1	/* IOMMU_VEVENTQ_TYPE_ARM_SMMUV3 */
#define ITD_INV_DATA_SMMUV3	1	/* IOMMU_VIOMMU_INVALIDATE_DATA_ARM_SMMUV3 */

struct itd_viommu_alloc {
	__u32 size;
	__u32 flags;
	__u32 type;
	__u32 dev_id;
	__u32 hwpt_id;
	__u32 out_viommu_id;
	__u32 data_len;
	__u32 __reserved;
	__aligned_u64 data_uptr;
};

struct itd_vdevice_alloc {
	__u32 size;
	__u32 viommu_id;
	__u32 dev_id;
	__u32 out_vdevice_id;
	__aligned_u64 virt_id;
};

struct itd_veventq_alloc {
	__u32 size;
	__u32 flags;
	__u32 viommu_id;
	__u32 type;
	__u32 veventq_depth;
	__u32 out_veventq_id;
	__u32 out_veventq_fd;
	__u32 __reserved;
};

/* A vEVENT as read(2) returns it: struct iommufd_vevent_header + record. */
struct itd_vevent {
	__u32 flags;
	__u32 sequence;
	__u64 evt[4];
};

struct itd_smmu_hw_info {
	__u32 flags;
	__u32 __reserved;
	__u32 idr[6];
	__u32 iidr;
	__u32 aidr;
};

/* ---- SMMUv3 formats (Arm IHI 0070, sections 5 and 4) -------------------- */

#ifndef BIT_ULL
#define BIT_ULL(n)		(1ULL << (n))
#endif

/* STE dwords 0 and 1, the fields a vSTE may carry */
#define STE0_V			BIT_ULL(0)
#define STE0_CFG(x)		((__u64)(x) << 1)
#define  CFG_ABORT		0
#define  CFG_BYPASS		4
#define  CFG_S1_TRANS		5
#define  CFG_S2_TRANS		6
#define  CFG_NESTED		7
#define STE0_S1CTXPTR_MASK	0x000fffffffffffc0ULL	/* bits 51:6 */
#define STE1_S1CIR_WBRA		BIT_ULL(2)
#define STE1_S1COR_WBRA		BIT_ULL(4)
#define STE1_S1CSH_IS		(3ULL << 6)
#define STE1_MEV		BIT_ULL(19)
#define STE1_EATS(x)		((__u64)(x) << 28)

/* CD dword 0 */
#define CD0_T0SZ(x)		((__u64)(x) << 0)
#define CD0_TG0_4K		(0ULL << 6)
#define CD0_IRGN0_WBRA		BIT_ULL(8)
#define CD0_ORGN0_WBRA		BIT_ULL(10)
#define CD0_SH0_IS		(3ULL << 12)
#define CD0_EPD1		BIT_ULL(30)
#define CD0_V			BIT_ULL(31)
#define CD0_IPS_48		(5ULL << 32)
#define CD0_AA64		BIT_ULL(41)
#define CD0_R			BIT_ULL(45)
#define CD0_A			BIT_ULL(46)
#define CD0_ASET		BIT_ULL(47)
#define CD0_ASID(x)		((__u64)(x) << 48)
#define CD1_TTB0_MASK		0x000ffffffffffff0ULL	/* bits 51:4 */

/* VMSAv8-64 stage-1 descriptors, 4 KiB granule */
#define PTE_VALID		BIT_ULL(0)
#define PTE_TABLE		BIT_ULL(1)	/* table (L1, L2) or page (L3) */
#define PTE_AP_UNPRIV		BIT_ULL(6)	/* AP[1]: the device is EL0 */
#define PTE_AP_RDONLY		BIT_ULL(7)	/* AP[2] */
#define PTE_SH_IS		(3ULL << 8)
#define PTE_AF			BIT_ULL(10)
#define PTE_NG			BIT_ULL(11)
#define PTE_ADDR_MASK		0x0000fffffffff000ULL
#define PTE_PAGE_RW		(PTE_VALID | PTE_TABLE | PTE_AP_UNPRIV | \
				 PTE_SH_IS | PTE_AF | PTE_NG)

/* Commands (section 4) */
#define CMD_CFGI_CD		0x05
#define CMD_CFGI_CD_ALL		0x06
#define CMD_TLBI_NH_ALL		0x10
#define CMD_TLBI_NH_ASID	0x11
#define CMD_TLBI_NH_VA		0x12
#define CMD_TLBI_NH_VAA		0x13
#define CMD_TLBI_NSNH_ALL	0x30
#define CMD_CFGI_STE		0x03
#define CMD_ASID(x)		((__u64)(x) << 48)
#define CMD_SID(x)		((__u64)(x) << 32)
#define CMD_NUM(x)		((__u64)(x) << 12)
#define CMD_LEAF		BIT_ULL(0)
#define CMD_TTL(x)		((__u64)(x) << 8)
#define CMD_TG_4K		BIT_ULL(10)

/* Event records (section 7.3) */
#define EVT_F_TRANSLATION	0x10
#define EVT_F_PERMISSION	0x13
#define EVT1_RNW		BIT_ULL(35)
#define EVT1_S2			BIT_ULL(39)

/* ---- the layout the test chooses -------------------------------------- */

#define G4K		0x1000ULL	/* the stage-1 granule */
#define T0SZ		25		/* 39-bit IOVAs: levels 1, 2, 3 */
#define TBL_IPA		0x20000000ULL	/* CD and stage-1 tables */
#define DATA_IPA	0x30000000ULL	/* the data buffer */
#define HOLE_IPA	0x38000000ULL	/* never mapped in the IOAS */
#define S1_IOVA		0x40000000ULL	/* L1 index 1: what the device uses */
#define NPAGES		4		/* IOVA pages stage 1 maps */
#define NDATA		8		/* 4 KiB units of the data buffer */
#define VSID		0x42		/* the virtual stream ID */
#define ASID_A		0x11
#define ASID_B		0x22

/* 4 KiB units of the tables buffer */
enum { U_CD, U_L1A, U_L2A, U_L3A, U_L1B, U_L2B, U_L3B, U_CD2, U_TABLES };

/* Table set A and B send IOVA page i to different data units. */
static const unsigned int perm_a[NPAGES] = { 5, 2, 7, 0 };
static const unsigned int perm_b[NPAGES] = { 1, 6, 3, 4 };

struct nest_ctx {
	int fd;			/* the test device */
	int ifd;		/* /dev/iommu */
	int vfd;		/* the vEVENTQ */
	__u32 ioas, dev_id, parent, viommu, vdev, veventq, nested;
	struct iommu_testdev_info info;
	size_t pg;
	__u64 *tbl;		/* the tables buffer (U_TABLES units) */
	size_t tbl_len;
	struct itd_tbuf data;	/* the oracle: NDATA units at DATA_IPA */
};

static __u64 *unit(struct nest_ctx *c, unsigned int u)
{
	return c->tbl + u * (G4K / 8);
}

static __u64 unit_ipa(unsigned int u)
{
	return TBL_IPA + u * G4K;
}

static __u64 iova_of(unsigned int page, unsigned int off)
{
	return S1_IOVA + page * G4K + off;
}

/* ---- iommufd calls ---------------------------------------------------- */

static int hwpt_alloc(int ifd, __u32 dev_id, __u32 pt_id, __u32 flags,
		      __u32 data_type, void *data, __u32 data_len, __u32 *out)
{
	struct iommu_hwpt_alloc c = {
		.size = sizeof(c),
		.flags = flags,
		.dev_id = dev_id,
		.pt_id = pt_id,
		.data_type = data_type,
		.data_len = data_len,
		.data_uptr = (uintptr_t)data,
	};
	int ret = ioctl(ifd, IOMMU_HWPT_ALLOC, &c);

	*out = c.out_hwpt_id;
	return ret;
}

/* A nested HWPT on @viommu from the two vSTE dwords. */
static int vste_alloc(struct nest_ctx *c, __u32 viommu, __u64 ste0,
		      __u64 ste1, __u32 *out)
{
	__u64 ste[2] = { ste0, ste1 };

	return hwpt_alloc(c->ifd, c->dev_id, viommu, 0, ITD_HWPT_DATA_SMMUV3,
			  ste, sizeof(ste), out);
}

static int viommu_alloc(int ifd, __u32 dev_id, __u32 hwpt, __u32 *out)
{
	struct itd_viommu_alloc c = {
		.size = sizeof(c),
		.type = ITD_VIOMMU_SMMUV3,
		.dev_id = dev_id,
		.hwpt_id = hwpt,
	};
	int ret = ioctl(ifd, ITD_CMD_VIOMMU_ALLOC, &c);

	*out = c.out_viommu_id;
	return ret;
}

static int vdevice_alloc(int ifd, __u32 viommu, __u32 dev_id, __u64 virt_id,
			 __u32 *out)
{
	struct itd_vdevice_alloc c = {
		.size = sizeof(c),
		.viommu_id = viommu,
		.dev_id = dev_id,
		.virt_id = virt_id,
	};
	int ret = ioctl(ifd, ITD_CMD_VDEVICE_ALLOC, &c);

	*out = c.out_vdevice_id;
	return ret;
}

static int veventq_alloc(int ifd, __u32 viommu, __u32 *id, int *fd)
{
	struct itd_veventq_alloc c = {
		.size = sizeof(c),
		.viommu_id = viommu,
		.type = ITD_VEVENTQ_SMMUV3,
		.veventq_depth = 64,
	};
	int ret = ioctl(ifd, ITD_CMD_VEVENTQ_ALLOC, &c);

	*id = c.out_veventq_id;
	*fd = ret ? -1 : (int)c.out_veventq_fd;
	return ret;
}

/*
 * IOMMU_HWPT_INVALIDATE on the vIOMMU with @n SMMUv3 commands; *@done
 * gets the number the kernel consumed.
 */
static int invalidate(struct nest_ctx *c, const __u64 (*cmds)[2], __u32 n,
		      __u32 *done)
{
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv),
		.hwpt_id = c->viommu,
		.data_uptr = (uintptr_t)cmds,
		.data_type = ITD_INV_DATA_SMMUV3,
		.entry_len = 2 * sizeof(__u64),
		.entry_num = n,
	};
	int ret = ioctl(c->ifd, IOMMU_HWPT_INVALIDATE, &inv);

	if (done)
		*done = inv.entry_num;
	return ret;
}

static int itd_attach(int fd, __u32 *pt_id, bool replace)
{
	struct iommu_testdev_iommufd_attach a = {
		.size = sizeof(a),
		.flags = replace ? IOMMU_TESTDEV_ATTACH_REPLACE : 0,
		.pt_id = *pt_id,
	};
	int ret = ioctl(fd, IOMMU_TESTDEV_IOMMUFD_ATTACH, &a);

	if (!ret)
		*pt_id = a.pt_id;
	return ret;
}

/* ---- the guest's side: stage-1 structures ------------------------------ */

/* The vSTE of a stage-1 translating nested HWPT: one CD at @cd_ipa. */
static __u64 vste0_s1(__u64 cd_ipa)
{
	return STE0_V | STE0_CFG(CFG_S1_TRANS) | (cd_ipa & STE0_S1CTXPTR_MASK);
}

static const __u64 vste1_s1 = STE1_S1CIR_WBRA | STE1_S1COR_WBRA |
			      STE1_S1CSH_IS;

/* Write the CD at @cd_unit: 39-bit IOVAs, 4 KiB granule, TTB0 at @l1_unit. */
static void write_cd_at(struct nest_ctx *c, unsigned int cd_unit,
			unsigned int l1_unit, __u16 asid, bool record)
{
	__u64 *cd = unit(c, cd_unit);

	memset(cd, 0, 64);
	cd[1] = unit_ipa(l1_unit) & CD1_TTB0_MASK;
	cd[3] = 0xff;	/* MAIR: attribute 0 is normal write-back memory */
	cd[0] = CD0_T0SZ(T0SZ) | CD0_TG0_4K | CD0_IRGN0_WBRA |
		CD0_ORGN0_WBRA | CD0_SH0_IS | CD0_EPD1 | CD0_IPS_48 |
		CD0_AA64 | (record ? CD0_R : 0) | CD0_A | CD0_ASET |
		CD0_ASID(asid) | CD0_V;
	__sync_synchronize();
}

/* The CD the setup's vSTE points at. */
static void write_cd(struct nest_ctx *c, unsigned int l1_unit, __u16 asid,
		     bool record)
{
	write_cd_at(c, U_CD, l1_unit, asid, record);
}

static unsigned int l1_index(__u64 iova) { return (iova >> 30) & 0x1ff; }
static unsigned int l2_index(__u64 iova) { return (iova >> 21) & 0x1ff; }
static unsigned int l3_index(__u64 iova) { return (iova >> 12) & 0x1ff; }

/*
 * A table set at units l1, l1 + 1, l1 + 2: IOVA page i of S1_IOVA goes to
 * data unit perm[i], at the IPA DATA_IPA + perm[i] * 4 KiB.
 */
static void write_tables(struct nest_ctx *c, unsigned int l1,
			 const unsigned int *perm)
{
	__u64 *t1 = unit(c, l1), *t2 = unit(c, l1 + 1), *t3 = unit(c, l1 + 2);
	unsigned int i;

	memset(t1, 0, 3 * G4K);
	t1[l1_index(S1_IOVA)] = unit_ipa(l1 + 1) | PTE_VALID | PTE_TABLE;
	t2[l2_index(S1_IOVA)] = unit_ipa(l1 + 2) | PTE_VALID | PTE_TABLE;
	for (i = 0; i < NPAGES; i++)
		t3[l3_index(iova_of(i, 0))] = (DATA_IPA + perm[i] * G4K) |
					      PTE_PAGE_RW;
	__sync_synchronize();
}

/* The L3 entry of IOVA page @page in the set whose L1 is at @l1. */
static __u64 *l3_pte(struct nest_ctx *c, unsigned int l1, unsigned int page)
{
	return unit(c, l1 + 2) + l3_index(iova_of(page, 0));
}

/* ---- setup -------------------------------------------------------------- */

#define VTD_ECAP_NEST	BIT_ULL(26)

static const char why_vtd[] =
	"VT-d without nesting: ECAP.NEST (bit 26) clear in IOMMU_GET_HW_INFO (ecap %#llx)";
static const char why_canwbs[] =
	"vIOMMU refused (EOPNOTSUPP): no S2FWB, no IORT CANWBS (the -nested guests set it)";

/*
 * The VMM's first steps, as far as the vIOMMU: open the device and
 * /dev/iommu, an IOAS, bind, read the hardware info, the NEST_PARENT HWPT,
 * the vIOMMU.  Returns 0 when all of that worked, 1 when the environment
 * lacks nesting (@why says what), -1 on any other error (@why says where,
 * errno is kept).
 */
static int nest_open(struct nest_ctx *c, char *why, size_t len)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };
	struct iommu_ioas_alloc ia = { .size = sizeof(ia) };
	struct itd_smmu_hw_info smmu = {};
	struct iommu_hw_info_vtd vtd = {};
	__u8 data[128] = {};
	struct iommu_hw_info hw = {
		.size = sizeof(hw),
		.data_len = sizeof(data),
		.data_uptr = (uintptr_t)data,
	};
	char path[64];

#define LACKS(...) ({ snprintf(why, len, __VA_ARGS__); 1; })
#define ERROR(what) ({ snprintf(why, len, "%s: %s", what, strerror(errno)); -1; })
	c->ifd = -1;
	c->vfd = -1;
	c->pg = itd_page_size();
	c->fd = itd_open_dev(path, sizeof(path));
	if (c->fd == -ENOENT)
		return LACKS(ITD_NO_DEVICE_MSG);
	if (c->fd < 0) {
		errno = -c->fd;
		return ERROR(path);
	}
	if (_test_cmd_get_info(c->fd, &c->info))
		return ERROR("GET_INFO");
	if (!(c->info.caps & IOMMU_TESTDEV_CAP_IOMMUFD))
		return LACKS("no IOMMUFD (kernel) or no IOMMU group of its own");
	c->ifd = open("/dev/iommu", O_RDWR | O_CLOEXEC);
	if (c->ifd < 0 && errno == ENOENT)
		return LACKS("no /dev/iommu node");
	if (c->ifd < 0)
		return ERROR("/dev/iommu");
	if (ioctl(c->ifd, IOMMU_IOAS_ALLOC, &ia))
		return ERROR("IOAS_ALLOC");
	c->ioas = ia.out_ioas_id;
	b.iommufd = c->ifd;
	if (ioctl(c->fd, IOMMU_TESTDEV_IOMMUFD_BIND, &b))
		return errno == EPERM ?
		       LACKS("bind refused (EPERM): MSIs not isolated") :
		       ERROR("IOMMUFD_BIND");
	c->dev_id = b.out_dev_id;

	/* What the IOMMU offers: a VMM reads this first. */
	hw.dev_id = c->dev_id;
	if (ioctl(c->ifd, IOMMU_GET_HW_INFO, &hw))
		return ERROR("GET_HW_INFO");
	if (hw.out_data_type == IOMMU_HW_INFO_TYPE_INTEL_VTD) {
		memcpy(&vtd, data, sizeof(vtd));
		if (!(vtd.ecap_reg & VTD_ECAP_NEST))
			return LACKS(why_vtd, (unsigned long long)vtd.ecap_reg);
		return LACKS("VT-d ECAP.NEST set: no VT-d stage-1 builder in this test yet");
	}
	if (hw.out_data_type != ITD_HW_INFO_ARM_SMMUV3)
		return LACKS("no nesting test for hw_info type %u",
			     hw.out_data_type);
	memcpy(&smmu, data, sizeof(smmu));
	/* IDR0.S1P (bit 1) and S2P (bit 0): both stages. */
	if ((smmu.idr[0] & 3) != 3)
		return LACKS("SMMUv3 without both stages: IDR0 %#x",
			     smmu.idr[0]);

	/* Stage 2: the caller's IPA space. */
	if (hwpt_alloc(c->ifd, c->dev_id, c->ioas,
		       IOMMU_HWPT_ALLOC_NEST_PARENT, 0, NULL, 0, &c->parent))
		return LACKS("NEST_PARENT HWPT refused: %s", strerror(errno));
	if (viommu_alloc(c->ifd, c->dev_id, c->parent, &c->viommu)) {
		if (errno == ENOTTY)
			return LACKS("kernel has no IOMMU_VIOMMU_ALLOC (6.13+)");
		if (errno == EOPNOTSUPP)
			return LACKS("%s", why_canwbs);
		return ERROR("VIOMMU_ALLOC");
	}
	return 0;
#undef LACKS
#undef ERROR
}

/*
 * Everything a VMM sets up for one device: bind, stage 2, vIOMMU, vDEVICE,
 * vEVENTQ, the test's stage 1, the nested HWPT, attach.
 */
static void nest_setup(struct __test_metadata *_metadata, struct nest_ctx *c)
{
	char why[256];
	__u32 pt;
	int r;

	r = nest_open(c, why, sizeof(why));
	if (r > 0)
		SKIP(return, "%s", why);
	ASSERT_EQ(0, r) TH_LOG("%s", why);
	ASSERT_EQ(0, vdevice_alloc(c->ifd, c->viommu, c->dev_id, VSID,
				   &c->vdev)) TH_LOG("VDEVICE_ALLOC: %s",
						     strerror(errno));
	ASSERT_EQ(0, veventq_alloc(c->ifd, c->viommu, &c->veventq, &c->vfd))
		TH_LOG("VEVENTQ_ALLOC: %s", strerror(errno));

	/* The guest's memory: tables and data, mapped at IPAs of its choice. */
	c->tbl_len = (U_TABLES * G4K + c->pg - 1) & ~(c->pg - 1);
	c->tbl = mmap(NULL, c->tbl_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	ASSERT_NE(MAP_FAILED, c->tbl);
	memset(c->tbl, 0, c->tbl_len);
	ASSERT_EQ(0, itd_ioas_map(c->ifd, c->ioas, c->tbl, c->tbl_len, TBL_IPA,
				  ITD_IOAS_RW));
	ASSERT_EQ(0, itd_buf_new(c->fd, ITD_BUF_USER,
				 (NDATA * G4K + c->pg - 1) & ~(c->pg - 1), 0,
				 &c->data));
	ASSERT_EQ(0, itd_ioas_map(c->ifd, c->ioas, c->data.p, c->data.len,
				  DATA_IPA, ITD_IOAS_RW));

	/* Stage 1: the CD and table set A. */
	write_tables(c, U_L1A, perm_a);
	write_cd(c, U_L1A, ASID_A, true);
	ASSERT_EQ(0, vste_alloc(c, c->viommu, vste0_s1(unit_ipa(U_CD)),
				vste1_s1, &c->nested))
		TH_LOG("nested HWPT: %s", strerror(errno));
	pt = c->nested;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, false))
		TH_LOG("attach to the nested HWPT: %s", strerror(errno));
	ASSERT_EQ(c->nested, pt);
}

static void nest_teardown(struct nest_ctx *c)
{
	/* The device first: it unbinds before the iommufd goes. */
	if (c->fd >= 0)
		close(c->fd);
	if (c->vfd >= 0)
		close(c->vfd);
	if (c->ifd >= 0)
		close(c->ifd);
	if (c->tbl)
		munmap(c->tbl, c->tbl_len);
}

/* ---- DMA and its evidence ------------------------------------------------ */

/* Where IOVA page @page + @off lands in the data buffer under @perm. */
static size_t data_off(const unsigned int *perm, unsigned int page,
		       unsigned int off)
{
	return perm[page] * G4K + off;
}

/* In a test whose context is c. */
#define landed_at(_iova, _off, _len) \
	itd_expect_landed(_metadata, c->fd, &c->data, _iova, _off, _len)
#define refused_at(_iova, _len) \
	itd_expect_fault(_metadata, c->fd, &c->info, &c->data, _iova, 0, _len)

/*
 * A DMA of @len bytes at @iova whose landing place the test does not
 * assume: returns the data buffer offset where the whole pattern landed
 * (every other byte still canary), or -1 if nothing landed; fails on
 * anything else (a partial write, a write in two places).
 */
static long landed_where(struct __test_metadata *_metadata,
			 struct nest_ctx *c, __u64 iova, unsigned int len)
{
	struct iommu_testdev_dma d;
	long first, off;

	/* The oracle offset 0 is a guess: the device may say MISMATCH. */
	ASSERT_EQ(0, _test_cmd_dma_write(c->fd, iova, len, c->data.id, 0,
					 IOMMU_TESTDEV_DMA_F_CANARY, &d));
	first = itd_check_fill(c->data.p, c->data.len, IOMMU_TESTDEV_CANARY);
	if (first < 0)
		return -1;
	/* No pattern byte is the canary: the first changed byte is byte 0. */
	off = first;
	EXPECT_EQ(-1, itd_check_pattern(c->data.p + off, len, 0));
	EXPECT_EQ(-1, itd_check_fill(c->data.p + off + len,
				     c->data.len - off - len,
				     IOMMU_TESTDEV_CANARY));
	return off;
}

/* Read vEVENTs for up to @ms ms, until @want arrived; returns the count. */
static int vevents_read(struct nest_ctx *c, struct itd_vevent *ev, int max,
			int want, int ms)
{
	struct pollfd p = { .fd = c->vfd, .events = POLLIN };
	int n = 0, waited = 0;
	ssize_t r;

	while (n < max) {
		r = read(c->vfd, &ev[n], (max - n) * sizeof(*ev));
		if (r > 0) {
			n += r / sizeof(*ev);
			continue;
		}
		if (n >= want || waited >= ms)
			break;
		poll(&p, 1, 10);
		waited += 10;
	}
	return n;
}

/* Drop whatever the vEVENTQ holds. */
static void vevents_drain(struct nest_ctx *c)
{
	struct itd_vevent ev[16];

	while (read(c->vfd, ev, sizeof(ev)) > 0)
		;
}

/*
 * The DMA of @len bytes at @iova must fault with nothing landing, and the
 * vEVENTQ must bring one record per 4 bytes: event @type for our vSID at
 * an address inside the DMA, a stage-1 fault (S2 clear).
 */
static void fault_vevent(struct __test_metadata *_metadata,
			 struct nest_ctx *c, __u64 iova, unsigned int len,
			 unsigned int type)
{
	struct itd_vevent ev[16];
	int i, n;

	vevents_drain(c);
	refused_at(iova, len);
	n = vevents_read(c, ev, 16, 1, 2000);
	ASSERT_LE(1, n) TH_LOG("no vEVENT for the fault at %#llx",
			       (unsigned long long)iova);
	for (i = 0; i < n; i++) {
		TH_LOG("vEVENT seq %u: %#llx %#llx %#llx %#llx", ev[i].sequence,
		       (unsigned long long)ev[i].evt[0],
		       (unsigned long long)ev[i].evt[1],
		       (unsigned long long)ev[i].evt[2],
		       (unsigned long long)ev[i].evt[3]);
		ASSERT_EQ(0, ev[i].flags);
		ASSERT_EQ(type, ev[i].evt[0] & 0xff);
		ASSERT_EQ(VSID, ev[i].evt[0] >> 32);
		ASSERT_EQ(0, ev[i].evt[1] & EVT1_S2);
		ASSERT_EQ(0, ev[i].evt[1] & EVT1_RNW);	/* a write */
		ASSERT_LE(iova, ev[i].evt[2]);
		ASSERT_GT(iova + len, ev[i].evt[2]);
	}
}

/*
 * A 4-byte DMA at @iova that stage 2 refuses at @ipa: nothing lands,
 * nothing reaches the vEVENTQ (stage 2 is the host's), and the kernel log
 * has the record: "event: <name> ... iova: <iova> ipa: <ipa page>" and a
 * second line that says s2.
 */
static void s2_fault_logged(struct __test_metadata *_metadata,
			    struct nest_ctx *c, __u64 iova, __u64 ipa,
			    const char *name)
{
	static char text[1 << 16];
	struct itd_vevent ev[4];
	const char *line;
	char want[96], *p;
	size_t used = 0;
	int kfd, i;

	itd_kmsg_wait_quiet(1);
	kfd = itd_kmsg_open();
	ASSERT_LE(0, kfd);
	vevents_drain(c);
	refused_at(iova, 4);
	snprintf(want, sizeof(want), "iova: %#llx ipa: %#llx",
		 (unsigned long long)iova, (unsigned long long)(ipa & ~0xfffULL));
	for (i = 0, p = NULL; i < 200 && !p; i++) {
		usleep(10000);
		used = itd_kmsg_read(kfd, text, sizeof(text), used);
		p = strstr(text, want);
	}
	close(kfd);
	ASSERT_NE(NULL, p) TH_LOG("no \"%s\" in the kernel log:\n%s", want, text);
	line = itd_line_start(text, p);
	ASSERT_NE(NULL, strstr(line, name)) TH_LOG("not %s: %.200s", name, line);
	p = strchr(p, '\n');
	ASSERT_NE(NULL, p);
	ASSERT_NE(NULL, strstr(p, " s2 ")) TH_LOG("not a stage-2 record: %s", p);
	ASSERT_EQ(0, vevents_read(c, ev, 4, 0, 0));
}

/* ---- FIXTURE(nested) -------------------------------------------------- */

FIXTURE(nested) {
	struct nest_ctx c;
};

FIXTURE_SETUP(nested)
{
	self->c.fd = -1;
	nest_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(nested)
{
	nest_teardown(&self->c);
}

/* Every IOVA page lands in the data unit stage 1 names, at its offset. */
TEST_F(nested, s1_translate)
{
	struct nest_ctx *c = &self->c;
	struct iommu_testdev_info info;
	unsigned int i;

	ASSERT_EQ(0, _test_cmd_get_info(c->fd, &info));
	ASSERT_EQ(IOMMU_TESTDEV_DOMAIN_NESTED, info.domain_type)
		TH_LOG("domain %s", itd_domain_name(info.domain_type));
	for (i = 0; i < NPAGES; i++) {
		landed_at(iova_of(i, 0x80 + 8 * i), data_off(perm_a, i, 0x80 + 8 * i), 16);
		landed_at(iova_of(i, G4K - 8), data_off(perm_a, i, G4K - 8), 8);
	}
	/* A whole page and a 4-byte DMA at its first byte. */
	landed_at(iova_of(2, 0), data_off(perm_a, 2, 0), G4K);
	landed_at(iova_of(3, 0), data_off(perm_a, 3, 0), 4);
}

/* Stage 1 says nothing about an IOVA page it does not map: F_TRANSLATION. */
TEST_F(nested, s1_translation_fault)
{
	struct nest_ctx *c = &self->c;

	/* The L3 entry right after the mapped pages is empty. */
	fault_vevent(_metadata, c, iova_of(NPAGES, 0x20), 4, EVT_F_TRANSLATION);
	/* An empty L2 entry, and an empty L1 entry. */
	fault_vevent(_metadata, c, S1_IOVA + BIT_ULL(21) + 0x40, 4, EVT_F_TRANSLATION);
	fault_vevent(_metadata, c, S1_IOVA + BIT_ULL(30) + 0x40, 4, EVT_F_TRANSLATION);
	/* The control: a mapped page still lands. */
	landed_at(iova_of(1, 0x20), data_off(perm_a, 1, 0x20), 4);
}

/* An IOVA above the 39 bits T0SZ allows: F_TRANSLATION too. */
TEST_F(nested, s1_beyond_t0sz)
{
	struct nest_ctx *c = &self->c;
	__u64 iova = (1ULL << (64 - T0SZ)) + iova_of(0, 0x10);

	if (iova > itd_dma_mask(&c->info))
		SKIP(return, "the device cannot emit %#llx", (unsigned long long)iova);
	fault_vevent(_metadata, c, iova, 4, EVT_F_TRANSLATION);
	landed_at(iova_of(0, 0x10), data_off(perm_a, 0, 0x10), 4);
}

/* A read-only stage-1 page refuses the device's write: F_PERMISSION. */
TEST_F(nested, s1_permission_fault)
{
	struct nest_ctx *c = &self->c;
	__u64 cmd[1][2] = { { CMD_TLBI_NH_VA | CMD_ASID(ASID_A),
			      iova_of(1, 0) | CMD_LEAF } };

	*l3_pte(c, U_L1A, 1) |= PTE_AP_RDONLY;
	ASSERT_EQ(0, invalidate(c, cmd, 1, NULL));
	fault_vevent(_metadata, c, iova_of(1, 0x30), 4, EVT_F_PERMISSION);
	landed_at(iova_of(0, 0x30), data_off(perm_a, 0, 0x30), 4);
	/* Writable again. */
	*l3_pte(c, U_L1A, 1) &= ~PTE_AP_RDONLY;
	ASSERT_EQ(0, invalidate(c, cmd, 1, NULL));
	landed_at(iova_of(1, 0x30), data_off(perm_a, 1, 0x30), 4);
}

/* Without the access flag (and no HTTU) the walk stops: F_ACCESS. */
TEST_F(nested, s1_access_flag_fault)
{
	struct nest_ctx *c = &self->c;

	*l3_pte(c, U_L1A, NPAGES - 1) &= ~PTE_AF;
	/* Never used before: nothing to invalidate. */
	fault_vevent(_metadata, c, iova_of(NPAGES - 1, 0x8), 4, 0x12);
}

/*
 * Stage 1 maps an IPA the IOAS does not: stage 2 refuses.  Linux reports
 * stage-2 faults in its own log, not in the vEVENTQ (the guest's stage 1
 * was fine; the host owns stage 2).
 */
TEST_F(nested, s2_translation_fault)
{
	struct nest_ctx *c = &self->c;
	__u64 cmd[1][2] = { { CMD_TLBI_NH_VA | CMD_ASID(ASID_A),
			      iova_of(2, 0) | CMD_LEAF } };
	__u64 iova = iova_of(2, 0x44);

	*l3_pte(c, U_L1A, 2) = HOLE_IPA | PTE_PAGE_RW;
	ASSERT_EQ(0, invalidate(c, cmd, 1, NULL));
	s2_fault_logged(_metadata, c, iova, HOLE_IPA, "F_TRANSLATION");
	landed_at(iova_of(1, 0x44), data_off(perm_a, 1, 0x44), 4);
}

/* A read-only stage 2 refuses the write stage 1 allows: F_PERMISSION, s2. */
TEST_F(nested, s2_permission_fault)
{
	struct nest_ctx *c = &self->c;

	ASSERT_EQ(0, itd_ioas_unmap(c->ifd, c->ioas, DATA_IPA, c->data.len));
	ASSERT_EQ(0, itd_ioas_map(c->ifd, c->ioas, c->data.p, c->data.len,
				  DATA_IPA, IOMMU_IOAS_MAP_READABLE));
	s2_fault_logged(_metadata, c, iova_of(3, 0x4c),
			DATA_IPA + perm_a[3] * G4K, "F_PERMISSION");
	ASSERT_EQ(0, itd_ioas_unmap(c->ifd, c->ioas, DATA_IPA, c->data.len));
	ASSERT_EQ(0, itd_ioas_map(c->ifd, c->ioas, c->data.p, c->data.len,
				  DATA_IPA, ITD_IOAS_RW));
	landed_at(iova_of(3, 0x4c), data_off(perm_a, 3, 0x4c), 4);
}

/*
 * A 2 MiB block at level 2 of stage 1, onto a 2 MiB-aligned IPA range:
 * offsets anywhere in the block land at the same offset.
 */
TEST_F(nested, s1_block_2m)
{
	struct nest_ctx *c = &self->c;
	const __u64 ipa = 0x32000000ULL, iova = S1_IOVA + (2ULL << 21);
	__u64 cmd[1][2] = { { CMD_TLBI_NH_ASID | CMD_ASID(ASID_A), 0 } };
	struct itd_tbuf b;

	ASSERT_EQ(0, itd_buf_new(c->fd, ITD_BUF_USER, ITD_SZ_2M, 0, &b));
	ASSERT_EQ(0, itd_ioas_map(c->ifd, c->ioas, b.p, b.len, ipa, ITD_IOAS_RW));
	unit(c, U_L2A)[l2_index(iova)] = ipa | (PTE_PAGE_RW & ~PTE_TABLE);
	__sync_synchronize();
	ASSERT_EQ(0, invalidate(c, cmd, 1, NULL));
	itd_expect_landed(_metadata, c->fd, &b, iova + 0x1234, 0x1234, 16);
	itd_expect_landed(_metadata, c->fd, &b, iova + 0x1ff000 + 0xff0,
			  0x1ff000 + 0xff0, 16);
	itd_expect_landed(_metadata, c->fd, &b, iova + 0xab000, 0xab000, 4096);
	/* The next 2 MiB (level-2 index 3) is still empty. */
	memset(b.p, IOMMU_TESTDEV_CANARY, b.len);
	itd_expect_fault(_metadata, c->fd, &c->info, &b, iova + ITD_SZ_2M, 0, 4);
	itd_buf_del(c->fd, &b);
}

/* Unmapping the data from the IOAS takes effect at once (stage 2 flush). */
TEST_F(nested, s2_unmap_remap)
{
	struct nest_ctx *c = &self->c;

	landed_at(iova_of(0, 0x100), data_off(perm_a, 0, 0x100), 8);
	ASSERT_EQ(0, itd_ioas_unmap(c->ifd, c->ioas, DATA_IPA, c->data.len));
	refused_at(iova_of(0, 0x100), 4);
	ASSERT_EQ(0, itd_ioas_map(c->ifd, c->ioas, c->data.p, c->data.len,
				  DATA_IPA, ITD_IOAS_RW));
	landed_at(iova_of(0, 0x100), data_off(perm_a, 0, 0x100), 8);
}

/* A vSTE with Cfg = abort: every DMA faults; back to translate: lands. */
TEST_F(nested, vste_abort)
{
	struct nest_ctx *c = &self->c;
	__u32 abort_hwpt, pt;

	ASSERT_EQ(0, vste_alloc(c, c->viommu, STE0_V | STE0_CFG(CFG_ABORT), 0,
				&abort_hwpt));
	pt = abort_hwpt;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	refused_at(iova_of(0, 0x10), 4);
	refused_at(DATA_IPA + 0x10, 4);
	pt = c->nested;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	landed_at(iova_of(0, 0x10), data_off(perm_a, 0, 0x10), 4);
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, abort_hwpt));
}

/* V = 0: the kernel takes it as abort. */
TEST_F(nested, vste_invalid)
{
	struct nest_ctx *c = &self->c;
	__u32 hwpt, pt;

	/* Other bits of an invalid vSTE are ignored, not refused. */
	ASSERT_EQ(0, vste_alloc(c, c->viommu,
				STE0_CFG(CFG_S1_TRANS) | unit_ipa(U_CD), 0,
				&hwpt));
	pt = hwpt;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	refused_at(iova_of(0, 0x10), 4);
	pt = c->nested;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	landed_at(iova_of(0, 0x10), data_off(perm_a, 0, 0x10), 4);
}

/* Cfg = bypass: stage 2 only, the IOVA is the IPA. */
TEST_F(nested, vste_bypass)
{
	struct nest_ctx *c = &self->c;
	__u32 hwpt, pt;

	ASSERT_EQ(0, vste_alloc(c, c->viommu, STE0_V | STE0_CFG(CFG_BYPASS),
				0, &hwpt));
	pt = hwpt;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	landed_at(DATA_IPA + 3 * G4K + 0x20, 3 * G4K + 0x20, 16);
	/* Stage-1 IOVAs mean nothing now: the IPA is unmapped. */
	refused_at(iova_of(0, 0x20), 4);
	refused_at(HOLE_IPA, 4);
	pt = c->nested;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	landed_at(iova_of(0, 0x20), data_off(perm_a, 0, 0x20), 4);
}

/* Replace nested <-> paging: the parent alone translates IPAs. */
TEST_F(nested, replace_nested_paging)
{
	struct nest_ctx *c = &self->c;
	__u32 pt;
	int round;

	for (round = 0; round < 2; round++) {
		pt = c->parent;
		ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
		ASSERT_EQ(c->parent, pt);
		landed_at(DATA_IPA + 5 * G4K + 0x40, 5 * G4K + 0x40, 8);
		refused_at(iova_of(0, 0x40), 4);
		pt = c->nested;
		ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
		landed_at(iova_of(0, 0x40), data_off(perm_a, 0, 0x40), 8);
	}
	/* And to a plain IOAS (iommufd picks a HWPT). */
	pt = c->ioas;
	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	landed_at(DATA_IPA + 0x40, 0x40, 8);
}

/* Objects in use refuse IOMMU_DESTROY with EBUSY; the right order works. */
TEST_F(nested, destroy_order)
{
	struct nest_ctx *c = &self->c;
	__u32 pt = c->parent;

	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->nested));	/* attached */
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->viommu));	/* has a HWPT */
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->parent));	/* has a vIOMMU */
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->ioas));	/* has a HWPT */
	ASSERT_EQ(EBUSY, errno);
	landed_at(iova_of(1, 0), data_off(perm_a, 1, 0), 4);

	ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->nested));
	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->viommu));	/* vDEVICE, vEVENTQ */
	ASSERT_EQ(EBUSY, errno);
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->vdev));
	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->veventq));	/* its fd is open */
	ASSERT_EQ(EBUSY, errno);
	close(c->vfd);
	c->vfd = -1;
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->veventq));
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->viommu));
	ASSERT_EQ(-1, itd_iommufd_destroy(c->ifd, c->parent));	/* attached */
	ASSERT_EQ(EBUSY, errno);
	landed_at(DATA_IPA + 0x10, 0x10, 4);
	ASSERT_EQ(0, _test_cmd_simple(c->fd, IOMMU_TESTDEV_IOMMUFD_DETACH));
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->parent));
}

/* Unbind with everything alive; the objects then go in any order. */
TEST_F(nested, unbind_live)
{
	struct nest_ctx *c = &self->c;
	struct iommu_testdev_info info;

	landed_at(iova_of(2, 0x8), data_off(perm_a, 2, 0x8), 4);
	ASSERT_EQ(0, _test_cmd_simple(c->fd, IOMMU_TESTDEV_IOMMUFD_UNBIND));
	ASSERT_EQ(0, _test_cmd_get_info(c->fd, &info));
	ASSERT_EQ(IOMMU_TESTDEV_MODE_DMA_API, info.mode);
	/* Unbind took the vDEVICE with it. */
	EXPECT_EQ(-1, itd_iommufd_destroy(c->ifd, c->vdev));
	TH_LOG("vDEVICE after unbind: %s", strerror(errno));
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->nested));
	close(c->vfd);
	c->vfd = -1;
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->veventq));
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->viommu));
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, c->parent));
}

/* vSTE fields the kernel must refuse (EIO is reserved for bad vSTE data). */
TEST_F(nested, vste_refused)
{
	struct nest_ctx *c = &self->c;
	const __u64 s0 = vste0_s1(unit_ipa(U_CD));
	const struct {
		const char *what;
		__u64 ste0, ste1;
	} bad[] = {
		{ "Cfg = stage 2 only", STE0_V | STE0_CFG(CFG_S2_TRANS), 0 },
		{ "Cfg = nested", STE0_V | STE0_CFG(CFG_NESTED), 0 },
		{ "Cfg = 1 (reserved)", STE0_V | STE0_CFG(1), 0 },
		{ "dword 0 bit 55 (S1CDMax is 63:59)", s0 | BIT_ULL(55), 0 },
		{ "dword 1 MEV (the host's)", s0, vste1_s1 | STE1_MEV },
		{ "dword 1 STRW (bits 31:30)", s0, vste1_s1 | BIT_ULL(30) },
		{ "EATS = S1CHK", s0, vste1_s1 | STE1_EATS(2) },
		{ "dword 1 S2VMID bits", s0, vste1_s1 | (0x5ULL << 32) },
	};
	__u64 ste[3] = { s0, vste1_s1, 0 };
	unsigned int i;
	__u32 hwpt;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		errno = 0;
		EXPECT_EQ(-1, vste_alloc(c, c->viommu, bad[i].ste0,
					 bad[i].ste1, &hwpt))
			TH_LOG("%s accepted", bad[i].what);
		EXPECT_EQ(EIO, errno) TH_LOG("%s: %s", bad[i].what,
					     strerror(errno));
	}
	/* Wrong length, wrong type, a flag: the generic checks. */
	EXPECT_EQ(-1, hwpt_alloc(c->ifd, c->dev_id, c->viommu, 0,
				 ITD_HWPT_DATA_SMMUV3, ste, 8, &hwpt));
	TH_LOG("short vSTE: %s", strerror(errno));
	EXPECT_EQ(-1, hwpt_alloc(c->ifd, c->dev_id, c->viommu, 0,
				 IOMMU_HWPT_DATA_VTD_S1, ste, 16, &hwpt));
	TH_LOG("VT-d data on an SMMUv3 vIOMMU: %s", strerror(errno));
	EXPECT_EQ(-1, hwpt_alloc(c->ifd, c->dev_id, c->viommu,
				 IOMMU_HWPT_ALLOC_NEST_PARENT,
				 ITD_HWPT_DATA_SMMUV3, ste, 16, &hwpt));
	TH_LOG("NEST_PARENT on a nested HWPT: %s", strerror(errno));
	/* Longer than the kernel knows, with a non-zero tail. */
	ste[2] = 1;
	EXPECT_EQ(-1, hwpt_alloc(c->ifd, c->dev_id, c->viommu, 0,
				 ITD_HWPT_DATA_SMMUV3, ste, 24, &hwpt));
	TH_LOG("a non-zero third dword: %s", strerror(errno));
	/* Nothing was attached or broken by all that. */
	landed_at(iova_of(3, 0x18), data_off(perm_a, 3, 0x18), 4);
}

/* A vIOMMU and a nested HWPT need a nest parent under them. */
TEST_F(nested, parent_not_nest_parent)
{
	struct nest_ctx *c = &self->c;
	__u64 ste[2] = { vste0_s1(unit_ipa(U_CD)), vste1_s1 };
	__u32 paging, id;

	ASSERT_EQ(0, hwpt_alloc(c->ifd, c->dev_id, c->ioas, 0, 0, NULL, 0,
				&paging));
	EXPECT_EQ(-1, viommu_alloc(c->ifd, c->dev_id, paging, &id));
	EXPECT_EQ(EINVAL, errno);
	/* A nested HWPT straight on a plain paging HWPT. */
	EXPECT_EQ(-1, hwpt_alloc(c->ifd, c->dev_id, paging, 0,
				 ITD_HWPT_DATA_SMMUV3, ste, sizeof(ste), &id));
	TH_LOG("nested HWPT on a paging HWPT: %s", strerror(errno));
	EXPECT_NE(0, errno);
	/* ... and on an IOAS. */
	EXPECT_EQ(-1, hwpt_alloc(c->ifd, c->dev_id, c->ioas, 0,
				 ITD_HWPT_DATA_SMMUV3, ste, sizeof(ste), &id));
	TH_LOG("nested HWPT on an IOAS: %s", strerror(errno));
	EXPECT_NE(0, errno);
	/* A vIOMMU on the vIOMMU: not a HWPT at all. */
	EXPECT_EQ(-1, viommu_alloc(c->ifd, c->dev_id, c->viommu, &id));
	TH_LOG("vIOMMU on a vIOMMU: %s", strerror(errno));
	EXPECT_NE(0, errno);
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, paging));
	landed_at(iova_of(0, 0x28), data_off(perm_a, 0, 0x28), 4);
}

static bool other_same_engine(const struct iommu_testdev_info *info,
			      const void *arg)
{
	const struct iommu_testdev_info *mine = arg;

	return info->pci_rid != mine->pci_rid && info->engine == mine->engine;
}

/* Another test device of the same engine, or -1. */
static int open_other_device(struct nest_ctx *c)
{
	struct iommu_testdev_info info;

	return itd_open_matching(other_same_engine, &c->info, &info);
}

/* One vDEVICE per device per vIOMMU, one device per virtual ID. */
TEST_F(nested, vdevice_duplicate)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };
	struct nest_ctx *c = &self->c;
	__u32 id, viommu2, vdev2;
	int fd2;

	EXPECT_EQ(-1, vdevice_alloc(c->ifd, c->viommu, c->dev_id, VSID, &id));
	EXPECT_EQ(EEXIST, errno);
	EXPECT_EQ(-1, vdevice_alloc(c->ifd, c->viommu, c->dev_id, VSID + 1,
				    &id));
	EXPECT_EQ(EEXIST, errno);
	/* One vDEVICE per device, on whichever vIOMMU. */
	ASSERT_EQ(0, viommu_alloc(c->ifd, c->dev_id, c->parent, &viommu2));
	EXPECT_EQ(-1, vdevice_alloc(c->ifd, viommu2, c->dev_id, VSID, &vdev2));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, viommu2));

	/* Another test device, bound to the same iommufd, wants VSID too. */
	fd2 = open_other_device(c);
	if (fd2 < 0)
		SKIP(return, "one test device: the cross-device check needs two");
	b.iommufd = c->ifd;
	ASSERT_EQ(0, ioctl(fd2, IOMMU_TESTDEV_IOMMUFD_BIND, &b));
	EXPECT_EQ(-1, vdevice_alloc(c->ifd, c->viommu, b.out_dev_id, VSID,
				    &id));
	EXPECT_EQ(EEXIST, errno);
	ASSERT_EQ(0, vdevice_alloc(c->ifd, c->viommu, b.out_dev_id, VSID + 1,
				   &id));
	close(fd2);
	landed_at(iova_of(1, 0x48), data_off(perm_a, 1, 0x48), 4);
}

/* A translating vSTE needs a vDEVICE (its vSID) before attach. */
TEST_F(nested, translate_needs_vdevice)
{
	struct nest_ctx *c = &self->c;
	__u32 viommu2, hwpt, pt, id;
	int vfd2;

	ASSERT_EQ(0, viommu_alloc(c->ifd, c->dev_id, c->parent, &viommu2));
	ASSERT_EQ(0, vste_alloc(c, viommu2, vste0_s1(unit_ipa(U_CD)), vste1_s1,
				&hwpt));
	pt = hwpt;
	EXPECT_EQ(-1, itd_attach(c->fd, &pt, true));
	TH_LOG("attach without a vDEVICE: %s", strerror(errno));
	EXPECT_NE(0, errno);
	/* Still on the old one. */
	landed_at(iova_of(2, 0x50), data_off(perm_a, 2, 0x50), 4);
	/* A second vEVENTQ of one type on a vIOMMU: EEXIST. */
	EXPECT_EQ(-1, veventq_alloc(c->ifd, c->viommu, &id, &vfd2));
	EXPECT_EQ(EEXIST, errno);
}

/*
 * Replace between two translating nested HWPTs of one vIOMMU whose vSTEs
 * point at different CDs (set A with ASID_A, set B with ASID_B): the
 * kernel rewrites the live STE, and each DMA follows the current one.
 */
TEST_F(nested, replace_nested_nested)
{
	struct nest_ctx *c = &self->c;
	__u32 nested2, pt;
	int round;

	write_tables(c, U_L1B, perm_b);
	write_cd_at(c, U_CD2, U_L1B, ASID_B, true);
	ASSERT_EQ(0, vste_alloc(c, c->viommu, vste0_s1(unit_ipa(U_CD2)),
				vste1_s1, &nested2));
	for (round = 0; round < 2; round++) {
		landed_at(iova_of(2, 0x78), data_off(perm_a, 2, 0x78), 4);
		pt = nested2;
		ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
		landed_at(iova_of(2, 0x78), data_off(perm_b, 2, 0x78), 4);
		landed_at(iova_of(0, 0x78), data_off(perm_b, 0, 0x78), 4);
		pt = c->nested;
		ASSERT_EQ(0, itd_attach(c->fd, &pt, true));
	}
	ASSERT_EQ(0, itd_iommufd_destroy(c->ifd, nested2));
}

/*
 * Two devices, one vIOMMU, one nested HWPT: each has its own vSID, both
 * translate through the same CD, and each fault record names the vSID of
 * the device that faulted.
 */
TEST_F(nested, two_devices_one_viommu)
{
	struct iommu_testdev_iommufd_bind b = { .size = sizeof(b) };
	struct nest_ctx *c = &self->c;
	struct itd_vevent ev[4];
	struct itd_tbuf data2;
	__u32 vdev2, pt;
	int fd2, n;

	fd2 = open_other_device(c);
	if (fd2 < 0)
		SKIP(return, "one test device of this engine: the test needs two");
	b.iommufd = c->ifd;
	ASSERT_EQ(0, ioctl(fd2, IOMMU_TESTDEV_IOMMUFD_BIND, &b));
	ASSERT_EQ(0, vdevice_alloc(c->ifd, c->viommu, b.out_dev_id, VSID + 1,
				   &vdev2));
	pt = c->nested;
	ASSERT_EQ(0, itd_attach(fd2, &pt, false));
	/* The second device's oracle: the same user memory, pinned by it. */
	memset(&data2, 0, sizeof(data2));
	data2.p = c->data.p;
	data2.len = c->data.len;
	ASSERT_EQ(0, _test_cmd_buf_alloc(fd2, IOMMU_TESTDEV_BUF_PIN,
					 data2.len, (uintptr_t)data2.p,
					 &data2.id, NULL, NULL));
	itd_expect_landed(_metadata, fd2, &data2, iova_of(1, 0x7c),
			  data_off(perm_a, 1, 0x7c), 4);
	landed_at(iova_of(3, 0x7c), data_off(perm_a, 3, 0x7c), 4);

	/* A fault from each: the records carry their own vSIDs. */
	fault_vevent(_metadata, c, iova_of(NPAGES, 0x7c), 4, EVT_F_TRANSLATION);
	vevents_drain(c);
	itd_expect_fault(_metadata, fd2, &c->info, &data2, iova_of(NPAGES, 0x7c),
			 0, 4);
	n = vevents_read(c, ev, 4, 1, 2000);
	ASSERT_LE(1, n);
	ASSERT_EQ(EVT_F_TRANSLATION, ev[0].evt[0] & 0xff);
	ASSERT_EQ(VSID + 1, ev[0].evt[0] >> 32);
	ASSERT_EQ(iova_of(NPAGES, 0x7c), ev[0].evt[2]);
	_test_cmd_buf_free(fd2, data2.id);
	close(fd2);
	landed_at(iova_of(3, 0x7c), data_off(perm_a, 3, 0x7c), 4);
}

/*
 * CD.R clear: stage-1 faults are not recorded, so no vEVENT; the DMA is
 * still refused.  Needs CFGI_CD for the new CD.
 */
TEST_F(nested, cd_record_off)
{
	struct nest_ctx *c = &self->c;
	__u64 cmd[1][2] = { { CMD_CFGI_CD | CMD_SID(VSID), CMD_LEAF } };
	struct itd_vevent ev[4];

	write_cd(c, U_L1A, ASID_A, false);
	ASSERT_EQ(0, invalidate(c, cmd, 1, NULL));
	vevents_drain(c);
	refused_at(iova_of(NPAGES, 0x10), 4);
	EXPECT_EQ(0, vevents_read(c, ev, 4, 1, 200));
	write_cd(c, U_L1A, ASID_A, true);
	ASSERT_EQ(0, invalidate(c, cmd, 1, NULL));
	fault_vevent(_metadata, c, iova_of(NPAGES, 0x10), 4, EVT_F_TRANSLATION);
}

/* Bad commands: EIO, and entry_num says how many went through first. */
TEST_F(nested, invalidate_bad_command)
{
	struct nest_ctx *c = &self->c;
	const __u64 good[2] = { CMD_TLBI_NH_ASID | CMD_ASID(ASID_A), 0 };
	const struct {
		const char *what;
		__u64 cmd[2];
	} bad[] = {
		{ "CFGI_STE (the host's)", { CMD_CFGI_STE | CMD_SID(VSID), 0 } },
		{ "opcode 0xff", { 0xff, 0 } },
		{ "TLBI_NH_VA with bit 11 (RES0)",
		  { CMD_TLBI_NH_VA | BIT_ULL(11) | CMD_ASID(ASID_A), S1_IOVA } },
		{ "CFGI_CD for an unknown vSID", { CMD_CFGI_CD | CMD_SID(VSID + 7), 0 } },
		{ "TLBI_NH_VA range with TTL 0, NUM 0",
		  { CMD_TLBI_NH_VA | CMD_ASID(ASID_A), S1_IOVA | CMD_TG_4K } },
		{ "ATC_INV on an SMMU without ATS", { 0x40 | CMD_SID(VSID), 0 } },
	};
	struct iommu_hwpt_invalidate inv = {
		.size = sizeof(inv),
		.data_type = ITD_INV_DATA_SMMUV3,
		.entry_len = sizeof(good),
		.entry_num = 1,
	};
	__u64 cmds[3][2];
	unsigned int i;
	__u32 done;

	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		memcpy(cmds[0], good, sizeof(good));
		memcpy(cmds[1], good, sizeof(good));
		memcpy(cmds[2], bad[i].cmd, sizeof(bad[i].cmd));
		EXPECT_EQ(-1, invalidate(c, (const __u64 (*)[2])cmds, 3, &done))
			TH_LOG("%s accepted", bad[i].what);
		EXPECT_EQ(EIO, errno) TH_LOG("%s: %s", bad[i].what,
					     strerror(errno));
		EXPECT_EQ(2, done) TH_LOG("%s: %u consumed", bad[i].what,
					  done);
	}
	/* The bad one first: none consumed. */
	memcpy(cmds[0], bad[0].cmd, sizeof(bad[0].cmd));
	EXPECT_EQ(-1, invalidate(c, (const __u64 (*)[2])cmds, 2, &done));
	EXPECT_EQ(0, done);
	/* The nested HWPT is not the place for SMMUv3 commands. */
	inv.hwpt_id = c->nested;
	inv.data_uptr = (uintptr_t)good;
	EXPECT_EQ(-1, ioctl(c->ifd, IOMMU_HWPT_INVALIDATE, &inv));
	TH_LOG("commands to the nested HWPT: %s", strerror(errno));
	landed_at(iova_of(0, 0x58), data_off(perm_a, 0, 0x58), 4);
}

/*
 * "An empty invalidation request array by setting @entry_num==0 is
 * allowed" (include/uapi/linux/iommufd.h): the way to ask whether a data
 * type is supported.
 */
TEST_F(nested, invalidate_empty)
{
	struct nest_ctx *c = &self->c;
	__u32 done = 1;
	int ret;

	ret = invalidate(c, NULL, 0, &done);
	if (ret && errno == EINVAL && !done) {
		/* The same answer for a type the vIOMMU does not take. */
		struct iommu_hwpt_invalidate inv = {
			.size = sizeof(inv),
			.hwpt_id = c->viommu,
			.data_type = IOMMU_HWPT_INVALIDATE_DATA_VTD_S1,
		};

		ASSERT_EQ(-1, ioctl(c->ifd, IOMMU_HWPT_INVALIDATE, &inv));
		ASSERT_EQ(EINVAL, errno);
		landed_at(iova_of(0, 0x5c), data_off(perm_a, 0, 0x5c), 4);
		XFAIL(return,
		      "Linux: arm_vsmmu_cache_invalidate() refuses entry_num 0 with EINVAL (iommu_copy_struct_from_full_user_array), as for an unsupported type");
	}
	ASSERT_EQ(0, ret) TH_LOG("entry_num 0: %s", strerror(errno));
	ASSERT_EQ(0, done);
}

/*
 * entry_num is "the number of requests successfully handled": a command
 * counted there must have reached the SMMU even when a later one in the
 * same call is refused.
 */
TEST_F(nested, invalidate_consumed_applies)
{
	struct nest_ctx *c = &self->c;
	const __u64 cmds[2][2] = {
		{ CMD_TLBI_NH_VA | CMD_ASID(ASID_A), iova_of(1, 0) | CMD_LEAF },
		{ CMD_CFGI_STE | CMD_SID(VSID), 0 },
	};
	__u32 done;
	long off;

	landed_at(iova_of(1, 0x68), data_off(perm_a, 1, 0x68), 4);
	*l3_pte(c, U_L1A, 1) = (DATA_IPA + perm_b[1] * G4K) | PTE_PAGE_RW;
	__sync_synchronize();
	ASSERT_EQ(-1, invalidate(c, cmds, 2, &done));
	ASSERT_EQ(EIO, errno);
	ASSERT_EQ(1, done);
	off = landed_where(_metadata, c, iova_of(1, 0x68), 4);
	TH_LOG("after 1 consumed TLBI_NH_VA: landed at %ld (old %zu, new %zu)",
	       off, data_off(perm_a, 1, 0x68), data_off(perm_b, 1, 0x68));
	if (off == (long)data_off(perm_a, 1, 0x68)) {
		/* The signature: the same command alone does take effect. */
		ASSERT_EQ(0, invalidate(c, cmds, 1, &done));
		ASSERT_EQ(1, done);
		landed_at(iova_of(1, 0x68), data_off(perm_b, 1, 0x68), 4);
		XFAIL(return,
		      "Linux: arm_vsmmu_cache_invalidate() counts in entry_num the commands it converted before a refused one, but never issues them (the batch is dropped)");
	}
	ASSERT_EQ((long)data_off(perm_b, 1, 0x68), off);
}

/* ---- FIXTURE(nested_tlbi): a PTE change and one invalidation ---------- */

FIXTURE(nested_tlbi) {
	struct nest_ctx c;
};

FIXTURE_VARIANT(nested_tlbi) {
	__u64 cmd0, cmd1;	/* the command; ITD_TLBI_VA: OR the IOVA in */
	bool per_page;		/* one command per changed page */
};

#define ITD_TLBI_VA	BIT_ULL(63)	/* a marker in cmd0, never sent */

FIXTURE_VARIANT_ADD(nested_tlbi, nh_va) {
	.cmd0 = ITD_TLBI_VA | CMD_TLBI_NH_VA | CMD_ASID(ASID_A),
	.cmd1 = CMD_LEAF,
	.per_page = true,
};

FIXTURE_VARIANT_ADD(nested_tlbi, nh_vaa) {
	.cmd0 = ITD_TLBI_VA | CMD_TLBI_NH_VAA,
	.cmd1 = 0,
	.per_page = true,
};

/* One range command for the four pages: TG 4 KiB, NUM 3, TTL 3. */
FIXTURE_VARIANT_ADD(nested_tlbi, nh_va_range) {
	.cmd0 = ITD_TLBI_VA | CMD_TLBI_NH_VA | CMD_ASID(ASID_A) | CMD_NUM(3),
	.cmd1 = CMD_TG_4K | CMD_TTL(3) | CMD_LEAF,
};

FIXTURE_VARIANT_ADD(nested_tlbi, nh_asid) {
	.cmd0 = CMD_TLBI_NH_ASID | CMD_ASID(ASID_A),
};

FIXTURE_VARIANT_ADD(nested_tlbi, nh_all) {
	.cmd0 = CMD_TLBI_NH_ALL,
};

FIXTURE_VARIANT_ADD(nested_tlbi, nsnh_all) {
	.cmd0 = CMD_TLBI_NSNH_ALL,
};

FIXTURE_SETUP(nested_tlbi)
{
	self->c.fd = -1;
	nest_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(nested_tlbi)
{
	nest_teardown(&self->c);
}

/*
 * Every page is used (so the SMMU may cache it), then its stage-1 PTE
 * moves to table set B's page.  Before the invalidation a DMA may land at
 * either page (the test reports which); after it, only at the new one.
 */
TEST_F(nested_tlbi, pte_change)
{
	struct nest_ctx *c = &self->c;
	__u64 cmds[NPAGES][2];
	unsigned int i, n = 0, sent, stale = 0;
	__u32 done;
	long off;

	for (i = 0; i < NPAGES; i++)
		landed_at(iova_of(i, 0x60), data_off(perm_a, i, 0x60), 4);
	for (i = 0; i < NPAGES; i++)
		*l3_pte(c, U_L1A, i) = (DATA_IPA + perm_b[i] * G4K) |
				       PTE_PAGE_RW;
	__sync_synchronize();
	for (i = 0; i < NPAGES; i++) {
		off = landed_where(_metadata, c, iova_of(i, 0x60), 4);
		ASSERT_TRUE(off == (long)data_off(perm_a, i, 0x60) ||
			    off == (long)data_off(perm_b, i, 0x60))
			TH_LOG("page %u landed at %ld", i, off);
		stale += off == (long)data_off(perm_a, i, 0x60);
	}
	TH_LOG("before the invalidation: %u of %u pages still used the old PTE",
	       stale, NPAGES);

	for (i = 0; i < (variant->per_page ? NPAGES : 1); i++) {
		cmds[n][0] = variant->cmd0 & ~ITD_TLBI_VA;
		cmds[n][1] = variant->cmd1;
		if (variant->cmd0 & ITD_TLBI_VA)
			cmds[n][1] |= iova_of(i, 0);
		n++;
	}
	sent = n;
	ASSERT_EQ(0, invalidate(c, (const __u64 (*)[2])cmds, sent, &done))
		TH_LOG("invalidate: %s", strerror(errno));
	ASSERT_EQ(sent, done);
	for (i = 0; i < NPAGES; i++)
		landed_at(iova_of(i, 0x60), data_off(perm_b, i, 0x60), 4);
}

/* ---- FIXTURE(nested_cd): a CD change and CFGI_CD ---------------------- */

FIXTURE(nested_cd) {
	struct nest_ctx c;
};

FIXTURE_VARIANT(nested_cd) {
	__u64 cmd0, cmd1;
};

FIXTURE_VARIANT_ADD(nested_cd, cfgi_cd) {
	.cmd0 = CMD_CFGI_CD | CMD_SID(VSID),
	.cmd1 = CMD_LEAF,
};

FIXTURE_VARIANT_ADD(nested_cd, cfgi_cd_all) {
	.cmd0 = CMD_CFGI_CD_ALL | CMD_SID(VSID),
};

FIXTURE_SETUP(nested_cd)
{
	self->c.fd = -1;
	nest_setup(_metadata, &self->c);
}

FIXTURE_TEARDOWN(nested_cd)
{
	nest_teardown(&self->c);
}

/*
 * The CD moves to table set B with a new ASID (so no TLB entry of the old
 * one can answer): before CFGI_CD the SMMU may still use its cached CD;
 * after it, set B's pages.
 */
TEST_F(nested_cd, cd_change)
{
	struct nest_ctx *c = &self->c;
	const __u64 cmd[1][2] = { { variant->cmd0, variant->cmd1 } };
	unsigned int i, stale = 0;
	__u32 done;
	long off;

	for (i = 0; i < NPAGES; i++)
		landed_at(iova_of(i, 0x70), data_off(perm_a, i, 0x70), 4);
	write_tables(c, U_L1B, perm_b);
	write_cd(c, U_L1B, ASID_B, true);
	for (i = 0; i < NPAGES; i++) {
		off = landed_where(_metadata, c, iova_of(i, 0x70), 4);
		ASSERT_TRUE(off == (long)data_off(perm_a, i, 0x70) ||
			    off == (long)data_off(perm_b, i, 0x70))
			TH_LOG("page %u landed at %ld", i, off);
		stale += off == (long)data_off(perm_a, i, 0x70);
	}
	TH_LOG("before CFGI_CD: %u of %u pages still used the old CD",
	       stale, NPAGES);
	ASSERT_EQ(0, invalidate(c, cmd, 1, &done));
	ASSERT_EQ(1, done);
	for (i = 0; i < NPAGES; i++)
		landed_at(iova_of(i, 0x70), data_off(perm_b, i, 0x70), 4);
	/* Set A's tables are no longer walked: zero them, nothing changes. */
	memset(unit(c, U_L1A), 0, 3 * G4K);
	landed_at(iova_of(3, 0x74), data_off(perm_b, 3, 0x74), 4);
}

/*
 * Where nesting cannot be had (another IOMMU, an older kernel, no CANWBS)
 * the whole program is one SKIP with the reason, not one per case.
 */
int main(int argc, char **argv)
{
	struct nest_ctx c = {};
	char why[256];
	int i, r;

	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "-h"))
			return test_harness_run(argc, argv);
	r = nest_open(&c, why, sizeof(why));
	nest_teardown(&c);
	if (r > 0) {
		ksft_print_header();
		ksft_exit_skip("%s\n", why);
	}
	return test_harness_run(argc, argv);
}
