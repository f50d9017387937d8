#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Install the host tools and fetch the Debian 6.12 kernels (arm64, amd64),
# their headers, kbuild, arm64 busybox and linux-source into $ITD_CACHE;
# then QEMU 11 and linux-source-7.3 from trixie(-backports) (fetch-next.sh).
# Idempotent: every step is skipped when its output (a stamp) exists.
#   setup.sh [flavour...]   also fetch other Debian flavours (arm64-16k, ...)
#   ITD_OFFLINE=1   never call apt-get; use what the cache has
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

PKGS=(qemu-system-arm qemu-system-x86 gcc-aarch64-linux-gnu libc6-dev-arm64-cross
      pahole busybox-static linux-source-6.12 flex bison bc libelf-dev libssl-dev
      sparse kmod xz-utils zstd rsync make gcc libc6-dev python3-sphinx)

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo "$@"; fi; }

APT_UPDATED=
apt_update() {
	[[ -n $APT_UPDATED ]] && return 0
	itd_log "setup: apt-get update"
	as_root apt-get update -qq >&2
	APT_UPDATED=1
}

# 1. Host packages, only the missing ones.
installed=$(dpkg-query -W -f='${Package} ${Status}\n' "${PKGS[@]}" 2>/dev/null |
	awk '/ install ok installed$/ { print $1 }' || true)
missing=()
for p in "${PKGS[@]}"; do
	grep -qx "$p" <<<"$installed" || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	[[ -z ${ITD_OFFLINE:-} ]] || itd_die "missing packages and ITD_OFFLINE set: ${missing[*]}"
	apt_update
	itd_log "setup: apt-get install ${missing[*]}"
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >&2
fi

# 2. arm64 as a foreign architecture (for apt-get download of arm64 packages).
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
	itd_log "setup: dpkg --add-architecture arm64"
	as_root dpkg --add-architecture arm64
	APT_UPDATED=
	apt_update
fi

mkdir -p "$DEB_ROOT"

# 3. Resolve the newest Debian 6.12 kernel (the archive keeps only the newest)
#    through the meta-package; refresh apt's lists before downloading
#    anything (a stale list names a version the archive no longer has).
resolve_version() {
	apt-cache depends linux-image-6.12-amd64 2>/dev/null |
		sed -n 's/.*Depends: linux-image-\(6\.12\.[^ ]*\)-amd64$/\1/p' | head -n1
}
FLAVOURS=(arm64 amd64)
for f in "$@"; do
	[[ " ${FLAVOURS[*]} " == *" $f "* ]] || FLAVOURS+=("$f")
