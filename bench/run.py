#!/usr/bin/env python3
"""make bench: lode and its peers on the same corpora and queries, side by side.

For each corpus (tarballs in ../shared/corpora, unpacked into build/bench/):
index it with lode (one thread, -j 1, and two, -j 2; and on one thread
keeping no copy of the text, --no-text, as FTS5's contentless table keeps
none) and with each peer that
was built (make bench-peers), engines alternating over --index-rounds rounds,
each build from a warm page cache (every file read just before it, so that
the first engine does not pay for reading the disk), reporting the median
build time, MB/s against the corpus's bytes and the ratio to FTS5's, and
the index size; then run the committed query set
in modes all and top10, engines alternating round by round, and print per
category each engine's p50 and p99 (over the queries' median latencies, in
microseconds) and the ratio peer/lode.  In mode all every engine must return
the same result set (count and id hash) for every query: a difference is
listed and makes the run fail.

usage: bench/run.py [--rounds N] [--repeat R] [--index-rounds N]
                    [--corpus NAME ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "corpora")
WORK = os.path.join(ROOT, "build", "bench")
CORPORA = {
    "reuters": ("reuters21578/reuters21578.tar.gz", "reuters",
                "bench/queries/reuters.tsv"),
    "20news": ("20newsgroups/20newsgroups.tar.gz", "20news",
               "bench/queries/20news.tsv"),
}
LODE = os.path.join(ROOT, "lode")
PEERS = {p: os.path.join(ROOT, "build", "peers", f"{p}_peer")
         for p in ("fts5", "xapian", "lucene")}


def run(cmd):
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed:\n{res.stderr}")
    return res.stdout


def unpack(name):
    tar, top, _ = CORPORA[name]
    dest = os.path.join(WORK, name)
    if not os.path.isdir(os.path.join(dest, top)):
        os.makedirs(dest, exist_ok=True)
        with tarfile.open(os.path.join(SHARED, tar)) as t:
            t.extractall(dest)
    return os.path.join(dest, top)


def input_bytes(root):
    total = 0
    for dirpath, _, files in os.walk(root):
        total += sum(os.path.getsize(os.path.join(dirpath, f)) for f in files)
    return total


def warm(root):
    # Read every file, so that each build starts from the page cache: the
    # machine's memory reclaim evicts a corpus left idle during the query
    # rounds, and the engine indexing first would read the disk alone.
    for dirpath, _, files in os.walk(root):
        for f in files:
            with open(os.path.join(dirpath, f), "rb") as fh:
                while fh.read(1 << 20):
                    pass


def lode_index(corpus_dir, index, threads, no_text=False):
    # lode fsyncs its index; on ext4 that also waits for every other file's
    # dirty pages (a peer's index written just before), so start clean.
    os.sync()
    warm(corpus_dir)
    t0 = time.monotonic()
    run([LODE, "index", "-q", "-j", str(threads), "-i", index, corpus_dir] +
        (["--no-text"] if no_text else []))
    seconds = time.monotonic() - t0
    sizes = {}
    seg = [d for d in os.listdir(index) if d.startswith("seg-")][0]
    for f in os.listdir(os.path.join(index, seg)):
        sizes[f] = os.path.getsize(os.path.join(index, seg, f))
    return seconds, sizes


def parse_lines(text):
    return [json.loads(l) for l in text.splitlines() if l.startswith("{")]


def bench_round(engine, index, queries, mode, repeat):
    if engine == "lode":
        out = run([LODE, "bench", "--json", "-i", index, "--mode", mode,
                   "--repeat", str(repeat), queries])
        return [r for r in parse_lines(out) if "summary" not in r]
    out = run([PEERS[engine], "bench", index, queries, "--mode", mode,
               "--repeat", str(repeat)])
    return parse_lines(out)


def pct(values, p):
    values = sorted(values)
    k = max(1, int(-(-p * len(values) // 100)))
    return values[min(k, len(values)) - 1]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--index-rounds", type=int, default=3)
    ap.add_argument("--corpus", nargs="*", default=list(CORPORA))
    args = ap.parse_args()
    peers = [p for p, path in PEERS.items() if os.access(path, os.X_OK)]
    if not peers:
        print("bench: no peers built (run 'make bench-peers'); lode alone")
    failed = False
    for name in args.corpus:
        corpus_dir = unpack(name)
        queries = os.path.join(ROOT, CORPORA[name][2])
        mb = input_bytes(corpus_dir) / 1e6
        print(f"\n=== {name}: {mb:.1f} MB of text ===")
        index = {"lode": os.path.join(WORK, f"{name}.lode")}
        for p in peers:
            index[p] = os.path.join(WORK, f"{name}.{p}")
        # "no text": lode keeping no copy of the text (--no-text), as
        # FTS5's contentless table keeps none.
        builds = ["lode -j1", "lode -j2", "no text"] + peers
        secs = {b: [] for b in builds}
        size = {}
        for _ in range(args.index_rounds):
            for b in builds:
                if b == "no text":
                    t, sizes = lode_index(corpus_dir, index["lode"] + "-nt",
                                          1, no_text=True)
                    size[b] = sum(sizes.values())
                elif b.startswith("lode"):
                    t, sizes = lode_index(corpus_dir, index["lode"],
                                          int(b[-1]))
                    size[b] = sum(v for k, v in sizes.items()
                                  if k != "text.z")
                    text = sizes.get("text.z", 0)
                else:
                    os.sync()
                    warm(corpus_dir)
                    info = json.loads(run([PEERS[b], "index", index[b],
                                           corpus_dir]))
                    t, size[b] = info["seconds"], info["bytes"]
                secs[b].append(t)
        fts5 = statistics.median(secs["fts5"]) if "fts5" in secs else None
        for b in builds:
            t = statistics.median(secs[b])
            line = (f"{b:8s} index {t:6.2f} s {mb / t:6.1f} MB/s  "
                    f"{'' if fts5 is None else f'x FTS5 {fts5 / t:4.2f}  '}"
                    f"index {size[b] / 1e6:6.2f} MB")
            if b == "no text":
                line += " (-j1, --no-text; all files)"
            elif b.startswith("lode"):
                line += (f" ({100 * size[b] / 1e6 / mb:.0f}% of input) + "
                         f"stored text {text / 1e6:.2f} MB")
            print(line)
        print(f"(median of {args.index_rounds} builds each, engines "
              f"alternating, warm page cache)")
        engines = ["lode"] + peers
        for mode in ("all", "top10"):
            # Per engine, per query: the least of the rounds' medians.
            best = {e: {} for e in engines}
            answers = {e: {} for e in engines}
            for _ in range(args.rounds):
                for e in engines:
                    for r in bench_round(e, index[e], queries, mode, args.repeat):
                        if "skipped" in r:
                            continue
                        key = r["n"]
                        prev = best[e].get(key)
                        best[e][key] = (r["category"], min(
                            r["median_ns"], prev[1] if prev else r["median_ns"]))
                        answers[e][key] = (r["count"], r["hash"], r["query"])
            if mode == "all":
                for p in peers:
                    diff = [k for k in answers["lode"] if k in answers[p]
                            and answers[p][k][:2] != answers["lode"][k][:2]]
                    same = len([k for k in answers["lode"] if k in answers[p]]) - len(diff)
                    print(f"result sets, lode vs {p}: {same} identical, "
                          f"{len(diff)} different")
                    for k in diff[:10]:
                        print(f"  differs: {answers['lode'][k][2]}  lode "
                              f"{answers['lode'][k][0]}, {p} {answers[p][k][0]}")
                    failed |= bool(diff)
            cats = []
            for k in sorted(best["lode"]):
                c = best["lode"][k][0]
                if c not in cats:
                    cats.append(c)
            head = f"\nmode {mode:5s} {'category':12s} {'lode p50':>9s} {'p99':>8s}"
            for p in peers:
                head += f" {p + ' p50':>10s} {'p99':>8s} {'p50 x':>6s} {'p99 x':>6s}"
            print(head)
            for c in cats + ["all"]:
                def lat(e):
                    v = [ns / 1e3 for (cat, ns) in best[e].values()
                         if c == "all" or cat == c]
                    return (pct(v, 50), pct(v, 99)) if v else (None, None)
                l50, l99 = lat("lode")
                line = f"{'':10s} {c:12s} {l50:9.1f} {l99:8.1f}"
                for p in peers:
                    p50, p99 = lat(p)
                    if p50 is None:
                        line += f" {'n/a':>10s} {'':8s} {'':6s} {'':6s}"
                    else:
                        line += (f" {p50:10.1f} {p99:8.1f} {p50 / l50:6.1f}"
                                 f" {p99 / l99:6.1f}")
                print(line)
    print("\nlatencies in microseconds (p50/p99 over per-query medians); "
          "x = peer / lode, higher is better for lode")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
