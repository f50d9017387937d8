// SPDX-License-Identifier: GPL-2.0
/*
 * Buffers: the memory a test owns and the oracle of every DMA.
 *
 * The driver learns a buffer's physical pages when it allocates or pins
 * them, never from an IOMMU page table, so a wrong translation cannot hide
 * behind a wrong oracle.
 */
#include <linux/bsearch.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

#include "itd.h"

static void itd_buf_release(struct kref *ref)
{
	struct itd_buf *buf = container_of(ref, struct itd_buf, ref);

	if (buf->pinned) {
		unpin_user_pages_dirty_lock(buf->pages, buf->npages, true);
		account_locked_vm(buf->mm, buf->npages, false);
		mmdrop(buf->mm);
	} else {
		__free_pages(buf->pages[0], buf->order);
	}
	atomic64_sub(buf->length, &buf->file->buf_bytes);
	kvfree(buf->pages);
	kfree(buf);
}

void itd_buf_put(struct itd_buf *buf)
{
	kref_put(&buf->ref, itd_buf_release);
}

/**
 * itd_buf_get() - look a buffer up by id and take a reference
 * @f: the file whose table holds it
 * @id: its id
 *
 * Return: the buffer, or NULL.
 */
struct itd_buf *itd_buf_get(struct itd_file *f, u32 id)
{
	struct itd_buf *buf;

	xa_lock(&f->bufs);
	buf = xa_load(&f->bufs, id);
	if (buf)
		kref_get(&buf->ref);
	xa_unlock(&f->bufs);
	return buf;
}

static bool itd_pages_contig(struct page **pages, unsigned long n)
{
	unsigned long i;

	for (i = 1; i < n; i++)
		if (page_to_pfn(pages[i]) != page_to_pfn(pages[0]) + i)
			return false;
	return true;
}

static int itd_buf_pin(struct itd_buf *buf, u64 user_va)
{
	unsigned long done = 0;
	int rc;

	/* Pinned pages count against RLIMIT_MEMLOCK, as vfio's and iommufd's. */
	rc = account_locked_vm(current->mm, buf->npages, true);
	if (rc)
		return rc;

	while (done < buf->npages) {
		rc = pin_user_pages_fast(user_va + (done << PAGE_SHIFT),
					 buf->npages - done,
					 FOLL_WRITE | FOLL_LONGTERM,
					 buf->pages + done);
		if (rc <= 0) {
			unpin_user_pages(buf->pages, done);
			account_locked_vm(current->mm, buf->npages, false);
			return rc ? rc : -EFAULT;
		}
		done += rc;
		cond_resched();
	}
	mmgrab(current->mm);
	buf->mm = current->mm;
	buf->pinned = true;
	return 0;
}

static int itd_buf_pages(struct itd_buf *buf)
{
	struct page *page;
	unsigned long i;

	buf->order = get_order(buf->length);
	if (buf->order > MAX_PAGE_ORDER)
		return -EINVAL;
	page = alloc_pages(GFP_KERNEL | __GFP_ZERO | __GFP_NOWARN, buf->order);
	if (!page)
		return -ENOMEM;
	for (i = 0; i < buf->npages; i++)
		buf->pages[i] = page + i;
	return 0;
}

/**
 * itd_buf_alloc() - IOMMU_TESTDEV_BUF_ALLOC
 * @ucmd: the call: @ucmd->f is the calling file; @ucmd->cmd is the request
 *
 * Return: 0 or a negative errno.
 */
