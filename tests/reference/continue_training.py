#!/usr/bin/env python3
"""Continue training a playground Transformer in PyTorch, where the page and the CLI stop.

    python3 tests/reference/continue_training.py model.safetensors --corpus input.txt \\
        --steps 2000 --out checkpoint.pt [--device cuda] [--lr 1e-3] [--batch 32]

1. Loads the model file (the page's Export, `lmplay train --save`) with lmplay_torch.load: settings,
   vocabulary and weights, into transformer.py's GPT (the module of the parity fixtures).
2. Tokenizes the corpus with the file's tokenizer and vocabulary (docs/conventions.md: `<s> … </s>`
   per line, or one `<s>` and "\\n" tokens with boundary `none`; unknown tokens become [UNK]). The last
   `valid_fraction` of the token stream (the file's setting) is held out for validation: a contiguous
   tail, not the page's seeded split of lines.
3. Trains as the playground does: random windows of context + 1 tokens, mean cross-entropy over the
   targets that are not <s> (which is never predicted), AdamW with the file's betas, eps, weight decay
   (on matrices only when `decay_matrices_only`), gradient clipping, and the playground's schedule
   (linear warm-up, cosine to min_lr_ratio·lr) counted on from the file's step to step + --steps.
   The file's AdamW moments (optim.m/*, optim.v/*) and step count become the optimizer's state, so
   the run continues where the playground stopped instead of restarting Adam; a file without them
   starts from zero moments. Dropout is not applied (the reference model has none).
4. Writes a PyTorch checkpoint: {"model": state_dict (the file's tensor names), "optimizer",
   "config" (transformer.py's), "run" (the file's run settings), "vocab", "step"}. Load it with
   `GPT(ckpt["config"]).load_state_dict(ckpt["model"])`.

From here PyTorch's own machinery takes over. For several GPUs or machines, wrap the model in
torch.nn.parallel.DistributedDataParallel (after torch.distributed.init_process_group, launched with
`torchrun --nproc_per_node N`), give each rank its own batch generator seed, and save from rank 0 —
nanoGPT's train.py is a complete example with the same parameter names. Mixed precision
(torch.autocast) and torch.compile apply unchanged.

Needs torch and numpy (and `regex` for word-tokenized models).
"""
import argparse
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lmplay_torch  # noqa: E402


def learning_rate(lr, step, warmup, total, decay, ratio):
    """crate/src/nn/optim/schedule.rs: the learning rate of optimizer step `step` (0-based)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if decay == "none":
        return lr
    progress = min((step - warmup) / max(total - warmup, 1), 1.0)
    low = lr * ratio
    return low + (lr - low) * 0.5 * (1 + math.cos(math.pi * progress))


def optimizer(lm, train, lr):
    """AdamW as the file's recipe sets it, its moments restored from the file when it has them."""
    o = train.get("optim", train)  # the recipe's optimizer fields (flattened in the JSON)
    if o.get("optimizer", "adamw") not in ("adamw", "adam"):
        print(f"note: the model was trained with {o.get('optimizer')}; continuing with AdamW")
    wd = o.get("weight_decay", 0.1)
    only_matrices = o.get("decay_matrices_only", False)
    named = list(lm.model.named_parameters())
    groups = [dict(params=[p for n, p in named if p.dim() >= 2 or not only_matrices], weight_decay=wd),
              dict(params=[p for n, p in named if p.dim() < 2 and only_matrices], weight_decay=0.0)]
    opt = torch.optim.AdamW([g for g in groups if g["params"]], lr=lr, betas=(o.get("beta1", 0.9), o.get("beta2", 0.99)),
                            eps=o.get("eps", 1e-8))
    m, v = lm.optim["m"], lm.optim["v"]
    steps = lm.state.get("optimizer_steps", 0)
    if steps and all(n in m and n in v for n, _ in named) and o.get("optimizer", "adamw") in ("adamw", "adam"):
        for n, p in named:
            opt.state[p] = {"step": torch.tensor(float(steps)), "exp_avg": m[n].to(p).clone(), "exp_avg_sq": v[n].to(p).clone()}
        print(f"restored the AdamW moments of {steps} steps")
    else:
        print("no optimizer moments in the file: AdamW starts from zero")
    return opt


