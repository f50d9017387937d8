#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /usr/bin/timeout in the guest.  kselftest's runner.sh calls
# "timeout --foreground T timeout T ./test args": one busybox timeout does
# for both (busybox knows no --foreground), and it reports a timeout as 143
# (SIGTERM) where runner.sh expects 124.  The hook also times each test
# program ("ITD-TIME <test> <seconds>", read by judge.sh).
# Shell builtins only: a process costs milliseconds under TCG.
[ "$1" = --foreground ] && shift
case $2 in timeout | */timeout) shift 2 ;; esac
# $cs: /proc/uptime in centiseconds ("12.05" -> 1205), without a subshell.
centis() {
	read -r up _ </proc/uptime
	cs=$((${up%.*} * 100 + 1${up#*.} - 100))
}
centis
t0=$cs
/bin/busybox timeout "$@"
rc=$?
centis
dt=$((cs - t0))
printf 'ITD-TIME %s %d.%02d\n' "${2##*/}" $((dt / 100)) $((dt % 100))
[ $rc = 143 ] && rc=124
exit "$rc"
