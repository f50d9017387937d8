#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# bench.sh [guest ...]: run iommu_testdev_bench in each guest and print one
# table, a row per measurement and a column per guest.  Numbers, not a
# verdict: it fails only when a guest cannot run the benchmark at all.
#   ITD_BENCH_SECONDS=<s>   time per measurement (default 1)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
. "$SCRIPTS/guests.sh"

guests=("${@:-arm64-smmuv3}")
[[ ${guests[*]} == base ]] && read -r -a guests <<<"$ITD_GUESTS_BASE"
export ITD_OUT=${ITD_OUT}/bench
"$SCRIPTS/setup.sh"
declare -A val
names=() cols=()
for g in "${guests[@]}"; do
	itd_guest "$g"
	itd_guest_check
	if [[ -n $G_SKIP ]]; then
		itd_log "bench $g: skipped: $G_SKIP"
		continue
	fi
	"$SCRIPTS/build.sh" "$G_ARCH" "$G_KERNEL" >/dev/null
	"$SCRIPTS/pack.sh" "$g" >/dev/null
	ITD_CMDLINE="itd.bench=${ITD_BENCH_SECONDS:-1}" "$SCRIPTS/boot.sh" "$g"
	col="${g}[$G_ENGINE]"
	cols+=("$col")
	while read -r _ name value unit; do
		[[ $value =~ ^[0-9]+$ ]] || continue
		[[ -n ${val[$name]+x} ]] || names+=("$name")
		val[$name]=1
		val[$name/$col]="$value $unit"
	done < <(grep -a '^bench: ' "$ITD_OUT/logs/$g.log" | tr -d '\r')
done
[[ ${#cols[@]} -gt 0 ]] || itd_die "no guest ran the benchmark"
printf '%-26s' "# measurement"
printf ' %26s' "${cols[@]}"
echo
for n in "${names[@]}"; do
	printf '%-26s' "$n"
	for c in "${cols[@]}"; do
		printf ' %26s' "${val[$n/$c]:--}"
	done
	echo
done
