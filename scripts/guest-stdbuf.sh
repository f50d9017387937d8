#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /usr/bin/stdbuf in the guest.  kselftest's runner.sh starts every test as
# "/usr/bin/stdbuf --output=L ./test args" when this exists: the hook times
# each test program ("ITD-TIME <test> <seconds>", read by judge.sh).
# (Real stdbuf works by LD_PRELOAD, which static test binaries ignore.)
# Shell builtins only: a process costs milliseconds under TCG.
while [ $# -gt 0 ]; do
	case $1 in
	-i | -o | -e) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
# $cs: /proc/uptime in centiseconds ("12.05" -> 1205), without a subshell.
centis() {
	read -r up _ </proc/uptime
	cs=$((${up%.*} * 100 + 1${up#*.} - 100))
}
centis
t0=$cs
# In the background so that timeout's SIGTERM (aimed at this shell) reaches it.
"$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' TERM INT
while :; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
centis
dt=$((cs - t0))
printf 'ITD-TIME %s %d.%02d\n' "${1##*/}" $((dt / 100)) $((dt % 100))
exit "$rc"
