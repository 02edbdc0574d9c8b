#!/usr/bin/env python3
"""Deterministic benchmark query generator.

Reads every text file below a corpus directory (sorted walk, hidden entries
skipped, as lode indexes) and writes CATEGORY<TAB>QUERY lines, seeded, so that
a run is comparable with any later one:

  term-rare / term-mid / term-freq   one word by document-frequency band
  and2 / and3                        words that co-occur in a document
  or2                                two mid-frequency words
  not                                a NOT b
  phrase2 / phrase3 / phrase4        consecutive words sampled from documents
  mixed                              phrase AND term, OR of phrases,
                                     parentheses, NOT

With --long, instead: long ORs, as "more like this" or pasted free text
makes them (the distinct words of a document in the order they first
occur, documents joined until there are enough):

  or16 / or64 / or256 / or1024       an OR of that many distinct words

Tokenization follows lode's (NFKD, marks removed, case folded, runs of
letters and digits), so every sampled word is a single lode token.

usage: gen_queries.py CORPUS_DIR [--seed N] [--per-category N] [--sample N]
       [--long] > queries.tsv
"""
import argparse
import os
import random
import re
import sys
import unicodedata

TOKEN = re.compile(r"[^\W_]+")


def tokens(text):
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.category(c).startswith("M"))
    return TOKEN.findall(text.casefold())


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if not name.startswith("."):
                yield os.path.join(dirpath, name)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("corpus")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--per-category", type=int, default=50)
    ap.add_argument("--sample", type=int, default=1,
                    help="read every Nth document only (large corpora)")
    ap.add_argument("--long", action="store_true",
                    help="long ORs (or16 ... or1024) instead")
    args = ap.parse_args()
    rng = random.Random(args.seed)

    docs = []
    for i, path in enumerate(walk(args.corpus)):
        if i % args.sample:
            continue
        with open(path, "rb") as f:
            data = f.read()
        if b"\0" in data[:8192]:
            continue
        docs.append(tokens(data.decode("utf-8", "replace")))
    df = {}
    for toks in docs:
        for t in set(toks):
            df[t] = df.get(t, 0) + 1
    n = len(docs)
    # Bands: rare 2-10 documents, mid up to 2% of documents, frequent above.
    bands = {"rare": [], "mid": [], "freq": []}
    for t, d in sorted(df.items()):
        if 2 <= d <= 10:
            bands["rare"].append(t)
        elif 10 < d <= max(11, n // 50):
            bands["mid"].append(t)
        elif d > n // 50:
            bands["freq"].append(t)
    usable = [toks for toks in docs if len(toks) >= 8]
    k = args.per_category
    out = []

    def add(cat, q):
        out.append(f"{cat}\t{q}")

    def doc_words(count, band=None):
        while True:
            toks = rng.choice(usable)
            cand = sorted(set(toks))
            if band:
                allowed = set(bands[band])
                cand = [t for t in cand if t in allowed]
            if len(cand) >= count:
                return rng.sample(cand, count)

    def phrase(length):
        toks = rng.choice([t for t in usable if len(t) >= length])
        i = rng.randrange(len(toks) - length + 1)
        return '"' + " ".join(toks[i:i + length]) + '"'

    def first_words(count):
        seen = {}
        while len(seen) < count:
            for t in rng.choice(usable):
                seen.setdefault(t, None)
        return list(seen)[:count]

    if args.long:
        for length in (16, 64, 256, 1024):
            for _ in range(k):
                add(f"or{length}", " OR ".join(first_words(length)))
        write(out, args, k, n)
        return
    for band in ("rare", "mid", "freq"):
        for t in rng.sample(bands[band], min(k, len(bands[band]))):
            add(f"term-{band}", t)
    for _ in range(k):
        add("and2", " AND ".join(doc_words(2, "mid")))
    for _ in range(k):
        a, b, c = doc_words(3)
        add("and3", f"{a} AND {b} AND {c}")
    for _ in range(k):
        add("or2", " OR ".join(rng.sample(bands["mid"], 2)))
    for _ in range(k):
        a = doc_words(1, "mid")[0]
        add("not", f"{a} NOT {rng.choice(bands['mid'] + bands['freq'])}")
    for length in (2, 3, 4):
        for _ in range(k):
            add(f"phrase{length}", phrase(length))
    for i in range(k):
        shape = i % 4
        if shape == 0:
            add("mixed", f"{phrase(2)} AND {doc_words(1, 'mid')[0]}")
        elif shape == 1:
            add("mixed", f"{phrase(2)} OR {phrase(2)}")
        elif shape == 2:
            a, b = doc_words(2)
            add("mixed", f"({a} OR {rng.choice(bands['mid'])}) AND {b}")
        else:
            a, b, c = doc_words(3, "mid")
            add("mixed", f"{a} AND NOT ({b} OR {c})")
    write(out, args, k, n)


def write(out, args, k, n):
    long = " --long" if args.long else ""
    sys.stdout.write(f"# generated by bench/gen_queries.py --seed {args.seed} "
                     f"--per-category {k}{long} from {n} documents\n")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
