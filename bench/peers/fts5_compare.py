#!/usr/bin/env python3
"""fts5_compare.py -- check that lode's result sets equal SQLite FTS5's.

Indexes the Reuters-21578 collection (one file per article) with lode and
with an FTS5 table using the tokenizer lode documents itself to equal
(unicode61, remove_diacritics 2), runs a seeded set of boolean and phrase
queries through both, and compares the sets of matching files exactly.

    python3 bench/peers/fts5_compare.py [--workdir DIR] [--corpus-tar TAR]

Steps:
  1. Extract the tarball into WORKDIR (default build/compare) once; a stamp
     file remembers which tarball was extracted.
  2. `lode index -i WORKDIR/index WORKDIR/reuters`, and WORKDIR/fts5.db with
     one row per file, chosen by lode's rules (no hidden entries, no file
     with a NUL byte in its first 8192 bytes).
  3. Generate the queries (or read them with --queries): single terms from
     each document-frequency band, AND / OR / NOT of terms that occur
     together, phrases of 2 to 4 consecutive words sampled from documents,
     words with punctuation inside ("U.S.", "Iran's"), the corpus' words
     with diacritics as written, in capitals and folded, nested expressions
     relying on precedence, leading NOT, and queries with no result.
  4. Run every query through `lode search -l` and through FTS5 MATCH, and
     compare the sets of file names.

The query text is in lode's language.  It is parsed here by the grammar of
searcher/query.h and translated to FTS5: every word and phrase becomes an
FTS5 string ("word", so that FTS5 tokenizes it exactly as lode does and
lowercase and/or/near or digits are never syntax), and every operator is
parenthesised explicitly.  FTS5 has no unary NOT, so negations are pushed up
the tree with De Morgan's laws until each query is either "E" or "all rows
but E" for one FTS5 expression E; the second runs as rowids EXCEPT MATCH.

Output: the build and timing lines, the details of each query whose sets
differ (its FTS5 translation, both counts, a few files found by one side
only), then one summary line:

    fts5-compare: 711 queries, 711 identical, 0 different

Exit status: 0 if all sets are identical, 1 if any differs, 2 on an error.
Standard library only; the python3 sqlite3 module must have FTS5 (Debian's
has).  The query set depends only on the corpus and --seed.
"""

import argparse
import collections
import os
import random
import re
import sqlite3
import subprocess
import sys
import tarfile
import time
import unicodedata
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
DEFAULT_TAR = os.path.join(ROOT, "..", "shared", "corpora", "reuters21578",
                           "reuters21578.tar.gz")
DEFAULT_WORKDIR = os.path.join(ROOT, "build", "compare")
DEFAULT_QUERY_FILE = os.path.join(ROOT, "bench", "queries", "reuters-compare.txt")
FTS5_TOKENIZE = "unicode61 remove_diacritics 2"
BINARY_PROBE = 8192        # bytes lode scans for a NUL (indexer/build.c)
EXAMPLES = 5               # files shown per side for a difference


class Failure(Exception):
    """A setup error: exit status 2 with this message."""


# ---- corpus ----------------------------------------------------------------

def extract(tar_path, workdir):
    """Extract tar_path into workdir unless the stamp says it already is."""
    st = os.stat(tar_path)
    stamp = "%s %d %d\n" % (os.path.abspath(tar_path), st.st_size, int(st.st_mtime))
    stamp_path = os.path.join(workdir, "extracted.stamp")
    try:
        with open(stamp_path) as f:
            if f.read() == stamp and os.path.isdir(os.path.join(workdir, "reuters")):
                return False
    except FileNotFoundError:
        pass
    os.makedirs(workdir, exist_ok=True)
    with tarfile.open(tar_path) as tar:
        if hasattr(tarfile, "data_filter"):
            tar.extractall(workdir, filter="data")
        else:
            tar.extractall(workdir)
    with open(stamp_path, "w") as f:
        f.write(stamp)
    return True


