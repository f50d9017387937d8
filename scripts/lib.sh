# shellcheck shell=bash disable=SC2034 # a library: its variables are used by the sourcing scripts
# SPDX-License-Identifier: GPL-2.0
# Common settings for the host-side pipeline.  Source it; do not run it.
#   ITD_CACHE  downloaded and unpacked packages (default ~/.cache/iommu-testdev)
#   ITD_OUT    build products, initramfs images, logs, results (default <repo>/out)

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SCRIPTS=$REPO/scripts
SRC=${ITD_SRC:-$REPO}                # module and selftest sources (a stand-in tree for testing)
ITD_CACHE=${ITD_CACHE:-${HOME:-/root}/.cache/iommu-testdev}
ITD_OUT=${ITD_OUT:-$REPO/out}
DEB_ROOT=$ITD_CACHE/debian          # dpkg -x of kernel images, headers, kbuild
# unpacked linux-source-6.12 (selftests lib.mk, checkpatch); ITD_LINUX_SRC:
# a private copy (cp -al), for worktrees that build selftests at once
LINUX_SRC=${ITD_LINUX_SRC:-$ITD_CACHE/linux-source}
JOBS=${JOBS:-$(nproc)}

itd_log() { printf '[itd] %s\n' "$*" >&2; }
itd_die() { printf '[itd] error: %s\n' "$*" >&2; exit 1; }

# Debian architecture name <-> kernel ARCH / QEMU / cross compiler.
itd_arch_vars() {
	case $1 in
	arm64)
		KARCH=arm64 DEB_ARCH=arm64 FLAVOUR=arm64 QARCH=aarch64
		CROSS_COMPILE=aarch64-linux-gnu-
		QEMU=${QEMU_SYSTEM_AARCH64:-}
		;;
	x86_64 | amd64)
		KARCH=x86_64 DEB_ARCH=amd64 FLAVOUR=amd64 QARCH=x86_64
		CROSS_COMPILE=
		QEMU=${QEMU_SYSTEM_X86_64:-}
		;;
	*) itd_die "unknown arch '$1' (arm64, x86_64)" ;;
	esac
	[[ -n $QEMU ]] || itd_qemu_default
}

# QEMU for $QARCH when QEMU_SYSTEM_<ARCH> is not set: a qemu-system-<arch>
# on the PATH that has iommu-testdev (QEMU 11.0+), as it is; else Debian's
# newest from trixie-backports, unpacked by fetch-next.sh; else whatever the
# PATH has (bookworm's QEMU 7.2: edu only).  The probe is cached per binary.
itd_qemu_default() {
	local p=qemu-system-$QARCH path probe
	QEMU=$p
	path=$(command -v "$p" 2>/dev/null || true)
	if [[ -n $path ]]; then
		probe=$ITD_CACHE/qemu/probe/$(stat -L -c '%i-%s-%Y' "$path")
		if [[ ! -e $probe ]]; then
			mkdir -p "$ITD_CACHE/qemu/probe"
			if "$path" -device help 2>&1 | grep -q '"iommu-testdev"'; then
				echo yes >"$probe"
			else
				echo no >"$probe"
			fi
		fi
		[[ $(cat "$probe") == yes ]] && return 0
	fi
	[[ -x $ITD_CACHE/qemu/current/bin/$p ]] && QEMU=$ITD_CACHE/qemu/current/bin/$p
	return 0
}

# The legacy group's QEMU: bookworm's own (7.2, edu only), whatever
# QEMU_SYSTEM_<ARCH> says; ITD_QEMU_LEGACY_<ARCH> overrides it.
itd_qemu_legacy() {
	local v=ITD_QEMU_LEGACY_${QARCH^^}
	QEMU=${!v:-/usr/bin/qemu-system-$QARCH}
}

# The Debian kernel version (e.g. 6.12.117+deb12) that setup.sh fetched.
itd_debian_version() {
	[[ -s $DEB_ROOT/version ]] || itd_die "no Debian kernel in $DEB_ROOT: run scripts/setup.sh"
	cat "$DEB_ROOT/version"
}