def windows(stream, t, batch, gen, device):
    """`batch` random windows of t + 1 tokens: inputs [B, t] and targets [B, t]."""
    starts = torch.randint(0, len(stream) - t, (batch,), generator=gen)
    rows = torch.stack([stream[s:s + t + 1] for s in starts.tolist()])
    return rows[:, :-1].to(device), rows[:, 1:].to(device)


@torch.no_grad()
def validation_loss(lm, stream, t, device, max_windows=64):
    """Mean loss over consecutive windows of the held-out tail (at most `max_windows`)."""
    lm.model.eval()
    total, n = 0.0, 0
    for s in range(0, min(len(stream) - t - 1, max_windows * t) + 1, t):
        x, y = stream[s:s + t][None].to(device), stream[s + 1:s + t + 1][None].to(device)
        keep = (y != lmplay_torch.BOS).sum().item()
        if keep:
            total += lm.model.loss(x, y)[1].item() * keep
            n += keep
    lm.model.train()
    return total / max(n, 1)


def main():
    ap = argparse.ArgumentParser(description="Continue training a playground Transformer model file in PyTorch.")
    ap.add_argument("model", help="a .safetensors model file of the transformer family")
    ap.add_argument("--corpus", required=True, help="training text (UTF-8), tokenized with the file's vocabulary")
    ap.add_argument("--steps", type=int, default=1000, help="optimizer steps to add (default 1000)")
    ap.add_argument("--batch", type=int, help="windows per step (default: the file's)")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: the file's)")
    ap.add_argument("--eval-interval", type=int, default=100, help="steps between validation losses")
    ap.add_argument("--seed", type=int, default=0, help="seed of the batch sampler")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="checkpoint.pt", help="where to write the PyTorch checkpoint")
    a = ap.parse_args()

    lm = lmplay_torch.load(a.model)
    train = lm.settings.get("train", {})
    if lm.settings.get("dropout", 0.0) > 0:
        print(f"note: the model was trained with dropout {lm.settings['dropout']}; this script trains without it")
    with open(a.corpus, encoding="utf-8") as f:
        stream = torch.tensor(lm.encode_text(f.read()), dtype=torch.long)
    t = lm.cfg["context"]
    cut = len(stream) - max(int(len(stream) * lm.run.get("data", {}).get("valid_fraction", 0.1)), t + 1)
    tr, va = stream[:cut], stream[cut:]
    if len(tr) < t + 1:
        sys.exit(f"the corpus gives {len(stream)} tokens: too few for windows of {t + 1}")
    unk = (stream == lmplay_torch.UNK).float().mean().item()
    print(f"{len(tr)} training and {len(va)} validation tokens ({100 * unk:.2f}% [UNK]), vocabulary {lm.cfg['vocab_size']}")
    if unk > 0.05:
        print("note: many tokens are outside the model's vocabulary; is this the corpus it was trained on?")

    lm.model.to(a.device).train()
    lr = a.lr if a.lr is not None else train.get("lr", 1e-3)
    opt = optimizer(lm, train, lr)
    first = lm.state.get("optimizer_steps", 0)
    total = first + a.steps
    warmup, decay, ratio, clip = train.get("warmup", 100), train.get("decay", "cosine"), train.get("min_lr_ratio", 0.1), train.get("clip", 1.0)
    gen = torch.Generator().manual_seed(a.seed)
    batch = a.batch or train.get("batch", 12)
    print(f"step {first}: validation loss {validation_loss(lm, va, t, a.device):.4f}")
    started = time.time()
    for step in range(first, total):
        for g in opt.param_groups:
            g["lr"] = learning_rate(lr, step, warmup, total, decay, ratio)
        x, y = windows(tr, t, batch, gen, a.device)
        _, loss = lm.model.loss(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(lm.model.parameters(), clip)
        opt.step()
        if (step + 1 - first) % a.eval_interval == 0 or step + 1 == total:
            tps = (step + 1 - first) * batch * t / (time.time() - started)
            print(f"step {step + 1}: train loss {loss.item():.4f}, validation loss {validation_loss(lm, va, t, a.device):.4f} ({tps:.0f} tokens/s)")
    torch.save(dict(model=lm.model.state_dict(), optimizer=opt.state_dict(), config=lm.cfg, run=lm.run,
                    vocab=lm.vocab, step=total), a.out)
    print(f"saved {a.out}")


if __name__ == "__main__":
    main()
