#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# boot.sh <guest>: boot the guest's kernel and initramfs in QEMU (TCG) with a
# hard timeout; the serial console goes to $ITD_OUT/logs/<guest>.log and
# $ITD_OUT/logs/<guest>.meta records the engine and wall time for judge.sh.
#   ITD_TIMEOUT=<s>    hard limit for one guest (default 900)
#   ITD_ICOUNT=0|1     -icount sleep=off (default: the guest's G_ICOUNT, else on)
#   ITD_PVH=0          an x86 Debian kernel boots its bzImage, not its ELF (PVH)
#   ITD_INTERACTIVE=1  console on this terminal, no tests: a shell (itd.shell=1)
#   ITD_CMDLINE=...    appended to the kernel command line
#   ITD_QEMU_ARGS=...  more QEMU arguments, split at spaces (e.g. -trace ...)
#   ITD_ARGS=a,b       run_kselftest.sh arguments (e.g. -t,iommu_testdev:iommu_testdev_test)
#   ITD_STRESS=N       the tests' stress multiplier (default: the guest's G_STRESS)
#   ITD_FAULT_LOG_WAIT_MS=N  the longest a test waits for the rate limit before
#                      a fault record it reads (default: none under -icount, 500)
# QEMU exits 0 on poweroff whatever happened: only judge.sh gives a verdict.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/guests.sh
. "$SCRIPTS/guests.sh"

guest=${1:?usage: boot.sh <guest>}
itd_guest "$guest"
itd_guest_check
[[ -z $G_SKIP ]] || itd_die "$guest cannot run: $G_SKIP"
itd_kernel "$G_ARCH" "$G_KERNEL"
itd_boot_image
QEMU=$G_QEMU_BIN

initrd=$ITD_OUT/initramfs/$guest.cpio
[[ -f $initrd ]] || initrd=$initrd.gz
[[ -f $initrd ]] || itd_die "no initramfs for $guest: run scripts/pack.sh $guest"

case $G_ARCH in
arm64) console=ttyAMA0 ;;
x86_64) console=ttyS0 ;;
esac
# quiet: the console shows err and worse while booting (printing the boot
# log through the UART costs a third of the boot under TCG); the guest
# prints the whole kernel log at the end.  ITD_CMDLINE=loglevel=8 undoes it.
cmdline="console=$console quiet panic=-1 rdinit=/init itd.guest=$guest"
# A test process killed by a signal it did not ask for (finding 4: a
# SIGSEGV no test causes) leaves its registers and code bytes in the log.
cmdline+=" print-fatal-signals=1"
# x86 checks at boot that the timer interrupt arrives through the IO-APIC
# within a few ticks; a real-time TCG guest (G_ICOUNT=0) on a loaded host
# can miss that and panic ("timer doesn't work through Interrupt-remapped
# IO-APIC", seen once on x86_64-vtd-iommufd): the emulated timer works.
[[ $G_ARCH != x86_64 ]] || cmdline+=" no_timer_check"
# Debian's kernels spend a third of their boot under TCG on things no test
# here uses (initcall_debug, Linux 6.12): the crypto self-tests, the jitter
# entropy source's timing loops, the BTF walks of two BPF struct_ops and
# parsing the module-signing certificates (the module under test is not
# signed).  2 s of 8 on x86 q35, 0.6 s of 5 on arm64; none touches the
# IOMMU, PCI or DMA code.  The minimal kernels are built without them.
[[ $KID != debian-* ]] ||
	cmdline+=" cryptomgr.notests initcall_blacklist=jent_mod_init,bpf_tcp_ca_kfunc_init,bpf_dummy_struct_ops_init,load_system_certificate_list"
[[ -n $G_MODPARAMS ]] && cmdline+=" itd.modparams=$G_MODPARAMS"
[[ -n $G_CMDLINE ]] && cmdline+=" $G_CMDLINE"
args=${ITD_ARGS:-$G_ARGS}
[[ -n $args ]] && cmdline+=" itd.args=$args"
stress=${ITD_STRESS:-$G_STRESS}
[[ $stress == 1 ]] || cmdline+=" itd.stress=$stress"
[[ -z $G_IOMMU ]] || cmdline+=" itd.iommu=1"
[[ -n ${ITD_INTERACTIVE:-} ]] && cmdline+=" itd.shell=1"
[[ -n ${ITD_CMDLINE:-} ]] && cmdline+=" $ITD_CMDLINE"

