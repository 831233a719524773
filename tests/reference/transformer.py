#!/usr/bin/env python3
"""PyTorch reference for the Transformer family (crate/src/nn/models/transformer/): a GPT module
with the playground's parameter names (nanoGPT's), every positional encoding, full and sparse
attention, pre- and post-LN; and the parity fixtures of a 2-layer model.

Regenerate the committed fixtures (CI never needs PyTorch):

    pip install torch            # the CPU build is enough
    python3 tests/reference/transformer.py

The module `GPT` also runs a model file the playground exports (tensors named as below): see
`lmplay_torch.py`, which reads the file and builds `GPT` from its settings.

Model (float32 weights; the fixtures are computed in float64), V ids (0 [UNK], 1 <s>, 2 </s>), width C, H heads (d_k = C/H), FFN width F, T context:
    x0 = wte[idx] + P[pos]             P = transformer.wpe.weight (learned) | sinusoids | 0
                                       (sinusoidal: sqrt(C)*wte[idx] + P[pos], Vaswani et al.)
    block (pre-LN):  s1 = x + Attn(ln_1(x));   y = s1 + FFN(ln_2(s1))
    block (post-LN): s1 = x + Attn(x); m = ln_1(s1);  y = ln_2(m + FFN(m))
    Attn(u): [q|k|v] = c_attn(u); per head softmax(q k^T/sqrt(d_k) + bias + mask) v; c_proj(concat)
        mask: -inf where j > i (and, sparse, unless i-j < window or (i-j) % stride == 0)
        linear: a_ij = phi(q_i).phi(k_j) / sum_{j<=i} (same), phi(x) = elu(x) + 1, no scale
        relative (Shaw): scores += q . rel_k[min(i-j, k)] / sqrt(d_k); out += sum_j a_ij rel_v[min(i-j, k)]
        alibi: scores -= m_h (i - j), m_h = 2^(-8(h+1)/H)
        rope: q, k rotated in pairs (2i, 2i+1) by pos * 10000^(-2i/d_k)
    FFN(u) = mlp.c_proj(f(mlp.c_fc(u))), f = relu | gelu (tanh approximation)
    logits = ln_f(x_L) @ U^T,  U = wte (tied) | lm_head.weight; the <s> column set to -inf
    loss = mean cross-entropy (nats) over the positions whose target is not <s>
Parameter names: transformer.wte.weight [V,C], transformer.wpe.weight [T,C] (learned),
transformer.h.{l}.ln_1.{weight,bias} [C], .attn.c_attn.{weight [3C,C], bias [3C]},
.attn.c_proj.{weight [C,C], bias [C]}, .attn.rel_k and .attn.rel_v [k+1, d_k] (relative),
.ln_2.{weight,bias}, .mlp.c_fc.{weight [F,C], bias [F]}, .mlp.c_proj.{weight [C,F], bias [C]},
transformer.ln_f.{weight,bias} [C], lm_head.weight [V,C] (untied only).

Each tests/reference/fixtures/transformer_<case>.json holds: the config (layers, heads, width, ffn,
context, positional, attention, window, stride, rel_clip, norm, activation, tied, vocab_size), stream,
starts (row b reads stream[s:s+T], predicts stream[s+1:s+T+1]), weights (name -> {shape, data}),
logits [B*T*V] before the mask, loss, grads (name -> flat list).
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
BOS, EOS = 1, 2


def sinusoids(t, c):
    p = torch.zeros(t, c)
    for pos in range(t):
        for j in range((c + 1) // 2):
            angle = pos / 10000 ** (2 * j / c)
            p[pos, 2 * j] = math.sin(angle)
            if 2 * j + 1 < c:
                p[pos, 2 * j + 1] = math.cos(angle)
    return p


def rope(x, pos0=0):
    """x [B, H, T, d_k]: rotate pairs (2i, 2i+1) by (pos0 + t) * 10000^(-2i/d_k)."""
    b, h, t, d = x.shape
    theta = torch.tensor([10000 ** (-2 * i / d) for i in range(d // 2)], dtype=torch.float64, device=x.device)
    ang = (torch.arange(pos0, pos0 + t, dtype=torch.float64, device=x.device)[:, None] * theta[None, :])
    cos, sin = ang.cos().to(x.dtype), ang.sin().to(x.dtype)
    x0, x1 = x[..., 0::2], x[..., 1::2]
    out = torch.empty_like(x)
    out[..., 0::2] = x0 * cos - x1 * sin
    out[..., 1::2] = x0 * sin + x1 * cos
    return out


def allowed(cfg, t, device=None):
    i = torch.arange(t, device=device)[:, None]
    j = torch.arange(t, device=device)[None, :]
    ok = j <= i
    if cfg["attention"] == "sparse":
        d = i - j
        ok = ok & ((d < cfg["window"]) | ((d % cfg["stride"]) == 0 if cfg["stride"] > 0 else False))
    return ok


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        c = cfg["width"]
        self.cfg = cfg
        self.c_attn = nn.Linear(c, 3 * c)
        self.c_proj = nn.Linear(c, c)
        if cfg["positional"] == "relative":
            dk = c // cfg["heads"]
            self.rel_k = nn.Parameter(torch.zeros(cfg["rel_clip"] + 1, dk))
            self.rel_v = nn.Parameter(torch.zeros(cfg["rel_clip"] + 1, dk))

    def forward(self, u, keep_probs=None):
        cfg = self.cfg
        b, t, c = u.shape
        h = cfg["heads"]
        dk = c // h
        q, k, v = self.c_attn(u).split(c, dim=2)
        q, k, v = (z.view(b, t, h, dk).transpose(1, 2) for z in (q, k, v))  # [B,H,T,dk]
        if cfg["attention"] == "linear":
            # The quadratic form of causal linear attention (the engine uses prefix sums):
            # a_ij = phi(q_i).phi(k_j) / sum_{j'<=i} phi(q_i).phi(k_j'), phi = elu + 1.
            phi = lambda x: F.elu(x) + 1
            a = (phi(q) @ phi(k).transpose(-2, -1)).masked_fill(~allowed(cfg, t)[None, None], 0.0)
            a = a / a.sum(-1, keepdim=True)
            if keep_probs is not None:
                keep_probs.append(a.detach())
            return self.c_proj((a @ v).transpose(1, 2).reshape(b, t, c))
        if cfg["positional"] == "rope":
            q, k = rope(q), rope(k)
        scores = q @ k.transpose(-2, -1)
        dist = (torch.arange(t, device=u.device)[:, None] - torch.arange(t, device=u.device)[None, :])
        if cfg["positional"] == "relative":
            r = dist.clamp(0, cfg["rel_clip"])  # causal: i - j >= 0 where it counts
            wk = self.rel_k[r]  # [T, T, dk]
            scores = scores + torch.einsum("bhid,ijd->bhij", q, wk)
        scores = scores / math.sqrt(dk)
        if cfg["positional"] == "alibi":
            slopes = torch.tensor([2 ** (-8 * (hh + 1) / h) for hh in range(h)], dtype=q.dtype, device=q.device)
            scores = scores - slopes[None, :, None, None] * dist.clamp(min=0).to(q.dtype)[None, None]
        scores = scores.masked_fill(~allowed(cfg, t, u.device)[None, None], float("-inf"))
        a = F.softmax(scores, dim=-1)
        if keep_probs is not None:
            keep_probs.append(a.detach())
        y = a @ v
        if cfg["positional"] == "relative":
            y = y + torch.einsum("bhij,ijd->bhid", a, self.rel_v[dist.clamp(0, cfg["rel_clip"])])
        return self.c_proj(y.transpose(1, 2).reshape(b, t, c))


class MLP(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.c_fc = nn.Linear(cfg["width"], cfg["ffn"])
        self.c_proj = nn.Linear(cfg["ffn"], cfg["width"])
        self.act = nn.GELU(approximate="tanh") if cfg["activation"] == "gelu" else nn.ReLU()

    def forward(self, x):
        return self.c_proj(self.act(self.c_fc(x)))


class Block(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.pre = cfg["norm"] == "pre"
        self.ln_1 = nn.LayerNorm(cfg["width"])
        self.attn = Attention(cfg)
        self.ln_2 = nn.LayerNorm(cfg["width"])
        self.mlp = MLP(cfg)

    def forward(self, x, keep_probs=None):
        if self.pre:
            s1 = x + self.attn(self.ln_1(x), keep_probs)
            return s1 + self.mlp(self.ln_2(s1))
        m = self.ln_1(x + self.attn(x, keep_probs))
        return self.ln_2(m + self.mlp(m))


class GPT(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        mods = dict(wte=nn.Embedding(cfg["vocab_size"], cfg["width"]),
                    h=nn.ModuleList([Block(cfg) for _ in range(cfg["layers"])]),
                    ln_f=nn.LayerNorm(cfg["width"]))
        if cfg["positional"] == "learned":
            mods["wpe"] = nn.Embedding(cfg["context"], cfg["width"])
        self.transformer = nn.ModuleDict(mods)
        if not cfg["tied"]:
            self.lm_head = nn.Linear(cfg["width"], cfg["vocab_size"], bias=False)
        self.register_buffer("sin", sinusoids(cfg["context"], cfg["width"]), persistent=False)

    def forward(self, idx, keep_probs=None):
        """idx [B, T] -> logits [B, T, V] (before the <s> mask)."""
        t = idx.shape[1]
        x = self.transformer.wte(idx)
        if self.cfg["positional"] == "sinusoidal":
            x = x * math.sqrt(self.cfg["width"])  # Vaswani et al.: √C·E[w] + p(pos)
        if self.cfg["positional"] == "learned":
            x = x + self.transformer.wpe(torch.arange(t, device=idx.device))
        elif self.cfg["positional"] == "sinusoidal":
            x = x + self.sin[:t]
        for blk in self.transformer.h:
            x = blk(x, keep_probs)
        x = self.transformer.ln_f(x)
        w = self.transformer.wte.weight if self.cfg["tied"] else self.lm_head.weight
        return x @ w.T

    def loss(self, idx, targets):
        logits = self(idx)
        masked = logits.clone()
        masked[..., BOS] = float("-inf")
        keep = targets != BOS
        return logits, F.cross_entropy(masked[keep], targets[keep])


BASE = dict(layers=2, heads=2, width=8, ffn=12, context=6, positional="learned", attention="full",
            window=2, stride=3, rel_clip=2, norm="pre", activation="relu", tied=True, vocab_size=11)
CASES = [  # name, overrides, seed
    ("learned", {}, 51),
    ("sinusoidal", {"positional": "sinusoidal"}, 52),
    ("relative", {"positional": "relative"}, 53),
    ("alibi", {"positional": "alibi"}, 54),
    ("rope", {"positional": "rope"}, 55),
    ("none", {"positional": "none"}, 56),
    ("sparse", {"attention": "sparse"}, 57),
    ("sparse_rope", {"attention": "sparse", "positional": "rope"}, 58),
    ("post_ln", {"norm": "post", "activation": "gelu"}, 59),
    ("post_ln_relative", {"norm": "post", "positional": "relative"}, 60),
    ("untied_gelu", {"tied": False, "activation": "gelu", "positional": "alibi"}, 61),
    ("linear", {"attention": "linear"}, 62),
    ("linear_post_ln_sinusoidal", {"attention": "linear", "norm": "post", "positional": "sinusoidal"}, 63),
]
B = 3
STARTS = [0, 11, 20]


def fixture(overrides, seed):
    cfg = dict(BASE, **overrides)
    g = torch.Generator().manual_seed(seed)
    m = GPT(cfg)
    with torch.no_grad():
        for name, p in m.named_parameters():
            base = 1.0 if (".ln_" in name or "ln_f" in name) and name.endswith("weight") else 0.0
            p.copy_(base + 0.3 * torch.randn(p.shape, generator=g))
    # The reference computes in float64 from these float32 weights: its own rounding is nil, so the
    # 1e-5 tolerance measures the engine's float32 rounding alone.
    m = m.double()
    m.sin = m.sin.double()
    n = 30
    stream = torch.randint(3, cfg["vocab_size"], (n,), generator=g).tolist()
    stream[0] = BOS
    for at in (8, 17, 24):  # sentence ends: </s> <s>, so some targets are <s>
        stream[at], stream[at + 1] = EOS, BOS
    T = cfg["context"]
    idx = torch.tensor([stream[s:s + T] for s in STARTS])
    tgt = torch.tensor([stream[s + 1:s + T + 1] for s in STARTS])
    logits, loss = m.loss(idx, tgt)
    loss.backward()
    flat = lambda t: [float(x) for x in t.detach().reshape(-1).tolist()]
    assert math.isfinite(loss.item())
    for name, p in m.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    return dict(cfg, stream=stream, starts=STARTS, batch=B,
                weights={k: {"shape": list(v.shape), "data": flat(v)} for k, v in m.named_parameters()},
                logits=flat(logits), loss=loss.item(),
                grads={k: flat(v.grad) for k, v in m.named_parameters()})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    for name, overrides, seed in CASES:
        fx = fixture(overrides, seed)
        path = os.path.join(OUT, f"transformer_{name}.json")
        with open(path, "w") as f:
            json.dump(fx, f)
        print(f"{os.path.basename(path)}: loss {fx['loss']:.6f}, {os.path.getsize(path)} bytes")
    print("with torch", torch.__version__)