def list_documents(corpus):
    """The files lode indexes below corpus, as (name relative to corpus,
    bytes), in lode's order: sorted by byte name within each directory,
    hidden entries and files with a NUL in their first BINARY_PROBE bytes
    left out."""
    docs = []

    def walk(rel):
        path = os.path.join(corpus, rel) if rel else corpus
        for entry in sorted(os.listdir(path), key=os.fsencode):
            if entry.startswith("."):
                continue
            sub = os.path.join(rel, entry) if rel else entry
            full = os.path.join(corpus, sub)
            if os.path.isdir(full):
                walk(sub)
            elif os.path.isfile(full):
                with open(full, "rb") as f:
                    data = f.read()
                if b"\0" not in data[:BINARY_PROBE]:
                    docs.append((sub, data))

    walk("")
    return docs


def dir_bytes(path, only=None):
    """Bytes of the file path, or of the files below the directory path
    (those named only, if given)."""
    if os.path.isfile(path):
        return os.path.getsize(path)
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            if only is None or name == only:
                total += os.path.getsize(os.path.join(dirpath, name))
    return total


# ---- indexing ---------------------------------------------------------------

def lode_index(lode, index, corpus):
    """Build lode's index; returns (seconds, documents lode reports)."""
    t0 = time.monotonic()
    proc = subprocess.run([lode, "index", "-i", index, corpus],
                          capture_output=True, text=True)
    seconds = time.monotonic() - t0
    if proc.returncode != 0:
        raise Failure("lode index failed (%d): %s" % (proc.returncode,
                                                     proc.stderr.strip()))
    m = re.search(r"indexed (\d+) documents", proc.stdout + proc.stderr)
    return seconds, int(m.group(1)) if m else None


def fts5_index(db_path, docs):
    """Build the contentless FTS5 table docs(body), rowid = 1 + position in
    docs; returns (connection, seconds)."""
    for suffix in ("", "-journal", "-wal"):
        if os.path.exists(db_path + suffix):
            os.remove(db_path + suffix)
    db = sqlite3.connect(db_path)
    try:
        db.execute("CREATE VIRTUAL TABLE probe USING fts5(x)")
        db.execute("DROP TABLE probe")
    except sqlite3.OperationalError as e:
        raise Failure("this python3 sqlite3 (SQLite %s) has no FTS5: %s"
                      % (sqlite3.sqlite_version, e))
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    t0 = time.monotonic()
    # Contentless: like lode's index, it holds no copy of the text.
    db.execute("CREATE VIRTUAL TABLE docs USING fts5(body, content='', "
               "tokenize=%s)" % sql_string(FTS5_TOKENIZE))
    with db:
        db.executemany("INSERT INTO docs(rowid, body) VALUES (?, ?)",
                       ((i + 1, data.decode("utf-8", "replace"))
                        for i, (_, data) in enumerate(docs)))
        db.execute("INSERT INTO docs(docs) VALUES ('optimize')")
    seconds = time.monotonic() - t0
    db.execute("CREATE VIRTUAL TABLE vocab USING fts5vocab(docs, row)")
    return db, seconds


def sql_string(s):
    return "'" + s.replace("'", "''") + "'"


# ---- tokens (for sampling queries only) -------------------------------------

TOKEN_RE = re.compile(r"[^\W_]+")
SIMPLE_TERM_RE = re.compile(r"[a-z0-9]+\Z")


