#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /usr/bin/timeout in the guest.  kselftest's runner.sh calls
# "timeout --foreground T timeout T cmd"; busybox timeout knows no
# --foreground and reports a timeout as 143 (SIGTERM) instead of 124.
[ "$1" = --foreground ] && shift
/bin/busybox timeout "$@"
rc=$?
[ $rc = 143 ] && rc=124
exit "$rc"
