#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# soak.sh [N] [guest|check|...]: N consecutive runs of scripts/run.sh (default
# 20 runs of make check's guests; lint is not rerun), on warm caches: set-up
# runs before the first only.  One line per run: PASS or FAIL, the totals, the
# time and the guests that failed; a failed run's logs and results are kept in
# $ITD_OUT/soak/<run>/.  A suite kernel CI runs must be green every time: the
# last line counts the green runs, and the exit status is 0 only if all were.
#   make soak N=20 [CHECK_GUESTS="..."]
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"

n=${1:-20}
shift || true
[[ $n =~ ^[1-9][0-9]*$ ]] || itd_die "usage: soak.sh [N] [guests...] (N: runs, at least 1)"
[[ $# -gt 0 ]] || set -- check
soak=$ITD_OUT/soak
rm -rf "$soak"
mkdir -p "$soak"
green=0
for ((i = 1; i <= n; i++)); do
	t0=$(itd_now)
	rc=0
	if [[ $i == 1 ]]; then
		"$SCRIPTS/run.sh" "$@" >"$soak/run.txt" 2>&1 || rc=$?
	else
		ITD_NO_SETUP=1 "$SCRIPTS/run.sh" "$@" >"$soak/run.txt" 2>&1 || rc=$?
	fi
	totals=$(tail -n 1 "$soak/run.txt")
	[[ $totals =~ ^[0-9]+\ passed ]] || totals="no totals"
	# "# <guest> [<engine>]: P passed, F failed, ..." with F > 0, and
	# "# <guest>: build failed ..." / "pack or boot failed".
	bad=$(sed -n -e 's/^# \([^ :]*\) \[[^]]*\]: [0-9]* passed, [1-9][0-9]* failed.*/\1/p' \
		-e 's/^# \([^ :]*\): \(build\|pack or boot\) failed.*/\1/p' "$soak/run.txt" |
		sort -u | tr '\n' ' ')
	if [[ $rc == 0 ]]; then
		green=$((green + 1))
		echo "# soak: run $i of $n: PASS ($totals, $(itd_elapsed "$t0") s)"
	else
		mkdir -p "$soak/$i"
		cp -r "$soak/run.txt" "$ITD_OUT/logs" "$ITD_OUT/results" "$soak/$i/" 2>/dev/null || true
		echo "# soak: run $i of $n: FAIL ($totals, $(itd_elapsed "$t0") s) ${bad:+guests: $bad}(kept in $soak/$i)"
	fi
done
rm -f "$soak/run.txt"
echo "# soak: $green of $n runs green"
[[ $green == "$n" ]]
