#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# intree.sh <kernel source tree>: put the driver, its uAPI header, the
# selftests and the documentation into a kernel tree and wire them into
# drivers/Kconfig, drivers/Makefile and the selftests TARGETS.  Idempotent.
# Then: CONFIG_IOMMU_TESTDEV=m, and
#   make drivers/iommu_testdev/
#   make -C tools/testing/selftests TARGETS=iommu_testdev
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
tree=${1:?usage: intree.sh <kernel source tree>}
[[ -f $tree/Kbuild && -d $tree/drivers ]] || { echo "$tree: not a kernel tree" >&2; exit 1; }

mkdir -p "$tree/drivers/iommu_testdev" "$tree/tools/testing/selftests/iommu_testdev"
cp "$REPO"/drivers/iommu_testdev/{Kconfig,Makefile,*.c,*.h} "$tree/drivers/iommu_testdev/"
cp "$REPO/include/uapi/linux/iommu_testdev.h" "$tree/include/uapi/linux/"
cp "$REPO"/tools/testing/selftests/iommu_testdev/* "$tree/tools/testing/selftests/iommu_testdev/"
mkdir -p "$tree/Documentation/misc-devices"
cp "$REPO/Documentation/iommu_testdev.rst" "$tree/Documentation/misc-devices/"
idx=$tree/Documentation/misc-devices/index.rst
if [[ -f $idx ]] && ! grep -q '^   iommu_testdev$' "$idx"; then
	if grep -q '^   isl29003$' "$idx"; then
		sed -i '0,/^   isl29003$/s//   iommu_testdev\n   isl29003/' "$idx"
	else
		echo "   iommu_testdev" >>"$idx"
	fi
fi

# The ioctl type, in the registry of ioctl numbers (before 0xBA's entry).
num=$tree/Documentation/userspace-api/ioctl/ioctl-number.rst
type=$(sed -n 's/^#define IOMMU_TESTDEV_TYPE 0x\([0-9A-Fa-f]*\)$/\1/p' \
	"$REPO/include/uapi/linux/iommu_testdev.h")
if [[ -f $num && -n $type ]] && ! grep -q 'uapi/linux/iommu_testdev.h' "$num"; then
	line=$(printf '0x%s  00-0F  %-57s %s' "$type" uapi/linux/iommu_testdev.h \
		'DMA test driver for QEMU iommu-testdev and edu')
	# Before the first entry of a higher type.
	at=
	while IFS=: read -r n t; do
		if ((16#${t#0x} > 16#$type)); then at=$n; break; fi
	done < <(grep -no '^0x[0-9A-Fa-f][0-9A-Fa-f]' "$num")
	if [[ -n $at ]]; then
		sed -i "${at}i $line" "$num"
	else
		echo "note: add '$line' to $num by hand" >&2
	fi
fi

if ! grep -q 'drivers/iommu_testdev/Kconfig' "$tree/drivers/Kconfig"; then
	# Before the menu closes.
	sed -i '$i source "drivers/iommu_testdev/Kconfig"\n' "$tree/drivers/Kconfig"
fi
if ! grep -q 'iommu_testdev/' "$tree/drivers/Makefile"; then
	echo 'obj-$(CONFIG_IOMMU_TESTDEV)	+= iommu_testdev/' >>"$tree/drivers/Makefile"
fi
if ! grep -qw 'iommu_testdev' "$tree/tools/testing/selftests/Makefile"; then
	sed -i 's/^TARGETS += iommu$/TARGETS += iommu\nTARGETS += iommu_testdev/' \
		"$tree/tools/testing/selftests/Makefile"
fi
grep -qw 'iommu_testdev' "$tree/tools/testing/selftests/Makefile" ||
	echo "note: add 'TARGETS += iommu_testdev' to tools/testing/selftests/Makefile by hand" >&2
echo "iommu_testdev: wired into $tree"
