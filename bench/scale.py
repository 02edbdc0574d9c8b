#!/usr/bin/env python3
"""make bench-scale: how lode's costs grow with the corpus.

For each size (MB), a synthetic corpus from bench/tools/gen_corpus (seeded:
Zipfian vocabulary of 500,000 words, log-normal document lengths) is indexed
by lode (wall time, MB/s, peak resident memory, index size without and with
stored text) and queried with a query set generated from it
(bench/gen_queries.py, seed 1) in modes all and top10; p50 and p99 per
category are printed, so the growth of each cost is visible side by side.

usage: bench/scale.py [--sizes 100 1000] [--memory 256M] [--repeat 3]
"""
import argparse
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "build", "scale")
LODE = os.path.join(ROOT, "lode")
GEN = os.path.join(ROOT, "build", "tools", "gen_corpus")


def run(cmd, **kw):
    res = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if res.returncode != 0:
        sys.exit(f"bench-scale: {' '.join(cmd)} failed:\n{res.stderr}")
    return res


def tree_bytes(path, skip=()):
    total = 0
    for dirpath, _, files in os.walk(path):
        total += sum(os.path.getsize(os.path.join(dirpath, f))
                     for f in files if f not in skip)
    return total


def pct(values, p):
    values = sorted(values)
    k = max(1, -(-p * len(values) // 100))
    return values[min(k, len(values)) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    ap.add_argument("--memory", default="256M")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    os.makedirs(WORK, exist_ok=True)
    rows, lat = [], {}
    for mb in args.sizes:
        corpus = os.path.join(WORK, f"syn-{mb}")
        if not os.path.isdir(corpus):
            run([GEN, corpus, str(mb), "1"])
        index = os.path.join(WORK, f"syn-{mb}.lode")
        res = run(["/usr/bin/time", "-f", "%e %M", LODE, "index", "-q",
                   "--memory", args.memory, "-i", index, corpus])
        wall, rss_kb = res.stderr.strip().splitlines()[-1].split()
        core = tree_bytes(index, skip=("text.z",))
        full = tree_bytes(index)
        inb = tree_bytes(corpus)
        rows.append((mb, inb / 1e6, float(wall), inb / 1e6 / float(wall),
                     int(rss_kb) / 1024, core / 1e6, full / 1e6))
        queries = os.path.join(WORK, f"syn-{mb}.tsv")
        if not os.path.exists(queries):
            sample = max(1, mb // 50)
            out = run([sys.executable, os.path.join(ROOT, "bench", "gen_queries.py"),
                       corpus, "--per-category", "20", "--sample",
                       str(sample)]).stdout
            with open(queries, "w") as f:
                f.write(out)
        for mode in ("all", "top10"):
            out = run([LODE, "bench", "--json", "-i", index, "--mode", mode,
                       "--repeat", str(args.repeat), queries]).stdout
            for line in out.splitlines():
                r = json.loads(line)
                if "summary" in r:
                    continue
                lat.setdefault((mode, r["category"]), {}).setdefault(mb, []).append(
                    r["median_ns"] / 1e3)
    print(f"{'MB':>6s} {'input MB':>9s} {'index s':>8s} {'MB/s':>6s} "
          f"{'peak RSS MB':>11s} {'index MB':>9s} {'+text MB':>9s}")
    for mb, inp, wall, rate, rss, core, full in rows:
        print(f"{mb:6d} {inp:9.1f} {wall:8.2f} {rate:6.1f} {rss:11.0f} "
              f"{core:9.1f} {full:9.1f}")
    print("\nquery latency, p50 / p99 in microseconds over per-query medians")
    head = f"{'mode':6s} {'category':12s}" + "".join(
        f" {str(mb) + ' MB p50':>12s} {'p99':>8s}" for mb in args.sizes)
    print(head)
    for (mode, cat), by_size in sorted(lat.items()):
        line = f"{mode:6s} {cat:12s}"
        for mb in args.sizes:
            v = by_size.get(mb)
            line += (f" {pct(v, 50):12.1f} {pct(v, 99):8.1f}" if v
                     else f" {'':12s} {'':8s}")
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
