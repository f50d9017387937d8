#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh [guest ...]: run the benchmark (scripts/guest-bench.sh) in each
# guest and print one table: a column per guest, a row per measurement, each
# cell the median of the rounds, their spread and the ratio to the row's
# floor measured in the same boot.  Numbers, not a verdict: it fails only
# when no guest can run the benchmark.
#
# With no guest: one guest per IOMMU model (ITD_BENCH_GUESTS), each on the
# minimal Linux 7.3 kernel of its arch (scripts/kernel.sh: arm64-acpi@7.3,
# x86_64-iommufd@7.3), which has CONFIG_DMA_MAP_BENCHMARK.  Named guests
# keep their own kernel unless ITD_GUEST_KERNEL says otherwise (e.g.
# custom:%a-iommufd for the 6.12 ones; see guests.sh).
#
#   ITD_BENCH_SECONDS=<s>  time per sample (default 0.2)
#   ITD_BENCH_ROUNDS=<n>   samples per measurement and boot (default 3)
#   ITD_BENCH_BOOTS=<n>    boots per guest (default 2); their samples pool
#   ITD_BENCH_BASE=<file>  (make bench BASE=<file>) a bench.tsv of an earlier
#                          run: mark each row that moved by more than the
#                          spread the two runs measured
#   ITD_BENCH_RAW=<file>   boot nothing: tabulate a saved bench.raw again
# Writes $ITD_OUT/bench/bench.tsv (keep it as a BASE) and bench.txt.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR
. "$(dirname "$0")/lib.sh"
# shellcheck source=scripts/guests.sh
. "$SCRIPTS/guests.sh"

