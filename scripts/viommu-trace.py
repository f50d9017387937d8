#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Check QEMU's virtio-iommu against its own trace.

viommu-trace.py <trace log>

Replays the MAP, UNMAP, ATTACH and DETACH events of a QEMU trace (the
"log" backend) and checks every successful translation against the
mappings the device held at that moment, and every UNMAP request against
what it removed.  Run the guest with, for example:

  ITD_QEMU_ARGS="-trace virtio_iommu_map -trace virtio_iommu_unmap
    -trace virtio_iommu_unmap_done -trace virtio_iommu_translate_out
    -trace virtio_iommu_attach -trace virtio_iommu_detach
    -trace virtio_iommu_get_domain -trace virtio_iommu_put_domain
    -D /tmp/viommu.log" scripts/run.sh x86_64-virtio-iommu-lazy-qemu72

Prints one line per translation that went elsewhere than its mapping
says and per UNMAP that left a mapping in its range, then a summary.
Translations of a mapping's last byte that went one byte before the next
mapping's page (QEMU's [addr, addr + 1] lookup, which
owned.dma_from_last_byte provokes on purpose) are counted apart.  Exits 1
if there is anything else.
"""
import re
import sys

EVENT = re.compile(r"^(virtio_iommu_\w+)\s")
FIELD = re.compile(r"(\w+)=\s*(0x[0-9a-f]+|\d+)")
XLATE = re.compile(r"(0x[0-9a-f]+) -> (0x[0-9a-f]+) for sid=(\d+)")
PAGE = 0xfff


def lookup(mappings, addr):
    """(low, high, phys) of the mapping holding addr, or None."""
    for low, (high, phys) in mappings.items():
        if low <= addr <= high:
            return low, high, phys
    return None


def main():
    domains = {}     # domain id -> {low: (high, phys)}
    endpoint = {}    # endpoint id -> domain id
    pending = None   # the UNMAP request whose unmap_done lines follow
    ok = last_byte = wrong = left = 0

    def check_unmap():
        nonlocal left
        dom, low, high, line = pending
        rest = [(a, b) for a, (b, _) in domains.get(dom, {}).items()
                if a <= high and b >= low]
        if rest:
            left += 1
            print("line %d: UNMAP domain %d [%#x, %#x] left %s" %
                  (line, dom, low, high,
                   ", ".join("[%#x, %#x]" % r for r in rest)))

    with open(sys.argv[1], errors="replace") as log:
        for n, text in enumerate(log, 1):
            m = EVENT.match(text)
            if not m:
                continue
            ev = m.group(1)
            f = {k: int(v, 0) for k, v in FIELD.findall(text)}
            if pending and ev != "virtio_iommu_unmap_done":
                check_unmap()
                pending = None
            if ev == "virtio_iommu_get_domain":
                domains[f["domain"]] = {}
            elif ev == "virtio_iommu_put_domain":
                domains.pop(f["domain"], None)
            elif ev == "virtio_iommu_attach":
                domains.setdefault(f["domain"], {})
                endpoint[f["endpoint"]] = f["domain"]
            elif ev == "virtio_iommu_detach":
                endpoint.pop(f["endpoint"], None)
            elif ev == "virtio_iommu_map":
                domains.setdefault(f["domain"], {})[f["virt_start"]] = \
                    (f["virt_end"], f["phys_start"])
            elif ev == "virtio_iommu_unmap":
                pending = (f["domain"], f["virt_start"], f["virt_end"], n)
            elif ev == "virtio_iommu_unmap_done":
                domains.get(f["domain"], {}).pop(f["virt_start"], None)
            elif ev == "virtio_iommu_translate_out":
                x = XLATE.search(text)
                virt, out, sid = (int(x.group(1), 16), int(x.group(2), 16),
                                  int(x.group(3)))
                # The access goes to the translated page at virt's offset.
                got = (out & ~PAGE) | (virt & PAGE)
                maps = domains.get(endpoint.get(sid), {})
                hit = lookup(maps, virt)
                if hit and got == hit[2] + virt - hit[0]:
                    ok += 1
                    continue
                after = lookup(maps, virt + 1)
                if hit and after and virt == hit[1] and got == after[2] - 1:
                    last_byte += 1
                    continue
                wrong += 1
                print("line %d: sid %d IOVA %#x went to %#x, its mapping "
                      "says %s" % (n, sid, virt, got,
                                   "%#x" % (hit[2] + virt - hit[0])
                                   if hit else "nothing"))
    if pending:
        check_unmap()
    print("%d translations as mapped, %d last-byte lookups through the next "
          "mapping, %d elsewhere; %d UNMAPs left mappings" %
          (ok, last_byte, wrong, left))
    return 1 if wrong or left else 0


if __name__ == "__main__":
    sys.exit(main())
