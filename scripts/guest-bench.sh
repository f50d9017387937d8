#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# guest-bench.sh [seconds per sample] [rounds]: the guest side of make bench
# (busybox sh, run by /init for itd.bench=<seconds>[,<rounds>]).
# 1. iommu_testdev_bench: our rows and their same-boot raw floor.
# 2. The kernel's dma_map_benchmark (CONFIG_DMA_MAP_BENCHMARK, the tool
#    from the same linux-source) on the same device, once our benchmark is
#    done with it: unbound from iommu_testdev and bound to dma_map_benchmark,
#    in its default DMA domain.  Map and unmap of 4 KiB and 2 MiB,
#    bidirectional (as our MAP's read+write), one thread, 1 s a run
#    (the tool's shortest), (rounds + 1) / 2 runs of each.
# Every number comes out as "bench: <name> <value> <unit> [<floor>]".
secs=${1:-0.2} rounds=${2:-5}
out=/tmp/bench.out

# Through tee: the console shows each sample as it comes.
{
	/kselftest/iommu_testdev/iommu_testdev_bench "$secs" "$rounds"
	echo $? >/tmp/bench.rc
} | tee "$out"
read -r rc </tmp/bench.rc
bdf=$(sed -n 's/^bench: device .* pci \([^ ]*\) .*/\1/p' "$out")
dmab=/bin/dma_map_benchmark
drv=/sys/bus/pci/drivers/dma_map_benchmark
if [ -z "$bdf" ]; then
	echo "bench: dma_map_benchmark: skipped: no test device"
elif [ ! -x $dmab ]; then
	echo "bench: dma_map_benchmark: skipped: the tool was not packed"
elif [ ! -d $drv ]; then
	echo "bench: dma_map_benchmark: skipped: kernel without CONFIG_DMA_MAP_BENCHMARK"
else
	dev=/sys/bus/pci/devices/$bdf
	[ -e "$dev/driver" ] && echo "$bdf" >"$dev/driver/unbind"
	echo dma_map_benchmark >"$dev/driver_override"
	echo "$bdf" >$drv/bind
	n=$(((rounds + 1) / 2))
	i=0
	while [ $i -lt "$n" ]; do
		for g in 1:4K 512:2M; do
			$dmab -t 1 -s 1 -d 0 -b 64 -g "${g%%:*}" | awk -v sz="${g#*:}" '
				/average map latency/ { split($3, a, ":"); m = a[2] }
				/average unmap latency/ { split($3, a, ":"); u = a[2] }
				END {
					if (m == "" || u == "") {
						print "bench: dma_map_benchmark: failed"
						exit 1
					}
					printf "bench: dmabench_map_%s %s us raw_dma_64B\n", sz, m
					printf "bench: dmabench_unmap_%s %s us raw_dma_64B\n", sz, u
					if (m + u > 0)
						printf "bench: dmabench_cycle_%s %.3f cycles/s raw_dma_64B\n", sz, 1e6 / (m + u)
				}' || break
		done
		i=$((i + 1))
	done
fi
exit "$rc"
