#!/usr/bin/env python3
"""Reference for the byte-level BPE tokenizer (minbpe's RegexTokenizer, GPT-2 style), deterministic.

Regenerate the committed fixture (standard library plus the `regex` package, for \\p{L} and lookahead):

    pip install regex
    python3 tests/reference/bpe.py

It writes tests/reference/fixtures/bpe.json. The Rust tokenizer must reproduce every case exactly:
the same merges, in the same order, from the same training lines and vocabulary size, and the same
ids for every encoded line.

The rules (a line is a string without a newline):
1. Pre-split: regex.findall(PATTERN, line) with GPT-2's pattern, case-sensitive
       '(?:[sdmt]|ll|ve|re)| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
   (\\s is Unicode White_Space; \\p{L} and \\p{N} are the general categories L* and N*). Each piece is a
   chunk; merges never cross chunks. The pieces concatenate back to the line. Alternatives are tried
   in order at each position (leftmost-first, with backtracking): \\s+(?!\\S) takes a whitespace run
   less its last character when a non-space follows, so "a  b" gives "a", " ", " b" and "\\t\\tx" gives
   "\\t", "\\t", "x"; " 'tis" gives " '", "tis" (a contraction must start its own piece).
2. Bytes: a chunk is its UTF-8 bytes; ids 0..255 are the bytes; merge i (0-based) creates id 256 + i.
3. Training on lines with vocabulary size V >= 256 (at most V - 256 merges):
   - count each distinct chunk's frequency over all lines;
   - repeat: count every adjacent pair (a, b) over each distinct chunk's current ids, weighted by the
     chunk's frequency, overlapping positions included ("aaa" gives (a, a) twice);
   - take the pair with the highest count; ties go to the smallest (a, b), comparing a then b;
   - stop early when there is no pair or the best count is below 2;
   - record the merge and, in every chunk, replace the pair left to right without overlap (scan i from
     0: if (ids[i], ids[i+1]) == (a, b) emit the new id and skip 2, else emit ids[i] and skip 1).
4. Encoding a line: pre-split; each chunk starts as its bytes; repeatedly take, among its adjacent
   pairs, the one learned earliest (lowest new id), stop if none is a merge, else replace all its
   occurrences left to right without overlap. The line's ids are its chunks' ids concatenated (the
   empty line gives []). Decoding concatenates each id's bytes (a merged id's bytes are its two parts'
   bytes) and decodes UTF-8; one token may hold part of a character, a whole line decodes exactly.

bpe.json: {"pattern": PATTERN, "cases": [case...]}, each case
    {"name", "vocab_size": V, "train": [line...], "merges": [[a, b], ...] (merge i creates 256 + i),
     "encode": [{"text": line, "ids": [...]}, ...],
     "tokens": [hex of the bytes of id 256, 257, ... for the first 20 merges] (for reading only)}.
Cases: english (tiny Shakespeare, V 512), chinese (唐诗三百首, V 400, with a byte-fallback character),
mixed (hand-written English/中文/emoji/digits/whitespace, V 300), tiny_tie (tie-break, early stop,
non-overlapping replacement, the empty line). Texts are excerpts of the repository's built-in corpora
www/corpora/ (see its README for their licences).
"""
import json
import os

import regex

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")
CORPORA = os.path.join(HERE, "..", "..", "www", "corpora")
PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
SPLIT = regex.compile(PATTERN)
N_TOKENS_SHOWN = 20


def pre_split(line):
    chunks = SPLIT.findall(line)
    assert "".join(chunks) == line, "the pattern must cover every character"
    return chunks


def merge(ids, pair, new_id):
    """Replace pair by new_id left to right, without overlap: (a, a) in a a a gives new a."""
    out, i = [], 0
    while i < len(ids):
        if i + 1 < len(ids) and (ids[i], ids[i + 1]) == pair:
            out.append(new_id)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def pair_counts(chunks):
    """Adjacent pairs over {ids: frequency}, weighted; overlapping positions all count (minbpe)."""
    counts = {}
    for ids, freq in chunks.items():
        for pair in zip(ids, ids[1:]):
            counts[pair] = counts.get(pair, 0) + freq
    return counts


