#!/bin/sh
# One file larger than 2 GiB: lode indexes it, searches it and checks it.
# Not part of make test (it writes about 2.3 GB and takes a minute);
# run with `make test-large`.  LODE_BIN names the binary (default ./lode);
# TMPDIR where the file and index go.
set -eu
lode=${LODE_BIN:-./lode}
case $lode in /*) ;; *) lode=$(pwd)/$lode ;; esac
dir=$(mktemp -d "${TMPDIR:-/tmp}/lode-large.XXXXXX")
trap 'rm -rf "$dir"' EXIT INT TERM
mkdir "$dir/docs"

# The sample articles, doubled until the file passes 2 GiB, with a word of
# its own at the start, one in the middle and one at the end.
seed="$dir/seed.txt"
cat corpus/*.txt > "$seed"
while [ "$(wc -c < "$seed")" -lt 67108864 ]; do
	cat "$seed" "$seed" > "$seed.2" && mv "$seed.2" "$seed"
done
# Copies of the seed to pass 2 GiB, half before the middle word.
copies=$((2147483648 / $(wc -c < "$seed") + 1))
half=$((copies / 2))
big="$dir/docs/large.txt"
{
	echo "zyzzyvafirst"
	i=0; while [ $i -lt $half ]; do cat "$seed"; i=$((i + 1)); done
	echo "zyzzyvamiddle"
	while [ $i -lt $copies ]; do cat "$seed"; i=$((i + 1)); done
	echo "zyzzyvalast"
} > "$big"
rm "$seed"
size=$(wc -c < "$big")
[ "$size" -gt 2147483648 ] || { echo "large file: only $size bytes" >&2; exit 1; }

timed() {
	if [ -x /usr/bin/time ]; then
		/usr/bin/time -f "%e s, max RSS %M KB" "$@"
	else
		"$@"
	fi
}

echo "large file: $size bytes"
timed "$lode" index -i "$dir/index" "$dir/docs"
for q in zyzzyvafirst zyzzyvamiddle zyzzyvalast \
    '"Supreme National Security Council" AND zyzzyvalast'; do
	n=$(timed "$lode" search -c -i "$dir/index" "$q")
	[ "$n" = 1 ] || { echo "large file: '$q' matched $n, not 1" >&2; exit 1; }
done
timed "$lode" search -i "$dir/index" -n 1 zyzzyvalast > "$dir/out"
grep -q "large.txt" "$dir/out" || { cat "$dir/out" >&2; exit 1; }
timed "$lode" check -i "$dir/index"
echo "large file: ok"
