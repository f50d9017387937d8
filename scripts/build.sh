#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build.sh <arch> [kernel]: build iommu_testdev.ko against the kernel's build
# tree and the kselftests (static) with the kselftest machinery.
#   <arch>    arm64 | x86_64
#   [kernel]  debian (default) | custom:<name>; KERNEL=/KDIR= override both
# Output: $ITD_OUT/<arch>/<kid>/*.ko and $ITD_OUT/<arch>/kselftest/
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

arch=${1:?usage: build.sh <arch> [kernel]}

# cache_put <entry> <file or dir>...: make <entry> (a directory under
# ITD_CACHE/builds) hold copies of these, whole or not at all: another
# worktree may be reading the cache.  The newest eight entries beside it
# stay (mutants.sh builds a tree per mutant).
cache_put() {
	local entry=$1
	shift
	mkdir -p "$entry.$$"
	cp -a "$@" "$entry.$$/"
	rm -rf "$entry"
	mv -T "$entry.$$" "$entry"
	itd_cache_prune "${entry%/*}"
}
itd_kernel "$arch" "${2:-debian}"
A=$ITD_OUT/$arch

# 1. The module.  Kbuild writes objects beside the sources, so build in a
#    copy; rsync keeps mtimes, so an unchanged tree rebuilds nothing.
t0=$(itd_now)
itd_log "build $arch module ($KID, $KREL)"
mdir=$A/$KID
mkdir -p "$mdir/src"
changes=$(rsync -a -i --delete --exclude='*.o' --exclude='*.ko' --exclude='*.mod' --exclude='*.mod.c' \
	--exclude='.*.cmd' --exclude='modules.order' --exclude='Module.symvers' \
	--exclude='*.mod.o' --exclude='.tmp_versions' --exclude='*.dwo' --exclude='*.o.d' \
	--include='/Kbuild' --include='/drivers/***' --include='/include/***' --exclude='/*' \
	"$SRC/" "$mdir/src/" | grep -v "^\.d" || true)
[[ -f $mdir/src/Kbuild ]] || itd_die "$SRC/Kbuild is missing"
stamp="$KDIR $(stat -c %Y "$KDIR/Module.symvers" 2>/dev/null || true)"
# A fresh clone (CI's every run) has no objects of its own: take the .ko
# built from the same sources against the same kernel build from the cache.
key=$( (cd "$SRC" && find Kbuild drivers include -type f \( -name '*.[ch]' -o \
	-name Kbuild -o -name Makefile -o -name Kconfig \) -print0 | sort -z |
	xargs -0 sha1sum; echo "$stamp $KARCH ${LLVM:-}") | sha1sum | cut -c1-16)
kcache=$ITD_CACHE/builds/module/$KID/$key
if [[ -z $changes && -f $mdir/.built && $(cat "$mdir/.built") == "$stamp" ]]; then
	itd_log "build $arch module: up to date"
elif compgen -G "$kcache/*.ko" >/dev/null; then
	rm -f "$mdir"/*.ko
	cp "$kcache"/*.ko "$mdir/"
	# The objects in $mdir/src are not these: the next change rebuilds all.
	find "$mdir/src" \( -name '*.o' -o -name '*.ko' \) -delete
	echo "$stamp" >"$mdir/.built"
	itd_log "build $arch module: from the cache ($kcache)"
else
	rm -f "$mdir"/*.ko "$mdir/.built"
	# rsync keeps the sources' mtimes: a file put back to an older version
	# (another ITD_SRC, a reverted edit) is older than its object, and make
	# would keep the object.  Build from scratch whenever anything changed.
	[[ -z $changes ]] || find "$mdir/src" \( -name '*.o' -o -name '*.ko' \) -delete
	make -s -C "$KDIR" M="$mdir/src" ARCH="$KARCH" CROSS_COMPILE="$CROSS_COMPILE" ${LLVM:+LLVM=$LLVM} \
		CONFIG_IOMMU_TESTDEV=m -j"$JOBS" modules >&2
	mapfile -t kos < <(find "$mdir/src" -name '*.ko')
	[[ ${#kos[@]} -gt 0 ]] || itd_die "no .ko built in $mdir/src"
	cp "${kos[@]}" "$mdir/"
	cache_put "$kcache" "${kos[@]}"
	echo "$stamp" >"$mdir/.built"
	itd_log "build $arch module: $(printf '%s ' "${kos[@]##*/}")($(itd_elapsed "$t0") s)"
