# shellcheck shell=bash disable=SC2034,SC2054 # a library: its variables are used by the sourcing scripts
# SPDX-License-Identifier: GPL-2.0
# The guest table: one entry per QEMU machine the suite runs on.  Source it.
#
# itd_guest <name> sets:
#   G_ARCH      arm64 | x86_64
#   G_KERNEL    debian | debian:<flavour> (e.g. debian:arm64-16k) | custom:<name>
#   G_QEMU      QEMU arguments of the machine and its IOMMU (array)
#   G_EXTRA     more devices after the test device (array)
#   G_CMDLINE   extra kernel command line
#   G_MODULES   kernel modules loaded (with their dependencies) before iommu_testdev.ko
#   G_LEGACY    set: the legacy group, on bookworm's QEMU 7.2 (edu only), whatever
#               QEMU_SYSTEM_<ARCH> says (ITD_QEMU_LEGACY_<ARCH> overrides it)
#   G_SKIP      non-empty: why this QEMU cannot build the guest (set by itd_guest_check)
#   G_QEMU_BIN  the QEMU binary (set by itd_guest_check)
#   G_ENGINE    iommu-testdev+edu | iommu-testdev | edu; G_TESTDEV the -device
#               arguments; G_MODPARAMS.  Where QEMU has both devices the guest
#               gets both: the tests run on iommu-testdev and take edu for the
#               read direction (COPY), which iommu-testdev lacks
#   G_NO_EDU    set: no edu beside iommu-testdev
#   G_NDEV      how many test devices (default 1)
#   G_MEM       guest memory (default 1G: more only slows the boot)
#   G_SMP       vCPUs (default 2)
#   G_ICOUNT    0: multi-threaded TCG in real time, for SMP races (default 1:
#               -icount sleep=off, see boot.sh)
#   G_HOTPLUG   set: one more behind a pcie-root-port, for the QMP unplug test
#   G_ROOTPORT  set: one more behind a root port without hot-plug (a bus to
#               reset for lifecycle.pci_reset where G_HOTPLUG is off)
#   G_IOMMU     1 (the default): the test device sits behind an IOMMU that
#               translates it; ITD_IOMMU=1 in the guest, where info.sane
#               then fails on "no IOMMU" ('' for a guest without one)
#   G_BRIDGE    set: two more behind one PCIe switch, for a secondary bus
#               reset of both (lifecycle.bus_reset_two)
#   G_SLOW      set: make check starts it first (a debug kernel, a 1 GiB page)
#   G_STRESS    ITD_STRESS in the guest (default 1: quick; see the selftests'
#               itd_stress()); ITD_STRESS on the host overrides it everywhere
#   G_NEEDS     what QEMU must offer: "device <name>", "prop <device> <a>[|<b>]"
#               (with alternatives, the first one QEMU has replaces <a> in G_QEMU)
#   G_FIRMWARE  uefi: boot through UEFI (-bios QEMU_EFI.fd, see
#               itd_efi_firmware) and ACPI instead of the device tree;
#               itd_guest_check sets G_BIOS to the firmware file
#   G_ACPI_UPGRADE  iort-canwbs: pack.sh puts an IORT with the root
#               complex's CANWBS flag set in the initrd (scripts/iort.sh)
#   G_ARGS      run_kselftest.sh arguments (as ITD_ARGS, which overrides
#               it): the guest runs only these programs
#   G_FLOGWAIT  the longest (ms) a test waits for the IOMMU driver's log rate
#               limit before a fault record it reads (ITD_FAULT_LOG_WAIT_MS
#               overrides it; default: no cap under -icount, 500 in real time)
# To add a guest: add a case below (and its name to a group); use G_NEEDS so
# that a QEMU lacking something skips it with a reason.

