#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Turn the console of a pgmap_alloc_bench run into a table and a JSON list
of {name, value, unit}. Usage: bench-report.py CONSOLE JSON KERNEL_VERSION"""
import json
import re
import sys

console, out, kver = sys.argv[1:4]
figures = {}
stats = {}
spread = {}
evict_range = None
for line in open(console, errors="replace"):
    m = re.search(r"pgmap_alloc_bench: evict speed ratios (\d+\.\.\d+)%", line)
    if m:
        evict_range = m.group(1)
    m = re.search(r"pgmap_alloc_bench: churn (\S+) (\d+)%: (\d+\.\.\d+)%", line)
    if m:
        spread[(m.group(1), int(m.group(2)))] = m.group(3)
    m = re.search(r"pgmap_alloc_bench: (\S+/\S+) (\d+) (\S+)", line)
    if m:
        figures[m.group(1)] = (int(m.group(2)), m.group(3))
    m = re.search(r"pgmap_alloc_bench_stats: (\w+): (-?\d+)", line)
    if m:
        stats[m.group(1)] = int(m.group(2))

results = [{"name": k, "value": v, "unit": u} for k, (v, u) in figures.items()]


def get(name):
    return figures.get(name, (None, None))[0]


def paired(label, size, pct):
    """The median of the ratios within each repetition, which the guest
    reports in percent."""
    value = get(f"ratio/{label}/{size}GiB/{pct}%")
    return value / 100 if value is not None else None


def ratio(a, b):
    return round(a / b, 2) if a and b else None


allocs = ["floor", "request", "freelist", "bitmap", "genpool", "pgmap_alloc"]
sizes = sorted({int(k.split("/")[2][:-3]) for k in figures if "/order0/" in k})
print(f"pgmap_alloc benchmark, Linux {kver}, QEMU TCG, 2 vCPUs (median ns/op; "
      "ratios: median of the ratios within each repetition)")
print(f"{'pool':>6} {'full':>4} " + " ".join(f"{a:>11}" for a in allocs) +
      f" {'vs floor':>8} {'vs list':>8} {'2cpu/list':>9} {'floor/list':>10}")
for size in sizes:
    for pct in (0, 50, 95):
        base = f"/order0/{size}GiB/{pct}%"
        row = [get(a + base + "/1cpu") for a in allocs]
        if not any(row):
            continue
        vs_floor = paired("pgmap_alloc-vs-floor-1cpu", size, pct)
        vs_list = paired("pgmap_alloc-vs-freelist-1cpu", size, pct)
        tp = paired("pgmap_alloc-vs-freelist-2cpu-throughput", size, pct)
        # What no allocator can beat: the floor's own two-CPU throughput
        ceil = paired("floor-vs-freelist-2cpu-throughput", size, pct)
        print(f"{size:>4}Gi {pct:>3}% " +
              " ".join(f"{v if v is not None else '-':>11}" for v in row) +
              f" {vs_floor or '-':>8} {vs_list or '-':>8} {tp or '-':>9} {ceil or '-':>10}")

flat = ratio(get("pgmap_alloc/order0/64GiB/95%/1cpu"), get("pgmap_alloc/order0/1GiB/0%/1cpu"))
flat_gp = ratio(get("genpool/order0/64GiB/95%/1cpu"), get("genpool/order0/1GiB/0%/1cpu"))
if flat:
    results.append({"name": "ratio/flat/pgmap_alloc/64GiB-95%-vs-1GiB-0%", "value": flat, "unit": "x"})
if flat_gp:
    results.append({"name": "ratio/flat/genpool/64GiB-95%-vs-1GiB-0%", "value": flat_gp, "unit": "x"})
print(f"\nflat: 64 GiB 95% full vs 1 GiB empty: pgmap_alloc {flat}x, raw gen_pool {flat_gp}x")
# The same, each cell's cost taken relative to the floor of its own cell,
# which cancels the host's drift between the two cells
flat_rel = ratio(paired("pgmap_alloc-vs-floor-1cpu", 64, 95),
                 paired("pgmap_alloc-vs-floor-1cpu", 1, 0))
if flat_rel:
    results.append({"name": "ratio/flat/pgmap_alloc-vs-floor/64GiB-95%-vs-1GiB-0%",
                    "value": flat_rel, "unit": "x"})
    print(f"flat, each relative to the floor of its cell: pgmap_alloc {flat_rel}x")
for size in sizes:
    o9 = get(f"pgmap_alloc/order9/{size}GiB/0%/1cpu")
    if o9:
        print(f"order-9 range (512 folios) + free, {size} GiB: {o9} ns")
print("\norder-9 requests that succeed after churn (share of the free memory, "
      "median over seeds [range]):")
for pct in (50, 75, 90):
    cells = []
    for name in ("pgmap_alloc", "genpool", "segregated", "pgmap_alloc+compaction"):
        value = get(f"{name}/order9-after-churn/{pct}%")
        if value is not None:
            cells.append(f"{name} {value}% [{spread.get((name, pct), '?')}]")
    print(f"  {pct}% full: " + ", ".join(cells))
# The compactions of the churn with compaction, over all its seeds
for pct in (50, 75, 90):
    least = get(f"compaction/moved-vs-least-x100/{pct}%")
    if least is None:
        continue
    print(f"  compaction at {pct}% full: pages moved {least / 100}x the pages in use in the "
          f"blocks made free; {get(f'compaction/ns-per-compaction/{pct}%')} ns per "
          f"compaction, {get(f'compaction/share-of-churn/{pct}%') / 10}% of the churn's time")
peak = get("memmap/peak-bytes")
if peak:
    print(f"\nmemmap after a burst: peak {peak >> 10} KiB; "
          f"{get('memmap/after-idle-bytes') >> 10} KiB {get('memmap/after-idle-ms')} ms after "
          f"the last free (idle time {get('memmap/idle-ms')} ms); second burst "
          f"{get('memmap/before-drop-caches-bytes') >> 10} KiB with no idle time, "
          f"{(get('memmap/after-drop-caches-bytes') or 0) >> 10} KiB "
          f"{get('memmap/after-drop-caches-ms')} ms after drop_caches")
evict = get("ratio/evict-speed-pgmap_alloc-vs-by-hand")
if evict:
    print(f"\neviction, {get('lifecycle/evict-pgmap_alloc')} pages/s with pgmap_alloc_evict(), "
          f"{get('lifecycle/evict-by-hand')} pages/s by hand (test_hmm's loop): "
          f"speed {evict / 100}x (median of the ratios within each repetition, "
          f"range {evict_range}%)")
    print(f"a pgmap per MiB: mapped alone {get('lifecycle/map-alone')} ns, "
          f"mapped and added to a pool {get('lifecycle/grow')} ns; "
          f"unmapped alone {get('lifecycle/unmap-alone')} ns, "
          f"removed from a pool and unmapped {get('lifecycle/give-back')} ns")
if stats.get("size"):
    bits = stats["metadata_bitmap_bytes"] * 8 / stats["size"]
    results.append({"name": "memory/bits-per-page", "value": bits, "unit": "bits"})
    results.append({"name": "memory/percpu", "value": stats["metadata_percpu_bytes"],
                    "unit": "bytes"})
    print(f"\nmemory: {bits:.2f} bits per device page + "
          f"{stats['metadata_percpu_bytes']} bytes per-CPU in all "
          f"({stats['size']} pages)")
json.dump(results, open(out, "w"), indent=1)
print(f"\n{len(results)} figures in {out}")