int itd_buf_alloc(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_buf_alloc *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	bool pin = cmd->flags & IOMMU_TESTDEV_BUF_PIN;
	struct itd_buf *buf;
	u64 end;
	u32 id;
	int rc;

	if (cmd->flags & ~IOMMU_TESTDEV_BUF_PIN)
		return -EOPNOTSUPP;
	if (!cmd->length || !PAGE_ALIGNED(cmd->length))
		return -EINVAL;
	if (pin) {
		if (!cmd->user_va || !PAGE_ALIGNED(cmd->user_va))
			return -EINVAL;
		if (check_add_overflow(cmd->user_va, cmd->length, &end))
			return -EOVERFLOW;
	} else if (cmd->user_va) {
		return -EINVAL;
	}
	if (cmd->length > ITD_BUF_BUDGET)
		return -E2BIG;
	if (atomic64_add_return(cmd->length, &f->buf_bytes) >
	    ITD_BUF_BUDGET) {
		atomic64_sub(cmd->length, &f->buf_bytes);
		return -ENOSPC;
	}

	rc = -ENOMEM;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL);
	if (!buf)
		goto err_bytes;
	kref_init(&buf->ref);
	buf->file = f;
	buf->length = cmd->length;
	buf->npages = cmd->length >> PAGE_SHIFT;
	buf->pages = kvmalloc_array(buf->npages, sizeof(*buf->pages),
				    GFP_KERNEL);
	if (!buf->pages)
		goto err_buf;
	rc = pin ? itd_buf_pin(buf, cmd->user_va) : itd_buf_pages(buf);
	if (rc)
		goto err_pages;
	buf->contig = itd_pages_contig(buf->pages, buf->npages);

	rc = xa_alloc(&f->bufs, &id, buf, XA_LIMIT(1, INT_MAX), GFP_KERNEL);
	if (rc) {
		/* The release path now owns the byte count. */
		itd_buf_put(buf);
		return rc;
	}
	cmd->out_buf_id = id;
	cmd->out_flags = buf->contig ? IOMMU_TESTDEV_BUF_CONTIG : 0;
	cmd->out_mmap_offset = pin ? 0 : (u64)id << PAGE_SHIFT;
	return 0;

err_pages:
	kvfree(buf->pages);
err_buf:
	kfree(buf);
err_bytes:
	atomic64_sub(cmd->length, &f->buf_bytes);
	return rc;
}

/**
 * itd_buf_free() - IOMMU_TESTDEV_BUF_FREE
 * @ucmd: the call: @ucmd->f is the calling file; @ucmd->cmd is the request
 *
 * A buffer still mapped in an owned domain stays: EBUSY.  An mmap of it
 * keeps the pages until munmap.
 *
 * Return: 0 or a negative errno.
 */
int itd_buf_free(struct itd_ucmd *ucmd)
{
	struct iommu_testdev_buf_free *cmd = ucmd->cmd;
	struct itd_file *f = ucmd->f;
	struct itd_buf *buf;
	int rc = 0;

	if (cmd->flags)
		return -EOPNOTSUPP;
	if (cmd->__reserved)
		return -EINVAL;

	/* &itd_dev.lock orders this against MAP taking a map_count. */
	mutex_lock(&f->idev->lock);
	xa_lock(&f->bufs);
	buf = xa_load(&f->bufs, cmd->buf_id);
	if (!buf)
		rc = -ENOENT;
	else if (buf->map_count)
		rc = -EBUSY;
	else
		__xa_erase(&f->bufs, cmd->buf_id);
	xa_unlock(&f->bufs);
	mutex_unlock(&f->idev->lock);
	if (!rc)
		itd_buf_put(buf);
	return rc;
}

/**
 * itd_buf_free_all() - drop the file's table; mappings are already gone
 * @f: the file being released
 */
void itd_buf_free_all(struct itd_file *f)
{
	struct itd_buf *buf;
	unsigned long id;

	xa_for_each(&f->bufs, id, buf) {
		xa_erase(&f->bufs, id);
		WARN_ON(buf->map_count);
		itd_buf_put(buf);
	}
}

static void itd_vma_open(struct vm_area_struct *vma)
{
	struct itd_buf *buf = vma->vm_private_data;

	kref_get(&buf->ref);
}

static void itd_vma_close(struct vm_area_struct *vma)
{
	itd_buf_put(vma->vm_private_data);
}

static const struct vm_operations_struct itd_vm_ops = {
	.open = itd_vma_open,
	.close = itd_vma_close,
};

/**
 * itd_buf_mmap() - show driver pages to the test, from their start
 * @f: the file
 * @vma: vm_pgoff is the buffer id (BUF_ALLOC's out_mmap_offset)
 *
 * Return: 0 or a negative errno.
 */
