#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Put the native benchmark's figures (native/...) into build/bench.json,
replacing those of an earlier native run, and print the churn of both
benchmarks side by side: they run the same generator with the same seeds,
so their figures must agree. Usage: bench-merge.py BENCH_JSON NATIVE_JSON"""
import json
import os
import sys

bench, native = sys.argv[1:3]
kernel = json.load(open(bench)) if os.path.exists(bench) else []
kernel = [e for e in kernel if not e["name"].startswith("native/")]
ours = json.load(open(native))
json.dump(kernel + ours, open(bench, "w"), indent=1)

k = {e["name"]: e["value"] for e in kernel}
n = {e["name"][len("native/"):]: e["value"] for e in ours}
print("churn, order-9 requests that succeed (median over each run's seeds):")
print(f"{'full':>6} {'kernel (QEMU)':>14} {'native':>8}")
for pct in (50, 75, 90):
    name = f"pgmap_alloc/order9-after-churn/{pct}%"
    kv = k.get(name)
    print(f"{pct:>5}% {('%d%%' % kv) if kv is not None else 'not run':>14} "
          f"{n.get(name, float('nan')):>7.0f}%")
print(f"{len(ours)} native figures added to {bench}")
