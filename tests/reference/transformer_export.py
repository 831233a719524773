#!/usr/bin/env python3
"""The exported-model fixtures: model files trained by the playground's CLI, and the logits the
PyTorch loader (tests/reference/lmplay_torch.py) computes from them. The Rust test
`nn::reference_tests::exported` loads the same files through the core's model-file path and must
give the same logits (and, through `Session::load`, the same next-token distributions) within 1e-5.

Regenerate both (needs the CLI built, `cargo build --release -p lmplay --bin lmplay`, and torch):

    python3 tests/reference/transformer_export.py

For each case it trains a tiny 2-layer Transformer on the first 120 lines of
tests/data/tinyshakespeare.txt with `lmplay train … --save tests/reference/fixtures/transformer_export_<case>.safetensors`,
loads it with `lmplay_torch.load` in float64, and writes transformer_export_<case>.json: the model
file's name, `tokens` (the encoded last lines of the corpus, context + 1 ids: row t reads tokens[:t+1]
and predicts tokens[t+1]), `logits` [T*V] before the mask, `loss` (mean cross-entropy in nats over the
targets that are not <s>).

It then checks the loader against the playground itself (a self-check, not a fixture): for a few
prompts, the float32 loader's next-token distribution against `lmplay view next --load FILE`, and
prints the largest relative differences. With `--all` it also trains and self-checks, in a temporary
folder, the other encodings, the word tokenizer and boundary `none` (not committed).
"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import lmplay_torch  # noqa: E402

OUT = os.path.join(HERE, "fixtures")
LMPLAY = os.environ.get("LMPLAY", os.path.join(ROOT, "target", "release", "lmplay"))
SHAPE = ["--layers", "2", "--heads", "2", "--width", "16", "--ffn", "24", "--context", "16"]
RECIPE = ["--batch", "8", "--steps", "60", "--lr", "3e-3", "--warmup", "10", "--eval-interval", "30", "--seed", "11"]
CASES = [  # name, flags: between them every kind of tensor the family writes
    ("learned", ["--pos", "learned"]),
    ("rope_sparse_post", ["--pos", "rope", "--attention", "sparse", "--window", "4", "--stride", "4",
                          "--norm", "post", "--activation", "gelu", "--untied"]),
]
EXTRA = [  # `--all`: self-checked against the CLI too, in a temporary folder, not committed
    ("sinusoidal", ["--pos", "sinusoidal"]),
    ("relative", ["--pos", "relative", "--rel-clip", "3", "--norm", "post"]),
    ("alibi_untied", ["--pos", "alibi", "--untied", "--activation", "gelu"]),
    ("none_sparse", ["--pos", "none", "--attention", "sparse", "--window", "3", "--stride", "5"]),
    ("word_lowercase", ["--tokenizer", "word", "--lowercase"]),
    ("char_no_boundary", ["--boundary", "none"]),
]
PROMPTS = ["", "First Citizen:\nWe", "MENENIUS:\nWhat work's, my countrymen, in hand? Where go you"]


def corpus():
    with open(os.path.join(ROOT, "tests", "data", "tinyshakespeare.txt"), encoding="utf-8") as f:
        return "".join(f.readlines()[:120])


def rel(a, b, floor=0.0):
    """max |a − b| / max(|b|, floor) over the entries."""
    return ((a - b).abs() / b.abs().clamp(min=floor)).max().item()


def fixture(name, flags, text, corpus_path, out=OUT):
    model = os.path.join(out, f"transformer_export_{name}.safetensors")
    subprocess.run([LMPLAY, "train", "--model", "transformer", *SHAPE, *RECIPE, *flags,
                    *([] if "--tokenizer" in flags else ["--tokenizer", "char"]), "--corpus", corpus_path,
                    "--save", model], check=True, stdout=subprocess.DEVNULL)
    lm = lmplay_torch.load(model, dtype=torch.float64)
    t = lm.cfg["context"]
    ids = lm.encode_text("\n".join(text.splitlines()[-4:]))[:t + 1]
    assert len(ids) == t + 1, "the sample text is shorter than the context"
    idx, tgt = torch.tensor([ids[:-1]]), torch.tensor(ids[1:])
    with torch.no_grad():
        raw = lm.model(idx)[0]  # [T, V], before the mask
        masked = lm.logits(idx)[0]
        keep = tgt != lmplay_torch.BOS
        loss = F.cross_entropy(masked[keep], tgt[keep]).item()
    fx = dict(model=os.path.basename(model), context=t, vocab_size=lm.cfg["vocab_size"], tokens=ids,
              logits=[float(x) for x in raw.reshape(-1).tolist()], loss=loss)
    path = os.path.join(out, f"transformer_export_{name}.json")
    with open(path, "w") as f:
        json.dump(fx, f)
    print(f"{name}: {os.path.getsize(model)} + {os.path.getsize(path)} bytes, loss {loss:.6f}")
    self_check(name, model, raw, idx)


def self_check(name, model, raw64, idx):
    """The float32 loader against the float64 one, and against the playground's own CLI."""
    lm = lmplay_torch.load(model)
    with torch.no_grad():
        raw32 = lm.model(idx)[0].double()
    pred = [i for i in range(lm.cfg["vocab_size"]) if i not in lm.unpredictable()]
    print(f"  float32 loader vs float64 logits: max rel {rel(raw32[:, pred], raw64[:, pred], 1e-3 * raw64.abs().max().item()):.2e}")
    for prompt in PROMPTS:
        out = subprocess.run([LMPLAY, "view", "next", "--load", model, "--args",
                              json.dumps({"context": prompt, "k": lm.cfg["vocab_size"]})],
                             check=True, capture_output=True, text=True).stdout
        cli = torch.zeros(lm.cfg["vocab_size"], dtype=torch.float64)
        for e in json.loads(out)["top"]:
            cli[e["id"]] = e["prob"]
        p = lm.next_distribution(prompt)
        pr = rel(p[pred], cli[pred])
        lr = rel(p[pred].log(), cli[pred].log())
        print(f"  prompt {prompt[-20:]!r}: next-token probabilities max rel {pr:.2e}, log-probabilities {lr:.2e}")
        assert pr < 1e-4, f"{name}: the loader disagrees with the playground on {prompt!r}"


if __name__ == "__main__":
    text = corpus()
    with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as f:
        f.write(text)
    try:
        for name, flags in CASES:
            fixture(name, flags, text, f.name)
        if "--all" in sys.argv:
            with tempfile.TemporaryDirectory() as tmp:
                for name, flags in EXTRA:
                    fixture(name, flags, text, f.name, out=tmp)
    finally:
        os.unlink(f.name)
    print("with torch", torch.__version__)