done
deb_list() { # <version>: the packages to fetch, as name:arch
	local f a
	echo "linux-headers-$1-common:all" "linux-kbuild-$1:amd64" "busybox-static:arm64"
	for f in "${FLAVOURS[@]}"; do
		case $f in
		*arm64*) a=arm64 ;;
		*amd64*) a=amd64 ;;
		*) itd_die "unknown Debian kernel flavour '$f'" ;;
		esac
		echo "linux-image-$1-$f:$a" "linux-headers-$1-$f:$a"
	done
}
stamp_of() { # <name:arch>
	local name=${1%%:*} arch=${1##*:}
	if [[ $name == busybox-static ]]; then echo "$ITD_CACHE/busybox/.stamp-arm64"
	else echo "$DEB_ROOT/.stamp-$name-$arch"; fi
}
all_cached() { # <version>
	local d
	[[ -n $1 ]] || return 1
	for d in $(deb_list "$1"); do [[ -e $(stamp_of "$d") ]] || return 1; done
}
V='' resolved=''
cached=$(cat "$DEB_ROOT/version" 2>/dev/null || true)
if [[ -n $cached ]] && all_cached "$cached" &&
	[[ -z $(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -newer "$DEB_ROOT/version" -print -quit) ]]; then
	V=$cached # apt's lists have not changed since that version was resolved
elif [[ -z ${ITD_OFFLINE:-} ]]; then
	resolved=1
	V=$(resolve_version)
	if ! all_cached "$V"; then
		apt_update
		V=$(resolve_version)
	fi
fi
if [[ -z $V && -s $DEB_ROOT/version ]]; then
	V=$(cat "$DEB_ROOT/version")
fi
[[ -n $V ]] || itd_die "cannot resolve the Debian 6.12 kernel version (apt-cache depends linux-image-6.12-amd64)"

# 4. Download and unpack (never install: the arm64 headers would remove gcc).
read -r -a debs <<<"$(deb_list "$V" | tr '\n' ' ')"
for d in "${debs[@]}"; do
	name=${d%%:*} arch=${d##*:}
	stamp=$(stamp_of "$d")
	[[ -e $stamp ]] && continue
	[[ -z ${ITD_OFFLINE:-} ]] || itd_die "$name:$arch not in the cache and ITD_OFFLINE set"
	pkg=$name
	[[ $arch == all ]] || pkg=$name:$arch
	itd_log "setup: apt-get download $pkg"
	# apt's _apt user may not read $ITD_CACHE: download in a private dir.
	tmp=$(mktemp -d)
	chmod 755 "$tmp"
	(cd "$tmp" && apt-get download -qq "$pkg" >&2)
	debfiles=("$tmp"/*.deb)
	itd_log "setup: unpack ${debfiles[0]##*/}"
	if [[ $name == busybox-static ]]; then
		dpkg -x "${debfiles[0]}" "$tmp/x"
		mkdir -p "$ITD_CACHE/busybox/arm64"
		mv "$tmp/x/bin/busybox" "$ITD_CACHE/busybox/arm64/busybox"
	else
		dpkg -x "${debfiles[0]}" "$DEB_ROOT"
	fi
	rm -rf "$tmp" # the unpacked tree is what we keep
	touch "$stamp"
done
[[ $V == "$cached" && -z $resolved ]] || echo "$V" >"$DEB_ROOT/version"

# 5. The headers' Makefile includes the -common tree by absolute path; the
#    modules' build/source links are absolute too: point them into the cache.
for f in "${FLAVOURS[@]}"; do
	hdr=$DEB_ROOT/usr/src/linux-headers-$V-$f
	sed -i "s|^include /usr/src/linux-headers-$V-common/|include $DEB_ROOT/usr/src/linux-headers-$V-common/|" \
		"$hdr/Makefile"
	mdir=$DEB_ROOT/lib/modules/$V-$f
	ln -sfn "$hdr" "$mdir/build"
	ln -sfn "$DEB_ROOT/usr/src/linux-headers-$V-common" "$mdir/source"
	if [[ ! -s $mdir/modules.dep ]]; then
		itd_log "setup: depmod $V-$f"
		depmod -b "$DEB_ROOT" "$V-$f"
	fi
done

# 6. Host busybox (amd64 guests).
if [[ ! -x $ITD_CACHE/busybox/x86_64/busybox ]]; then
	mkdir -p "$ITD_CACHE/busybox/x86_64"
	cp /bin/busybox "$ITD_CACHE/busybox/x86_64/busybox"
fi

# 7. linux-source-6.12 (selftests lib.mk, kselftest_harness.h, checkpatch.pl)
#    and its uAPI headers installed per arch for the selftests.
if [[ ! -e $LINUX_SRC/.stamp-unpacked ]]; then
	tarballs=(/usr/src/linux-source-6.12*.tar.xz)
	tarball=${tarballs[0]}
	itd_log "setup: unpack $(basename "$tarball")"
	rm -rf "$LINUX_SRC"
	mkdir -p "$LINUX_SRC"
	tar -xJf "$tarball" -C "$LINUX_SRC" --strip-components=1
	touch "$LINUX_SRC/.stamp-unpacked"
fi
for a in arm64 x86_64; do
	hdrs=$ITD_CACHE/uapi-headers/$a
	[[ -e $hdrs/.stamp ]] && continue
	itd_log "setup: headers_install ARCH=$a"
	rm -rf "$hdrs"
	make -s -C "$LINUX_SRC" O="$ITD_CACHE/uapi-headers/.build-$a" ARCH=$a \
		INSTALL_HDR_PATH="$hdrs" headers_install >&2
	rm -rf "$ITD_CACHE/uapi-headers/.build-$a"
	touch "$hdrs/.stamp"
done

# 8. gen_init_cpio: writes the initramfs from a list (device nodes without root).
if [[ ! -x $ITD_CACHE/bin/gen_init_cpio ]]; then
	mkdir -p "$ITD_CACHE/bin"
	gcc -O2 -o "$ITD_CACHE/bin/gen_init_cpio" "$LINUX_SRC/usr/gen_init_cpio.c"
fi

# 9. What bookworm lacks: QEMU 11 (iommu-testdev) and linux-source-7.3.
"$SCRIPTS/fetch-next.sh"

itd_log "setup: Debian kernel $V ready in $DEB_ROOT"
