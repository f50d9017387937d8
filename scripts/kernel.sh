#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kernel.sh [--check] <name>[@<series>] | <arch> <name>[@<series>]
#
# Build (unless cached) a minimal guest kernel from Debian's linux-source-<series>
# (6.12, the default, from bookworm; 7.3 from trixie-backports, fetched by
# setup.sh) and print shell assignments, one per line, on stdout:
#   KERNEL=<Image or bzImage>  KDIR=<build tree for M= module builds>
#   ARCH=<arm64|x86_64>  CROSS_COMPILE=<prefix>  KREL=<release>  MODDIR=
# (everything is built in, so MODDIR is empty).  Progress goes to stderr.
#
#   <name>    a fragment scripts/kconfig/<name>.config whose name starts with
#             its architecture: arm64-iommufd, x86_64-iommufd, arm64-debug
#   <arch> <name>  the same; <name> may omit the "<arch>-" prefix
#   @<series> the linux-source series: 6.12 (default) or 7.3
#   --check   configure and verify the fragment only; build nothing
#
# The config is allnoconfig + tools/testing/selftests/iommu_testdev/config +
# the fragment (a line "#include <file>" pulls in another fragment from
# scripts/kconfig/; later settings win), then olddefconfig.  A line
# "#llvm <suffix>" in the named fragment builds with clang: make LLVM=<suffix>
# (e.g. -16 for clang-16; 1 for the unversioned tools); it prints LLVM= too,
# for modules built against the tree.  Every option the
# fragments set must come out as requested, or the script lists the ones that
# did not and fails.  Options this tree does not know (CONFIG_IOMMU_TESTDEV,
# the out-of-tree module) are dropped with a note.
#
# Cache: ${ITD_CACHE:-~/.cache/iommu-testdev}/kbuild/
#   src/<tarball>-<size>-<mtime>/     unpacked once from the tarball
#   <name>-<series>-<hash>/           O= build tree; <hash> covers the
#                                     tarball, the merged fragment, the
#                                     compiler and this script's recipe
# Environment: ITD_KSRC_TARBALL (default: the series' tarball; overrides it),
#   ITD_KJOBS (make -j, default 2), ITD_KREBUILD=1 (ignore a cached build),
#   ITD_KVERBOSE=1 (make output to stderr as well as build.log).
# A kernel mutant (scripts/mutants.sh): ITD_KMUTANT=<path in the tree>,
#   ITD_KMUTANT_FILE=<the mutated copy of that file>, ITD_KMUTANT_OUT=<dir>:
#   the cached build is copied to <dir> and rebuilt there with the mutated
#   file bound over the original in a mount namespace of its own (the
#   shared tree stays as it is, and only what depends on that file is
#   rebuilt); the assignments printed are the mutant's.  Root only.
set -euo pipefail
# The whole script is one { } block: bash parses it before running, so editing
# this file during a long build does not derail the running copy.
{
RECIPE=2 # bump when the build steps below change in a way that matters
SCRIPTS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$SCRIPTS")
KCONFIG_DIR=$SCRIPTS/kconfig
SELFTEST_CONFIG=$REPO/tools/testing/selftests/iommu_testdev/config
CACHE=${ITD_CACHE:-${HOME:-/root}/.cache/iommu-testdev}
KB=$CACHE/kbuild
JOBS=${ITD_KJOBS:-2}

log() { printf '[kernel] %s\n' "$*" >&2; }
die() { printf '[kernel] error: %s\n' "$*" >&2; exit 1; }

check_only=
if [[ ${1:-} == --check ]]; then check_only=1; shift; fi
case $# in
1) name=$1 ;;
2)
	a=$1 name=$2
	[[ $a != amd64 ]] || a=x86_64
	[[ $name == "$a"-* ]] || name=$a-$name
	;;
*) die "usage: kernel.sh [--check] <name>[@<series>] | <arch> <name>[@<series>]" ;;
esac
series=6.12
if [[ $name == *@* ]]; then
	series=${name#*@} name=${name%@*}
fi
case $series in
6.12) deftar=/usr/src/linux-source-6.12.tar.xz ;;
*) deftar=$CACHE/next/linux-source-$series.tar.xz ;;
esac
TARBALL=${ITD_KSRC_TARBALL:-$deftar}
[[ -f $KCONFIG_DIR/$name.config ]] || die "no fragment $KCONFIG_DIR/$name.config"
case $name in
arm64-*) karch=arm64 cross=aarch64-linux-gnu- image=arch/arm64/boot/Image ;;
x86_64-*) karch=x86_64 cross='' image=arch/x86/boot/bzImage ;;
*) die "cannot tell the architecture of '$name' (arm64-* or x86_64-*)" ;;
esac
command -v "${cross}gcc" >/dev/null || die "${cross}gcc not found (scripts/setup.sh installs it)"
[[ -f $TARBALL ]] || die "$TARBALL not found (scripts/setup.sh fetches linux-source-$series)"