ITD_BENCH_GUESTS=${ITD_BENCH_GUESTS:-"arm64-smmuv3 arm64-smmuv3-s2 x86_64-vtd x86_64-vtd-sm
	x86_64-amd-iommu arm64-virtio-iommu arm64-smmuv3-nested-7.3"}
if [[ $# -eq 0 ]]; then
	read -r -a guests <<<"${ITD_BENCH_GUESTS//$'\n'/ }"
	export ITD_GUEST_KERNEL=${ITD_GUEST_KERNEL:-arm64=custom:arm64-acpi@7.3,x86_64=custom:x86_64-iommufd@7.3}
else
	guests=("$@")
	[[ ${guests[*]} == base ]] && read -r -a guests <<<"$ITD_GUESTS_BASE"
fi
secs=${ITD_BENCH_SECONDS:-0.2} rounds=${ITD_BENCH_ROUNDS:-3} boots=${ITD_BENCH_BOOTS:-2}
base=${ITD_BENCH_BASE:-}
[[ -z $base || -r $base ]] || itd_die "BASE=$base: no such file"
export ITD_OUT=${ITD_OUT}/bench
# Real time, multi-threaded TCG (the tests run under -icount, where the
# guest's clock counts instructions and QEMU's own work takes no time).
export ITD_ICOUNT=${ITD_ICOUNT:-0}
[[ -n ${ITD_BENCH_RAW:-} ]] || "$SCRIPTS/setup.sh"
t0=$(itd_now)

# The kernel's dma_map_benchmark, from the source of the kernel it runs on
# (a kernel.sh build tree's "source" link; else the unpacked linux-source),
# static, beside the module: pack.sh puts it in the initramfs.
build_dmabench() {
	local src=$LINUX_SRC c out=$ITD_OUT/$G_ARCH/$KID/dma_map_benchmark
	[[ -d $KDIR/source/tools ]] && src=$(readlink -f "$KDIR/source")
	for c in "$src/tools/dma/dma_map_benchmark.c" \
		"$src/tools/testing/selftests/dma/dma_map_benchmark.c"; do
		[[ -f $c ]] || continue
		[[ $out -nt $c ]] && return 0
		mkdir -p "$(dirname "$out")"
		"${CROSS_COMPILE}gcc" -O2 -static -D_GNU_SOURCE \
			-isystem "$ITD_CACHE/uapi-headers/$G_ARCH/include" \
			-idirafter "$src/include/uapi" -idirafter "$src/include" \
			-o "$out" "$c" || itd_die "building $c failed"
		return 0
	done
	itd_log "bench: no dma_map_benchmark.c in $src"
}

mkdir -p "$ITD_OUT"
# iommu_testdev_bench once more, straight from $SRC into this run's install
# tree: build.sh compiles the selftests in the shared unpacked linux-source,
# where another tree's copy can land between its rsync and its make.
build_bench() {
	local d=$SRC/tools/testing/selftests/iommu_testdev
	local out=$ITD_OUT/$G_ARCH/kselftest/iommu_testdev/iommu_testdev_bench
	"${CROSS_COMPILE}gcc" -Wall -Wno-unused-function -O2 -static -D_GNU_SOURCE \
		-isystem "$ITD_CACHE/uapi-headers/$G_ARCH/include" \
		-idirafter "$SRC/include/uapi" \
		-I "$LINUX_SRC/tools/testing/selftests/kselftest" \
		-o "$out" "$d/iommu_testdev_bench.c" ||
		itd_die "building iommu_testdev_bench failed"
}

raw=$ITD_OUT/bench.raw
cols=()
if [[ -n ${ITD_BENCH_RAW:-} ]]; then
	# Tabulate a saved run (its bench.raw) again: no guest boots.
	[[ $ITD_BENCH_RAW -ef $raw ]] || cp "$ITD_BENCH_RAW" "$raw"
	read -r -a cols < <(awk '!s[$1]++ { printf "%s ", $1 } END { print "" }' "$raw")
	guests=()
else
	: >"$raw"
fi
for g in "${guests[@]}"; do
	itd_guest "$g"
	itd_guest_check
	if [[ -n $G_SKIP ]]; then
		itd_log "bench $g: skipped: $G_SKIP"
		continue
	fi
	"$SCRIPTS/build.sh" "$G_ARCH" "$G_KERNEL" >/dev/null
	itd_kernel "$G_ARCH" "$G_KERNEL"
	build_dmabench
	build_bench
	"$SCRIPTS/pack.sh" "$g" >/dev/null
	# Each boot lays its memory out afresh, and the ratios move from one
	# boot to the next by more than within one: sample several boots, so
	# that the range a BASE comparison trusts includes that move.
	got=
	for ((b = 1; b <= boots; b++)); do
		g0=$(itd_now)
		# iomem=relaxed: a kernel with CONFIG_IO_STRICT_DEVMEM (Debian's)
		# maps no BAR a driver holds; the raw floor maps BAR0 from sysfs.
		ITD_CMDLINE="itd.bench=$secs,$rounds iomem=relaxed" "$SCRIPTS/boot.sh" "$g"
		itd_log "bench $g: boot $b: $(itd_elapsed "$g0") s"
		log=$ITD_OUT/logs/$g.log
		grep -a '^bench: .*skipped\|failed\|^bench: [A-Za-z_0-9]* n/a ' "$log" |
			tr -d '\r' | sed "s/^/[itd] $g: /" >&2 || true
		# A benchmark that died (a DMA that did not land, say) is
		# worth a line: its numbers up to there still count.
		rc=$(sed -n 's/^ITD-BENCH-END rc=\([0-9]*\).*/\1/p' "$log" | tr -d '\r')
		[[ ${rc:-0} == 0 ]] ||
			itd_log "bench $g: boot $b: the benchmark exited $rc (see $log)"
		n=$(grep -ac '^bench: [A-Za-z_0-9]* [0-9.]* ' "$log" || true)
		if [[ $n == 0 ]]; then
			itd_log "bench $g: no numbers (see $log)"
			break
		fi
		got=1
		grep -a '^bench: [A-Za-z_0-9]* [0-9.]* ' "$log" | tr -d '\r' |
			awk -v g="$g" '{ print g, $2, $3, $4, ($5 == "" ? "-" : $5) }' >>"$raw"
		# A row the guest cannot measure: "<guest> <name> n/a <why>".
		grep -a '^bench: [A-Za-z_0-9]* n/a ' "$log" | tr -d '\r' |
			sed "s/^bench: /$g /" >>"$raw" || true
	done
	[[ -z $got ]] || cols+=("$g")
done
[[ ${#cols[@]} -gt 0 ]] || itd_die "no guest ran the benchmark"

# Per guest and measurement: median and range of the samples, and the
# ratio to the floor: the floor's time per operation over ours (below 1:
# slower than the floor), per round where both have as many samples (the
# rounds interleave), else of the medians, with the range the floor's and
# ours allow together.
tsv=$ITD_OUT/bench.tsv
awk '
function sort(a, n,   i, j, t) {
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] > a[j]; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
}
function med(a, n) { return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
# Seconds per operation of a sample.
function t(v, u) { return u == "us" ? v / 1e6 : (v > 0 ? 1 / v : 0) }
function stats(k, a,   j) {
	for (j = 1; j <= n[k]; j++) a[j] = t(v[k, j], unit[k])
	sort(a, n[k])
}
$3 == "n/a" {
	k = $1 SUBSEP $2
	if (!(k in na)) order[++nk] = k
	$1 = $2 = $3 = ""
	sub(/^ +/, "")
	na[k] = $0
	next
}
{
	k = $1 SUBSEP $2
	if (!(k in n)) { if (!(k in na)) order[++nk] = k; unit[k] = $4; floor[k] = $5 }
	v[k, ++n[k]] = $3
}
END {
	print "# guest\tmeasurement\tunit\tsamples\tmedian\tmin\tmax\tfloor\tratio\tratio_min\tratio_max\twhy_na"
	for (i = 1; i <= nk; i++) {
		k = order[i]; split(k, gk, SUBSEP)
		if (!(k in n)) {
			printf "%s\t%s\t-\t0\tn/a\tn/a\tn/a\t-\t-\t-\t-\t%s\n", gk[1], gk[2], na[k]
			continue
		}
		for (j = 1; j <= n[k]; j++) s[j] = v[k, j]
		sort(s, n[k])
		line = sprintf("%s\t%s\t%s\t%d\t%.6g\t%.6g\t%.6g\t%s", gk[1], gk[2],
			       unit[k], n[k], med(s, n[k]), s[1], s[n[k]], floor[k])
		f = gk[1] SUBSEP floor[k]
		if (floor[k] == "-" || !(f in n)) {
			print line "\t-\t-\t-"
			continue
		}
		if (n[f] == n[k]) {
			for (j = 1; j <= n[k]; j++) {
				to = t(v[k, j], unit[k])
				r[j] = to > 0 ? t(v[f, j], unit[f]) / to : 0
			}
			sort(r, n[k])
			printf "%s\t%.4f\t%.4f\t%.4f\n", line, med(r, n[k]), r[1], r[n[k]]
		} else {
			stats(k, a); stats(f, b)
			if (a[1] <= 0) { print line "\t-\t-\t-"; continue }
			printf "%s\t%.4f\t%.4f\t%.4f\n", line, med(b, n[f]) / med(a, n[k]),
			       b[1] / a[n[k]], b[n[f]] / a[1]
		}
	}
}' "$raw" >"$tsv"

# The table.  With a BASE, each row with a floor is compared by its ratio
# (the floor, measured in the same boot, cancels the host's speed) and
# marked when the two runs' ratio ranges do not overlap: every round of one
# run lies beyond every round of the other, a move larger than the spread
# either run measured.  Rows without a floor measure the host and QEMU:
# shown, not compared.
awk -F'\t' -v base="$base" -v cols="${cols[*]}" '
function si(x) {
	if (x >= 1e6) return sprintf("%.3gM", x / 1e6)
	if (x >= 1e4) return sprintf("%.3gk", x / 1e3)
	return sprintf("%.3g", x)
}
FNR == 1 { file++ }
/^#/ { next }
file == 1 && base != "" {
	if ($9 != "-") { bv[$1, $2] = $9; blo[$1, $2] = $10; bhi[$1, $2] = $11 }
	next
}
{
	k = $1 SUBSEP $2
	if (!(($2) in seen)) { seen[$2] = 1; rows[++nr] = $2; u[$2] = $3; fl[$2] = $8 }
	if (u[$2] == "-") { u[$2] = $3; fl[$2] = $8 }
	if ($5 == "n/a") { na[k] = $12; nan[++nna] = k }
	med[k] = $5; lo[k] = $6; hi[k] = $7; rat[k] = $9; rlo[k] = $10; rhi[k] = $11
}
END {
	nc = split(cols, c, " ")
	printf "%-24s %-8s", "# measurement", "unit"
	for (j = 1; j <= nc; j++) printf " %-24s", c[j]
	print ""
	moved = 0
	for (i = 1; i <= nr; i++) {
		r = rows[i]
		printf "%-24s %-8s", r, u[r]
		for (j = 1; j <= nc; j++) {
			k = c[j] SUBSEP r
			if (!(k in med)) { printf " %-24s", "-"; continue }
			if (k in na) { printf " %-24s", "n/a"; continue }
			cell = si(med[k])
			if (med[k] > 0 && hi[k] > lo[k])
				cell = cell sprintf(" ±%.0f%%", 50 * (hi[k] - lo[k]) / med[k])
			if (rat[k] != "-")
				cell = cell sprintf(" x%.2f", rat[k])
			if (base != "" && rat[k] != "-" && (k in bv)) {
				d = rat[k] - bv[k]
				if ((rlo[k] > bhi[k] || rhi[k] < blo[k]) && bv[k] > 0) {
					cell = cell sprintf(" !%+.0f%%", 100 * d / bv[k])
					moved++
				}
			}
			printf " %-24s", cell
		}
		print ""
	}
	print "# cell: median of the rounds, ±half their range in % of the median, x the ratio"
	print "# to the floor, same boot: its time per operation over ours (below 1: slower)."
	for (i = 1; i <= nr; i++) {
		x = fl[rows[i]]
		if (x == "-") continue
		if (!(x in f)) fo[++nf] = x
		f[x] = f[x] " " rows[i]
	}
	for (i = 1; i <= nf; i++)
		printf "#   floor %s:%s\n", fo[i], f[fo[i]]
	for (i = 1; i <= nna; i++) {
		split(nan[i], nk, SUBSEP)
		printf "#   n/a %s %s: %s\n", nk[1], nk[2], na[nan[i]]
	}
	if (base != "")
		printf "# vs %s: %d cell(s) whose ratio moved by more than the runs'"'"' spread (marked !)\n", base, moved
}' ${base:+"$base"} "$tsv" | tee "$ITD_OUT/bench.txt"
itd_log "bench: $(itd_elapsed "$t0") s; table in $ITD_OUT/bench.txt, data in $tsv"