def train(lines, vocab_size):
    assert vocab_size >= 256
    freq = {}
    for line in lines:
        for chunk in pre_split(line):
            key = tuple(chunk.encode("utf-8"))
            freq[key] = freq.get(key, 0) + 1
    merges = []
    while 256 + len(merges) < vocab_size:
        counts = pair_counts(freq)
        if not counts:
            break
        # Highest count; among equals the smallest pair, so the result does not depend on dict order.
        pair = min(counts, key=lambda p: (-counts[p], p))
        if counts[pair] < 2:
            break
        new_id = 256 + len(merges)
        merges.append(pair)
        # Merging is invertible (decoding gives the bytes back), so distinct chunks stay distinct keys.
        freq = {tuple(merge(list(ids), pair, new_id)): f for ids, f in freq.items()}
    return merges


def encode_chunk(data, ranks):
    """Greedy by rank: merge the earliest-learned pair present, until no pair is a merge."""
    ids = list(data)
    while len(ids) >= 2:
        pair = min(zip(ids, ids[1:]), key=lambda p: ranks.get(p, float("inf")))
        if pair not in ranks:
            break
        ids = merge(ids, pair, 256 + ranks[pair])
    return ids


def encode(line, merges):
    ranks = {pair: i for i, pair in enumerate(merges)}
    return [t for chunk in pre_split(line) for t in encode_chunk(chunk.encode("utf-8"), ranks)]


def encode_in_training_order(line, merges):
    """A second encoder for cross-checking: apply every merge in the order it was learned."""
    out = []
    for chunk in pre_split(line):
        ids = list(chunk.encode("utf-8"))
        for i, pair in enumerate(merges):
            ids = merge(ids, pair, 256 + i)
        out += ids
    return out


def token_bytes(merges):
    vocab = [bytes([b]) for b in range(256)]
    for a, b in merges:
        vocab.append(vocab[a] + vocab[b])
    return vocab


def decode(ids, vocab):
    return b"".join(vocab[t] for t in ids).decode("utf-8")


def read_lines(name):
    with open(os.path.join(CORPORA, name), encoding="utf-8") as f:
        return f.read().split("\n")


def case(name, vocab_size, train_lines, encode_lines):
    merges = train(train_lines, vocab_size)
    vocab = token_bytes(merges)
    encoded = []
    for text in encode_lines:
        assert "\n" not in text
        ids = encode(text, merges)
        assert ids == encode_in_training_order(text, merges), (name, text)
        assert decode(ids, vocab) == text, (name, text)
        encoded.append({"text": text, "ids": ids})
    return {
        "name": name,
        "vocab_size": vocab_size,
        "train": train_lines,
        "merges": [list(p) for p in merges],
        "encode": encoded,
        "tokens": [vocab[256 + i].hex() for i in range(min(N_TOKENS_SHOWN, len(merges)))],
    }


def held_out(lines, start, texts):
    """Lines taken from later in the corpus (checked), so they are not in the training excerpt."""
    later = set(lines[start:])
    for t in texts:
        assert t in later, t
    return texts


def english():
    raw = read_lines("shakespeare.txt")
    nonempty = [i for i, l in enumerate(raw) if l]
    train_lines = [raw[i] for i in nonempty[:300]]
    end = nonempty[299] + 1
    tests = held_out(raw, end, [
        "I'll buy him of you.",                            # 'll splits off; "I" stays a letter chunk
        "Take't; 'tis yours. What is't?",                  # 't before a letter and before punctuation
        "But what's the matter, Clarence?  may I know?",   # two spaces: "? " then " may"
        "Twice being  ",                                   # trailing whitespace: \s+ at the end
        "Go, get you to your house; be gone, away!",
        "GLOUCESTER:",
    ])
    tests += [
        # Line 20,848 of the full tiny Shakespeare (the repository keeps only its first 200k characters);
        # the only digits in the corpus.
        "3 KING HENRY VI",
        # Hand-written: leading, inner and trailing runs of spaces, and a tab.
        "   What,  ho!    Lucius!\tthou  art   fast asleep?   ",
    ]
    return case("english", 512, train_lines, tests)


def chinese():
    raw = read_lines("tang300.txt")
    nonempty = [i for i, l in enumerate(raw) if l]
    train_lines = [raw[i] for i in nonempty[:150]]
    end = nonempty[149] + 1
    tests = held_out(raw, end, CHINESE_HELD_OUT)
    c = case("chinese", 400, train_lines, tests)
    # Byte fallback: a character never seen in training comes out as its raw UTF-8 bytes.
    seen = set("".join(train_lines))
    assert FALLBACK_CHAR not in seen and any(FALLBACK_CHAR in t for t in tests)
    vocab = token_bytes([tuple(m) for m in c["merges"]])
    for e in c["encode"]:
        at = e["text"].find(FALLBACK_CHAR)
        if at < 0:
            continue
        start = len(e["text"][:at].encode("utf-8"))
        span = range(start, start + len(FALLBACK_CHAR.encode("utf-8")))
        offset = 0
        for t in e["ids"]:
            # Every token that holds a byte of the character is that single byte.
            if offset + len(vocab[t]) > span.start and offset < span.stop:
                assert t < 256 and offset in span, (e["text"], t)
            offset += len(vocab[t])
    return c


