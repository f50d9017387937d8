// SPDX-License-Identifier: GPL-2.0
/*
 * Engine for QEMU's edu device (hw/misc/edu.c), present in every QEMU.
 *
 * edu copies between memory and a 4 KiB buffer inside the device; each
 * transfer completes after a 100 ms virtual-time timer and raises an
 * interrupt.  The first half of the device buffer holds the pattern, loaded
 * once at probe; the second half receives what a COPY reads.  edu cannot
 * report a failed transfer: the verdict is what the CPU sees in memory.
 */
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/moduleparam.h>
#include <linux/pci.h>
#include <linux/slab.h>

#include "itd.h"

#define EDU_REG_ID		0x00
#define EDU_REG_IRQ_STATUS	0x24
#define EDU_REG_IRQ_ACK		0x64
#define EDU_REG_DMA_SRC		0x80
#define EDU_REG_DMA_DST		0x88
#define EDU_REG_DMA_CNT		0x90
#define EDU_REG_DMA_CMD		0x98

#define EDU_ID_MAGIC		0xed
#define EDU_CMD_RUN		BIT(0)
#define EDU_CMD_TO_RAM		BIT(1)
#define EDU_CMD_IRQ		BIT(2)
#define EDU_IRQ_DMA		0x100

#define EDU_BUF			0x40000
#define EDU_PATTERN		(EDU_BUF + 0)
#define EDU_SCRATCH		(EDU_BUF + 2048)
/*
 * A transfer that ends exactly at the end of the device buffer kills
 * QEMU 7.2's edu: stay below it in both halves.
 */
#define EDU_MAX_LEN		2040

static unsigned int edu_dma_bits = 28;
module_param(edu_dma_bits, uint, 0444);
MODULE_PARM_DESC(edu_dma_bits,
		 "Address bits edu emits (28 unless QEMU's dma_mask widens it)");

/*
 * Writable so that a test can make the driver give up long before edu's
 * 100 ms timer fires: the path of a device that never finishes, on demand.
 */
static unsigned int edu_timeout_ms = 5000;
module_param(edu_timeout_ms, uint, 0644);
MODULE_PARM_DESC(edu_timeout_ms,
		 "How long a DMA may take before the driver gives up on it (ms)");

static unsigned int edu_timeout(void)
{
	return max(READ_ONCE(edu_timeout_ms), 1U);
}

struct edu_priv {
	struct completion done;
	int irq;
};

static bool edu_match(struct pci_dev *pdev)
{
	return (pci_resource_flags(pdev, 0) & IORESOURCE_MEM) &&
	       pci_resource_len(pdev, 0) >= SZ_1M;
}

static irqreturn_t edu_irq(int irq, void *data)
{
	struct itd_dev *idev = data;
	struct edu_priv *p = idev->engine_priv;
	u32 status = readl(idev->regs + EDU_REG_IRQ_STATUS);

	if (!(status & EDU_IRQ_DMA))
		return IRQ_NONE;
	writel(EDU_IRQ_DMA, idev->regs + EDU_REG_IRQ_ACK);
	complete(&p->done);
	return IRQ_HANDLED;
}

static bool edu_running(struct itd_dev *idev)
{
	return readq(idev->regs + EDU_REG_DMA_CMD) & EDU_CMD_RUN;
}

/* Poll the run bit for up to @ms; true once it is clear. */
static bool edu_wait_idle(struct itd_dev *idev, unsigned int ms)
{
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);

	while (edu_running(idev)) {
		if (time_after(jiffies, deadline))
			return false;
		msleep(20);
	}
	return true;
}

/*
 * edu copies when its timer fires, through whatever the IOMMU maps at that
 * moment: a transfer the driver stopped waiting for may still land, in
 * memory that is no longer the caller's by then.  Cut the device off the
 * bus before anyone frees or unmaps anything; edu then drops the copy.
 * Only a reset that finds the run bit clear lets it back (edu_reset_done).
 */
static int edu_wedge(struct itd_dev *idev)
{
	pci_clear_master(idev->pdev);
	idev->stuck = true;
	pci_err(idev->pdev,
		"edu DMA never finished: bus mastering off, its memory kept\n");
	return -EIO;
}

/*
 * One transfer; bounded even when the interrupt never comes.  Returns 0,
 * -ETIMEDOUT when the interrupt never came but the device did finish, or
 * -EIO when it may still be copying (&itd_dev.stuck set).
 */
static int edu_xfer(struct itd_dev *idev, u64 src, u64 dst, u32 len, u32 dir)
{
	struct edu_priv *p = idev->engine_priv;
	unsigned int ms = edu_timeout();

	if (idev->stuck)
		return -EIO;
	reinit_completion(&p->done);
	writeq(src, idev->regs + EDU_REG_DMA_SRC);
	writeq(dst, idev->regs + EDU_REG_DMA_DST);
	writeq(len, idev->regs + EDU_REG_DMA_CNT);
	writeq(EDU_CMD_RUN | EDU_CMD_IRQ | dir, idev->regs + EDU_REG_DMA_CMD);
	if (wait_for_completion_timeout(&p->done, msecs_to_jiffies(ms)))
		return 0;

	/* No interrupt: wait for the run bit before memory is reused. */
	if (!edu_wait_idle(idev, 2 * ms))
		return edu_wedge(idev);
	/* A late interrupt must not complete the next transfer early. */
	writel(EDU_IRQ_DMA, idev->regs + EDU_REG_IRQ_ACK);
	synchronize_irq(p->irq);
	return -ETIMEDOUT;
}