int itd_buf_mmap(struct itd_file *f, struct vm_area_struct *vma)
{
	unsigned long size = vma->vm_end - vma->vm_start;
	struct itd_buf *buf;
	int rc;

	if (vma->vm_pgoff > INT_MAX)
		return -EINVAL;
	/*
	 * Pinned user memory is the user's already.  No reference to it is
	 * taken here: its last put takes the mmap lock, which is held.
	 */
	xa_lock(&f->bufs);
	buf = xa_load(&f->bufs, vma->vm_pgoff);
	rc = buf ? (buf->pinned ? -EINVAL : 0) : -ENOENT;
	if (!rc)
		kref_get(&buf->ref);
	xa_unlock(&f->bufs);
	if (rc)
		return rc;
	rc = -EINVAL;
	if (size > buf->length)
		goto err;
	vm_flags_set(vma, VM_DONTCOPY | VM_DONTEXPAND | VM_DONTDUMP);
	rc = remap_pfn_range(vma, vma->vm_start, page_to_pfn(buf->pages[0]),
			     size, vma->vm_page_prot);
	if (rc)
		goto err;
	vma->vm_private_data = buf;
	vma->vm_ops = &itd_vm_ops;
	return 0;
err:
	itd_buf_put(buf);
	return rc;
}

/**
 * itd_buf_range() - check a byte range lies inside a buffer
 * @buf: the buffer
 * @offset: first byte
 * @len: bytes, not 0
 *
 * Return: 0, -EOVERFLOW or -EINVAL.
 */
int itd_buf_range(struct itd_buf *buf, u64 offset, u64 len)
{
	u64 end;

	if (check_add_overflow(offset, len, &end))
		return -EOVERFLOW;
	if (end > buf->length)
		return -EINVAL;
	return 0;
}

/**
 * itd_buf_phys() - the physical address of a byte range, from the pages
 * @buf: the buffer
 * @offset: first byte, inside @buf
 * @len: bytes, inside @buf
 *
 * Return: the address, or 0 when the range is not physically contiguous.
 */
phys_addr_t itd_buf_phys(struct itd_buf *buf, u64 offset, u64 len)
{
	unsigned long first = offset >> PAGE_SHIFT;
	unsigned long last = (offset + len - 1) >> PAGE_SHIFT;

	if (!buf->contig &&
	    !itd_pages_contig(buf->pages + first, last - first + 1))
		return 0;
	return page_to_phys(buf->pages[first]) + offset_in_page(offset);
}

/* Call @fn on each piece of [offset, offset + len) that lies in one page. */
static void itd_buf_walk(struct itd_buf *buf, u64 offset, u64 len,
			 void (*fn)(u8 *p, size_t n, u64 pos, void *arg),
			 void *arg)
{
	u64 pos = offset;

	while (len) {
		size_t in = offset_in_page(pos);
		size_t n = min_t(u64, len, PAGE_SIZE - in);
		u8 *p = kmap_local_page(buf->pages[pos >> PAGE_SHIFT]);

		fn(p + in, n, pos, arg);
		kunmap_local(p);
		pos += n;
		len -= n;
		/* A walk may cover a whole 1.5 GiB budget. */
		cond_resched();
	}
}

static int itd_pfn_cmp(const void *a, const void *b)
{
	unsigned long x = *(const unsigned long *)a;
	unsigned long y = *(const unsigned long *)b;

	return x < y ? -1 : x > y;
}

/**
 * itd_buf_share() - do two byte ranges of buffers share a page?
 * @a: one buffer
 * @aoff: first byte of its range
 * @alen: bytes, not 0
 * @b: the other buffer, maybe @a
 * @boff: first byte of its range
 * @blen: bytes, not 0, at most the engine's largest DMA
 *
 * Pinned buffers of the same user memory are different buffers with the
 * same pages, so the pages are compared, not the buffers.
 *
 * Return: 1 when they share a page, 0 when not, or -ENOMEM.
 */
