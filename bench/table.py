#!/usr/bin/env python3
"""Turn bench/run.py's output into bench/README.md's per-category table.

usage: bench/run.py > run.txt; bench/table.py run.txt [run2.txt ...]

Each row: lode's p50 and p99, the best peer's (the least p50, the least
p99) and the ratio best peer / lode, from the printed figures; a row whose
p50 ratio is below 3 is marked.  With several runs, a row's ratios are
given as their range over the runs, and its latencies are the first run's.
"""
import re
import sys

PEERS = ("FTS5", "Xapian", "Lucene++")


def parse(path):
    """{(corpus, mode, category): (lode p50, p99, [(peer, p50, p99)])}"""
    rows, corpus, mode = {}, None, None
    for line in open(path):
        m = re.match(r"=== (\w+):", line)
        if m:
            corpus = m.group(1)
        m = re.match(r"mode (\w+)", line)
        if m:
            mode = m.group(1)
            continue
        f = line.split()
        if mode and len(f) == 3 + 4 * len(PEERS):
            nums = [float(x) for x in f[1:]]
            peers = [(PEERS[i], nums[2 + 4 * i], nums[3 + 4 * i])
                     for i in range(len(PEERS))]
            rows[(corpus, mode, f[0])] = (nums[0], nums[1], peers)
    return rows


def main():
    runs = [parse(p) for p in sys.argv[1:]]
    print("| corpus | mode | category | lode p50 | best peer p50 | x | "
          "lode p99 | best peer p99 | x |")
    print("|---|---|---|---|---|---|---|---|---|")
    for key, (l50, l99, peers) in runs[0].items():
        b50 = min(peers, key=lambda p: p[1])
        b99 = min(peers, key=lambda p: p[2])
        x50 = [min(p[1] for p in r[key][2]) / r[key][0] for r in runs
               if key in r]
        x99 = [min(p[2] for p in r[key][2]) / r[key][1] for r in runs
               if key in r]

        def span(v):
            lo, hi = min(v), max(v)
            return f"{lo:.1f}" if f"{lo:.1f}" == f"{hi:.1f}" else \
                f"{lo:.1f}-{hi:.1f}"
        mark = " ✗" if min(x50) < 3 else ""
        print(f"| {key[0]} | {key[1]} | {key[2]} | {l50:.1f} | "
              f"{b50[1]:.1f} ({b50[0]}) | {span(x50)}{mark} | {l99:.1f} | "
              f"{b99[2]:.1f} ({b99[0]}) | {span(x99)} |")


if __name__ == "__main__":
    main()
