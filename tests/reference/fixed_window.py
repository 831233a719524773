#!/usr/bin/env python3
"""PyTorch reference for the fixed-window neural LM and its ops (llm.c's test_gpt2.c, in spirit).

Regenerate the committed fixtures (CI never needs PyTorch):

    pip install torch            # the CPU build is enough
    python3 tests/reference/fixed_window.py

It builds the course's fixed-window model from given weights and inputs,
    e = concat(E[x_{t-n}], ..., E[x_{t-1}]);  h = f(W e + b1);  y = softmax(U h + b2),
with <s> (and </s> when the data has no boundaries) masked to -inf before the softmax, and writes
tests/reference/fixtures/fixed_window_<activation>.json with: the weights, the token stream and the
batch positions, the logits, the mean cross-entropy, every parameter's gradient, and, for SGD with
momentum, Adam and AdamW (warm-up + cosine learning rate, gradient clipping by global norm), the
loss of each of 5 optimizer steps and the loss after them. It also writes ops.json: single ops
(GELU, LayerNorm, log-softmax, softmax) with inputs, outputs and input gradients.
The Rust tests (crate/src/nn/reference_tests.rs) load these files and must match within 1e-5.
"""
import json
import math
import os

import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
BOS, EOS = 1, 2


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def windows(stream, positions, n):
    """The n tokens before each position, padded with <s> on the left."""
    return torch.tensor([[stream[p - k] if p >= k else BOS for k in range(n, 0, -1)] for p in positions])


