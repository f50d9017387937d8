#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mutants.sh [guest]: break the driver on purpose, one way at a time, and
# check that the suite notices.  Each mutant is a one-line edit of a copy
# of the sources; a mutant the suite passes is a hole in the tests.
# Prints "killed" or "SURVIVED" per mutant; exits non-zero if any survived.
#   make mutants                   on arm64-smmuv3
#   scripts/mutants.sh x86_64-vtd  on another guest
#   ITD_MUTANTS="name ..."         only these
#   ITD_KEEP=1                     keep the mutated trees and logs (printed)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

guest=${1:-arm64-smmuv3}
. "$SCRIPTS/guests.sh"
itd_guest "$guest"
itd_guest_check
[[ -z $G_SKIP ]] || itd_die "$guest: $G_SKIP"
D=drivers/iommu_testdev
N=tools/testing/selftests/iommu_testdev/iommufd_nested_test.c

# name @ file @ sed expression @ what a real driver bug of this kind is
# [@ needs: itd (only iommu-testdev runs that code), edu (only edu),
#  debug (kmemleak), vfault (fault injection and virtio-iommu, whose unmap
#  allocates: x86_64-virtio-iommu-debug), nested (a guest where iommufd
#  nesting opens: arm64-smmuv3-nested-7.3), smmuv3 (an arm-smmuv3 guest), noiommu (a guest
#  without an IOMMU), bridge (lockdep and two devices under one root port)]
# A file "cmdline" breaks the guest instead of the driver: the expression is
# appended to the kernel command line (an IOMMU that did not probe, say).
# A file "kernel:<path>" breaks the guest's kernel: a minimal kernel
# (scripts/kernel.sh) rebuilt with that file of its tree edited (needs:
# ksmmuv3, a guest with an SMMUv3 on a minimal 6.12 kernel:
# arm64-smmuv3-up or arm64-smmuv3-iommufd).
K=kernel:drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c
mutants=(
	"dma-page-off@$D/mode_dma_api.c@s/req.iova = dm.iova;/req.iova = dm.iova + PAGE_SIZE;/@DMA-API DMA aimed one page off"
	"map-page-off@$D/mode_owned.c@s/PFN_PHYS(pfn), (j - i)/PFN_PHYS(pfn + 1), (j - i)/@IOMMU mapping of the wrong page"
	"unmap-skipped@$D/mode_owned.c@s/size_t got = iommu_unmap(idev->domain, node->start, size);/size_t got = size;/@UNMAP that leaves the IOMMU (and its TLB) as it was"
	"readonly-dropped@$D/mode_owned.c@s/prot |= IOMMU_READ;/prot |= IOMMU_READ | IOMMU_WRITE;/@read-only mapping made writable"
	"fault-ignored@$D/engine_itd.c@s/return IOMMU_TESTDEV_STATUS_FAULT;/return IOMMU_TESTDEV_STATUS_OK;/@device fault reported as success@itd"
	"result-unchecked@$D/buffer.c@s/if (c.all_pattern)/if (1)/@CPU check of the landing place skipped"
	"oracle-page-off@$D/buffer.c@s/return page_to_phys(buf->pages\[first\]) + offset_in_page(offset);/return page_to_phys(buf->pages[first]) + PAGE_SIZE + offset_in_page(offset);/@wrong expected physical address@itd"
	"buf-leak@$D/buffer.c@0,/\tkvfree(buf->pages);/s///@a buffer's page array leaked@debug"
	"canary-unchecked@$D/buffer.c@s/c->all_canary = false;/c->all_canary = true;/@bytes outside the target not checked"
	"reset-forgotten@$D/engine_itd.c@s/\tp->valid = 0;/\tp->valid = p->valid;/@registers a reset cleared taken as still written@itd"
	"noiommu-bind@$D/mode_iommufd.c@s/rc = itd_iommu_isolated(itd_to_dev(idev));/rc = 0;/@iommufd bind of a device without an IOMMU (run on x86_64-noiommu-7.3)@noiommu"
	"copy-same-buffer@$D/dma.c@s/if (src == dst)/if (0)/;s/rc = itd_buf_share(/rc = 0 \&\& itd_buf_share(/@COPY that reads the buffer it writes@edu"
	"memlock-uncharged@$D/buffer.c@s/rc = account_locked_vm(current->mm, buf->npages, true);/rc = 0;/@pinned pages not charged to RLIMIT_MEMLOCK"
	"lock-one-class@$D/iommu_testdev.c@s/__mutex_init(\&idev->lock, \"itd_dev.lock\", \&idev->lock_key);/mutex_init(\&idev->lock);/@one lockdep class for every device's lock, held across a bus reset@bridge"
	"canary-bulk-unchecked@$D/buffer.c@s/^\thead = itd_words_match((const u64 \*)p, n,/\thead = n \/ 64 * 64 + 0 * itd_words_match((const u64 *)p, n,/@only the ends of a page checked for stray bytes"
	"pattern-bulk-unchecked@$D/buffer.c@s/return head + itd_words_match(/return head + (n - head) \/ 64 * 64 + 0 * itd_words_match(/@the landing place checked only at its ends, its middle taken as landed"
	# Stage 1 as the nested test (the guest) writes it, broken three ways.
	"nested-cd-pointer@$N@s/(cd_ipa \& STE0_S1CTXPTR_MASK)/((cd_ipa + 64) \& STE0_S1CTXPTR_MASK)/@a vSTE whose S1ContextPtr misses the CD@nested"
	"nested-pte-page-off@$N@s/(DATA_IPA + perm\[i\] \* G4K) |/(DATA_IPA + perm[i] * G4K + G4K) |/@stage-1 PTEs to the wrong page@nested"
	"nested-tlbi-skipped@$N@s/sent = n;/sent = 0;/@a stage-1 PTE change with no TLB invalidation@nested"
	"group-shared@$D/domain.c@s/itd_group_devices(dev) != 1/itd_group_devices(dev) != 0/@every device looks as if it shared its IOMMU group: owned and iommufd tests skip"
	"no-group@$D/iommu_testdev.c@s/cmd->group_id = group ? iommu_group_id(group) : -1;/cmd->group_id = -1;/@the device reported without an IOMMU"
	"iommu-bypassed@cmdline@iommu.passthrough=1@the DMA API bypasses the IOMMU (identity default domain)"
	"smmu-not-probed@cmdline@initcall_blacklist=arm_smmu_driver_init@the SMMU driver never probes@smmuv3"
	"unmap-tail-kept@$D/mode_owned.c@s/size_t got = iommu_unmap(idev->domain, node->start, size);/size_t got = iommu_unmap(idev->domain, node->start, size > PAGE_SIZE ? size - PAGE_SIZE : size) + (size > PAGE_SIZE ? PAGE_SIZE : 0);/@a multi-page UNMAP that leaves its last page mapped"
	"short-unmap-dropped@$D/mode_owned.c@/undid %zu: mapping kept/,/^\t\t\tbreak;$/s/^\t\t\tbreak;$//@an UNMAP the IOMMU did only in part forgotten, its buffer free to go while the IOMMU still maps it@vfault"
	"span-unmap-first-only@$D/mode_owned.c@s/size_t got = iommu_unmap(idev->domain, node->start, size);/size_t got = done ? size : iommu_unmap(idev->domain, node->start, size);/@an UNMAP over several mappings that unmaps only the first and reports them all"
	"min-size-ignored@$D/iommu_testdev.c@s/if (usize < op->min_size)/if (usize < 8)/@a struct shorter than the first release accepted, its missing fields read as zero"
	# Linux's SMMUv3 range invalidation (RIL: NUM x 2^SCALE pages per
	# command), each command one 2^SCALE chunk short at its tail.
	# arm-smmu-v3 (6.12) logs a translation fault as a permission fault,
	# header and raw record alike: only the fault records tell.
	"smmu-event-type-swapped@$K@s/u8 id = FIELD_GET(EVTQ_0_ID, evt\[0\]);/u8 id = FIELD_GET(EVTQ_0_ID, evt[0]) == 0x10 ? 0x13 : FIELD_GET(EVTQ_0_ID, evt[0]);/;s/(unsigned long long)evt\[i\]);/(unsigned long long)(i ? evt[i] : (evt[i] \& ~0xffULL) | id));/@arm-smmu-v3 logs a translation fault as a permission fault (kernel)@ksmmuv3"
	"ril-tail-short@$K@s/cmd->tlbi.num = num - 1;/cmd->tlbi.num = num > 1 ? num - 2 : 0;/@SMMUv3 range invalidation that stops a chunk short (kernel)@ksmmuv3"
	# Refused anyway (that IOVA is unmapped too): only the IOMMU driver's
	# fault record, read by the test, says where the replay went.
	"replay-iova-off@$D/mode_dma_api.c@s/rc = itd_dma_fire(idev, \&req, \&result, \&replay_flags);/req.iova += PAGE_SIZE; rc = itd_dma_fire(idev, \&req, \&result, \&replay_flags);/@the replay fired one page past the IOVA dma_unmap gave back"
	"replay-landed-unreported@$D/mode_dma_api.c@0,/^\titd_dma_unmap_range(dev, \&dm);/s///;s/cmd->out_flags |= IOMMU_TESTDEV_DMA_REPLAY_LANDED;/;/@dma_unmap skipped before the replay, and the driver's flag silent about it"
	"edu-stuck-on-bus@$D/engine_edu.c@s/^\tpci_clear_master(idev->pdev);$//@a DMA the driver gave up on left free to land later, through what the IOMMU maps by then@edu"
)

