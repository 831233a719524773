#!/usr/bin/env bash
# Makes the 100 MB corpus of docs/benchmarks.md ("5-gram on a 100 MB corpus"): text sampled from a
# char-level 8-gram Witten-Bell model of tiny Shakespeare, 100,000 characters for each sample seed
# 1..1000, concatenated in seed order and cut to 100,000,000 bytes at a line end. Repeating one text
# would add no new n-grams; sampled text has Shakespeare's words and statistics but keeps producing
# new word sequences. The same command always gives the same file.
#   tests/bench/make-100mb-corpus.sh OUT.txt [JOBS]
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: make-100mb-corpus.sh OUT.txt [JOBS]}
jobs=${2:-2}
target=100000000
bin=target/release/lmplay
[ -x "$bin" ] || cargo build --release -p lmplay --bin lmplay
parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT
seq 1 1000 | xargs -P "$jobs" -I{} sh -c '"$0" sample --corpus tests/data/tinyshakespeare.txt --tokenizer char \
  --boundary none --order 8 --smoothing witten-bell --valid-fraction 0.01 --seed 1 --sample-seed {} \
  --length 100000 --alternatives 0 > "$1/{}.txt"' "$bin" "$parts"
for i in $(seq 1 1000); do cat "$parts/$i.txt"; done > "$parts/all.txt"
head -c "$target" "$parts/all.txt" | sed '$d' > "$out"
echo "$out: $(stat -c %s "$out") bytes" >&2
