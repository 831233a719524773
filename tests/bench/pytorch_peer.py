"""The PyTorch peers of the two training benchmarks, timed on this machine in the same session as ours.

    /path/to/venv/bin/python tests/bench/pytorch_peer.py [--threads 1] [--steps 60] [--only transformer|lstm]
    /path/to/venv/bin/python tests/bench/pytorch_peer.py --serve     (driven by tests/bench/peer.mjs)

Prints one JSON line per model: training tokens/s of PyTorch eager on the CPU (median of the timed
steps after a warm-up), for the models of `transformer-train-char` and `lstm-train-char`:

* nanoGPT's CPU configuration (4 layers, 4 heads, width 128, context 64, batch 12, V = 65, dropout 0,
  tied embeddings), written as nanoGPT's model.py writes it (LayerNorm with bias, one c_attn,
  `scaled_dot_product_attention(is_causal=True)`, GELU MLP), AdamW (0.9, 0.99), weight decay 0.1 on
  matrices, clip 1.0;
* the character LSTM (E = 64, H = 128, one layer, BPTT 64, batch 32, V = 65), Adam 2e-3, clip 1.0.

The data are random token ids: the time of a step does not depend on them. Not part of the suite (it
needs PyTorch); docs/benchmarks.md quotes its output next to ours.

With `--serve` it builds both models once and then answers lines `MODEL STEPS WARMUP CHUNK` on stdin
with one JSON line each (STEPS timed updates after WARMUP, the median over chunks of CHUNK steps), so
`peer.mjs` can alternate short runs of it and of ours: on a shared machine whose speed drifts by ±30 % within minutes, only runs side by side in
time compare.
"""
import argparse
import json
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, c, heads):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(c)
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        self.ln_2 = nn.LayerNorm(c)
        self.c_fc = nn.Linear(c, 4 * c)
        self.mlp_proj = nn.Linear(4 * c, c)

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(b, t, c))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x))))


class GPT(nn.Module):
    def __init__(self, v, ctx, c, layers, heads):
        super().__init__()
        self.wte = nn.Embedding(v, c)
        self.wpe = nn.Embedding(ctx, c)
        self.h = nn.ModuleList(Block(c, heads) for _ in range(layers))
        self.ln_f = nn.LayerNorm(c)
        self.lm_head = nn.Linear(c, v, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as nanoGPT

    def forward(self, idx, targets):
        x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
        for blk in self.h:
            x = blk(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))


class CharLSTM(nn.Module):
    def __init__(self, v, e, h):
        super().__init__()
        self.embedding = nn.Embedding(v, e)
        self.rnn = nn.LSTM(e, h, batch_first=True)
        self.output = nn.Linear(h, v)

    def forward(self, idx, targets, state):
        out, state = self.rnn(self.embedding(idx), state)
        logits = self.output(out)
        return F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1)), state


def measure(name, tokens_per_step, model, opt, loss_of_step, steps, warmup, chunk=1):
    """Times `steps` updates (after `warmup`): forward (`loss_of_step()`), backward, clip 1.0, step.
    The figure is the median over chunks of `chunk` consecutive steps (1: the median step), so that
    `peer.mjs` can take the same statistic as ours (the median of 3 runs of 10 steps)."""
    times = []
    for i in range(warmup + steps):
        t0 = time.perf_counter()
        loss = loss_of_step()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    chunks = [sum(times[i:i + chunk]) / len(times[i:i + chunk]) for i in range(0, len(times), chunk)]
    s = statistics.median(chunks)
    return {"model": name, "tokens_per_step": tokens_per_step, "median_step_ms": s * 1e3, "tokens_per_s": tokens_per_step / s}


def transformer():
    """The model and its optimizer; returns run(steps, warmup)."""
    v, ctx, batch = 65, 64, 12
    model = GPT(v, ctx, 128, 4, 4)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    rest = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=1e-3, betas=(0.9, 0.99))
    idx, tgt = torch.randint(v, (batch, ctx)), torch.randint(v, (batch, ctx))
    return lambda steps, warmup, chunk=1: measure("transformer", batch * ctx, model, opt, lambda: model(idx, tgt), steps, warmup, chunk)


def lstm():
    v, bptt, batch = 65, 64, 32
    model = CharLSTM(v, 64, 128)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    idx, tgt = torch.randint(v, (batch, bptt)), torch.randint(v, (batch, bptt))
    state = [None]

    def loss_of_step():
        loss, st = model(idx, tgt, state[0])
        state[0] = tuple(s.detach() for s in st)  # truncated BPTT: carried, detached
        return loss

    return lambda steps, warmup, chunk=1: measure("lstm", batch * bptt, model, opt, loss_of_step, steps, warmup, chunk)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--only", choices=["transformer", "lstm"])
    ap.add_argument("--serve", action="store_true", help="answer lines 'MODEL STEPS WARMUP CHUNK' on stdin")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    models = {name: make() for name, make in [("transformer", transformer), ("lstm", lstm)] if a.only in (None, name)}
    if a.serve:
        print(json.dumps({"ready": True, "threads": a.threads, "torch": torch.__version__}), flush=True)
        for line in sys.stdin:
            name, steps, warmup, chunk = line.split()
            r = models[name](int(steps), int(warmup), int(chunk))
            r.update(threads=a.threads, torch=torch.__version__)
            print(json.dumps(r), flush=True)
        return
    for name, run in models.items():
        r = run(a.steps, a.warmup)
        r.update(threads=a.threads, torch=torch.__version__)
        print(json.dumps(r))


if __name__ == "__main__":
    main()