fi

# 2. The selftests, statically linked, through tools/testing/selftests of the
#    unpacked linux-source with our collection and uAPI header copied in.
t0=$(itd_now)
itd_log "build $arch kselftest"
[[ -e $LINUX_SRC/.stamp-unpacked ]] || itd_die "no linux-source in $LINUX_SRC: run scripts/setup.sh"
ksrc=$LINUX_SRC/tools/testing/selftests/iommu_testdev
# The unpacked tree is shared by every worktree and run on this machine:
# one copy-and-build at a time, or one tree's tests get another's sources.
exec 9>"$LINUX_SRC/.itd-selftests.lock"
flock 9
# By content, not times (no -t): a file that differs is written anew and so
# is newer than its objects, even when the tree it comes from is older
# (another worktree, a reverted edit); make then rebuilds what it must.
rsync -r --checksum --delete "$SRC/tools/testing/selftests/iommu_testdev/" "$ksrc/"
if [[ -f $SRC/include/uapi/linux/iommu_testdev.h ]]; then
	rsync --checksum "$SRC/include/uapi/linux/iommu_testdev.h" "$LINUX_SRC/include/uapi/linux/"
fi
hdrs=$ITD_CACHE/uapi-headers/$arch/include
inst=$A/kselftest
# Once per arch and state of the sources: another kernel of the same arch
# reuses the install.
stamp=$( (cat "$SRC"/tools/testing/selftests/iommu_testdev/* \
	"$SRC/include/uapi/linux/iommu_testdev.h"; echo stripped) | sha1sum | cut -c1-16)
if [[ -s $inst/kselftest-list.txt && $(cat "$A/kselftest.stamp" 2>/dev/null) == "$stamp" ]]; then
	itd_log "build $arch kselftest: up to date"
	exit 0
fi
rm -rf "$inst" "$A/kselftest.stamp"
# The same sources built with the same harness and headers: from the cache.
tcache=$ITD_CACHE/builds/kselftest/$arch/$stamp-$(stat -c %Y "$LINUX_SRC/.stamp-unpacked")-$(stat -c %Y "$hdrs" 2>/dev/null || echo 0)
if [[ -s $tcache/kselftest-list.txt ]]; then
	cp -a "$tcache" "$inst"
	echo "$stamp" >"$A/kselftest.stamp"
	itd_log "build $arch kselftest: from the cache ($tcache)"
	exit 0
fi
make -s -C "$LINUX_SRC/tools/testing/selftests" TARGETS=iommu_testdev ARCH="$KARCH" \
	CROSS_COMPILE="$CROSS_COMPILE" O="$A/kselftest-build" KSFT_INSTALL_PATH="$inst" \
	KHDR_INCLUDES="-isystem $hdrs" USERLDFLAGS=-static -j"$JOBS" install >&2
[[ -s $inst/kselftest-list.txt ]] || itd_die "kselftest install produced no kselftest-list.txt"
# Stripped: the guest's kernel copies every byte of the initramfs at boot,
# under TCG (the symbols are 15% of these static binaries).
find "$inst/iommu_testdev" -type f -perm -u+x -exec "${CROSS_COMPILE}strip" {} +
itd_log "build $arch kselftest: $(cut -d: -f2 "$inst/kselftest-list.txt" | tr '\n' ' ')($(itd_elapsed "$t0") s)"
cache_put "$tcache" "$inst"/.
echo "$stamp" >"$A/kselftest.stamp"
