#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch-next.sh: what bookworm lacks, from Debian's trixie and
# trixie-backports through a private apt configuration (the host's sources
# and dpkg database are never touched), unpacked into $ITD_CACHE:
#   qemu/<version>/root   QEMU (qemu-system-arm, qemu-system-x86) with its
#                         whole dependency closure and firmware (SeaBIOS,
#                         QEMU_EFI.fd), as dpkg -x left it
#   qemu/<version>/bin    qemu-system-{aarch64,x86_64}: wrappers that run it
#                         with the closure's own loader and libraries
#   qemu/current          -> the newest <version>
#   next/linux-source-<series>.tar.xz   (ITD_NEXT_SERIES, default 7.3)
# Idempotent; the newest versions are resolved at run time (apt lists are
# refreshed when older than a day).  ITD_OFFLINE=1: use what is cached.
#
# Why unpacked and not installed: trixie's QEMU needs trixie's libc; a
# debootstrapped trixie root would need a chroot or namespaces for every
# boot, while the closure's own ld.so runs it from bookworm as it is.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

SERIES=${ITD_NEXT_SERIES:-7.3}
APTD=$ITD_CACHE/apt
QPKGS=(qemu-system-arm qemu-system-x86 qemu-efi-aarch64 seabios
	# With bookworm's QEMU also installed, -device help otherwise loads the
	# host's display modules and aborts ("Only modules from the same build").
	# Every module QEMU may try to load, with its libraries: one missing here
	# would be looked for in the host's module directory.
	qemu-system-gui qemu-system-modules-opengl qemu-system-modules-spice libpulse0)
# Bump when the closure or the wrappers change: a new directory is made.
QRECIPE=3

mkdir -p "$APTD/lists/partial" "$APTD/cache/archives/partial" "$APTD/etc/parts"
: >"$APTD/etc/preferences"
[[ -e $APTD/status ]] || : >"$APTD/status"
kr=/usr/share/keyrings/debian-archive-keyring.gpg
# The archive this machine's apt already uses for bookworm (the same
# archive serves trixie); ITD_DEBIAN_MIRROR overrides it.
# (apt lists only targets whose lists it has: update once if there are none).
bookworm_archive() {
	# shellcheck disable=SC2016 # apt expands $(REPO_URI), not the shell
	apt-get indextargets --format '$(REPO_URI) $(RELEASE)' 'Identifier: Packages' \
		2>/dev/null | awk '$2 == "bookworm" { print $1; exit }'
}
mirror=${ITD_DEBIAN_MIRROR:-$(bookworm_archive)}
if [[ -z $mirror && -z ${ITD_OFFLINE:-} ]]; then
	apt-get update -qq >&2
	mirror=$(bookworm_archive)
fi
[[ -n $mirror ]] || itd_die "fetch-next: no bookworm archive in apt's sources; set ITD_DEBIAN_MIRROR"
cat >"$APTD/etc/sources.list" <<EOF
deb [signed-by=$kr] $mirror trixie main
deb [signed-by=$kr] $mirror trixie-backports main
EOF
cat >"$APTD/etc/apt.conf" <<EOF
Dir::Etc::SourceList "$APTD/etc/sources.list";
Dir::Etc::SourceParts "$APTD/etc/parts";
Dir::Etc::Preferences "$APTD/etc/preferences";
Dir::Etc::PreferencesParts "$APTD/etc/parts";
Dir::State::Lists "$APTD/lists";
Dir::State::status "$APTD/status";
Dir::Cache "$APTD/cache";
APT::Architecture "amd64";
APT::Architectures { "amd64"; };
APT::Install-Recommends "false";
APT::Sandbox::User "root";
EOF
export APT_CONFIG=$APTD/etc/apt.conf
papt() { apt-get -qq -o Debug::NoLocking=1 "$@"; }

if [[ -z ${ITD_OFFLINE:-} ]] &&
	[[ ! -e $APTD/lists/.stamp || -n $(find "$APTD/lists/.stamp" -mmin +1440) ]]; then
	itd_log "fetch-next: apt-get update (trixie, trixie-backports)"
	papt update >&2
	touch "$APTD/lists/.stamp"