tmp=$(mktemp -d)
trap '[[ -n ${ITD_KEEP:-} ]] && itd_log "mutants kept in $tmp" || rm -rf "$tmp"' EXIT
survived=0 total=0
for m in "${mutants[@]}"; do
	IFS='@' read -r name file expr what needs <<<"$m"
	[[ -z ${ITD_MUTANTS:-} || " $ITD_MUTANTS " == *" $name "* ]] || continue
	case ${needs:-} in
	itd) [[ $G_ENGINE == iommu-testdev* ]] ||
		{ echo "# mutant $name: not applicable: $guest runs edu (iommu-testdev code)"; continue; } ;;
	edu) [[ $G_ENGINE == *edu* ]] ||
		{ echo "# mutant $name: not applicable: $guest has no edu"; continue; } ;;
	bridge) [[ $guest == *bridge*debug* ]] ||
		{ echo "# mutant $name: not applicable: $guest has no lockdep with two devices under one port (try arm64-smmuv3-bridge-debug-7.3)"; continue; } ;;
	noiommu) [[ $guest == *noiommu* ]] ||
		{ echo "# mutant $name: not applicable: $guest has an IOMMU (try x86_64-noiommu-7.3)"; continue; } ;;
	debug) [[ $G_KERNEL == *debug* ]] ||
		{ echo "# mutant $name: not applicable: $guest has no kmemleak (try arm64-smmuv3-debug)"; continue; } ;;
	vfault) [[ $G_KERNEL == *debug* && " ${G_QEMU[*]} " == *virtio-iommu* ]] ||
		{ echo "# mutant $name: not applicable: $guest has no fault injection under virtio-iommu (try x86_64-virtio-iommu-debug)"; continue; } ;;
	nested) [[ $G_ACPI_UPGRADE == iort-canwbs ]] ||
		{ echo "# mutant $name: not applicable: $guest has no iommufd nesting (try arm64-smmuv3-nested-7.3)"; continue; } ;;
	smmuv3) [[ " ${G_QEMU[*]} " == *smmuv3* ]] ||
		{ echo "# mutant $name: not applicable: $guest has no SMMUv3"; continue; } ;;
	ksmmuv3) [[ " ${G_QEMU[*]} " == *smmuv3* && $G_KERNEL == custom:*-iommufd ]] ||
		{ echo "# mutant $name: not applicable: $guest has no SMMUv3 on a minimal 6.12 kernel (try arm64-smmuv3-up)"; continue; } ;;
	esac
	total=$((total + 1))
	rm -rf "$tmp/src"
	mkdir -p "$tmp/src"
	(cd "$REPO" && tar cf - Kbuild drivers include tools/testing/selftests/iommu_testdev) |
		tar xf - -C "$tmp/src"
	cmdline=${ITD_CMDLINE:-}
	kenv=()
	if [[ $file == cmdline ]]; then
		cmdline+=" $expr"
	elif [[ $file == kernel:* ]]; then
		# The guest's kernel, rebuilt with the file edited.
		rel=${file#kernel:}
		ksrc=$("$SCRIPTS/kernel.sh" "$G_ARCH" "${G_KERNEL#custom:}" | sed -n 's/^KSRC=//p')
		cp "$ksrc/$rel" "$tmp/kmutant.c"
		if sed -i "$expr" "$tmp/kmutant.c" && cmp -s "$ksrc/$rel" "$tmp/kmutant.c"; then
			itd_log "mutant $name: the edit no longer applies to $rel"
			survived=$((survived + 1))
			continue
		fi
		if ! kout=$(ITD_KMUTANT=$rel ITD_KMUTANT_FILE=$tmp/kmutant.c \
			ITD_KMUTANT_OUT=$tmp/kernel-$name \
			"$SCRIPTS/kernel.sh" "$G_ARCH" "${G_KERNEL#custom:}"); then
			echo "# mutant $name: the mutated kernel did not build"
			survived=$((survived + 1))
			continue
		fi
		kenv=(KERNEL="$(sed -n 's/^KERNEL=//p' <<<"$kout")"
		      KDIR="$(sed -n 's/^KDIR=//p' <<<"$kout")")
	elif sed -i "$expr" "$tmp/src/$file" && cmp -s "$REPO/$file" "$tmp/src/$file"; then
		itd_log "mutant $name: the edit no longer applies to $file"
		survived=$((survived + 1))
		continue
	fi
	itd_log "mutant $name: $what"
	# A build tree of its own: tar gives the copy the sources' old mtimes,
	# so a shared one would keep the objects of the mutant before.
	# A broken driver can wedge the guest: give up on it sooner.
	# env's arguments are words: quote them (a cmdline mutant has spaces).
	if env ${kenv[@]+"${kenv[@]}"} \
		"ITD_SRC=$tmp/src" "ITD_OUT=$tmp/out-$name" ITD_NO_SETUP=1 "ITD_CMDLINE=$cmdline" \
		"ITD_TIMEOUT=${ITD_TIMEOUT:-$([[ $G_KERNEL == *debug* ]] && echo 600 || echo 150)}" \
		"$SCRIPTS/run.sh" "$guest" \
		>"$tmp/$name.log" 2>&1; then
		echo "# mutant $name: SURVIVED ($what)"
		survived=$((survived + 1))
	else
		echo "# mutant $name: killed: $(grep -m1 -o '[0-9]* failed' "$tmp/$name.log" || echo 'run failed')"
	fi
	[[ -n ${ITD_KEEP:-} ]] || rm -rf "$tmp/out-$name" "$tmp/kernel-$name"
done
echo "# $((total - survived)) of $total mutants killed on $guest"
[[ $survived == 0 ]]