int itd_buf_share(struct itd_buf *a, u64 aoff, u64 alen,
		  struct itd_buf *b, u64 boff, u64 blen)
{
	unsigned long bfirst = boff >> PAGE_SHIFT;
	unsigned long n = ((boff + blen - 1) >> PAGE_SHIFT) - bfirst + 1;
	unsigned long first = aoff >> PAGE_SHIFT;
	unsigned long last = (aoff + alen - 1) >> PAGE_SHIFT;
	unsigned long *pfns, i, pfn;
	int found = 0;

	pfns = kmalloc_array(n, sizeof(*pfns), GFP_KERNEL);
	if (!pfns)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		pfns[i] = page_to_pfn(b->pages[bfirst + i]);
	sort(pfns, n, sizeof(*pfns), itd_pfn_cmp, NULL);
	for (i = first; i <= last && !found; i++) {
		pfn = page_to_pfn(a->pages[i]);
		found = !!bsearch(&pfn, pfns, n, sizeof(*pfns), itd_pfn_cmp);
		if (!(i & 1023))
			cond_resched();
	}
	kfree(pfns);
	return found;
}

static void itd_fill_fn(u8 *p, size_t n, u64 pos, void *arg)
{
	memset(p, *(u8 *)arg, n);
}

/**
 * itd_buf_fill() - set a byte range of a buffer to one value
 * @buf: the buffer
 * @offset: first byte
 * @len: bytes
 * @byte: the value
 */
void itd_buf_fill(struct itd_buf *buf, u64 offset, u64 len, u8 byte)
{
	itd_buf_walk(buf, offset, len, itd_fill_fn, &byte);
}

struct itd_check {
	u64 start;		/* where the DMA began: pattern byte 0 */
	const u8 *want;		/* the bytes expected, or NULL: the pattern */
	bool all_pattern;
	bool any_changed;
	bool all_canary;
};

/* A DMA that wrote the pattern changed every byte it wrote. */
#define ITD_PATTERN_BYTE_IS_CANARY(k) \
	(((IOMMU_TESTDEV_PATTERN >> (8 * (k))) & 0xff) == IOMMU_TESTDEV_CANARY)
static_assert(!ITD_PATTERN_BYTE_IS_CANARY(0) && !ITD_PATTERN_BYTE_IS_CANARY(1) &&
	      !ITD_PATTERN_BYTE_IS_CANARY(2) && !ITD_PATTERN_BYTE_IS_CANARY(3));

/*
 * The pattern as eight bytes in memory, from pattern byte @at on: the
 * same for every word whose index is @at plus a multiple of eight.
 */
static u64 itd_pattern_word(u64 at)
{
	u8 b[8];
	u64 w;
	int k;

	for (k = 0; k < 8; k++)
		b[k] = IOMMU_TESTDEV_PATTERN >> (8 * ((at + k) & 3));
	memcpy(&w, b, sizeof(w));
	return w;
}

/*
 * How many leading bytes of the aligned words at @w, of @n bytes, equal
 * @want word by word, eight words at a time (a shorter tail is left to the
 * caller): under TCG a check of one byte, or one word, per branch made a
 * 1 MiB DMA's check cost as much as the DMA.
 */
static size_t itd_words_match(const u64 *w, size_t n, u64 want)
{
	size_t i;

	for (i = 0; n - i >= 8 * sizeof(u64); w += 8, i += 8 * sizeof(u64))
		if ((w[0] ^ want) | (w[1] ^ want) | (w[2] ^ want) |
		    (w[3] ^ want) | (w[4] ^ want) | (w[5] ^ want) |
		    (w[6] ^ want) | (w[7] ^ want))
			break;
	return i;
}

/*
 * How many leading bytes of p[0, n) hold the pattern, from pattern byte
 * @at on, as far as itd_words_match() sees (the byte loop after it finds
 * the first wrong byte).
 */
static size_t itd_pattern_words(const u8 *p, size_t n, u64 at)
{
	size_t head = min_t(size_t, n, PTR_ALIGN(p, sizeof(u64)) - p);
	size_t i;

	for (i = 0; i < head; i++)
		if (p[i] != (u8)(IOMMU_TESTDEV_PATTERN >> (8 * ((at + i) & 3))))
			return 0;
	return head + itd_words_match((const u64 *)(p + head), n - head,
				      itd_pattern_word(at + head));
}

