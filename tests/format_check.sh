#!/bin/sh
# format_check.sh -- the index format against FORMAT.md, in make test.
#
# tests/format_reader.py, written from FORMAT.md alone, decodes the golden
# index and fresh indexes of corpus/ (plain and stemmed) and of a generated
# corpus whose common words span many blocks (skip tables, impact lists,
# exceptions), checks every structure the specification describes, and
# compares every term's documents, and sampled phrases, with what
# $LODE_BIN (default ./lode) answers.  Run from the repository root.
set -eu
lode=${LODE_BIN:-./lode}
dir=$(mktemp -d "${TMPDIR:-/tmp}/lode-format-XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
check() {
	python3 tests/format_reader.py "$@" >"$dir/log" 2>&1 || {
		cat "$dir/log" >&2
		echo "format_check: $1 does not read as FORMAT.md says" >&2
		exit 1
	}
	grep -E "^seg |^problems" "$dir/log" | sed "s|^|format_check: $1: |"
}
check tests/golden/index --lode "$lode" --phrases 100
"$lode" index -q -i "$dir/corpus" corpus
check "$dir/corpus" --lode "$lode" --phrases 300
"$lode" index -q --stem english -i "$dir/stem" corpus
check "$dir/stem" --lode "$lode" --phrases 200
# 600 documents of 20-200 words drawn from 300 by a Zipf-like law, seeded.
python3 - "$dir/gen" <<'PY'
import os, random, sys
rng = random.Random(7)
words = [f"w{i}" for i in range(300)]
weights = [1 / (i + 1) for i in range(300)]
os.makedirs(sys.argv[1])
for d in range(600):
    n = rng.randint(20, 200)
    with open(os.path.join(sys.argv[1], f"{d:04d}.txt"), "w") as f:
        f.write(" ".join(rng.choices(words, weights, k=n)) + "\n")
PY
"$lode" index -q -i "$dir/gen.idx" "$dir/gen"
check "$dir/gen.idx" --lode "$lode" --phrases 300
