// SPDX-License-Identifier: GPL-2.0
/*
 * Engine for QEMU's iommu-testdev (hw/misc/iommu-testdev.c, QEMU 11.0+).
 *
 * The device writes LEN bytes of a fixed pattern at an IOVA through the
 * IOMMU, then reads the expected physical address directly, bypassing the
 * IOMMU, and compares.  A read of the trigger register runs the armed DMA
 * synchronously; there is no interrupt.
 */
#include <linux/bitops.h>
#include <linux/io.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "itd.h"

#define ITD_REG_TRIGGER		0x00	/* read: run the armed DMA */
#define ITD_REG_IOVA_LO		0x04
#define ITD_REG_IOVA_HI		0x08
#define ITD_REG_LEN		0x0c
#define ITD_REG_RESULT		0x10
#define ITD_REG_DBELL		0x14
#define ITD_REG_ATTRS		0x18	/* [0] secure [2:1] space [3] valid */
#define ITD_REG_PHYS_LO		0x1c
#define ITD_REG_PHYS_HI		0x20
#define ITD_BAR0_SIZE		0x1000

#define ITD_DBELL_ARM		BIT(0)

#define ITD_RESULT_OK		0x00000000
#define ITD_RESULT_IDLE		0xffffffff
#define ITD_RESULT_BUSY		0xfffffffe
#define ITD_RESULT_BAD_LEN	0xdead0001
#define ITD_RESULT_TX_FAIL	0xdead0002
#define ITD_RESULT_RD_FAIL	0xdead0003
#define ITD_RESULT_MISMATCH	0xdead0004
#define ITD_RESULT_NOT_ARMED	0xdead0005
#define ITD_RESULT_BAD_ATTRS	0xdead0006

/* The registers written before each DMA. */
enum {
	ITD_W_IOVA_LO, ITD_W_IOVA_HI, ITD_W_LEN,
	ITD_W_PHYS_LO, ITD_W_PHYS_HI, ITD_W_ATTRS, ITD_W_NR
};

static const u16 itd_dma_regs[ITD_W_NR] = {
	[ITD_W_IOVA_LO] = ITD_REG_IOVA_LO,
	[ITD_W_IOVA_HI] = ITD_REG_IOVA_HI,
	[ITD_W_LEN] = ITD_REG_LEN,
	[ITD_W_PHYS_LO] = ITD_REG_PHYS_LO,
	[ITD_W_PHYS_HI] = ITD_REG_PHYS_HI,
	[ITD_W_ATTRS] = ITD_REG_ATTRS,
};

/**
 * struct itd_testdev_priv - what the driver last wrote to the DMA registers
 * @val: the values, indexed like itd_dma_regs[]
 * @valid: bit i set when the device holds @val[i]
 *
 * The registers keep their values from one DMA to the next, and under TCG
 * every MMIO write is a trip into QEMU: writing only what changed makes a
 * DMA at the same place a fifth cheaper.  A reset (or a resume) clears the
 * registers, so itd_testdev_reset_done() forgets them; &itd_dev.lock, held
 * from reset_prepare to reset_done, keeps DMAs out in between.
 */
struct itd_testdev_priv {
	u32 val[ITD_W_NR];
	unsigned long valid;
};

/* Context: &itd_dev.lock held. */
static void itd_testdev_set(struct itd_dev *idev, unsigned int i, u32 v)
{
	struct itd_testdev_priv *p = idev->engine_priv;

	if ((p->valid & BIT(i)) && p->val[i] == v)
		return;
	writel(v, idev->regs + itd_dma_regs[i]);
	p->val[i] = v;
	p->valid |= BIT(i);
}

/*
 * QEMU's pci-testdev has the same ids, revision and class but a second,
 * I/O, BAR: bind only the device whose sole BAR is 4 KiB of memory.
 */
static bool itd_testdev_match(struct pci_dev *pdev)
{
	int bar;

	if (!(pci_resource_flags(pdev, 0) & IORESOURCE_MEM) ||
	    pci_resource_len(pdev, 0) != ITD_BAR0_SIZE)
		return false;
	for (bar = 1; bar < PCI_STD_NUM_BARS; bar++)
		if (pci_resource_len(pdev, bar))
			return false;
	return true;
}

static int itd_testdev_probe(struct itd_dev *idev)
{
	u32 result = readl(idev->regs + ITD_REG_RESULT);
	struct itd_testdev_priv *p;

	/* A fresh device is idle; anything else is not an iommu-testdev. */
	if (result != ITD_RESULT_IDLE && result != ITD_RESULT_OK &&
	    (result & 0xffff0000) != 0xdead0000)
		return -ENODEV;
	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	idev->engine_priv = p;
	writel(0, idev->regs + ITD_REG_DBELL);
	/* Its DMA runs inside the doorbell write: nothing can be pending. */
	pci_set_master(idev->pdev);
	return 0;
}

static void itd_testdev_remove(struct itd_dev *idev)
{
	writel(0, idev->regs + ITD_REG_DBELL);
	kfree(idev->engine_priv);
	idev->engine_priv = NULL;
}

static void itd_testdev_reset_done(struct itd_dev *idev)
{
	struct itd_testdev_priv *p = idev->engine_priv;

	p->valid = 0;
}

static int itd_testdev_dma(struct itd_dev *idev, const struct itd_dma_req *req,
			   u32 *result)
{
	void __iomem *regs = idev->regs;

	if (req->op != IOMMU_TESTDEV_DMA_WRITE)
		return -EOPNOTSUPP;

	itd_testdev_set(idev, ITD_W_IOVA_LO, lower_32_bits(req->iova));
	itd_testdev_set(idev, ITD_W_IOVA_HI, upper_32_bits(req->iova));
	itd_testdev_set(idev, ITD_W_LEN, req->len);
	itd_testdev_set(idev, ITD_W_PHYS_LO, lower_32_bits(req->expect_phys));
	itd_testdev_set(idev, ITD_W_PHYS_HI, upper_32_bits(req->expect_phys));
	/* Non-secure, no explicit security space. */
	itd_testdev_set(idev, ITD_W_ATTRS, 0);
	writel(ITD_DBELL_ARM, regs + ITD_REG_DBELL);
	readl(regs + ITD_REG_TRIGGER);
	*result = readl(regs + ITD_REG_RESULT);

	switch (*result) {
	case ITD_RESULT_OK:
		return IOMMU_TESTDEV_STATUS_OK;
	case ITD_RESULT_TX_FAIL:
		return IOMMU_TESTDEV_STATUS_FAULT;
	case ITD_RESULT_MISMATCH:
		return IOMMU_TESTDEV_STATUS_MISMATCH;
	case ITD_RESULT_BUSY:
		return IOMMU_TESTDEV_STATUS_TIMEOUT;
	default:
		return IOMMU_TESTDEV_STATUS_ERROR;
	}
}

const struct itd_engine_ops itd_engine_testdev = {
	.name = "iommu-testdev",
	.engine = IOMMU_TESTDEV_ENGINE_ITD,
	.caps = IOMMU_TESTDEV_CAP_WRITE | IOMMU_TESTDEV_CAP_DEV_VERIFY |
		IOMMU_TESTDEV_CAP_FAULT_STATUS,
	/* QEMU allocates twice the length per DMA: keep it modest. */
	.max_len = SZ_1M,
	.match = itd_testdev_match,
	.probe = itd_testdev_probe,
	.remove = itd_testdev_remove,
	.reset_done = itd_testdev_reset_done,
	.dma = itd_testdev_dma,
};