static int edu_load_pattern(struct itd_dev *idev)
{
	struct device *dev = itd_to_dev(idev);
	dma_addr_t dma;
	u8 *cpu;
	int i, rc;

	cpu = dma_alloc_coherent(dev, PAGE_SIZE, &dma, GFP_KERNEL);
	if (!cpu)
		return -ENOMEM;
	for (i = 0; i < EDU_MAX_LEN; i++)
		cpu[i] = IOMMU_TESTDEV_PATTERN >> (8 * (i & 3));
	rc = edu_xfer(idev, dma, EDU_PATTERN, EDU_MAX_LEN, 0);
	if (idev->stuck) {
		/* The device may still read it: never hand it back. */
		pci_warn(idev->pdev, "leaking the pattern's DMA buffer\n");
		return rc;
	}
	dma_free_coherent(dev, PAGE_SIZE, cpu, dma);
	return rc;
}

static int edu_probe(struct itd_dev *idev)
{
	struct pci_dev *pdev = idev->pdev;
	struct edu_priv *p;
	int rc;

	if ((readl(idev->regs + EDU_REG_ID) & 0xff) != EDU_ID_MAGIC)
		return -ENODEV;
	/*
	 * A transfer an earlier binding gave up on may still be pending: edu
	 * ignores new commands until it ends, and it must not land through
	 * this binding's mappings.  Off the bus until it is over, and only
	 * then on it (the core left bus mastering off).
	 */
	if (edu_running(idev)) {
		pci_clear_master(pdev);
		if (!edu_wait_idle(idev, 2 * edu_timeout())) {
			pci_err(pdev, "an earlier edu DMA never finished\n");
			return -EBUSY;
		}
	}
	pci_set_master(pdev);
	idev->dma_bits = clamp(edu_dma_bits, 28U, 64U);
	rc = dma_set_mask_and_coherent(&pdev->dev,
				       DMA_BIT_MASK(idev->dma_bits));
	if (rc)
		return rc;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	init_completion(&p->done);
	idev->engine_priv = p;

	/* INTx: an MSI would itself be translated by the domain under test. */
	rc = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_INTX);
	if (rc < 0)
		goto err_free;
	p->irq = pci_irq_vector(pdev, 0);
	rc = request_irq(p->irq, edu_irq, IRQF_SHARED, idev->name, idev);
	if (rc)
		goto err_vectors;
	rc = edu_load_pattern(idev);
	if (rc)
		goto err_irq;
	return 0;

err_irq:
	free_irq(p->irq, idev);
err_vectors:
	pci_free_irq_vectors(pdev);
err_free:
	kfree(p);
	idev->engine_priv = NULL;
	return rc;
}

static void edu_remove(struct itd_dev *idev)
{
	struct edu_priv *p = idev->engine_priv;

	free_irq(p->irq, idev);
	pci_free_irq_vectors(idev->pdev);
	kfree(p);
	idev->engine_priv = NULL;
}

/*
 * QEMU's edu keeps its registers, its buffer (the pattern) and a pending
 * transfer across a reset.  A stuck device gets the bus back once its run
 * bit reads clear, and not before.
 */
static void edu_reset_done(struct itd_dev *idev)
{
	struct edu_priv *p = idev->engine_priv;

	if (idev->stuck && !edu_running(idev)) {
		idev->stuck = false;
		pci_set_master(idev->pdev);
	}
	writel(EDU_IRQ_DMA, idev->regs + EDU_REG_IRQ_ACK);
	synchronize_irq(p->irq);
}

static int edu_dma(struct itd_dev *idev, const struct itd_dma_req *req,
		   u32 *result)
{
	int rc;

	*result = 0;
	if (req->len > EDU_MAX_LEN)
		return -EINVAL;
	if (req->op == IOMMU_TESTDEV_DMA_COPY) {
		rc = edu_xfer(idev, req->src_iova, EDU_SCRATCH, req->len, 0);
		if (!rc)
			rc = edu_xfer(idev, EDU_SCRATCH, req->iova, req->len,
				      EDU_CMD_TO_RAM);
	} else {
		rc = edu_xfer(idev, EDU_PATTERN, req->iova, req->len,
			      EDU_CMD_TO_RAM);
	}
	if (rc == -ETIMEDOUT)
		return IOMMU_TESTDEV_STATUS_TIMEOUT;
	return rc ? rc : IOMMU_TESTDEV_STATUS_OK;
}

const struct itd_engine_ops itd_engine_edu = {
	.name = "edu",
	.engine = IOMMU_TESTDEV_ENGINE_EDU,
	.caps = IOMMU_TESTDEV_CAP_WRITE | IOMMU_TESTDEV_CAP_COPY,
	.max_len = EDU_MAX_LEN,
	.match = edu_match,
	.probe = edu_probe,
	.remove = edu_remove,
	.reset_done = edu_reset_done,
	.dma = edu_dma,
};
