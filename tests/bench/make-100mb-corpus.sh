#!/usr/bin/env bash
# Makes the 100 MB corpus of docs/benchmarks.md ("5-gram on a 100 MB corpus"): text sampled from a
# char-level 8-gram Witten-Bell model of tiny Shakespeare, 100,000 characters per seed, seeds 1, 2, …
# until the file holds 100,000,000 bytes. Repeating one text would add no new n-grams; sampled text
# has Shakespeare's words and statistics but keeps producing new word sequences.
#   tests/bench/make-100mb-corpus.sh OUT.txt
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:?usage: make-100mb-corpus.sh OUT.txt}
target=100000000
bin=target/release/lmplay
[ -x "$bin" ] || cargo build --release -p lmplay --bin lmplay
: > "$out"
seed=1
while [ "$(stat -c %s "$out")" -lt "$target" ]; do
  "$bin" sample --corpus tests/data/tinyshakespeare.txt --tokenizer char --boundary none --order 8 \
    --smoothing witten-bell --valid-fraction 0.01 --seed 1 --sample-seed "$seed" --length 100000 \
    --alternatives 0 >> "$out"
  seed=$((seed + 1))
done
# Cut to exactly the target size, at a line end.
head -c "$target" "$out" | sed '$d' > "$out.tmp" && mv "$out.tmp" "$out"
echo "$out: $(stat -c %s "$out") bytes from $((seed - 1)) seeds" >&2
