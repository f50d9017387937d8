#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /usr/bin/stdbuf in the guest.  kselftest's runner.sh starts every test as
# "/usr/bin/stdbuf --output=L ./test args" when this exists: the hook times
# each test program ("ITD-TIME <test> <seconds>", read by judge.sh).
# (Real stdbuf works by LD_PRELOAD, which static test binaries ignore.)
while [ $# -gt 0 ]; do
	case $1 in
	-i | -o | -e) shift 2 ;;
	-*) shift ;;
	*) break ;;
	esac
done
t0=$(cut -d' ' -f1 /proc/uptime)
# In the background so that timeout's SIGTERM (aimed at this shell) reaches it.
"$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null' TERM INT
while :; do
	wait "$pid"
	rc=$?
	kill -0 "$pid" 2>/dev/null || break
done
t1=$(cut -d' ' -f1 /proc/uptime)
echo "ITD-TIME ${1##*/} $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')"
exit "$rc"
