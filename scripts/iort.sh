#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# iort.sh <guest>: print the path of an ACPI IORT for the guest's machine
# with CANWBS set in every PCI root complex node, for the initrd table
# upgrade (Documentation/admin-guide/acpi/initrd_table_override.rst).
#
# The table is derived from the QEMU in use, never shipped: a throwaway boot
# of the guest's machine (same QEMU, firmware, machine and device options,
# kernel) with a tiny initramfs prints /sys/firmware/acpi/tables/IORT on
# the console; then the root complex nodes' memory access flags (byte 23 of
# each node) get bit 2 (CANWBS), the OEM revision goes up by one (the
# kernel takes an upgrade only if it is newer) and the checksum is fixed.
# Both tables are cached in $ITD_CACHE/acpi/<QEMU version>-<hash of the
# options>/ (IORT.dat as QEMU built it, IORT.aml the upgrade).
#
# Why CANWBS holds for QEMU: the flag says the root complex's DMA is fully
# coherent, write-back cacheable, with no need for cache maintenance even
# for No-Snoop.  QEMU's emulated devices (TCG) write guest RAM through the
# host's coherent memory; there is no cache to bypass.  Linux 7.x creates
# an SMMUv3 vIOMMU only with CANWBS or S2FWB (QEMU's SMMU has no S2FWB).
#   ITD_IORT_REFRESH=1  derive again even if cached
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/guests.sh
. "$SCRIPTS/guests.sh"

guest=${1:?usage: iort.sh <guest>}
itd_guest "$guest"
itd_guest_check
[[ -z $G_SKIP ]] || itd_die "$guest cannot run: $G_SKIP"
[[ $G_ARCH == arm64 && -n $G_BIOS ]] || itd_die "$guest is not an arm64 UEFI guest"

machine=("${G_QEMU[@]}" "${G_TESTDEV[@]}" "${G_EXTRA[@]}")
version=$("$QEMU" --version | sed -n '1s/^QEMU emulator version \([^ ]*\).*/\1/p')
[[ -n $version ]] || itd_die "cannot tell the version of $QEMU"
key=$(printf '%s\n' "$version" "$(sha1sum <"$G_BIOS" | cut -c1-16)" "${machine[@]}" |
	sha1sum | cut -c1-12)
dir=$ITD_CACHE/acpi/qemu-$version-$key
mkdir -p "$dir"
# One derivation per key at a time; a second caller waits, then reuses it.
exec 9>"$dir/lock"
flock 9
if [[ -s $dir/IORT.aml && -z ${ITD_IORT_REFRESH:-} ]]; then
	echo "$dir/IORT.aml"
	exit 0
fi

itd_kernel "$G_ARCH" "$G_KERNEL"
bb=$ITD_CACHE/busybox/$G_ARCH/busybox
gen=$ITD_CACHE/bin/gen_init_cpio
[[ -x $bb && -x $gen ]] || itd_die "no busybox or gen_init_cpio: run scripts/setup.sh"
t0=$(itd_now)
tmp=$(mktemp -d)
trap '[[ -n ${ITD_KEEP:-} ]] || rm -rf "$tmp"' EXIT
cat >"$tmp/init" <<'EOF'
#!/bin/sh
/bin/busybox mount -t sysfs sysfs /sys
printf "\nITD-IORT-BEGIN\n"
/bin/busybox od -An -tx1 -v /sys/firmware/acpi/tables/IORT
echo ITD-IORT-END
/bin/busybox poweroff -f
EOF
cat >"$tmp/list" <<EOF
dir /dev 0755 0 0
dir /sys 0755 0 0
dir /bin 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /bin/busybox $bb 0755 0 0
slink /bin/sh /bin/busybox 0777 0 0
file /init $tmp/init 0755 0 0
EOF
"$gen" "$tmp/list" >"$tmp/initrd"
# shellcheck disable=SC2054 # commas belong to QEMU options
timeout -k 5 300 "$QEMU" -accel tcg,thread=multi -smp "$G_SMP" -m "$G_MEM" \
	-nographic -no-reboot -nic none -bios "$G_BIOS" -kernel "$KERNEL" \
	-initrd "$tmp/initrd" -append "console=ttyAMA0 quiet panic=-1 rdinit=/init" \
	"${machine[@]}" </dev/null >"$tmp/console" 2>&1 ||
	itd_die "the IORT dump boot failed: $(tail -n 5 "$tmp/console")"
tr -d '\r' <"$tmp/console" | sed -n '/ITD-IORT-BEGIN/,/ITD-IORT-END/{/ITD-IORT/d;p}' |
	python3 -c 'import sys; sys.stdout.buffer.write(bytes.fromhex(sys.stdin.read()))' >"$dir/IORT.dat"
[[ -s $dir/IORT.dat ]] || itd_die "no IORT on the console of the dump boot (ACPI off?)"

python3 - "$dir/IORT.dat" "$dir/IORT.aml.new" >&2 <<'EOF'
import struct, sys
t = bytearray(open(sys.argv[1], 'rb').read())
assert t[:4] == b'IORT', 'not an IORT'
length = struct.unpack_from('<I', t, 4)[0]
assert length == len(t), 'length %d, read %d' % (length, len(t))
assert sum(t) % 256 == 0, 'bad checksum in the table QEMU built'
nodes, off = struct.unpack_from('<II', t, 36)
rc = 0
for _ in range(nodes):
    ntype, nlen = t[off], struct.unpack_from('<H', t, off + 1)[0]
    if ntype == 2:                      # PCI root complex
        t[off + 23] |= 1 << 2           # memory access flags: CANWBS
        rc += 1
    off += nlen
assert rc, 'no PCI root complex node'
oem_rev = struct.unpack_from('<I', t, 24)[0]
struct.pack_into('<I', t, 24, oem_rev + 1)
t[9] = 0
t[9] = (-sum(t)) % 256
open(sys.argv[2], 'wb').write(t)
print('%d root complex node(s); OEM revision %d -> %d' % (rc, oem_rev, oem_rev + 1))
EOF
mv "$dir/IORT.aml.new" "$dir/IORT.aml"
itd_log "iort $guest: QEMU $version's IORT ($(stat -c %s "$dir/IORT.dat") bytes) with CANWBS ($(itd_elapsed "$t0") s)"
echo "$dir/IORT.aml"