# --- 1. Resolve the fragment: selftest config + #include chain, last wins.
declare -A seen=()
emit_fragment() { # <file>: print its option lines, includes expanded in place
	local f=$1 line inc
	[[ -z ${seen[$f]:-} ]] || die "fragment $f included twice"
	seen[$f]=1
	while IFS= read -r line || [[ -n $line ]]; do
		if [[ $line =~ ^#include[[:space:]]+([^[:space:]]+) ]]; then
			inc=${BASH_REMATCH[1]}
			[[ $inc == /* ]] || inc=$KCONFIG_DIR/$inc
			[[ -f $inc ]] || die "$f: cannot include $inc"
			emit_fragment "$inc"
		elif [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=|^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set ]]; then
			printf '%s\n' "$line"
		fi
	done <"$f"
}
raw=$({
	[[ -f $SELFTEST_CONFIG ]] && emit_fragment "$SELFTEST_CONFIG"
	emit_fragment "$KCONFIG_DIR/$name.config"
	printf 'CONFIG_LOCALVERSION="-itd-%s"\n' "$name"
})
# Normalise to "SYM VALUE" (VALUE n for "is not set"), keep the last setting
# of each symbol in first-seen order.
merged=$(printf '%s\n' "$raw" | awk '
	/^# CONFIG_/ { sym = $2; val = "n" }
	/^CONFIG_/   { i = index($0, "="); sym = substr($0, 1, i - 1); val = substr($0, i + 1) }
	{ if (!(sym in v)) order[n++] = sym; v[sym] = val }
	END { for (i = 0; i < n; i++) print order[i], v[order[i]] }')

# --- 2. Cache key and source tree.
# The source tree is named after the tarball itself (its name, size and
# mtime), never after an installed package: two series share the cache.
srcid="$(basename "$TARBALL" .tar.xz)-$(stat -c '%s-%Y' "$TARBALL")"
srcid=${srcid//[^A-Za-z0-9.+-]/_}
src=$KB/src/$srcid
llvm=$(sed -n 's/^#llvm[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$KCONFIG_DIR/$name.config")
if [[ -n $llvm ]]; then
	cc=clang${llvm#1}
	command -v "$cc" >/dev/null || die "$cc not found (fragment $name: #llvm $llvm)"
	ccid="$(command -v "$cc") $("$cc" --version | head -n1)"
else
	ccid="$(command -v "${cross}gcc") $("${cross}gcc" --version | head -n1)"
fi
hash=$(printf 'recipe %s\nsource %s %s\ncc %s\n%s\n' "$RECIPE" "$srcid" \
	"$(stat -c '%s %Y' "$TARBALL")" "$ccid" "$merged" | sha256sum | cut -c1-12)
out=$KB/$name-$series-$hash
[[ -z $check_only ]] || out=$KB/check/$name-$hash # leave built trees alone
mkdir -p "$KB/src" "$(dirname "$out")"

# make's variables for every build of a tree (a mutant's rebuild too, whose
# commands must come out the same, or everything would rebuild).
stamp=$(date -u -d "@$(stat -c %Y "$TARBALL")" '+%a %b %e %H:%M:%S UTC %Y')
kvars=(ARCH="$karch" CROSS_COMPILE="$cross" ${llvm:+LLVM=$llvm}
	KBUILD_BUILD_TIMESTAMP="$stamp" KBUILD_BUILD_USER=itd
	KBUILD_BUILD_HOST=iommu-testdev KBUILD_BUILD_VERSION=1)

build_mutant() {
	local rel=$ITD_KMUTANT file=${ITD_KMUTANT_FILE:?} mout=${ITD_KMUTANT_OUT:?}

	[[ -f $src/$rel && -f $file ]] || die "mutant: no $src/$rel or no $file"
	log "$name: mutant of $rel, rebuilt in $mout"
	rm -rf "$mout"
	cp -a "$out" "$mout"
	rm -f "$mout/.itd-built" "$mout/${rel%.c}.o"
	unshare -m bash -c 'mount --bind "$1" "$2" && shift 2 && exec "$@"' _ \
		"$file" "$src/$rel" nice -n 5 make -C "$src" O="$mout" "${kvars[@]}" \
		-j"$JOBS" all >"$mout/build.log" 2>&1 ||
		{ tail -n 40 "$mout/build.log" >&2; die "mutant: rebuild failed"; }
	out=$mout
}

print_result() {
	local krel
	[[ -z ${ITD_KMUTANT:-} ]] || build_mutant
	krel=$(cat "$out/include/config/kernel.release")
	printf 'KERNEL=%s\nKDIR=%s\nARCH=%s\nCROSS_COMPILE=%s\nKREL=%s\nMODDIR=\nLLVM=%s\nKSRC=%s\n' \
		"$out/$image" "$out" "$karch" "$cross" "$krel" "$llvm" "$src"
}

if [[ -z $check_only && -z ${ITD_KREBUILD:-} && -f $out/.itd-built ]]; then
	log "$name: cached in $out"
	print_result
	exit 0
fi

exec 9>"$out.lock"
flock 9 # one builder per tree; a concurrent caller waits, then finds it built
if [[ -z $check_only && -z ${ITD_KREBUILD:-} && -f $out/.itd-built ]]; then
	log "$name: built meanwhile in $out"
	print_result
	exit 0
fi

(
	exec 8>"$KB/src/.lock"
	flock 8
	if [[ ! -f $src/.itd-unpacked ]]; then
		log "unpack $(basename "$TARBALL") into $src"
		rm -rf "$src" "$src.tmp"
		mkdir -p "$src.tmp"
		tar -xJf "$TARBALL" -C "$src.tmp" --strip-components=1
		touch "$src.tmp/.itd-unpacked"
		mv "$src.tmp" "$src"
	fi
	if [[ ! -f $src/.itd-symbols ]]; then
		find "$src" -name 'Kconfig*' -type f -print0 |
			xargs -0 sed -nE 's/^[[:space:]]*(menu)?config[[:space:]]+([A-Za-z0-9_]+).*/CONFIG_\2/p' |
			sort -u >"$src/.itd-symbols.tmp"
		mv "$src/.itd-symbols.tmp" "$src/.itd-symbols"
	fi
)

# --- 3. Configure: allnoconfig with the fragment as KCONFIG_ALLCONFIG.
kmake() {
	nice -n 5 make -C "$src" O="$out" "${kvars[@]}" "$@"
}
rm -f "$out/.itd-built"
mkdir -p "$out"
unknown=() wanted=()
while read -r sym val; do
	if grep -qxF "$sym" "$src/.itd-symbols"; then
		wanted+=("$sym $val")
	else
		unknown+=("$sym")
	fi
done <<<"$merged"
[[ ${#unknown[@]} -eq 0 ]] || log "$name: not in this tree, ignored: ${unknown[*]}"
for w in "${wanted[@]}"; do
	if [[ ${w#* } == n ]]; then echo "# ${w%% *} is not set"; else echo "${w%% *}=${w#* }"; fi
done >"$out/itd-fragment.config"

log "$name: configure in $out"
kmake -s KCONFIG_ALLCONFIG="$out/itd-fragment.config" allnoconfig >"$out/config.log" 2>&1 ||
	{ cat "$out/config.log" >&2; die "allnoconfig failed"; }
kmake -s olddefconfig >>"$out/config.log" 2>&1 ||
	{ cat "$out/config.log" >&2; die "olddefconfig failed"; }

# --- 4. Verify that every requested option stuck.
bad=0
for w in "${wanted[@]}"; do
	sym=${w%% *} val=${w#* }
	got=$(grep -m1 -E "^$sym=|^# $sym is not set" "$out/.config" || true)
	case $got in
	"$sym="*) got=${got#*=} ;;
	*) got=n ;;
	esac
	if [[ $got != "$val" ]]; then
		printf '[kernel]   %s: requested %s, got %s\n' "$sym" "$val" "$got" >&2
		bad=1
	fi
done
[[ $bad == 0 ]] || die "$name: the options above did not stick (see $out/.config)"
log "$name: all ${#wanted[@]} requested options set"
if [[ -n $check_only ]]; then
	exit 0
fi

# --- 5. Build: the image, vmlinux and Module.symvers (M= builds need them).
t0=$(date +%s)
log "$name: make -j$JOBS (log: $out/build.log)"
if [[ -n ${ITD_KVERBOSE:-} ]]; then
	status=0
	kmake -j"$JOBS" all 2>&1 | tee "$out/build.log" >&2 || status=$?
else
	status=0
	kmake -j"$JOBS" all >"$out/build.log" 2>&1 || status=$?
fi
if [[ $status != 0 ]]; then
	tail -n 40 "$out/build.log" >&2
	die "$name: build failed (status $status)"
fi
[[ -f $out/$image && -f $out/Module.symvers ]] || die "$name: $image or Module.symvers missing"
log "$name: built $(cat "$out/include/config/kernel.release") in $(($(date +%s) - t0)) s" \
	"($(du -h "$out/$image" | cut -f1) $image)"
touch "$out/.itd-built"
print_result
exit 0
}
