#!/usr/bin/env python3
"""Continue in PyTorch: an exported playground Transformer loads into `GPT` (transformer.py) and
gives the playground's next-token distribution.

    cargo build --release
    python3 tests/reference/check_export.py [corpus]      # needs torch only

It trains a small model with the CLI for every positional encoding (`lmplay train … --save`), loads
each file with `GPT.from_safetensors` (settings from the file's metadata, strict names and shapes),
and compares P(next | prompt) with `lmplay view next --load FILE` within 1e-5. From there,
`GPT` trains like any PyTorch module (and torch's own distributed training takes over).
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformer import BOS, EOS, GPT, read_safetensors  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
LMPLAY = os.path.join(ROOT, "target", "release", "lmplay")
PROMPT = "ROMEO:"


def main():
    corpus = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "tests", "data", "tinyshakespeare.txt")
    with open(corpus, encoding="utf-8") as f:
        text = f.read()[:100_000]
    worst = 0.0
    with tempfile.TemporaryDirectory() as tmp:
        small = os.path.join(tmp, "corpus.txt")
        with open(small, "w", encoding="utf-8") as f:
            f.write(text)
        for pos in ["learned", "sinusoidal", "relative", "alibi", "rope", "none"]:
            path = os.path.join(tmp, f"{pos}.safetensors")
            subprocess.run([LMPLAY, "train", "--model", "transformer", "--layers", "2", "--heads", "2", "--width", "16",
                            "--context", "16", "--batch", "4", "--steps", "30", "--pos", pos, "--tokenizer", "char",
                            "--boundary", "none", "--split", "contiguous", "--corpus", small, "--save", path, "--quiet"],
                           check=True, stdout=subprocess.DEVNULL)
            tensors, meta = read_safetensors(path)
            v = json.loads(meta["vocab"])
            vocab = v["tokens"]
            model = GPT.from_safetensors(path).double()
            model.sin = model.sin.double()
            out = subprocess.run([LMPLAY, "view", "next", "--load", path, "--args",
                                  json.dumps({"context": PROMPT, "k": len(vocab)})], check=True, capture_output=True, text=True)
            theirs = {t["id"]: t["prob"] for t in json.loads(out.stdout)["top"]}
            ids = torch.tensor([[BOS] + [vocab.index(ch) for ch in PROMPT]])
            with torch.no_grad():
                logits = model(ids)[0, -1]
                logits[BOS] = float("-inf")  # never predicted; nor is </s> without boundaries
                if not v["predicts_eos"]:
                    logits[EOS] = float("-inf")
                ours = torch.softmax(logits, -1)
            err = max(abs(ours[i].item() - theirs.get(i, 0.0)) for i in range(len(vocab)))
            worst = max(worst, err)
            print(f"{pos:11s} max |P_torch - P_playground| = {err:.2e}")
    assert worst < 1e-5, worst
    print("ok: the exported models load in PyTorch and agree")


if __name__ == "__main__":
    main()