# itd_kernel <arch> <spec>: set KERNEL (image to boot), KDIR (tree to build
# modules against), MODDIR (lib/modules/<release> or empty), KREL (release)
# and KID (a name for the build directory).
#   spec  debian          the Debian 6.12 kernel unpacked by setup.sh
#         debian:<flavour> another Debian flavour (arm64-16k, cloud-amd64, ...)
#         custom:<name>   scripts/kernel.sh <arch> <name> prints KERNEL=, KDIR=, MODDIR=
# KERNEL and KDIR in the environment (a kernel you built) override either.
itd_kernel() {
	local arch=$1 spec=${2:-debian} v line
	itd_arch_vars "$arch"
	LLVM=''  # a custom kernel built with clang: modules need LLVM= too
	if [[ -n ${ITD_USER_KERNEL:-} ]]; then
		KERNEL=$ITD_USER_KERNEL KDIR=$ITD_USER_KDIR MODDIR=${ITD_USER_MODDIR:-} KID=user
	elif [[ $spec == debian || $spec == debian:* ]]; then
		local fl=$FLAVOUR
		[[ $spec == debian:* ]] && fl=${spec#debian:}
		v=$(itd_debian_version)
		KERNEL=$DEB_ROOT/boot/vmlinuz-$v-$fl
		KDIR=$DEB_ROOT/usr/src/linux-headers-$v-$fl
		MODDIR=$DEB_ROOT/lib/modules/$v-$fl
		KID=debian-$v-$fl
		[[ -f $KERNEL ]] || itd_die "Debian flavour $fl not fetched: run scripts/setup.sh $fl"
	elif [[ $spec == custom:* ]]; then
		[[ -x $SCRIPTS/kernel.sh ]] || itd_die "guest wants kernel '$spec' but scripts/kernel.sh is missing"
		KERNEL='' KDIR='' MODDIR=''
		local out
		out=$("$SCRIPTS/kernel.sh" "$arch" "${spec#custom:}") ||
			itd_die "scripts/kernel.sh $arch ${spec#custom:} failed"
		while IFS= read -r line; do
			case $line in
			KERNEL=* | KDIR=* | MODDIR=* | LLVM=*) printf -v "${line%%=*}" '%s' "${line#*=}" ;;
			esac
		done <<<"$out"
		KID=custom-${spec#custom:}
	else
		itd_die "unknown kernel spec '$spec'"
	fi
	[[ -f $KERNEL ]] || itd_die "kernel image '$KERNEL' not found"
	[[ -d $KDIR ]] || itd_die "kernel build tree '$KDIR' not found"
	KREL=$(cat "$KDIR/include/config/kernel.release" 2>/dev/null || true)
	[[ -n $KREL ]] || KREL=$(make -s -C "$KDIR" ARCH="$KARCH" kernelrelease 2>/dev/null || true)
	[[ -n $KREL ]] || KREL=$(basename "${MODDIR:-unknown}")
}

# itd_cache_prune <dir>: keep the eight newest entries of a build-cache
# directory (ITD_CACHE/builds/...), files or directories, and remove the rest.
itd_cache_prune() {
	find "$1" -mindepth 1 -maxdepth 1 -printf '%T@ %p\n' | sort -rn |
		tail -n +9 | cut -d' ' -f2- | xargs -r rm -rf
}

# itd_pvh_extract <bzImage> <out>: write the uncompressed ELF kernel a
# bzImage carries (its payload, found by the boot protocol's setup_sects,
# payload_offset and payload_length) to <out>, by rename.  gzip, xz and
# zstd payloads; returns 1 on any other, or if the result is not an ELF.
itd_pvh_extract() {
	local bz=$1 out=$2 sects off len magic cut=4 tmp
	local -a dec
	sects=$(od -An -tu1 -j 497 -N1 "$bz" | tr -d ' ')
	[[ $sects != 0 ]] || sects=4
	off=$(( (sects + 1) * 512 + $(od -An -tu4 -j 584 -N4 "$bz" | tr -d ' ') ))
	len=$(od -An -tu4 -j 588 -N4 "$bz" | tr -d ' ')
	magic=$(od -An -tx1 -j "$off" -N4 "$bz" | tr -d ' ')
	# All but gzip carry the uncompressed size in 4 bytes at the end.
	case $magic in
	28b52ffd) dec=(zstd -qdc) ;;
	fd377a58) dec=(xz -dc) ;;
	1f8b*) dec=(gzip -dc) cut=0 ;;
	*) return 1 ;;
	esac
	tmp=$(mktemp "$out.XXXXXX")
	if dd if="$bz" bs=1M iflag=skip_bytes,count_bytes skip="$off" \
		count=$((len - cut)) status=none | "${dec[@]}" >"$tmp" 2>/dev/null &&
		[[ $(od -An -tx1 -N4 "$tmp" | tr -d ' ') == 7f454c46 ]]; then
		chmod 644 "$tmp"
		mv "$tmp" "$out"
		return 0
	fi
	rm -f "$tmp"
	return 1
}

