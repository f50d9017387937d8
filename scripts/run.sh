#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# run.sh [--list] [guest|base|matrix|linux-7.3|legacy|all ...]: the whole
# pipeline: setup, build (per
# arch and kernel), pack, boot, judge.  Default: the base guests.
# Prints one line per guest, then "N passed, N failed, N skipped".
#   ITD_PARALLEL=N    guests booted at once (default 4: edu DMAs wait on 100 ms timers,
#                     so guests mostly idle; 1 = one at a time)
#   ITD_NO_SETUP=1    skip scripts/setup.sh (cache already filled)
#   ITD_INTERACTIVE=1 one guest: build, pack, boot to a shell on this terminal
#   CI / ITD_VERBOSE  print the end of a failed guest's console log
#   KERNEL=... KDIR=... [MODDIR=...]   boot your own kernel (pick guests of its arch)
# "check" (make check) also boots $ITD_SPEED_GUEST first and alone, and
# prints the speed targets: its boot-to-verdict time and the whole run's.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/guests.sh
. "$SCRIPTS/guests.sh"

T0=$(itd_now)
list=''
if [[ ${1:-} == --list ]]; then
	list=1
	shift
fi
guests=()
# shellcheck disable=SC2206 # the lists are space-separated names
for a in "${@:-base}"; do
	case $a in
	base) guests+=($ITD_GUESTS_BASE) ;;
	matrix) guests+=($ITD_GUESTS_MATRIX) ;;
	all) guests+=($ITD_GUESTS_ALL) ;;
	check) guests+=($ITD_GUESTS_CHECK) && export ITD_CHECK_MODE=1 ;;
	linux-7.3) guests+=($ITD_GUESTS_73) ;;
	legacy) guests+=($ITD_GUESTS_LEGACY) ;;
	*) guests+=("$a") ;;
	esac
done

# --list: what each guest would run on, and nothing else.
if [[ -n $list ]]; then
	declare -A qver
	printf '%-28s %-22s %-12s %-24s %s\n' GUEST ENGINE QEMU KERNEL MACHINE
	for g in "${guests[@]}"; do
		itd_guest "$g"
		itd_guest_check
		q=$G_QEMU_BIN
		if [[ -z ${qver[$q]:-} ]]; then
			qver[$q]=$("$q" --version 2>/dev/null | sed -n '1s/.*version \([^ ]*\).*/\1/p')
		fi
		k=${G_KERNEL/custom:/minimal }
		[[ $k == debian* ]] && k="Debian 6.12${k#debian}"
		[[ $k == minimal* && $k != *@* ]] && k+=@6.12
		if [[ -n $G_SKIP ]]; then
			printf '%-28s SKIP: %s\n' "$g" "$G_SKIP"
		else
			printf '%-28s %-22s %-12s %-24s %s\n' "$g" "$G_ENGINE" "${qver[$q]:-?}" "$k" "${G_QEMU[*]}"
		fi
	done
	exit 0
fi

# 1. Host packages, QEMU and the Debian kernels, before anything asks what
#    QEMU can do (on a fresh machine there is no QEMU yet).
flavours=()
for g in "${guests[@]}"; do
	itd_guest "$g"
	[[ $G_KERNEL == debian:* ]] && flavours+=("${G_KERNEL#debian:}")
done
if [[ -z ${ITD_NO_SETUP:-} ]]; then
	"$SCRIPTS/setup.sh" ${flavours[@]+"${flavours[@]}"}
fi

# 2. Which guests can this QEMU build?  A skipped guest is reported, never dropped.
# Slow guests first (G_SLOW: the debug kernels, the 1 GiB page), so that
# none of them is the last one left running.
runnable=() skipped=() slow=()
declare -A G_ARCH_OF G_KERNEL_OF
for g in "${guests[@]}"; do
	itd_guest "$g"
	itd_guest_check
	if [[ -n $G_SKIP ]]; then
		skipped+=("$g: $G_SKIP")
		continue
	fi
	if [[ -n $G_SLOW ]]; then slow+=("$g"); else runnable+=("$g"); fi
	G_ARCH_OF[$g]=$G_ARCH G_KERNEL_OF[$g]=$G_KERNEL
done
runnable=(${slow[@]+"${slow[@]}"} ${runnable[@]+"${runnable[@]}"})

rm -rf "$ITD_OUT/results"
mkdir -p "$ITD_OUT/results" "$ITD_OUT/logs"

# 3. Build once per (arch, kernel).
declare -A built
for g in "${runnable[@]}"; do
	key="${G_ARCH_OF[$g]} ${G_KERNEL_OF[$g]}"
	[[ -n ${built[$key]:-} ]] && continue
	if "$SCRIPTS/build.sh" "${key% *}" "${key#* }"; then built[$key]=ok; else built[$key]=failed; fi
done