# TCG only: KVM is not usable on the machines this runs on, and the guests
# are cross-architecture anyway.  By default QEMU runs with -icount
# sleep=off: an idle guest jumps straight to its next timer (edu's 100 ms
# per DMA, pciehp's 5 s attention-button delay, the kernel log's rate
# limit) instead of waiting for it in wall time, and one host thread runs
# the vCPUs in turn, which is what a loaded 2-core host gives anyway: on
# QEMU 11.1 arm64-smmuv3 takes 13 s instead of 27 s.  A guest with
# G_ICOUNT=0 (the SMP race guests) gets multi-threaded TCG, one host thread
# per vCPU, in real time.  ITD_ICOUNT=0/1 overrides both.
# shellcheck disable=SC2054 # commas belong to QEMU options
accel=(-accel tcg,thread=multi)
icount=${G_ICOUNT:-1}
# The fault-record checks wait for the drivers' rate limit (10 messages
# per 5 s) before a fault they read: free under -icount, wall time in real
# time, where a fault that would wait longer than this goes unchecked (the
# test says so; fault_log and iommufd.fault_record always wait).  A guest
# may set its own cap (G_FLOGWAIT: the speed guest reads only the records
# the rate limit lets through at once).
flogwait=${ITD_FAULT_LOG_WAIT_MS:-$G_FLOGWAIT}
if [[ ${ITD_ICOUNT:-$icount} == 1 ]]; then
	# shellcheck disable=SC2054
	accel=(-accel tcg -icount shift=auto,sleep=off)
else
	flogwait=${flogwait:-500}
fi
[[ -z $flogwait ]] || cmdline+=" itd.flogwait=$flogwait"
# shellcheck disable=SC2054 # commas belong to QEMU options
# No network and no display: a guest needs neither, and QEMU's default NIC
# (and x86's VGA BIOS) would cost boot time under TCG.
nodev=(-nic none)
[[ $G_ARCH == x86_64 ]] && nodev+=(-vga none)
qemu_args=("${accel[@]}" -smp "$G_SMP" -m "$G_MEM" -nographic -no-reboot "${nodev[@]}"
	-kernel "$BOOT_IMAGE" -initrd "$initrd" -append "$cmdline"
	"${G_QEMU[@]}" "${G_TESTDEV[@]}" "${G_EXTRA[@]}")
# Extra QEMU arguments, for debugging (e.g. -trace virtio_iommu_map).
if [[ -n ${ITD_QEMU_ARGS:-} ]]; then
	read -r -a extra <<<"$ITD_QEMU_ARGS"
	qemu_args+=("${extra[@]}")
fi
# UEFI guests: the firmware loads -kernel (its EFI stub) and hands Linux
# the ACPI tables QEMU built, with no device tree.
[[ -z $G_BIOS ]] || qemu_args+=(-bios "$G_BIOS")

mkdir -p "$ITD_OUT/logs"
log=$ITD_OUT/logs/$guest.log
meta=$ITD_OUT/logs/$guest.meta

if [[ -n ${ITD_INTERACTIVE:-} ]]; then
	itd_log "boot $guest interactively (Ctrl-A X quits QEMU)"
	exec "$QEMU" "${qemu_args[@]}"
fi

itd_log "boot $guest [$G_ENGINE] ($KID)"
printf 'engine=%s\nkid=%s\nkernel=%s\nimage=%s\nqemu=%s\ncmdline=%s\nstart=%s\n' \
	"$G_ENGINE" "$KID" "$KERNEL" "$BOOT_IMAGE" "$QEMU" "$cmdline" "$(date -Is)" >"$meta"
printf '%q ' "$QEMU" "${qemu_args[@]}" >"$ITD_OUT/logs/$guest.cmd"
echo >>"$ITD_OUT/logs/$guest.cmd"
t0=$(itd_now)
rc=0
: >"$log"
watcher=
if [[ -n $G_HOTPLUG ]]; then
	# The lifecycle test asks for device_del / device_add on the console.
	qmp=$ITD_OUT/logs/$guest.qmp
	rm -f "$qmp"
	qemu_args+=(-qmp "unix:$qmp,server=on,wait=off")
	"$SCRIPTS/qmp-hotplug.py" "$log" "$qmp" "$G_HOTPLUG" 2>>"$ITD_OUT/logs/$guest.qmp.log" &
	watcher=$!
fi
timeout -k 5 "${ITD_TIMEOUT:-900}" "$QEMU" "${qemu_args[@]}" \
	</dev/null >"$log" 2>&1 || rc=$?
[[ -z $watcher ]] || kill "$watcher" 2>/dev/null || true
wall=$(itd_elapsed "$t0")
printf 'qemu_rc=%s\nwall=%s\n' "$rc" "$wall" >>"$meta"
[[ $rc == 124 || $rc == 137 ]] && itd_log "boot $guest: timed out after ${ITD_TIMEOUT:-900} s"
itd_log "boot $guest: QEMU exited $rc after $wall s"
exit 0
