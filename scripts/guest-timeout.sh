#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /usr/bin/timeout in the guest.  kselftest's runner.sh calls
# "timeout --foreground T timeout T cmd": one busybox timeout does for both
# (busybox knows no --foreground), and it reports a timeout as 143 (SIGTERM)
# where runner.sh expects 124.
[ "$1" = --foreground ] && shift
[ "$2" = timeout ] && shift 2
/bin/busybox timeout "$@"
rc=$?
[ $rc = 143 ] && rc=124
exit "$rc"