ITD_GUESTS_BASE="arm64-smmuv3 arm64-virtio-iommu x86_64-vtd x86_64-virtio-iommu"
ITD_GUESTS_MATRIX="arm64-smmuv3-1g x86_64-vtd-sm x86_64-vtd-fsts x86_64-vtd-aw48 x86_64-vtd-nocm
	x86_64-amd-iommu arm64-16k-smmuv3 arm64-smmuv3-s2 arm64-smmuv3-nested
	arm64-smmuv3-iommufd arm64-smmuv3-up"
# Linux 7.3 (minimal kernels from linux-source-7.3, IOMMUFD built in).
ITD_GUESTS_73="arm64-smmuv3-7.3 x86_64-vtd-7.3 arm64-smmuv3-acpi-7.3
	arm64-smmuv3-nested-7.3"
# The debug guest of make check runs mainline; its 6.12 twin runs by name
# (a sixth minimal kernel to build would put a cold make check past 25 min).
ITD_GUESTS_DEBUG="arm64-smmuv3-debug-7.3"
# The legacy group: bookworm's QEMU 7.2, whose only engine is edu.
ITD_GUESTS_LEGACY="arm64-smmuv3-qemu72 x86_64-vtd-qemu72 x86_64-amd-iommu-qemu72"
# The one lazy (DMA-FQ) guest on QEMU 7.2, where finding 4 was seen (below).
ITD_GUESTS_LEGACY+=" x86_64-virtio-iommu-lazy-qemu72"
# No IOMMU at all, on a 7.3 kernel whose iommufd binds such a device
# (IOMMUFD_NOIOMMU): the driver must refuse it (issue 12).
ITD_GUESTS_73+=" x86_64-noiommu-7.3"
# Run by name only: the x86 debug kernels are slow enough under TCG that
# the hardening tests' timeouts do not hold when guests share the host, and
# virtio-iommu's unmap allocates, so fail_nth makes dma-iommu WARN there.
# arm64-smmuv3-nested-debug-7.3 needs a kernel of its own (arm64-acpi-debug).
ITD_GUESTS_EXTRA="x86_64-vtd-debug x86_64-virtio-iommu-debug arm64-smmuv3-debug
	arm64-smmuv3-nested-debug-7.3"
# iommufd on VT-d runs in make check on 7.3 (x86_64-vtd-7.3, which took
# over its long races); its 6.12 twin runs by name: a fifth minimal kernel
# would put a cold make check past 25 minutes on 2 cores.
ITD_GUESTS_EXTRA+=" x86_64-vtd-iommufd"
ITD_GUESTS_LAZY="x86_64-vtd-lazy x86_64-virtio-iommu-lazy"
ITD_GUESTS_ALL="$ITD_GUESTS_BASE $ITD_GUESTS_MATRIX $ITD_GUESTS_73 $ITD_GUESTS_DEBUG
	$ITD_GUESTS_LEGACY $ITD_GUESTS_LAZY"
# What make check (and CI) runs: everything; guests the QEMU cannot build
# are listed as skipped with the reason.
ITD_GUESTS_CHECK=$ITD_GUESTS_ALL
# make check boots this one first and alone and prints its boot-to-verdict
# time against issue 6's target: the whole suite on arm64 SMMUv3, on the
# minimal kernel, in 3 s.
ITD_SPEED_GUEST=arm64-smmuv3-up
# Guests make check lists but does not run, each with the finding that put
# it here; scripts/run.sh <guest> and make matrix still run them, and so
# do make check and make soak with ITD_RUN_QUARANTINED=1 (a hunt under the
# load of the whole suite).
# Finding 4 (x86 slab corruption on QEMU 7.2, cause unknown) kept the lazy
# guests here until 2026-11-28, and x86_64-virtio-iommu-lazy-qemu72 again
# after its one failure since (make soak run 11: a test process killed by
# SIGSEGV, no kernel message) until 2026-11-29, when some 790 full runs
# and 4068 runs of the program it died in had not shown it again
# (Documentation/iommu_testdev.rst, finding 4).  Empty now.
declare -A ITD_QUARANTINE=()

