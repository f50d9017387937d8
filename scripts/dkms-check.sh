#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# dkms-check.sh: install the module with DKMS against the headers of an
# installed kernel, as a Debian user would, then remove it again.
#   KVER=<release>   the kernel to build for (default: the newest with headers)
set -euo pipefail
. "$(dirname "$0")/lib.sh"

command -v dkms >/dev/null || {
	itd_log "dkms-check: apt-get install dkms"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dkms >&2
}
name=$(sed -n 's/^PACKAGE_NAME="\(.*\)"/\1/p' "$REPO/dkms.conf")
ver=$(sed -n 's/^PACKAGE_VERSION="\(.*\)"/\1/p' "$REPO/dkms.conf")
newest() { ls -d /lib/modules/*/build 2>/dev/null | sort -V | tail -1 | cut -d/ -f4 || true; }
kver=${KVER:-$(newest)}
if [[ -z $kver ]]; then
	# No headers at all: install those of the Debian 6.12 kernel the
	# guests use (setup.sh found its version), as a Debian user would.
	pkg=$(find "$DEB_ROOT/usr/src" -maxdepth 1 -name 'linux-headers-*-amd64' -printf '%f\n' 2>/dev/null | sort -V | tail -1)
	[[ -n $pkg ]] || itd_die "no kernel headers installed (apt-get install linux-headers-amd64), and no Debian 6.12 kernel in $DEB_ROOT (run scripts/setup.sh)"
	itd_log "dkms-check: apt-get install $pkg"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$pkg" >&2
	kver=$(newest)
fi

src=/usr/src/$name-$ver
dkms remove "$name/$ver" --all >/dev/null 2>&1 || true
rm -rf "$src"
mkdir -p "$src"
(cd "$REPO" && cp -r dkms.conf Kbuild drivers include "$src/")
dkms add "$name/$ver"
dkms install "$name/$ver" -k "$kver"
modinfo -k "$kver" iommu_testdev | grep -E '^(filename|alias|import_ns|parm):'
dkms remove "$name/$ver" --all
rm -rf "$src"
echo "# dkms-check: $name/$ver built and installed for $kver"