# itd_boot_image: set BOOT_IMAGE, the file QEMU's -kernel boots.  That is
# $KERNEL, except for a Debian x86_64 kernel built with CONFIG_PVH: QEMU
# then boots the uncompressed ELF inside its bzImage (extracted once, next
# to it in the cache) through the PVH entry point.  Under TCG that skips
# the two costliest steps of an x86 boot, the zstd decompressor and the
# KASLR relocation pass over 57 MB, which are nothing the tests look at.
# A kernel of your own (KERNEL=) boots as you built it, and ITD_PVH=0 boots
# the bzImage.
itd_boot_image() {
	local elf
	BOOT_IMAGE=$KERNEL
	[[ $G_ARCH == x86_64 && $KID == debian-* && ${ITD_PVH:-1} == 1 ]] || return 0
	grep -qx 'CONFIG_PVH=y' "$KDIR/.config" 2>/dev/null || return 0
	elf=${KERNEL%/*}/vmlinux-pvh-${KERNEL##*/vmlinuz-}
	if [[ ! -s $elf || $elf -ot $KERNEL ]] && ! itd_pvh_extract "$KERNEL" "$elf"; then
		itd_log "no ELF kernel in $KERNEL: booting the bzImage"
		return 0
	fi
	BOOT_IMAGE=$elf
}

# itd_efi_firmware: print the arm64 UEFI firmware (QEMU_EFI.fd) to boot with
# $QEMU: $ITD_EFI_FIRMWARE if set; else the qemu-efi-aarch64 that sits next
# to one of the QEMU's own data directories ("$QEMU -L help": for QEMU's
# <root>/usr/share/qemu that is <root>/usr/share/qemu-efi-aarch64, so an
# unpacked QEMU brings its own); else the host's qemu-efi-aarch64 package.
# Returns 1 when there is none.
itd_efi_firmware() {
	local d f
	if [[ -n ${ITD_EFI_FIRMWARE:-} ]]; then
		[[ -f $ITD_EFI_FIRMWARE ]] || return 1
		echo "$ITD_EFI_FIRMWARE"
		return 0
	fi
	while IFS= read -r d; do
		[[ $d == /* ]] || continue
		f=$(dirname "$d")/qemu-efi-aarch64/QEMU_EFI.fd
		if [[ -f $f ]]; then
			echo "$f"
			return 0
		fi
	done < <("$QEMU" -L help 2>/dev/null || true)
	f=/usr/share/qemu-efi-aarch64/QEMU_EFI.fd
	[[ -f $f ]] || return 1
	echo "$f"
}

# Capture a user kernel from KERNEL=/KDIR= once, before anything else uses
# those names (make also exports its command line variables).
if [[ -n ${KERNEL:-} && -z ${ITD_USER_KERNEL:-} ]]; then
	[[ -n ${KDIR:-} ]] || itd_die "KERNEL=$KERNEL needs KDIR=<its build tree> too"
	export ITD_USER_KERNEL=$KERNEL ITD_USER_KDIR=$KDIR ITD_USER_MODDIR=${MODDIR:-}
fi

# Seconds since the epoch with two decimals.
itd_now() { date +%s.%N | cut -c1-13; }
itd_elapsed() { awk -v a="$1" -v b="$(itd_now)" 'BEGIN { printf "%.1f", b - a }'; }