def fold(token):
    """Case-fold and strip diacritics, as lode's tokenizer and unicode61 do."""
    decomposed = unicodedata.normalize("NFKD", token.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def tokenize(text):
    """[(folded term, start, end)] of text's tokens."""
    return [(fold(m.group()), m.start(), m.end()) for m in TOKEN_RE.finditer(text)]


# ---- lode's query language, and its translation to FTS5 ---------------------

FTS5_STRING_RE = re.compile(r'"(?:[^"]|"")*"\Z')


class QueryError(Exception):
    pass


def lex(query):
    """Tokens of a lode query: ('(',), (')',), ('AND'|'OR'|'NOT',),
    ('word', text) or ('phrase', text inside the quotes)."""
    out, i, n = [], 0, len(query)
    while True:
        while i < n and query[i].isspace():
            i += 1
        if i == n:
            return out
        c = query[i]
        if c in "()":
            out.append((c,))
            i += 1
        elif c == '"':
            j = query.find('"', i + 1)
            if j < 0:
                raise QueryError("unterminated phrase")
            out.append(("phrase", query[i + 1:j]))
            i = j + 1
        else:
            j = i
            while j < n and not query[j].isspace() and query[j] not in '()"':
                j += 1
            word = query[i:j]
            out.append((word,) if word in ("AND", "OR", "NOT") else ("word", word))
            i = j


def parse(query):
    """The tree of a lode query by searcher/query.h's grammar:
         or      := and ( 'OR' and )*
         and     := not ( ['AND'] not )*
         not     := unary ( 'NOT' unary )*
         unary   := 'NOT' unary | primary
         primary := '(' or ')' | '"' words '"' | word
    Nodes: ('text', raw), ('and', [..]), ('or', [..]), ('andnot', a, b),
    ('not', a)."""
    toks = lex(query)
    pos = [0]

    def peek():
        return toks[pos[0]][0] if pos[0] < len(toks) else None

    def take():
        pos[0] += 1
        return toks[pos[0] - 1]

    def p_or():
        kids = [p_and()]
        while peek() == "OR":
            take()
            kids.append(p_and())
        return kids[0] if len(kids) == 1 else ("or", kids)

    def p_and():
        kids = [p_not()]
        while peek() in ("AND", "word", "phrase", "("):
            if peek() == "AND":
                take()
            kids.append(p_not())
        return kids[0] if len(kids) == 1 else ("and", kids)

    def p_not():
        node = p_unary()
        while peek() == "NOT":
            take()
            node = ("andnot", node, p_unary())
        return node

    def p_unary():
        if peek() == "NOT":
            take()
            return ("not", p_unary())
        return p_primary()

    def p_primary():
        kind = peek()
        if kind in ("word", "phrase"):
            raw = take()[1]
            if not tokenize(raw):
                raise QueryError("%r has no searchable characters" % raw)
            return ("text", raw)
        if kind == "(":
            take()
            node = p_or()
            if peek() != ")":
                raise QueryError("expected ')'")
            take()
            return node
        raise QueryError("expected a word, phrase or '(' at token %d" % pos[0])

    tree = p_or()
    if pos[0] != len(toks):
        raise QueryError("unexpected ')'")
    return tree


def translate(node):
    """(positive, E): the node's set is MATCH E if positive, else all rows
    but MATCH E.  E is fully parenthesised FTS5 syntax."""
    def paren(expr):
        return expr if FTS5_STRING_RE.match(expr) else "(%s)" % expr

    def group(exprs, op):
        if len(exprs) == 1:
            return exprs[0]
        return (" %s " % op).join(paren(e) for e in exprs)

    def split(kids):
        pos, neg = [], []
        for kid in kids:
            positive, expr = translate(kid)
            (pos if positive else neg).append(expr)
        return pos, neg

    kind = node[0]
    if kind == "text":
        return True, '"%s"' % node[1].replace('"', '""')
    if kind == "not":
        positive, expr = translate(node[1])
        return not positive, expr
    if kind == "andnot":
        return translate(("and", [node[1], ("not", node[2])]))
    pos, neg = split(node[1])
    if kind == "and":
        # a AND b AND NOT c AND NOT d = (a AND b) NOT (c OR d)
        if not neg:
            return True, group(pos, "AND")
        if not pos:
            return False, group(neg, "OR")
        return True, "%s NOT %s" % (paren(group(pos, "AND")),
                                    paren(group(neg, "OR")))
    assert kind == "or"
    # a OR b OR NOT c OR NOT d = NOT ((c AND d) NOT (a OR b))
    if not neg:
        return True, group(pos, "OR")
    if not pos:
        return False, group(neg, "AND")
    return False, "%s NOT %s" % (paren(group(neg, "AND")),
                                 paren(group(pos, "OR")))


# ---- query generation -------------------------------------------------------

# Document-frequency bands for single terms: (low, high) inclusive.
DF_BANDS = [(1, 1), (2, 5), (6, 50), (51, 500), (501, 5000), (5001, 10 ** 9)]


class Generator:
    """Seeded query generator over the corpus' vocabulary and a sample of
    its documents.  All choices go through one random.Random and sorted
    inputs, so the same corpus and seed give the same queries."""

    def __init__(self, db, docs, seed):
        self.rng = random.Random(seed)
        rows = db.execute("SELECT term, doc FROM vocab ORDER BY term").fetchall()
        self.df = {t: d for t, d in rows}
        self.simple = [t for t, _ in rows if SIMPLE_TERM_RE.match(t)]
        self.bands = [[t for t in self.simple if lo <= self.df[t] <= hi]
                      for lo, hi in DF_BANDS]
        picks = self.rng.sample(range(len(docs)), min(600, len(docs)))
        self.samples = []   # (text, [(term, start, end)]) of sampled documents
        for i in sorted(picks):
            text = docs[i][1].decode("utf-8", "replace")
            toks = tokenize(text)
            if len(toks) >= 8:
                self.samples.append((text, toks))
        self.accented = set()   # words of the corpus that are not ASCII
        for _, data in docs:
            if not data.isascii():
                text = data.decode("utf-8", "replace")
                self.accented.update(w for w in TOKEN_RE.findall(text)
                                     if not w.isascii())
        self.accented = sorted(self.accented)
        self.out = []       # (category, query)

    def add(self, category, query):
        self.out.append((category, query))

    # leaves

    def term(self, band=None):
        pool = self.bands[band] if band is not None else self.simple
        return self.rng.choice(pool)

    def doc(self):
        return self.rng.choice(self.samples)

    def doc_terms(self, k):
        """k distinct lowercase alnum terms of one sampled document."""
        while True:
            _, toks = self.doc()
            distinct = sorted({t for t, _, _ in toks if SIMPLE_TERM_RE.match(t)})
            if len(distinct) >= k:
                return self.rng.sample(distinct, k)

    def phrase(self, k, surface=False):
        """k consecutive words of a sampled document, quoted: folded terms,
        or with surface=True the original text between them (case,
        punctuation and line breaks as written, white space collapsed)."""
        while True:
            text, toks = self.doc()
            i = self.rng.randrange(len(toks) - k + 1)
            span = toks[i:i + k]
            if surface:
                inner = " ".join(text[span[0][1]:span[-1][2]].split())
            else:
                inner = " ".join(t for t, _, _ in span)
            if '"' not in inner:
                return '"%s"' % inner

    def surface_word(self):
        """A white-space-separated word of a document that holds several
        tokens ("U.S.", "Iran's", "1,000"), used bare."""
        while True:
            text, _ = self.doc()
            words = [w.strip(".,;:") for w in text.split()]
            words = [w for w in words if len(TOKEN_RE.findall(w)) >= 2
                     and not any(c in w for c in '"()')]
            if words:
                return self.rng.choice(words)

    def absent(self):
        """A lowercase word that is in no document."""
        while True:
            w = "".join(self.rng.choice("bcdfghjklmnpqrstvwxz")
                        for _ in range(self.rng.randint(5, 8)))
            if w not in self.df:
                return w

    # random trees, rendered with as few parentheses as lode's precedence
    # allows (plus some redundant ones)

    PREC = {"or": 1, "and": 2, "andnot": 3, "not": 4, "leaf": 4}

    def tree(self, depth, leaves):
        rng = self.rng
        if depth == 0 or rng.random() < 0.25:
            r = rng.random()
            if r < 0.75:
                return ("leaf", rng.choice(leaves))
            if r < 0.9:
                return ("leaf", self.phrase(rng.randint(2, 3)))
            return ("leaf", self.term())
        op = rng.choice(["and", "and", "or", "or", "andnot", "andnot", "not"])
        if op == "not":
            return ("not", self.tree(depth - 1, leaves))
        if op == "andnot":
            return ("andnot", self.tree(depth - 1, leaves),
                    self.tree(depth - 1, leaves))
        return (op, [self.tree(depth - 1, leaves)
                     for _ in range(rng.randint(2, 3))])

    def render(self, node, need=1):
        kind = node[0]
        if kind == "leaf":
            text = node[1]
        elif kind == "not":
            text = "NOT " + self.render(node[1], 4)
        elif kind == "andnot":
            text = "%s NOT %s" % (self.render(node[1], 3), self.render(node[2], 4))
        elif kind == "and":
            text = ""
            for i, kid in enumerate(node[1]):
                if i:
                    text += " AND " if self.rng.random() < 0.5 else " "
                text += self.render(kid, 3)
        else:
            text = " OR ".join(self.render(kid, 2) for kid in node[1])
        if self.PREC[kind] < need or (kind != "leaf" and self.rng.random() < 0.1):
            text = "(%s)" % text
        return text

    # the query set

    def generate(self):
        rng = self.rng
        for band, (lo, hi) in enumerate(DF_BANDS):
            for t in rng.sample(self.bands[band], min(14, len(self.bands[band]))):
                self.add("term df %d-%s" % (lo, hi if hi < 10 ** 9 else "max"), t)
        for w in ("and", "or", "not", "near", "reuter", "0", "1987"):
            if w in self.df:
                self.add("term keyword-like", w)
        for _ in range(80):
            terms = self.doc_terms(rng.randint(2, 3))
            sep = " AND " if rng.random() < 0.5 else " "
            self.add("and co-occurring", sep.join(terms))
        for _ in range(50):
            k = rng.randint(2, 3)
            terms = [self.term(rng.randrange(len(DF_BANDS))) for _ in range(k)]
            self.add("or", " OR ".join(terms))
        for _ in range(50):
            a, b = self.doc_terms(2) if rng.random() < 0.7 else (
                self.term(rng.randint(2, 5)), self.term(rng.randint(2, 5)))
            self.add("a NOT b", "%s NOT %s" % (a, b))
        for k in (2, 3, 4):
            for _ in range(40):
                self.add("phrase %d" % k, self.phrase(k))
        for _ in range(30):
            self.add("phrase as written", self.phrase(rng.randint(2, 4), True))
        for _ in range(30):
            self.add("word with punctuation", self.surface_word())
        for w in self.accented[:10]:
            for q in sorted({w, w.upper(), fold(w)}):
                self.add("non-ASCII word", q)
        self.repeats()
        for _ in range(40):
            self.add("precedence", self.precedence())
        for _ in range(130):
            leaves = self.doc_terms(4)
            node = self.tree(rng.randint(2, 4), leaves)
            self.add("nested", self.render(node))
        self.leading_not()
        self.empty()
        return self.out

    def repeats(self):
        """Phrases with a repeated term ("2 2", "the of the"), and one term
        ANDed or ORed with itself."""
        found = []
        for _, toks in self.samples:
            terms = [t for t, _, _ in toks]
            for i in range(len(terms) - 2):
                if terms[i] == terms[i + 1] or terms[i] == terms[i + 2]:
                    found.append('"%s"' % " ".join(terms[i:i + 3]))
                if terms[i] == terms[i + 1]:
                    found.append('"%s %s"' % (terms[i], terms[i + 1]))
        found = sorted(set(found))
        for q in self.rng.sample(found, min(20, len(found))):
            self.add("phrase repeated term", q)
        for _ in range(5):
            t = self.term(self.rng.randint(1, 4))
            self.add("repeated operand", "%s AND %s" % (t, t))
            self.add("repeated operand", "%s OR %s" % (t, t))

    def precedence(self):
        a, b, c, d = self.doc_terms(4)
        forms = [
            "{a} OR {b} {c}", "{a} OR {b} AND {c}", "{a} {b} OR {c}",
            "{a} NOT {b} OR {c}", "{a} OR {b} NOT {c}", "{a} NOT {b} {c}",
            "({a} OR {b}) NOT {c}", "{a} AND ({b} OR {c}) NOT {d}",
            "{a} NOT {b} NOT {c}", "{a} NOT ({b} NOT {c})",
            "{a} ({b} OR {c})", "({a} OR {b}) ({c} OR {d})",
            "{a} OR {b} {c} OR {d}", "{a} {b} NOT {c} OR {d}",
            "{a} NOT NOT {b}", "{a} AND NOT {b}", "{a} OR NOT {b} {c}",
            "(({a}))", "{a} (({b} OR ({c})))",
        ]
        return self.rng.choice(forms).format(a=a, b=b, c=c, d=d)

    def leading_not(self):
        for band in range(len(DF_BANDS)):
            self.add("leading NOT", "NOT " + self.term(band))
        self.add("leading NOT", "NOT " + self.absent())
        for _ in range(14):
            a, b, c = self.doc_terms(3)
            form = self.rng.choice([
                "NOT ({a} OR {b})", "NOT {a} NOT {b}", "NOT NOT {a}",
                "NOT {a} {b}", "NOT {a} OR {b}", "NOT ({a} {b}) OR {c}",
                "NOT {a} AND NOT {b}", "NOT {p}", "{a} OR NOT ({b} OR {c})",
                "NOT ({a} NOT {b})",
            ])
            self.add("leading NOT", form.format(a=a, b=b, c=c,
                                                p=self.phrase(2)))

    def empty(self):
        """Queries that should match nothing (FTS5 decides)."""
        for _ in range(6):
            self.add("no result", self.absent())
        for _ in range(4):
            self.add("no result", '"%s %s"' % (self.term(3), self.absent()))
        for _ in range(8):
            a, b = self.rng.sample(self.bands[0], 2)
            self.add("no result", "%s AND %s" % (a, b))
        for _ in range(6):
            a, b = self.rng.sample(self.bands[0], 2)
            self.add("no result", '"%s %s"' % (a, b))
        for _ in range(6):
            t = self.term(self.rng.randint(1, 5))
            self.add("no result", "%s NOT %s" % (t, t))
        for _ in range(6):
            words = self.phrase(3)[1:-1].split()
            self.add("no result", '"%s"' % " ".join(reversed(words)))


def write_queries(path, queries, seed):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w") as f:
        f.write("# Reuters-21578 queries for bench/peers/fts5_compare.py, "
                "generated with --seed %d.\n" % seed)
        f.write("# One lode query a line; '# == NAME' starts a category.\n")
        last = None
        for category, query in queries:
            if category != last:
                f.write("# == %s\n" % category)
                last = category
            f.write(query + "\n")


def read_queries(path):
    out, category = [], "file"
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("# == "):
                category = line[5:]
            elif line.strip() and not line.startswith("#"):
                out.append((category, line))
    return out


# ---- running ----------------------------------------------------------------

def run_lode(lode, index, corpus, query):
    """(set of names relative to corpus, error or None)."""
    proc = subprocess.run([lode, "search", "-l", "-i", index, "--", query],
                          capture_output=True, text=True)
    if proc.returncode not in (0, 1):
        return None, "exit %d: %s" % (proc.returncode, proc.stderr.strip())
    prefix = corpus.rstrip(os.sep) + os.sep
    names = [line[len(prefix):] if line.startswith(prefix)
             else os.path.relpath(line, corpus)
             for line in proc.stdout.splitlines()]
    if len(set(names)) != len(names):
        return set(names), "a file is listed twice"
    return set(names), None


def run_fts5(db, all_rows, names, query):
    """(set of names, FTS5 expression, error or None)."""
    try:
        positive, expr = translate(parse(query))
    except QueryError as e:
        return None, "", "cannot translate: %s" % e
    try:
        rows = {r for (r,) in db.execute(
            "SELECT rowid FROM docs WHERE docs MATCH ?", (expr,))}
    except sqlite3.Error as e:
        return None, expr, "FTS5 error: %s" % e
    if not positive:
        rows = all_rows - rows
        expr = "all rows EXCEPT " + expr
    return {names[r - 1] for r in rows}, expr, None


def megabytes(n):
    return "%.1f MB" % (n / 1e6)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--corpus-tar", default=DEFAULT_TAR,
                    help="Reuters tarball (default ../shared/corpora/"
                         "reuters21578/reuters21578.tar.gz from the repository)")
    ap.add_argument("--workdir", default=DEFAULT_WORKDIR,
                    help="extraction and index directory (default build/compare)")
    ap.add_argument("--lode", default=os.path.join(ROOT, "lode"),
                    help="the lode binary (default ./lode of the repository)")
    ap.add_argument("--seed", type=int, default=1, help="query generator seed")
    ap.add_argument("--queries", metavar="FILE",
                    help="run the queries of FILE instead of generating them")
    ap.add_argument("--write-queries", nargs="?", const=DEFAULT_QUERY_FILE,
                    metavar="FILE", help="write the generated queries to FILE "
                    "(default bench/queries/reuters-compare.txt)")
    ap.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                    help="lode processes at once (default: CPUs)")
    args = ap.parse_args()

    workdir = args.workdir
    corpus = os.path.join(workdir, "reuters")
    index = os.path.join(workdir, "index")
    try:
        if not os.access(args.lode, os.X_OK):
            raise Failure("no lode binary at %s (run make)" % args.lode)
        t0 = time.monotonic()
        if extract(args.corpus_tar, workdir):
            print("extracted %s into %s in %.2f s" % (args.corpus_tar, workdir,
                                                     time.monotonic() - t0))
        docs = list_documents(corpus)
        names = [name for name, _ in docs]
        print("corpus: %s, %d files, %s" % (corpus, len(docs),
              megabytes(sum(len(d) for _, d in docs))))

        lode_s, lode_docs = lode_index(args.lode, index, corpus)
        if lode_docs is not None and lode_docs != len(docs):
            raise Failure("lode indexed %d documents, expected %d"
                          % (lode_docs, len(docs)))
        size = dir_bytes(index)
        print("lode index: %.2f s, %s in %s (%s without the stored text, "
              "text.z)" % (lode_s, megabytes(size), index,
                           megabytes(size - dir_bytes(index, "text.z"))))
        db_path = os.path.join(workdir, "fts5.db")
        db, fts5_s = fts5_index(db_path, docs)
        print("fts5 index: %.2f s, %s in %s (SQLite %s, tokenize=\"%s\")"
              % (fts5_s, megabytes(dir_bytes(db_path)), db_path,
                 sqlite3.sqlite_version, FTS5_TOKENIZE))

        if args.queries:
            queries = read_queries(args.queries)
            source = args.queries
        else:
            queries = Generator(db, docs, args.seed).generate()
            source = "generated with seed %d" % args.seed
            if args.write_queries:
                write_queries(args.write_queries, queries, args.seed)
                source += ", written to %s" % args.write_queries
            elif (args.seed == 1 and os.path.exists(DEFAULT_QUERY_FILE)
                  and read_queries(DEFAULT_QUERY_FILE) != queries):
                print("note: %s is not the generated set; rewrite it with "
                      "--write-queries" % DEFAULT_QUERY_FILE)
    except (Failure, OSError, tarfile.TarError) as e:
        print("fts5-compare: error: %s" % e, file=sys.stderr)
        return 2

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        lode_results = list(pool.map(
            lambda cq: run_lode(args.lode, index, corpus, cq[1]), queries))
    lode_q = time.monotonic() - t0

    all_rows = set(range(1, len(docs) + 1))
    t0 = time.monotonic()
    fts5_results = [run_fts5(db, all_rows, names, q) for _, q in queries]
    fts5_q = time.monotonic() - t0

    print("queries: %d (%s); lode %.2f s (%d processes, %d at once), "
          "fts5 %.2f s" % (len(queries), source, lode_q, len(queries),
                           max(1, args.jobs), fts5_q))

    per_category = collections.OrderedDict()
    different, empty = 0, 0
    for (category, query), (got, lode_err), (want, expr, fts5_err) in zip(
            queries, lode_results, fts5_results):
        ok = lode_err is None and fts5_err is None and got == want
        same, total = per_category.get(category, (0, 0))
        per_category[category] = (same + ok, total + 1)
        if ok:
            empty += not got
            continue
        different += 1
        print("\nDIFFERENT [%s] %s" % (category, query))
        print("  fts5: %s" % (expr or "-"))
        for side, err in (("lode", lode_err), ("fts5", fts5_err)):
            if err:
                print("  %s error: %s" % (side, err))
        if got is not None and want is not None:
            only_lode, only_fts5 = sorted(got - want), sorted(want - got)
            print("  lode %d files, fts5 %d, both %d" % (len(got), len(want),
                                                         len(got & want)))
            for side, only in (("lode", only_lode), ("fts5", only_fts5)):
                if only:
                    print("  only in %s (%d): %s%s" % (
                        side, len(only), " ".join(only[:EXAMPLES]),
                        " ..." if len(only) > EXAMPLES else ""))

    if different:
        print()
    width = max(len(c) for c in per_category)
    for category, (same, total) in per_category.items():
        print("  %-*s %4d/%d identical" % (width, category, same, total))
    sizes = sorted(len(got) for got, _ in lode_results if got is not None)
    if sizes:
        print("result sizes (lode): median %d files, max %d, %d files in all; "
              "%d identical queries matched nothing"
              % (sizes[len(sizes) // 2], sizes[-1], sum(sizes), empty))
    print("fts5-compare: %d queries, %d identical, %d different"
          % (len(queries), len(queries) - different, different))
    return 1 if different else 0


if __name__ == "__main__":
    sys.exit(main())