# Held-out Tang lines (after the training excerpt). 瑤 never occurs in the first 150 lines and none of
# its byte pairs (nor a pair with its neighbours' bytes) is a learned merge: three single-byte tokens.
FALLBACK_CHAR = "瑤"
CHINESE_HELD_OUT = [
    "瑤池",                                # a title
    "瑤池阿母綺窗開，黃竹歌聲動地哀。",    # several unseen characters
    "李商隱",                              # an author seen often in training: one token
    "相見時難別亦難，東風無力百花殘。",
    "無題二首 一",                         # a title with a space: " 一" is one chunk
    "神女生涯原是夢，小姑居處本無郎。",
]


def mixed():
    lines = MIXED_TRAIN
    return case("mixed", 300, lines, lines + MIXED_NEW)


# Invisible characters are escaped: \t tab, \u200d zero-width joiner (👩\u200d💻 is one emoji of three
# code points), \u0301 combining acute (a mark, not a letter: it ends the letter chunk), \u3000
# ideographic space (whitespace).
MIXED_TRAIN = [
    "Hello, world! 你好，世界！",
    "The year is 2026 and π ≈ 3.14.",
    "Wait?!... Really?!... 真的吗？",
    "I'm coding 👩\u200d💻 all night; she's not, IT'S late.",
    "Flags: 🇯🇵 🇨🇳 🇫🇷 — go!",
    "Tabs\tand\t\tspaces   between    words",
    "学习 machine learning 很有趣 😀😀😀",
    "价格是 3.14 元，不是 2026 元。",
    "We've got 100 tokens, they'll see, you're right, I'd go.",
    "café naïve cafe\u0301",
    "  leading spaces and trailing tabs\t\t",
    "「引号」和《书名号》…… ok!!!",
    "👍🏽 thumbs up, 👍 again 👍",
    "日本語も少し：東京 2026年",
    "ＡＢＣ full-width ２０２６ digits",
    "e-mail: someone@example.com (not real)",
    "x² + y² = z², ½ of Ⅻ",
    "THE END? the end. The End!",
    "a\u3000b 中\u3000文",
    "中文English混合mixed123数字",
]
MIXED_NEW = [
    "Hello again, 世界 👩\u200d💻 in 2026?!...",
    "🇨🇳🇯🇵 back to back flags",
    "\t\tindented with tabs, then   spaces",
    "Unseen: Ωμέγα ß ж 🐉",
]


def tiny_tie():
    # Counts at the first step: (a,a) 3 (overlapping, in "aaaa"), (b,a) 3, (a,b) 2, (' ',b) 1: the tie
    # goes to (a,a) < (b,a), although minbpe's dict order would pick (b,a) (seen first). "aaaa" becomes
    # [256, 256] without overlap, then (b,a) 3 -> 257, then every pair counts 1: early stop at 2 merges.
    train_lines = ["ba ba", "abab", "aaaa"]
    tests = ["aaaa", "aaa", "aaaaa", "", "ba ba", "abab", "abba baab", "  aab"]
    c = case("tiny_tie", 300, train_lines, tests)
    assert c["merges"] == [[97, 97], [98, 97]], c["merges"]
    return c


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    cases = [english(), chinese(), mixed(), tiny_tie()]
    path = os.path.join(OUT, "bpe.json")
    with open(path, "w", encoding="utf-8") as f:
        json.dump({"pattern": PATTERN, "cases": cases}, f, ensure_ascii=False)
    for c in cases:
        vocab = token_bytes([tuple(m) for m in c["merges"]])
        first = [vocab[256 + i] for i in range(min(5, len(c["merges"])))]
        print(f"{c['name']}: V {c['vocab_size']}, {len(c['merges'])} merges learned "
              f"(of {c['vocab_size'] - 256}), {len(c['encode'])} lines encoded; first merges {first}")
    print("wrote", path, os.path.getsize(path), "bytes; every encoded line decodes back to itself")