# Interactive: one guest, console on this terminal, a shell instead of the run.
if [[ -n ${ITD_INTERACTIVE:-} ]]; then
	[[ ${#runnable[@]} == 1 ]] || itd_die "ITD_INTERACTIVE wants exactly one runnable guest"
	g=${runnable[0]}
	[[ ${built["${G_ARCH_OF[$g]} ${G_KERNEL_OF[$g]}"]} == ok ]] || exit 1
	"$SCRIPTS/pack.sh" "$g"
	exec "$SCRIPTS/boot.sh" "$g"
fi

# 4. Pack, boot, judge.
verdict() { # <guest>: boot + judge, output into results/<guest>.verdict
	local g=$1 key="${G_ARCH_OF[$1]} ${G_KERNEL_OF[$1]}"
	if [[ ${built[$key]} != ok ]]; then
		echo "# $g: build failed for $key"
		echo "0 1 0" >"$ITD_OUT/results/$g.counts"
		return 1
	fi
	if ! "$SCRIPTS/pack.sh" "$g" || ! "$SCRIPTS/boot.sh" "$g"; then
		echo "# $g: pack or boot failed"
		echo "0 1 0" >"$ITD_OUT/results/$g.counts"
		return 1
	fi
	"$SCRIPTS/judge.sh" "$g"
}

# The speed guest boots alone: its time is the suite's, not the host's load.
speed='' speed_wall=''
if [[ -n ${ITD_CHECK_MODE:-} && " ${runnable[*]} " == *" $ITD_SPEED_GUEST "* ]]; then
	speed=$ITD_SPEED_GUEST
	verdict "$speed" | tee "$ITD_OUT/results/$speed.verdict" || true
	speed_wall=$(sed -n 's/^wall=//p' "$ITD_OUT/logs/$speed.meta" 2>/dev/null || true)
fi

# make check's lint (ITD_LINT=lint) runs beside the other guests, after
# the speed guest (which must have the host to itself): it is mostly one
# process at a time, and the guests mostly wait on TCG.
# Not a job of this shell (disown): the guests' wait -n must not take it.
lint_rc=''
if [[ ${ITD_LINT:-} == lint ]]; then
	lint_rc=$ITD_OUT/logs/lint.rc
	rm -f "$lint_rc"
	("$SCRIPTS/lint.sh" >"$ITD_OUT/logs/lint.log" 2>&1; echo $? >"$lint_rc.tmp"; mv "$lint_rc.tmp" "$lint_rc") &
	lint_pid=$!
	disown
fi

par=${ITD_PARALLEL:-4}
running=0
for g in "${runnable[@]}"; do
	[[ -n $speed && $g == "$speed" ]] && continue
	if [[ $par -le 1 ]]; then
		verdict "$g" | tee "$ITD_OUT/results/$g.verdict" || true
		continue
	fi
	while [[ $running -ge $par ]]; do
		wait -n || true
		running=$((running - 1))
	done
	(verdict "$g" >"$ITD_OUT/results/$g.verdict" 2> >(cat >&2) || true; cat "$ITD_OUT/results/$g.verdict") &
	running=$((running + 1))
done
wait

# 5. Totals.  In CI, show the end of a failed guest's console log.
if [[ -n ${CI:-}${ITD_VERBOSE:-} ]]; then
	for g in "${runnable[@]}"; do
		read -r p f s <"$ITD_OUT/results/$g.counts" 2>/dev/null || f=1
		[[ $f == 0 || ! -f $ITD_OUT/logs/$g.log ]] && continue
		echo "----- $g: last 60 lines of $ITD_OUT/logs/$g.log -----" >&2
		tail -n 60 "$ITD_OUT/logs/$g.log" | tr -d '\r' >&2
	done
fi

P=0 F=0 S=0
if [[ -n $lint_rc ]]; then
	# A lint killed before its verdict (seen once, cause unknown) must
	# not leave make check waiting for ever.
	while [[ ! -e $lint_rc ]] && kill -0 "$lint_pid" 2>/dev/null; do
		sleep 1
	done
	[[ -e $lint_rc ]] ||
		{ echo "lint.sh ended without a verdict (killed?)" >>"$ITD_OUT/logs/lint.log"; echo 1 >"$lint_rc"; }
	if [[ $(cat "$lint_rc") == 0 ]]; then
		grep '^# lint' "$ITD_OUT/logs/lint.log" || true
	else
		echo "# lint: FAIL (scripts/lint.sh; its output follows, also in $ITD_OUT/logs/lint.log)"
		sed 's/^/#   /' "$ITD_OUT/logs/lint.log" | grep -v '^#   \[itd\]'
		F=$((F + 1))
	fi
fi
for s in "${skipped[@]+"${skipped[@]}"}"; do
	echo "# ${s%%: *}: SKIP guest (${s#*: })"
done
for g in "${runnable[@]}"; do
	read -r p f s <"$ITD_OUT/results/$g.counts" || { p=0 f=1 s=0; }
	P=$((P + p)) F=$((F + f)) S=$((S + s))
done
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	echo '<testsuites>'
	for g in "${runnable[@]}"; do
		[[ -f $ITD_OUT/results/$g.xml ]] && sed '1,2d;$d' "$ITD_OUT/results/$g.xml"
	done
	echo '</testsuites>'
} >"$ITD_OUT/results/junit.xml"
itd_log "${#runnable[@]} guests run, ${#skipped[@]} skipped, $(itd_elapsed "$T0") s; logs in $ITD_OUT/logs, results in $ITD_OUT/results"
# The speed targets (issue 6), printed, never a verdict: the numbers are
# the host's as much as the suite's.
if [[ -n ${ITD_CHECK_MODE:-} ]]; then
	over() { awk -v v="$1" -v t="$2" 'BEGIN { print (v <= t ? "within" : "OVER") }'; }
	if [[ -n $speed_wall ]]; then
		echo "# speed: $speed boot to verdict, alone: $speed_wall s ($(over "$speed_wall" 2.0) the 2.0 s target)"
	fi
	total=$(itd_elapsed "${ITD_CHECK_T0:-$T0}")
	echo "# speed: make check: $total s ($(over "$total" 180) the 180 s target with warm caches)"
fi
echo "$P passed, $F failed, $S skipped"
[[ $F == 0 && ${#runnable[@]} -gt 0 ]]
