#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# pack.sh <guest>: write the guest's initramfs ($ITD_OUT/initramfs/<guest>.cpio[.gz]):
# static busybox and its applet links, /init (guest-init.sh), the kernel
# modules the guest loads (with dependencies, decompressed), iommu_testdev.ko
# (as /lib/modules/itd/) and the kselftest install tree as /kselftest.
#   ITD_INITRD_GZIP=1  gzip the cpio (default: uncompressed, faster to boot under TCG)
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/guests.sh
. "$SCRIPTS/guests.sh"

guest=${1:?usage: pack.sh <guest>}
itd_guest "$guest"
itd_kernel "$G_ARCH" "$G_KERNEL"
arch=$G_ARCH
A=$ITD_OUT/$arch
bb=$ITD_CACHE/busybox/$arch/busybox
[[ -x $bb ]] || itd_die "no busybox for $arch: run scripts/setup.sh"
[[ -s $A/kselftest/kselftest-list.txt ]] || itd_die "no kselftests for $arch: run scripts/build.sh $arch"
gen=$ITD_CACHE/bin/gen_init_cpio
[[ -x $gen ]] || itd_die "no $gen: run scripts/setup.sh"

t0=$(itd_now)
stage=$ITD_OUT/initramfs/$guest.d
out=$ITD_OUT/initramfs/$guest.cpio
rm -rf "$stage"
mkdir -p "$stage/mod" "$stage/itd"
list=$ITD_OUT/initramfs/$guest.list

{
	for d in /dev /proc /sys /tmp /root /etc /bin /sbin /usr /usr/bin /usr/sbin \
		/lib /lib/modules /lib/modules/itd; do
		echo "dir $d 0755 0 0"
	done
	echo "nod /dev/console 0600 0 0 c 5 1"
	echo "nod /dev/null 0666 0 0 c 1 3"
	echo "file /bin/busybox $bb 0755 0 0"
	# Applet links as the host's busybox (same Debian build) lists them.
	busybox --list-full | while read -r a; do
		# No stdbuf: runner.sh would start each test through it.
		[[ $a == usr/bin/timeout || $a == usr/bin/stdbuf || $a == bin/busybox ]] && continue
		echo "slink /$a /bin/busybox 0777 0 0"
	done
	echo "file /usr/bin/timeout $SCRIPTS/guest-timeout.sh 0755 0 0"
	echo "file /init $SCRIPTS/guest-init.sh 0755 0 0"
	echo "file /bin/guest-bench.sh $SCRIPTS/guest-bench.sh 0755 0 0"
	# make bench: the kernel's dma_map_benchmark, built by bench.sh.
	if [[ -x $A/$KID/dma_map_benchmark ]]; then
		echo "file /bin/dma_map_benchmark $A/$KID/dma_map_benchmark 0755 0 0"
	fi

	# Kernel modules (virtio_iommu, ...) with their dependencies, in load order.
	: >"$stage/itd-modules"
	if [[ -n $G_MODULES ]]; then
		[[ -n $MODDIR && -d $MODDIR ]] ||
			itd_die "$guest needs modules ($G_MODULES) but kernel $KID has no MODDIR"
		mroot=$stage/mroot
		mkdir -p "$mroot/lib/modules"
		ln -s "$MODDIR" "$mroot/lib/modules/$KREL"
		[[ -s $MODDIR/modules.dep ]] || depmod -b "$mroot" "$KREL"
		for m in $G_MODULES; do
			modprobe -d "$mroot" -S "$KREL" --show-depends "$m" | while read -r kind path _; do
				[[ $kind == insmod ]] || continue # "builtin <name>": nothing to load
				name=$(basename "$path")
				name=${name%.xz} name=${name%.zst} name=${name%.gz}
				grep -qx "$name" "$stage/itd-modules" && continue
				case $path in
				*.xz) xz -dc "$path" >"$stage/mod/$name" ;;
				*.zst) zstd -qdc "$path" >"$stage/mod/$name" ;;
				*.gz) gzip -dc "$path" >"$stage/mod/$name" ;;
				*) cp "$path" "$stage/mod/$name" ;;
				esac
				echo "$name" >>"$stage/itd-modules"
				echo "file /lib/modules/$name $stage/mod/$name 0644 0 0"
			done
		done
	fi
	echo "file /etc/itd-modules $stage/itd-modules 0644 0 0"

	# The module(s) under test.
	for ko in "$A/$KID"/*.ko; do
		[[ -e $ko ]] || itd_die "no module in $A/$KID: run scripts/build.sh $arch"
		echo "file /lib/modules/itd/$(basename "$ko") $ko 0644 0 0"
	done

	# The kselftest install tree.
	(cd "$A/kselftest" && find . -mindepth 1) | sort | while read -r p; do
		p=${p#./} src=$A/kselftest/$p
		if [[ -d $src ]]; then
			echo "dir /kselftest/$p 0755 0 0"
		elif [[ -L $src ]]; then
			echo "slink /kselftest/$p $(readlink "$src") 0777 0 0"
		else
			echo "file /kselftest/$p $src $(stat -c %a "$src") 0 0"
		fi
	done | sed '1i dir /kselftest 0755 0 0'
} >"$list"

"$gen" "$list" >"$out"
if [[ -n ${ITD_INITRD_GZIP:-} ]]; then
	gzip -1 -f "$out"
	out=$out.gz
else
	rm -f "$out.gz"
fi
# An ACPI table upgrade goes in a first, uncompressed cpio of its own, at
# kernel/firmware/acpi/ (CONFIG_ACPI_TABLE_UPGRADE reads it from there
# before the initramfs is unpacked).
if [[ $G_ACPI_UPGRADE == iort-canwbs ]]; then
	aml=$("$SCRIPTS/iort.sh" "$guest")
	printf '%s\n' "dir /kernel 0755 0 0" "dir /kernel/firmware 0755 0 0" \
		"dir /kernel/firmware/acpi 0755 0 0" \
		"file /kernel/firmware/acpi/IORT.aml $aml 0644 0 0" >"$list.acpi"
	"$gen" "$list.acpi" >"$out.acpi"
	cat "$out" >>"$out.acpi"
	mv "$out.acpi" "$out"
elif [[ -n $G_ACPI_UPGRADE ]]; then
	itd_die "$guest: unknown G_ACPI_UPGRADE '$G_ACPI_UPGRADE'"
fi
itd_log "pack $guest: $(basename "$out") $(du -k "$out" | cut -f1) KiB ($(itd_elapsed "$t0") s)"
