#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of the test initramfs (busybox sh).  Kernel command line:
#   itd.guest=<name>          printed in the markers
#   itd.modparams=a=1,b=2     iommu_testdev.ko parameters (commas become spaces)
#   itd.args=<args>           extra run_kselftest.sh arguments (commas become spaces)
#   itd.shell=1               drop to a shell instead of powering off (interactive use)
#   itd.bench=<s>[,<n>]       run the benchmark instead (guest-bench.sh: <s> seconds a
#                             sample, <n> rounds)
#   itd.seed=<n>              ITD_SEED for the randomised tests (repeat a run)
#   itd.stress=<n>            ITD_STRESS: how hard the stress tests push (default 1)
#   itd.iommu=1               ITD_IOMMU=1: the test device has an IOMMU ("none" fails info.sane)
#   itd.flogwait=<ms>         ITD_FAULT_LOG_WAIT_MS: the rate-limit wait a fault-record check may take
#   itd.loglevel=N            console loglevel while the tests run (default 4: err and worse)
#   itd.fulllog=1             the whole kernel log at the end even after a clean run
#   itd.runner=direct         run the programs of kselftest-list.txt from here, not through
#                             run_kselftest.sh (the same KTAP; the speed guest)
# Prints "ITD-BEGIN", "ITD-INSMOD rc=N", then the KTAP of run_kselftest.sh,
# then "ITD-END rc=N" and the kernel log (boot and run: its warnings and
# worse after a clean run, all of it after a failure) between
# "ITD-DMESG-BEGIN" and "ITD-DMESG-END"; scripts/judge.sh reads these.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp
mkdir -p /dev/pts && mount -t devpts devpts /dev/pts 2>/dev/null
# runner.sh logs to /dev/stdout: devtmpfs has no such links (udev makes them).
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr

# Shell builtins where they do: every process costs milliseconds under TCG.
guest=unknown modparams='' args='' shell='' bench='' loglevel=4 fulllog='' runner=''
read -r cmdline </proc/cmdline
# shellcheck disable=SC3060 # busybox ash has ${var//,/ }
for opt in $cmdline; do
	case $opt in
	itd.guest=*) guest=${opt#itd.guest=} ;;
	itd.modparams=*) modparams=${opt#itd.modparams=}; modparams=${modparams//,/ } ;;
	itd.args=*) args=${opt#itd.args=}; args=${args//,/ } ;;
	itd.shell=*) shell=${opt#itd.shell=} ;;
	itd.bench=*) bench=${opt#itd.bench=} ;;
	itd.seed=*) export ITD_SEED="${opt#itd.seed=}" ;;
	itd.stress=*) export ITD_STRESS="${opt#itd.stress=}" ;;
	itd.iommu=*) export ITD_IOMMU="${opt#itd.iommu=}" ;;
	itd.flogwait=*) export ITD_FAULT_LOG_WAIT_MS="${opt#itd.flogwait=}" ;;
	itd.loglevel=*) loglevel=${opt#itd.loglevel=} ;;
	itd.fulllog=*) fulllog=${opt#itd.fulllog=} ;;
	itd.runner=*) runner=${opt#itd.runner=} ;;
	esac
done
# A line of its own: firmware and console resets leave escapes before it.
read -r krel </proc/sys/kernel/osrelease
printf '\nITD-BEGIN guest=%s kernel=%s machine=%s\n' "$guest" "$krel" "$(uname -m)"

# Kernel modules the guest needs, in dependency order (pack.sh wrote the list).
if [ -s /etc/itd-modules ]; then
	while read -r ko; do
		insmod "/lib/modules/$ko" || echo "ITD-WARN insmod $ko failed"
	done </etc/itd-modules
fi

# The programs of kselftest-list.txt, in its order, each under the runner's
# timeout (its settings file) and the same /usr/bin/timeout hook, with the
# KTAP run_kselftest.sh prints.  The runner starts some twenty processes
# per program (basename, tr, cut, subshells for its pipes), 2 to 3 ms each
# under TCG: 0.3 s of the speed guest's run.  Every other guest runs
# run_kselftest.sh, as kernel CI does.
run_direct() {
	cd /kselftest || return 1
	total=0
	while IFS=: read -r dir prog; do
		total=$((total + 1))
	done <kselftest-list.txt
	echo "TAP version 13"
	echo "1..$total"
	n=0
	# The program's status through the prefixing sed (busybox ash has it).
	# shellcheck disable=SC3040
	set -o pipefail
	# The list on fd 3: the programs keep the console as their stdin.
	while IFS=: read -r dir prog <&3; do
		n=$((n + 1))
		t=45
		[ ! -r "$dir/settings" ] ||
			while IFS='=' read -r key val; do
				[ "$key" = timeout ] && t=$val
			done <"$dir/settings"
		echo "# timeout set to $t"
		echo "# selftests: $dir: $prog"
		(cd "$dir" && /usr/bin/timeout --foreground "$t" \
			/usr/bin/timeout "$t" "./$prog" 2>&1 3<&-) |
			sed -e 's/^/# /'
		r=$?
		if [ $r = 0 ]; then
			echo "ok $n selftests: $dir: $prog"
		elif [ $r = 4 ]; then
			echo "ok $n selftests: $dir: $prog # SKIP"
		elif [ $r = 124 ]; then
			echo "#"
			echo "not ok $n selftests: $dir: $prog # TIMEOUT $t seconds"
		else
			echo "not ok $n selftests: $dir: $prog # exit=$r"
		fi
	done 3<kselftest-list.txt
	# shellcheck disable=SC3040
	set +o pipefail
	cd /
}

rc=0
for ko in /lib/modules/itd/*.ko; do
	[ -e "$ko" ] || continue
	# shellcheck disable=SC2086 # word splitting wanted
	insmod "$ko" $modparams
	r=$?
	[ $r = 0 ] || rc=$r
	# iommu_testdev_lifecycle reloads it from here.
	export ITD_MODULE="$ko"
done
echo "ITD-INSMOD rc=$rc"
for d in /dev/iommu_testdev*; do [ -e "$d" ] && echo "ITD-DEV $d"; done

if [ -n "$bench" ]; then
	# The benchmark prints "bench: <name> <value> <unit>" lines.
	echo "ITD-BENCH-BEGIN"
	# shellcheck disable=SC2086,SC3060 # word splitting wanted; busybox ash
	/bin/guest-bench.sh ${bench//,/ }
	echo "ITD-BENCH-END rc=$?"
elif [ -n "$shell" ]; then
	echo "ITD: itd.shell set; run /kselftest/run_kselftest.sh yourself; poweroff -f to leave"
	setsid cttyhack sh
else
	# Kernel messages printed while a test writes its KTAP can cut a result
	# line in two: during the run the console shows only err and worse
	# (oopses and panics force their way through); the whole kernel log
	# follows between ITD-DMESG markers.
	echo "$loglevel" >/proc/sys/kernel/printk
	# The runner's status says nothing of the tests (it exits 0 after a
	# "not ok"): awk watches its KTAP for a failure.  It writes each line
	# whole, as the runner does, or a kernel message could land inside
	# a result line on the console.
	# shellcheck disable=SC2086
	{
		if [ "$runner" = direct ] && [ -z "$args" ]; then
			run_direct
		else
			/kselftest/run_kselftest.sh $args
		fi
		echo $? >/tmp/itd-rc
	} 2>&1 | awk '{ print; fflush() }
		/^[# ]*not ok/ { bad = 1 }
		END { if (bad) printf "" >"/tmp/itd-failed" }'
	rc=$(cat /tmp/itd-rc 2>/dev/null || echo 255)
	echo 7 >/proc/sys/kernel/printk
	echo "ITD-END rc=$rc"
	# After any failure the whole kernel log: the report of a test
	# process killed by a signal (KERN_INFO, print-fatal-signals) is the
	# first thing to read when one dies of a SIGSEGV no test causes
	# (finding 4).
	[ ! -e /tmp/itd-failed ] || fulllog=1
	# Debug kernels: what leaked during the run (judge.sh fails on any).
	if [ -w /sys/kernel/debug/kmemleak ]; then
		echo scan >/sys/kernel/debug/kmemleak
		echo scan >/sys/kernel/debug/kmemleak
		echo "ITD-KMEMLEAK-BEGIN"
		cat /sys/kernel/debug/kmemleak
		echo "ITD-KMEMLEAK-END"
	fi
	# Every byte through the emulated UART costs a trap: after a clean
	# run only warnings and worse (what judge.sh looks for: WARN, BUG,
	# KASAN, ...); after a failure the whole log, to read.
	echo "ITD-DMESG-BEGIN"
	if [ "$rc" = 0 ] && [ -z "$fulllog" ]; then
		dmesg -r | sed -n 's/^<[0-4]>//p'
	else
		dmesg
	fi
	echo "ITD-DMESG-END"
fi
sync
poweroff -f