def lr_at(step, lr, warmup, total, min_ratio):
    """Linear warm-up, then cosine to min_ratio * lr (crate/src/nn/optim/schedule.rs)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    lo = lr * min_ratio
    return lo + (lr - lo) * 0.5 * (1 + math.cos(math.pi * progress))


class FixedWindow(torch.nn.Module):
    def __init__(self, V, n, d, H, act, mask):
        super().__init__()
        self.n, self.act = n, act
        self.embedding = torch.nn.Embedding(V, d)
        self.hidden = torch.nn.Linear(n * d, H)
        self.output = torch.nn.Linear(H, V)
        self.register_buffer("mask", mask)

    def forward(self, ctx, targets):
        B = ctx.shape[0]
        e = self.embedding(ctx).reshape(B, -1)
        h = {"tanh": torch.tanh, "relu": torch.relu}[self.act](self.hidden(e))
        logits = self.output(h)
        masked = logits.masked_fill(self.mask, float("-inf"))
        return logits, torch.nn.functional.cross_entropy(masked, targets)


def params(model):
    return {
        "embedding.weight": model.embedding.weight,
        "hidden.weight": model.hidden.weight,
        "hidden.bias": model.hidden.bias,
        "output.weight": model.output.weight,
        "output.bias": model.output.bias,
    }


def fixture(act, predicts_eos):
    V, n, d, H, B = 13, 3, 5, 7, 6
    g = torch.Generator().manual_seed(7 if act == "tanh" else 8)
    # A boundary-marked stream: <s> w w ... </s> <s> ... (or one <s> and no </s> without boundaries).
    stream = [BOS]
    while len(stream) < 48:
        words = torch.randint(3, V, (int(torch.randint(2, 7, (1,), generator=g)),), generator=g).tolist()
        stream += words + ([EOS, BOS] if predicts_eos else [])
    stream = stream[:48]
    if stream[-1] == BOS:
        stream[-1] = 5
    predicted = [i for i, t in enumerate(stream) if t != BOS]
    mask = torch.zeros(V, dtype=torch.bool)
    mask[BOS] = True
    if not predicts_eos:
        mask[EOS] = True

    model = FixedWindow(V, n, d, H, act, mask)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    weights = {k: {"shape": list(v.shape), "data": flat(v)} for k, v in params(model).items()}

    def batch(step):
        idx = torch.randint(0, len(predicted), (B,), generator=torch.Generator().manual_seed(100 + step)).tolist()
        return [predicted[i] for i in idx]

    positions = batch(0)
    ctx, tgt = windows(stream, positions, n), torch.tensor([stream[p] for p in positions])
    logits, loss = model(ctx, tgt)
    loss.backward()
    out = {
        "activation": act,
        "vocab_size": V, "context": n, "embed": d, "hidden": H, "predicts_eos": predicts_eos,
        "stream": stream, "positions": positions,
        "weights": weights,
        "logits": flat(logits),
        "loss": loss.item(),
        "grads": {k: flat(v.grad) for k, v in params(model).items()},
        "training": [],
    }

    steps, warmup, lr, clip, min_ratio = 5, 2, 0.05, 0.5, 0.1
    for name, make in [
        ("sgd", lambda ps: torch.optim.SGD(ps, lr=lr, momentum=0.9, weight_decay=0.01)),
        ("adam", lambda ps: torch.optim.Adam(ps, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.01, foreach=False)),
        ("adamw", lambda ps: torch.optim.AdamW(ps, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1, foreach=False)),
    ]:
        m = FixedWindow(V, n, d, H, act, mask)
        m.load_state_dict(model.state_dict())
        opt = make(m.parameters())
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_at(s, lr, warmup, steps, min_ratio) / lr)
        losses, norms, batches = [], [], []
        for s in range(steps):
            pos = batch(s)
            batches.append(pos)
            opt.zero_grad()
            _, l = m(windows(stream, pos, n), torch.tensor([stream[p] for p in pos]))
            l.backward()
            norms.append(float(torch.nn.utils.clip_grad_norm_(m.parameters(), clip)))
            opt.step()
            sched.step()
            losses.append(l.item())
        with torch.no_grad():
            _, final = m(ctx, tgt)
        out["training"].append({
            "optimizer": name, "lr": lr, "warmup": warmup, "steps": steps, "min_lr_ratio": min_ratio, "clip": clip,
            "momentum": 0.9, "weight_decay": 0.01 if name != "adamw" else 0.1,
            "batches": batches, "losses": losses, "grad_norms": norms, "final_loss": float(final),
        })
    return out


def ops():
    g = torch.Generator().manual_seed(3)
    out = {}
    x = torch.randn(4, 9, generator=g, requires_grad=True)
    w = torch.randn(4, 9, generator=g)
    for name, f in [
        ("gelu", lambda x: torch.nn.functional.gelu(x, approximate="tanh")),
        ("sigmoid", torch.sigmoid),
        ("softmax", lambda x: torch.softmax(x, -1)),
        ("log_softmax", lambda x: torch.log_softmax(x, -1)),
    ]:
        x.grad = None
        y = f(x)
        (y * w).sum().backward()
        out[name] = {"shape": [4, 9], "x": flat(x), "w": flat(w), "y": flat(y), "dx": flat(x.grad)}
    ln = torch.nn.LayerNorm(9)
    with torch.no_grad():
        ln.weight.copy_(torch.randn(9, generator=g))
        ln.bias.copy_(torch.randn(9, generator=g))
    x.grad = None
    y = ln(x)
    (y * w).sum().backward()
    out["layernorm"] = {"shape": [4, 9], "x": flat(x), "w": flat(w), "weight": flat(ln.weight), "bias": flat(ln.bias),
                        "y": flat(y), "dx": flat(x.grad), "dweight": flat(ln.weight.grad), "dbias": flat(ln.bias.grad)}
    return out


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for act, eos in [("tanh", True), ("relu", False)]:
        with open(os.path.join(OUT, f"fixed_window_{act}.json"), "w") as f:
            json.dump(fixture(act, eos), f)
    with open(os.path.join(OUT, "ops.json"), "w") as f:
        json.dump(ops(), f)
    print("wrote", sorted(os.listdir(OUT)), "with torch", torch.__version__)