fi
candidate() { # <package>: newest version in trixie-backports, else trixie
	apt-cache -t trixie-backports policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'
}

# 1. QEMU.
qv=''
[[ -n ${ITD_OFFLINE:-} ]] || qv=$(candidate qemu-system-arm)
if [[ -z $qv || $qv == '(none)' ]]; then
	[[ -e $ITD_CACHE/qemu/current/.stamp ]] || itd_die "fetch-next: no QEMU in the cache and none resolved"
	qdir=$(readlink -f "$ITD_CACHE/qemu/current")
	qv=$(cat "$qdir/version")
else
	qdir=$ITD_CACHE/qemu/${qv//[^A-Za-z0-9.+~-]/_}-r$QRECIPE
fi
if [[ ! -e $qdir/.stamp ]]; then
	itd_log "fetch-next: QEMU $qv and its closure"
	rm -rf "$qdir" "$APTD/cache/archives/"*.deb
	papt -t trixie-backports install --download-only -y "${QPKGS[@]}" >&2
	mkdir -p "$qdir/root" "$qdir/bin"
	for d in "$APTD/cache/archives/"*.deb; do dpkg -x "$d" "$qdir/root"; done
	ls "$APTD/cache/archives/" >"$qdir/packages"
	rm -f "$APTD/cache/archives/"*.deb
	r=$qdir/root
	lib=$r/usr/lib/x86_64-linux-gnu
	for a in aarch64 x86_64; do
		# -L: every firmware file from the closure (the host's
		# /usr/share/qemu has bookworm's SeaBIOS, 10x slower here).
		cat >"$qdir/bin/qemu-system-$a" <<EOF
#!/bin/sh
# Debian's QEMU $qv, unpacked by scripts/fetch-next.sh.
export QEMU_MODULE_DIR=$lib/qemu
exec $lib/ld-linux-x86-64.so.2 --library-path $lib:$lib/pulseaudio:$r/lib/x86_64-linux-gnu \\
	$r/usr/bin/qemu-system-$a -L $r/usr/share/qemu -L $r/usr/share/seabios "\$@"
EOF
		chmod 755 "$qdir/bin/qemu-system-$a"
	done
	"$qdir/bin/qemu-system-aarch64" -device help 2>&1 | grep -q '"iommu-testdev"' ||
		itd_log "fetch-next: warning: QEMU $qv has no iommu-testdev"
	echo "$qv" >"$qdir/version"
	touch "$qdir/.stamp"
fi
ln -sfn "$(basename "$qdir")" "$ITD_CACHE/qemu/current"

# 2. linux-source-<series>: only the tarball is kept.
mkdir -p "$ITD_CACHE/next"
tar=$ITD_CACHE/next/linux-source-$SERIES.tar.xz
sv=''
[[ -n ${ITD_OFFLINE:-} ]] || sv=$(candidate "linux-source-$SERIES")
if [[ -n $sv && $sv != '(none)' && $(cat "$tar.version" 2>/dev/null) != "$sv" ]]; then
	itd_log "fetch-next: linux-source-$SERIES $sv"
	tmp=$(mktemp -d)
	(cd "$tmp" && papt download "linux-source-$SERIES=$sv" >&2)
	# The package's mtime comes along: kernel.sh keys its trees on it.
	dpkg-deb --fsys-tarfile "$tmp"/*.deb | tar -x -C "$tmp" "./usr/src/linux-source-$SERIES.tar.xz"
	mv "$tmp/usr/src/linux-source-$SERIES.tar.xz" "$tar"
	echo "$sv" >"$tar.version"
	rm -rf "$tmp"
fi
[[ -f $tar ]] || itd_die "fetch-next: no linux-source-$SERIES"
itd_log "fetch-next: QEMU $qv, linux-source-$SERIES $(cat "$tar.version" 2>/dev/null) ready"