ARM64_VIRT="virt,gic-version=3"
ARM64_CPU=(-cpu max,pauth-impdef=on)  # plain "max" emulates pointer auth: 2x slower
X86_Q35="q35,kernel-irqchip=split"

itd_guest() {
	G_NAME=$1 G_ARCH='' G_KERNEL=debian G_QEMU=() G_EXTRA=() G_CMDLINE='' G_MODULES='' G_NDEV=1
	G_HOTPLUG='' G_ROOTPORT='' G_BRIDGE='' G_MEM=1G G_SMP=2 G_ICOUNT='' G_STRESS=1 G_IOMMU=1
	G_NEEDS=() G_LEGACY='' G_NO_EDU='' G_SLOW=''
	G_FIRMWARE='' G_BIOS='' G_ACPI_UPGRADE='' G_ARGS='' G_FLOGWAIT=''
	case $1 in
	# --- base guests (make check) ---
	arm64-smmuv3)
		G_ARCH=arm64
		G_QEMU=(-M "$ARM64_VIRT,iommu=smmuv3" "${ARM64_CPU[@]}")
		G_EXTRA=(-device pci-testdev)  # same ids as iommu-testdev: must stay unbound
		G_NDEV=2  # two test devices: the concurrency test uses both
		G_HOTPLUG=1  # a third behind a hot-plug port, unplugged over QMP
		;;
	arm64-virtio-iommu)
		G_ARCH=arm64
		G_QEMU=(-M "$ARM64_VIRT" "${ARM64_CPU[@]}" -device virtio-iommu-pci)
		G_MODULES=virtio_iommu
		;;
	# Debian's x86 kernels default to lazy (DMA-FQ) DMA domains; the x86
	# guests run strict, the -lazy guests keep Debian's default.
	x86_64-vtd)
		G_ARCH=x86_64
		G_QEMU=(-M "$X86_Q35" -device intel-iommu,intremap=on,caching-mode=on)
		G_CMDLINE="intel_iommu=on iommu.strict=1"
		# Behind a root port a test device has a bus to reset, and on
		# q35 an IOMMU group of its own: lifecycle.pci_reset in OWNED.
		G_ROOTPORT=1
		;;
	x86_64-virtio-iommu)
		G_ARCH=x86_64
		G_QEMU=(-M q35 -device virtio-iommu-pci)
		G_MODULES=virtio_iommu
		G_CMDLINE="iommu.strict=1"
		;;
	x86_64-vtd-lazy | x86_64-virtio-iommu-lazy)
		itd_guest "${1%-lazy}"
		G_NAME=$1 G_CMDLINE=${G_CMDLINE/iommu.strict=1/iommu.strict=0}
		;;
	# --- matrix variants ---
	x86_64-vtd-sm)  # scalable mode (QEMU 11.1 renamed x-scalable-mode)
		itd_guest x86_64-vtd
		G_NAME=$1 G_QEMU=(-M "$X86_Q35" -device intel-iommu,intremap=on,caching-mode=on,scalable-mode=on)
		G_NEEDS=("prop intel-iommu scalable-mode|x-scalable-mode")
		;;
	x86_64-vtd-fsts)  # scalable mode with first-stage translation: Linux
		# then maps DMA through first-level (x86-64 format) page tables
		itd_guest x86_64-vtd-sm
		G_NAME=$1 G_QEMU[-1]+=,fsts=on
		G_NEEDS+=("prop intel-iommu fsts")
		;;
	x86_64-vtd-aw48)  # 4-level page tables
		itd_guest x86_64-vtd
		G_NAME=$1 G_QEMU=(-M "$X86_Q35" -device intel-iommu,intremap=on,caching-mode=on,aw-bits=48)
		G_NEEDS=("prop intel-iommu aw-bits")
		;;
	x86_64-vtd-nocm)  # no caching mode: the guest's invalidations are not trapped
		itd_guest x86_64-vtd
		G_NAME=$1 G_QEMU=(-M "$X86_Q35" -device intel-iommu,intremap=on,caching-mode=off)
		;;
	x86_64-amd-iommu)
		G_ARCH=x86_64
		G_QEMU=(-M "$X86_Q35" -device amd-iommu,intremap=on)
		G_CMDLINE="amd_iommu=force_isolation iommu.strict=1"
		G_NEEDS=("device amd-iommu")
		;;
	arm64-16k-smmuv3)  # Debian's 16k-page kernel: IOMMU granule != CPU page size
		itd_guest arm64-smmuv3
		G_NAME=$1 G_KERNEL=debian:arm64-16k
		;;
	arm64-smmuv3-1g)  # a 1 GiB hugetlb page for owned.*.block_1g
		itd_guest arm64-smmuv3
		# Zeroing it costs ~45 s of TCG: not in the quick base guest.
		G_NAME=$1 G_CMDLINE="hugepagesz=1G hugepages=1" G_MEM=3G G_SLOW=1
		;;
	arm64-smmuv3-s2 | arm64-smmuv3-nested)  # user-creatable SMMUv3 (QEMU 10.1+)
		G_ARCH=arm64
		# stage=2 or nested: QEMU takes any other string for stage 1
		# without a word (stage=s2 once gave a stage-1 SMMU here).
		local stage=${1##*-}
		[[ $stage != s2 ]] || stage=2
		G_QEMU=(-M "$ARM64_VIRT,iommu=none" "${ARM64_CPU[@]}"
			-device "arm-smmuv3,primary-bus=pcie.0,stage=$stage")
		G_NEEDS=("device arm-smmuv3" "prop arm-smmuv3 stage")
		;;
	arm64-smmuv3-iommufd | x86_64-vtd-iommufd)  # minimal kernels with IOMMUFD (scripts/kernel.sh)
		itd_guest "${1%-iommufd}"
		G_NAME=$1 G_KERNEL=custom:$G_ARCH-iommufd G_MODULES=
		# Where the races once hung silently (finding 7): keep them long.
		[[ $1 != x86_64-vtd-iommufd ]] || G_STRESS=5
		# The SMP guests: vCPUs on host threads of their own, so
		# that the races and the command queues really run in parallel.
		G_ICOUNT=0
		;;
	arm64-smmuv3-up)  # the speed guest: arm64-smmuv3-iommufd, one vCPU, -icount
		itd_guest arm64-smmuv3-iommufd
		# Under -icount one host thread runs the vCPUs in turn, so a
		# second one adds IPIs and TLB broadcasts, not speed: with edu
		# the suite takes 2.0 s here and 2.4 s there.  -icount: the
		# guest's sleeps (pciehp's 5 s button delay, the kernel log's
		# rate limit) then cost nothing, and iommu-testdev runs the
		# suite in 2.6 s instead of 13.9 s.
		G_NAME=$1 G_SMP=1 G_ICOUNT=1
		# An Armv8.2 server core (Neoverse N1, the SMMUv3 hosts' kind)
		# rather than "max": no SVE/SME state to switch and fewer
		# features to emulate, ~0.1 s of the 2.0 s.  The other arm64
		# guests keep "max".
		G_QEMU=(-M "$ARM64_VIRT,iommu=smmuv3" -cpu neoverse-n1)
		# Fault records: only those the rate limit lets through at
		# once.  Waiting out its windows, even under -icount, cost this
		# guest 0.5 s; arm64-smmuv3 (the same SMMUv3 and 6.12 records)
		# and the 7.3 guests read every one of them.
		G_FLOGWAIT=0
		# The programs straight from /init, with the KTAP and the
		# timeouts of run_kselftest.sh but not its twenty-odd
		# processes per program (0.3 s here).  Every other guest runs
		# them through run_kselftest.sh, as kernel CI does.
		G_CMDLINE="${G_CMDLINE:+$G_CMDLINE }itd.runner=direct"
		;;
	arm64-smmuv3-7.3)  # Linux 7.3 (device tree; the same kernel boots by ACPI)
		itd_guest arm64-smmuv3
		G_NAME=$1 G_KERNEL=custom:arm64-acpi@7.3
		;;
	x86_64-vtd-7.3)  # x86_64-vtd-iommufd on 7.3, and make check's VT-d iommufd guest
		itd_guest x86_64-vtd-iommufd
		G_NAME=$1 G_KERNEL=custom:x86_64-iommufd@7.3
		;;
	arm64-smmuv3-debug-7.3)
		itd_guest arm64-smmuv3-debug
		G_NAME=$1 G_KERNEL=custom:arm64-debug@7.3
		;;
	arm64-smmuv3-acpi-7.3)  # UEFI and ACPI: the SMMUv3 and its stream IDs from the IORT
		itd_guest arm64-smmuv3
		G_NAME=$1 G_KERNEL=custom:arm64-acpi@7.3 G_FIRMWARE=uefi
		;;
	arm64-smmuv3-nested-7.3)  # ... with CANWBS in the IORT: iommufd nesting opens
		itd_guest arm64-smmuv3-acpi-7.3
		G_NAME=$1 G_ACPI_UPGRADE=iort-canwbs
		# The SMMU QEMU 11.0+ gives virt,iommu=smmuv3 has stage 1 and
		# stage 2; arm-smmuv3's "stage" property came with it (10.1).
		G_NEEDS=("prop arm-smmuv3 stage")
		;;
	arm64-smmuv3-nested-debug-7.3)  # nesting where KASAN, lockdep and kmemleak watch
		# The nested guest's machine (so the same upgraded IORT) on the
		# debug kernel booted through UEFI; a WARN panics.
		itd_guest arm64-smmuv3-nested-7.3
		G_NAME=$1 G_KERNEL=custom:arm64-acpi-debug@7.3
		G_CMDLINE="panic_on_warn=1" G_STRESS=5 G_ICOUNT=0
		# The iommufd programs only: the rest runs on arm64-smmuv3-debug-7.3.
		G_ARGS=-t,iommu_testdev:iommufd_nested_test,-t,iommu_testdev:iommufd_testdev_test
		;;
	*-qemu72)  # the legacy group: a guest above on bookworm's QEMU 7.2
		itd_guest "${1%-qemu72}"
		G_NAME=$1 G_LEGACY=1
		;;
	x86_64-virtio-iommu-debug | x86_64-vtd-debug)  # the x86 counterparts
		itd_guest "${1%-debug}"
		G_NAME=$1 G_KERNEL=custom:x86_64-debug G_MODULES=
		G_CMDLINE+=" panic_on_warn=1"
		;;
	arm64-smmuv3-debug)  # KASAN, lockdep, kmemleak, fault injection; a WARN panics
		itd_guest arm64-smmuv3
		G_NAME=$1 G_KERNEL=custom:arm64-debug G_MODULES=
		G_CMDLINE="panic_on_warn=1"
		# The long fuzz, race, reload and unplug runs go where KASAN,
		# lockdep and kmemleak watch them.
		G_STRESS=5 G_SLOW=1
		# No QMP hot-plug here: 6.12's pciehp takes reset_lock and
		# pci_rescan_remove_lock in both orders and lockdep says so on
		# every unplug.  The sysfs remove/rescan test still runs, and
		# lifecycle.pci_reset on a device behind a fixed root port.
		G_HOTPLUG='' G_ROOTPORT=1
		# Races where lockdep and KASAN watch: vCPUs in parallel.
		G_ICOUNT=0
		;;
	# --- two test devices behind one bridge (G_BRIDGE) ---
	arm64-smmuv3-bridge | arm64-smmuv3-bridge-debug | arm64-smmuv3-bridge-debug-7.3)  # lifecycle.bus_reset_two; -debug: under lockdep
		itd_guest "${1/-bridge/}"
		G_NAME=$1 G_BRIDGE=1 G_HOTPLUG=''
		;;
	# --- clang kCFI (scripts/kconfig/arm64-cfi.config, Linux 6.12) ---
	arm64-smmuv3-cfi)  # every indirect call type-checked: the ioctl table, the ops tables
		itd_guest arm64-smmuv3-iommufd
		G_NAME=$1 G_KERNEL=custom:arm64-cfi
		;;
	# --- no IOMMU ---
	x86_64-noiommu-7.3)  # iommufd.noiommu_bind_refused; everything else SKIPs or runs on dma-direct
		G_ARCH=x86_64
		G_QEMU=(-M "$X86_Q35")
		# 7.3 with VFIO_NOIOMMU and the device cdev: IOMMUFD_NOIOMMU=y.
		G_KERNEL=custom:x86_64-iommufd@7.3 G_IOMMU=''
		;;
	*)
		itd_die "unknown guest '$1' (known: ${ITD_GUESTS_ALL//[[:space:]]/ } $ITD_GUESTS_EXTRA)"
		;;
	esac
	# ITD_GUEST_KERNEL=<spec> or <arch>=<spec>,... (make bench): a guest on
	# the Debian kernel boots <spec> instead, %a standing for its arch;
	# such a minimal kernel has every module built in.
	if [[ -n ${ITD_GUEST_KERNEL:-} && $G_KERNEL == debian ]]; then
		local k=$ITD_GUEST_KERNEL
		if [[ $k == *=* ]]; then
			k=,$k,
			k=${k#*,"$G_ARCH"=}
			[[ $k != ,* ]] && k=${k%%,*} || k=debian
		fi
		G_KERNEL=${k//%a/$G_ARCH}
		[[ $G_KERNEL == debian ]] || G_MODULES=
	fi
}

# QEMU capability probes, cached per binary.
declare -A _ITD_QHELP
_qemu_help() { # <qemu> <devices|device name>: fill _ITD_QHELP (not in a subshell)
	local key="$1 $2"
	[[ -n ${_ITD_QHELP[$key]+x} ]] && return 0
	if [[ $2 == devices ]]; then
		_ITD_QHELP[$key]=$("$1" -device help 2>&1 || true)
	else
		_ITD_QHELP[$key]=$("$1" -M none -device "$2,help" 2>&1 || true)
	fi
}
qemu_has_device() {
	_qemu_help "$1" devices
	grep -q "name \"$2\"" <<<"${_ITD_QHELP[$1 devices]}"
}
qemu_has_prop() {
	_qemu_help "$1" "$2"
	grep -q "^  $3=" <<<"${_ITD_QHELP[$1 $2]}"
}

# itd_guest_check: fill G_SKIP, G_ENGINE, G_TESTDEV, G_MODPARAMS for the
# guest last selected with itd_guest (needs itd_arch_vars for QEMU).
itd_guest_check() {
	local n w
	G_SKIP=
	if [[ -n ${ITD_CHECK_MODE:-} && -z ${ITD_RUN_QUARANTINED:-} &&
		-n ${ITD_QUARANTINE[$G_NAME]:-} ]]; then
		G_SKIP=${ITD_QUARANTINE[$G_NAME]}
		return 0
	fi
	itd_arch_vars "$G_ARCH"
	[[ -z $G_LEGACY ]] || itd_qemu_legacy
	G_QEMU_BIN=$QEMU
	if ! command -v "$QEMU" >/dev/null; then
		G_SKIP="no QEMU binary '$QEMU'"
		return 0
	fi
	local alt found
	for n in "${G_NEEDS[@]}"; do
		read -r -a w <<<"$n"
		case ${w[0]} in
		device) qemu_has_device "$QEMU" "${w[1]}" ||
			G_SKIP="$QEMU has no user-creatable -device ${w[1]}" ;;
		prop)
			found=
			for alt in ${w[2]//|/ }; do
				qemu_has_prop "$QEMU" "${w[1]}" "$alt" && found=$alt && break
			done
			if [[ -z $found ]]; then
				G_SKIP="$QEMU's ${w[1]} has no property ${w[2]//|/ or }"
			elif [[ $found != "${w[2]%%|*}" ]]; then
				G_QEMU=("${G_QEMU[@]//,${w[2]%%|*}=/,$found=}")
			fi
			;;
		esac
		[[ -z $G_SKIP ]] || return 0
	done
	if [[ $G_FIRMWARE == uefi ]] && ! G_BIOS=$(itd_efi_firmware); then
		G_SKIP="no UEFI firmware for $QEMU (qemu-efi-aarch64's QEMU_EFI.fd next to its data directories or in /usr/share; or set ITD_EFI_FIRMWARE)"
		return 0
	fi
	# An AMD-Vi that has the dma-remap property translates DMA only with
	# it on; off, it ignores the guest's tables and every DMA reaches guest
	# memory at its IOVA (QEMU master: the test pattern written over the
	# guest kernel's data, and an oops).
	if [[ " ${G_QEMU[*]} " == *" amd-iommu,"* ]] &&
		qemu_has_prop "$QEMU" amd-iommu dma-remap; then
		G_QEMU=("${G_QEMU[@]/#amd-iommu,/amd-iommu,dma-remap=on,}")
	fi
	local edu=()
	if qemu_has_device "$QEMU" iommu-testdev; then
		G_ENGINE=iommu-testdev G_TESTDEV=(-device iommu-testdev) G_MODPARAMS=
		if [[ -z $G_NO_EDU ]] && qemu_has_device "$QEMU" edu; then
			# Last on the command line: the devices before it come
			# first as /dev/iommu_testdevN.
			G_ENGINE+=+edu G_MODPARAMS=edu_dma_bits=64
			edu=(-device edu,dma_mask=0xffffffffffffffff)
		fi
	else
		# QEMU 7.2's edu masks DMA addresses to 28 bits unless told otherwise.
		G_ENGINE=edu G_TESTDEV=(-device edu,dma_mask=0xffffffffffffffff)
		G_MODPARAMS=edu_dma_bits=64
	fi
	# More than one test device: the same -device again.
	local i
	for ((i = 1; i < G_NDEV; i++)); do
		G_TESTDEV+=("${G_TESTDEV[@]:0:2}")
	done
	# One more behind a pcie-root-port: in a hot-plug slot, where
	# G_HOTPLUG becomes its -device string (qmp-hotplug.py re-plugs it
	# with that), else (G_ROOTPORT) behind a port with hot-plug off.
	if [[ -n $G_HOTPLUG || -n $G_ROOTPORT ]]; then
		local port=pcie-root-port,id=itdrp,chassis=9,slot=9
		local dev="${G_TESTDEV[1]},bus=itdrp"
		if [[ -n $G_HOTPLUG ]]; then
			dev+=,id=itdhp
			G_HOTPLUG=$dev
		else
			port+=,hotplug=off
		fi
		G_TESTDEV+=(-device "$port" -device "$dev")
	fi
	# G_BRIDGE: two more, each behind a downstream port of one PCIe
	# switch under one root port, whose secondary bus reset resets both
	# (not a PCIe-to-PCI bridge: there they share a requester ID, which
	# SMMUv3 refuses for the second device).
	if [[ -n $G_BRIDGE ]]; then
		G_TESTDEV+=(-device pcie-root-port,id=itdbrp,chassis=10,slot=10,hotplug=off
			-device x3130-upstream,id=itdup,bus=itdbrp
			-device xio3130-downstream,id=itddn1,bus=itdup,chassis=11,slot=1,hotplug=off
			-device xio3130-downstream,id=itddn2,bus=itdup,chassis=12,slot=2,hotplug=off
			-device "${G_TESTDEV[1]},bus=itddn1"
			-device "${G_TESTDEV[1]},bus=itddn2")
	fi
	G_TESTDEV+=(${edu[@]+"${edu[@]}"})
	return 0
}