static void itd_pattern_fn(u8 *p, size_t n, u64 pos, void *arg)
{
	struct itd_check *c = arg;
	size_t i;

	if (c->want) {
		if (memcmp(p, c->want + pos - c->start, n))
			c->all_pattern = false;
		if (memchr_inv(p, IOMMU_TESTDEV_CANARY, n))
			c->any_changed = true;
		return;
	}
	i = itd_pattern_words(p, n, pos - c->start);
	/* Those bytes are the pattern's: they changed (see above). */
	if (i)
		c->any_changed = true;
	for (; i < n; i++) {
		u64 at = pos + i - c->start;

		if (p[i] != (u8)(IOMMU_TESTDEV_PATTERN >> (8 * (at & 3))))
			c->all_pattern = false;
		if (p[i] != IOMMU_TESTDEV_CANARY)
			c->any_changed = true;
	}
}

/* Is every byte of p[0, n) the canary?  Whole buffers are checked. */
static bool itd_all_canary(const u8 *p, size_t n)
{
	size_t head = min_t(size_t, n, PTR_ALIGN(p, sizeof(u64)) - p);

	if (memchr_inv(p, IOMMU_TESTDEV_CANARY, head))
		return false;
	p += head;
	n -= head;
	head = itd_words_match((const u64 *)p, n,
			       0x0101010101010101ULL * IOMMU_TESTDEV_CANARY);
	return !memchr_inv(p + head, IOMMU_TESTDEV_CANARY, n - head);
}

static void itd_canary_fn(u8 *p, size_t n, u64 pos, void *arg)
{
	struct itd_check *c = arg;

	if (c->all_canary && !itd_all_canary(p, n))
		c->all_canary = false;
}

static void itd_read_fn(u8 *p, size_t n, u64 pos, void *arg)
{
	u8 **to = arg;

	memcpy(*to, p, n);
	*to += n;
}

/**
 * itd_buf_read() - copy a byte range of a buffer out, as the CPU sees it
 * @buf: the buffer
 * @offset: first byte
 * @len: bytes
 * @to: where to, @len bytes
 */
void itd_buf_read(struct itd_buf *buf, u64 offset, u64 len, u8 *to)
{
	itd_buf_walk(buf, offset, len, itd_read_fn, &to);
}

/**
 * itd_buf_check() - what the CPU sees in the oracle after a DMA
 * @buf: the oracle buffer
 * @offset: where the DMA should have landed
 * @len: bytes of the DMA
 * @canary: the buffer was filled with IOMMU_TESTDEV_CANARY before the DMA
 * @want: the @len bytes that should have landed, or NULL for the pattern
 *
 * Return: IOMMU_TESTDEV_DMA_LANDED when the range holds what should have
 * landed; with @canary also IOMMU_TESTDEV_DMA_TOUCHED when any byte of the
 * range changed and IOMMU_TESTDEV_DMA_CANARY_OK when no byte outside it did.
 */
u32 itd_buf_check(struct itd_buf *buf, u64 offset, u64 len, bool canary,
		  const u8 *want)
{
	struct itd_check c = {
		.start = offset,
		.want = want,
		.all_pattern = true,
		.all_canary = true,
	};
	u32 flags = 0;

	itd_buf_walk(buf, offset, len, itd_pattern_fn, &c);
	if (c.all_pattern)
		flags |= IOMMU_TESTDEV_DMA_LANDED;
	if (!canary)
		return flags;
	if (c.any_changed)
		flags |= IOMMU_TESTDEV_DMA_TOUCHED;
	if (offset)
		itd_buf_walk(buf, 0, offset, itd_canary_fn, &c);
	if (offset + len < buf->length)
		itd_buf_walk(buf, offset + len, buf->length - offset - len,
			     itd_canary_fn, &c);
	if (c.all_canary)
		flags |= IOMMU_TESTDEV_DMA_CANARY_OK;
	return flags;
}
