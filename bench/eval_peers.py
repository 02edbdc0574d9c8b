#!/usr/bin/env python3
"""make eval: lode's ranking quality beside SQLite FTS5's and Xapian's.

Unpacks a judged collection (default: the TIME collection in
../shared/corpora/time), indexes it with lode, without and with
`--stem english`, and runs `lode eval` with BM25 and with `--dfr`, then
indexes the same documents with each peer and ranks the same queries as
free text (every distinct word ORed) with the peer's own BM25:

  fts5          unicode61 remove_diacritics 2, bm25()
  fts5+porter   the porter tokenizer over unicode61, bm25()
  xapian        BM25Weight defaults, no stemming        (needs python3-xapian)
  xapian+stem   the same with Xapian's English stemmer (STEM_SOME)

Metrics are those of `lode eval` (bench/quality.h): MAP@100, nDCG@10, P@10,
Recall@100 over the queries with at least one relevant document.

usage: bench/eval_peers.py [--collection time]
"""
import argparse
import math
import os
import re
import sqlite3
import subprocess
import sys
import tarfile
import unicodedata

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "corpora")
WORK = os.path.join(ROOT, "build", "eval")
TOKEN = re.compile(r"[^\W_]+")


def words(text):
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.category(c).startswith("M"))
    seen = []
    for w in TOKEN.findall(text.casefold()):
        if w not in seen:
            seen.append(w)
    return seen


def load(collection):
    dest = os.path.join(WORK, collection)
    if not os.path.isdir(os.path.join(dest, "docs")):
        os.makedirs(dest, exist_ok=True)
        with tarfile.open(os.path.join(SHARED, collection, f"{collection}.tar.gz")) as t:
            t.extractall(dest)
    docs = {}
    for name in sorted(os.listdir(os.path.join(dest, "docs"))):
        with open(os.path.join(dest, "docs", name), encoding="utf-8",
                  errors="replace") as f:
            docs[os.path.splitext(name)[0]] = f.read()
    queries = []
    with open(os.path.join(dest, "queries.tsv"), encoding="utf-8") as f:
        for line in f:
            if "\t" in line:
                qid, text = line.rstrip("\n").split("\t", 1)
                queries.append((qid, text))
    qrels = {}
    with open(os.path.join(dest, "qrels.txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 4:
                qrels.setdefault(parts[0], {})[parts[2]] = int(parts[3])
    return dest, docs, queries, qrels


def metrics(ranking, judged):
    rel = [g for g in judged.values() if g > 0]
    if not rel:
        return None
    grades = [judged.get(d, 0) for d in ranking[:100]]
    found, ap, dcg = 0, 0.0, 0.0
    for i, g in enumerate(grades):
        if g > 0:
            found += 1
            ap += found / (i + 1)
            if i < 10:
                dcg += g / math.log2(i + 2)
    ideal = sorted(rel, reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return (ap / len(rel), dcg / idcg, sum(1 for g in grades[:10] if g > 0) / 10,
            found / len(rel))


def score(runs, qrels):
    rows = [m for m in (metrics(r, qrels.get(q, {})) for q, r in runs.items()) if m]
    return [sum(col) / len(rows) for col in zip(*rows)] if rows else [0] * 4


def fts5(docs, queries, tokenizer):
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE VIRTUAL TABLE t USING fts5(name UNINDEXED, body, "
               f"tokenize=\"{tokenizer}\")")
    db.executemany("INSERT INTO t(name, body) VALUES (?, ?)", docs.items())
    runs = {}
    for qid, text in queries:
        match = " OR ".join('"%s"' % w for w in words(text))
        runs[qid] = [r[0] for r in db.execute(
            "SELECT name FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 100",
            (match,))]
    return runs


def xapian_runs(docs, queries, stem):
    import xapian
    db = xapian.WritableDatabase("", xapian.DB_BACKEND_INMEMORY)
    tg = xapian.TermGenerator()
    if stem:
        tg.set_stemmer(xapian.Stem("english"))
    for name, body in docs.items():
        doc = xapian.Document()
        tg.set_document(doc)
        tg.index_text(body)
        doc.set_data(name)
        db.add_document(doc)
    qp = xapian.QueryParser()
    qp.set_database(db)
    qp.set_default_op(xapian.Query.OP_OR)
    if stem:
        qp.set_stemmer(xapian.Stem("english"))
        qp.set_stemming_strategy(xapian.QueryParser.STEM_SOME)
    enquire = xapian.Enquire(db)
    enquire.set_weighting_scheme(xapian.BM25Weight())
    runs = {}
    for qid, text in queries:
        enquire.set_query(qp.parse_query(" ".join(words(text))))
        runs[qid] = [m.document.get_data().decode() for m in enquire.get_mset(0, 100)]
    return runs


def lode(dest, stem=None, options=()):
    index = os.path.join(dest, "lode-index" + ("-" + stem if stem else ""))
    lode_bin = os.path.join(ROOT, "lode")
    subprocess.run([lode_bin, "index", "-q", "-i", index] +
                   (["--stem", stem] if stem else []) +
                   [os.path.join(dest, "docs")], check=True)
    out = subprocess.run([lode_bin, "eval", "-i", index, *options,
                          os.path.join(dest, "queries.tsv"),
                          os.path.join(dest, "qrels.txt")],
                         check=True, capture_output=True, text=True).stdout
    values = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            values[parts[0]] = float(parts[1])
    return [values["MAP@100"], values["nDCG@10"], values["P@10"], values["R@100"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--collection", default="time")
    args = ap.parse_args()
    dest, docs, queries, qrels = load(args.collection)
    rows = [("lode (BM25)", lode(dest)),
            ("lode --dfr", lode(dest, None, ["--dfr"])),
            ("lode+english (BM25)", lode(dest, "english")),
            ("lode+english --dfr", lode(dest, "english", ["--dfr"]))]
    nlode = len(rows)
    rows.append(("fts5 bm25", score(fts5(docs, queries,
                                         "unicode61 remove_diacritics 2"), qrels)))
    rows.append(("fts5 bm25+porter", score(fts5(
        docs, queries, "porter unicode61 remove_diacritics 2"), qrels)))
    try:
        import xapian  # noqa: F401
        rows.append(("xapian BM25", score(xapian_runs(docs, queries, False), qrels)))
        rows.append(("xapian BM25+stem", score(xapian_runs(docs, queries, True), qrels)))
    except ImportError:
        print("(python3-xapian not installed: Xapian rows skipped; "
              "make bench-peers installs it)")
    judged = sum(1 for q, _ in queries if any(g > 0 for g in qrels.get(q, {}).values()))
    print(f"{args.collection}: {len(docs)} documents, {len(queries)} queries, "
          f"{judged} judged\n")
    print(f"{'engine':20s} {'MAP@100':>8s} {'nDCG@10':>8s} {'P@10':>8s} {'R@100':>8s}")
    for name, vals in rows:
        print(f"{name:20s} " + " ".join(f"{v:8.4f}" for v in vals))
    best = max(rows[nlode:], key=lambda r: r[1][1])
    best_map = max(r[1][0] for r in rows[nlode:])
    print(f"\nover the best peer ({best[0]}), nDCG@10 and MAP@100:")
    for name, vals in rows[:nlode]:
        print(f"  {name:20s} {vals[1] / best[1][1]:.3f} {vals[0] / best_map:.3f}")


if __name__ == "__main__":
    sys.exit(main())
