#!/usr/bin/env python3
"""PyTorch reference for the recurrent LMs (vanilla RNN with tanh or sigmoid, LSTM, GRU), 1 or 2 layers.

Regenerate the committed fixtures (CI never needs PyTorch):

    pip install torch            # the CPU build is enough
    python3 tests/reference/rnn.py            # every case
    python3 tests/reference/rnn.py gru_bi     # only the named cases

Model (float32, PyTorch's parameter layout and equations), V = 11 ids (0 [UNK], 1 <s>, 2 </s>),
embedding E = 5, hidden H = 7, batch B = 3, window (bptt) T = 6:
    x_t = E[id_t];  layer k reads the layer below's h_t (layer 0 reads x_t);
    rnn:  h_t = f(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), f = tanh or sigmoid (an explicit loop:
          torch.nn.RNN has no sigmoid; the tanh loop is checked against torch.nn.RNN);
    lstm: torch.nn.LSTM (gates i, f, g, o stacked in that order in the 4H rows);
    gru:  torch.nn.GRU  (gates r, z, n stacked in that order in the 3H rows);
    logits_t = U h_t^{(L-1)} + b2;  the <s> column (id 1) is set to -inf before the softmax;
    loss = mean over all B*T positions of the cross-entropy in nats.
Parameter names: embedding.weight [V,E]; rnn.weight_ih_l{k} [G*H, in_k]; rnn.weight_hh_l{k} [G*H, H];
rnn.bias_ih_l{k} [G*H]; rnn.bias_hh_l{k} [G*H] (in_0 = E, in_k = H; G = 1 rnn, 4 lstm, 3 gru);
output.weight [V,H]; output.bias [V].

Data: a seeded stream of B*2T+1 ids in 3..10 with a few </s>. Row b of window 1 reads inputs
stream[b*2T + t] and targets stream[b*2T + t + 1], t in 0..T; window 2 is the next T positions of
each row (t in T..2T). Window 1 starts from the zero state; window 2 starts from window 1's final
state, detached (truncated BPTT), so grads2 are the gradients of loss2 alone.

Each tests/reference/fixtures/rnn_<case>.json holds (floats are flat row-major lists, ints nested):
    cell ("rnn"|"lstm"|"gru"), activation ("tanh"|"sigmoid", rnn only), layers, vocab_size, embed,
    hidden, batch, bptt, masked ([1]: the ids set to -inf), seed, stream,
    weights: name -> {"shape": [...], "data": [...]},
    inputs1, targets1, inputs2, targets2: [B][T] ints,
    logits1, logits2: [B*T*V] in order (b, t, v), written BEFORE the mask (the <s> column holds
        its finite pre-mask value; compare only the unmasked columns),
    loss1, loss2: floats,
    grads1, grads2: name -> flat list, same names and shapes as weights,
    h1, h2: [L*B*H] in order (layer, b, j), the final hidden state of each window;
    c1, c2: the same for the LSTM's cell state (lstm only).

Bidirectional cases (bidirectional: true) use torch.nn.RNN / LSTM / GRU with bidirectional=True: the
reverse direction's parameters are rnn.*_l{k}_reverse, layer k > 0 reads [h_fwd; h_bwd] (in_k = 2H),
output.weight is [V, 2H]. Window 2 starts the forward direction from window 1's final forward state
and the reverse direction from zero (its state at a window's end would need the text after it);
h1, h2, c1, c2 hold the forward directions' final states only (what is carried).
"""
import json
import math
import os

import torch

torch.manual_seed(1234)
torch.set_default_dtype(torch.float32)
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
BOS, EOS = 1, 2
V, E, H, B, T = 11, 5, 7, 3, 6
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
CASES = [  # name, cell, activation, layers, seed
    ("rnn_tanh", "rnn", "tanh", 1, 21),
    ("rnn_sigmoid", "rnn", "sigmoid", 1, 22),
    ("rnn_tanh_2layer", "rnn", "tanh", 2, 23),
    ("lstm", "lstm", None, 1, 24),
    ("lstm_2layer", "lstm", None, 2, 25),
    ("gru", "gru", None, 1, 26),
    ("gru_2layer", "gru", None, 2, 27),
]
BI_CASES = [  # bidirectional: name, cell, activation, layers, seed
    ("rnn_tanh_bi_2layer", "rnn", "tanh", 2, 28),
    ("lstm_bi", "lstm", None, 1, 29),
    ("lstm_bi_2layer", "lstm", None, 2, 30),
    ("gru_bi_2layer", "gru", None, 2, 31),
]


def flat(t):
    return [float(x) for x in t.detach().reshape(-1).tolist()]


def make_params(cell, L, g):
    G = GATES[cell]
    p = {"embedding.weight": torch.randn(V, E, generator=g)}
    for k in range(L):
        n_in = E if k == 0 else H
        p[f"rnn.weight_ih_l{k}"] = torch.randn(G * H, n_in, generator=g) * 0.3
        p[f"rnn.weight_hh_l{k}"] = torch.randn(G * H, H, generator=g) * 0.3
        p[f"rnn.bias_ih_l{k}"] = torch.randn(G * H, generator=g) * 0.3
        p[f"rnn.bias_hh_l{k}"] = torch.randn(G * H, generator=g) * 0.3
    p["output.weight"] = torch.randn(V, H, generator=g) * 0.3
    p["output.bias"] = torch.randn(V, generator=g) * 0.3
    return {k: v.float().requires_grad_(True) for k, v in p.items()}


def vanilla(p, x, h0, act, L):
    """Explicit loop: x [B,T,E], h0 [L,B,H] -> top outputs [B,T,H], h_n [L,B,H]."""
    f = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}[act]
    inp, finals = x, []
    for k in range(L):
        h, outs = h0[k], []
        for t in range(inp.shape[1]):
            h = f(inp[:, t] @ p[f"rnn.weight_ih_l{k}"].T + p[f"rnn.bias_ih_l{k}"]
                  + h @ p[f"rnn.weight_hh_l{k}"].T + p[f"rnn.bias_hh_l{k}"])
            outs.append(h)
        inp = torch.stack(outs, 1)
        finals.append(h)
    return inp, torch.stack(finals, 0)


def lstm_loop(p, x, h0, c0, L):
    """Explicit LSTM loop (self-test only), PyTorch's equations and gate order i, f, g, o."""
    inp, hs, cs = x, [], []
    for k in range(L):
        h, c, outs = h0[k], c0[k], []
        for t in range(inp.shape[1]):
            z = (inp[:, t] @ p[f"rnn.weight_ih_l{k}"].T + p[f"rnn.bias_ih_l{k}"]
                 + h @ p[f"rnn.weight_hh_l{k}"].T + p[f"rnn.bias_hh_l{k}"])
            i, f, gg, o = z.chunk(4, -1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(gg)
            h = torch.sigmoid(o) * torch.tanh(c)
            outs.append(h)
        inp = torch.stack(outs, 1)
        hs.append(h)
        cs.append(c)
    return inp, torch.stack(hs), torch.stack(cs)


def gru_loop(p, x, h0, L):
    """Explicit GRU loop (self-test only), PyTorch's equations and gate order r, z, n:
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) * n + z * h."""
    inp, hs = x, []
    for k in range(L):
        h, outs = h0[k], []
        for t in range(inp.shape[1]):
            gi = inp[:, t] @ p[f"rnn.weight_ih_l{k}"].T + p[f"rnn.bias_ih_l{k}"]
            gh = h @ p[f"rnn.weight_hh_l{k}"].T + p[f"rnn.bias_hh_l{k}"]
            ir, iz, inn = gi.chunk(3, -1)
            hr, hz, hn = gh.chunk(3, -1)
            r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
            n = torch.tanh(inn + r * hn)
            h = (1 - z) * n + z * h
            outs.append(h)
        inp = torch.stack(outs, 1)
        hs.append(h)
    return inp, torch.stack(hs)


def torch_module(cell, L, p, act="tanh"):
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    kw = {"nonlinearity": act} if cell == "rnn" else {}
    m = cls(E, H, num_layers=L, batch_first=True, **kw)
    with torch.no_grad():
        for name, w in m.named_parameters():
            w.copy_(p["rnn." + name])
    return m


def run_window(cell, act, L, p, ids, tgt, state):
    """One window: returns pre-mask logits [B,T,V], loss, final state (tuple of tensors)."""
    x = p["embedding.weight"][ids]  # [B,T,E]
    if cell == "rnn":
        top, hn = vanilla(p, x, state[0], act, L)
        final = (hn,)
    else:
        m = torch_module(cell, L, p)
        # Route the module's parameters to ours so autograd reaches p: functional_call.
        mp = {name: p["rnn." + name] for name, _ in m.named_parameters()}
        st = state if cell == "lstm" else state[0]
        top, fin = torch.func.functional_call(m, mp, (x, st))
        final = fin if cell == "lstm" else (fin,)
    logits = top @ p["output.weight"].T + p["output.bias"]
    masked = logits.clone()
    masked[..., BOS] = float("-inf")
    loss = torch.nn.functional.cross_entropy(masked.reshape(-1, V), tgt.reshape(-1))
    return logits, loss, final


def loop_window(cell, act, L, p, ids, tgt, state):
    """The same window through the explicit loops (independent of torch.nn), for the self-test."""
    x = p["embedding.weight"][ids]
    if cell == "rnn":
        top, hn = vanilla(p, x, state[0], act, L)
        final = (hn,)
    elif cell == "lstm":
        top, hn, cn = lstm_loop(p, x, state[0], state[1], L)
        final = (hn, cn)
    else:
        top, hn = gru_loop(p, x, state[0], L)
        final = (hn,)
    logits = top @ p["output.weight"].T + p["output.bias"]
    masked = logits.clone()
    masked[..., BOS] = float("-inf")
    loss = torch.nn.functional.cross_entropy(masked.reshape(-1, V), tgt.reshape(-1))
    return logits, loss, final


def self_test(cell, act, L, p, ids, tgt, state, logits, loss, final):
    """Check the fixture's window against an independent path: torch.nn.RNN for the tanh loop,
    the explicit loops for torch.nn.LSTM / GRU (forward, final state, loss and every gradient)."""
    grads = {k: v.grad.clone() for k, v in p.items()}
    if cell == "rnn":
        if act != "tanh":
            return
        m = torch_module("rnn", L, p, "tanh")
        mp = {name: p["rnn." + name] for name, _ in m.named_parameters()}
        for v in p.values():
            v.grad = None
        top, hb = torch.func.functional_call(m, mp, (p["embedding.weight"][ids], state[0]))
        lb = top @ p["output.weight"].T + p["output.bias"]
        masked = lb.clone()
        masked[..., BOS] = float("-inf")
        lossb = torch.nn.functional.cross_entropy(masked.reshape(-1, V), tgt.reshape(-1))
        lossb.backward()
        pairs = [(logits, lb), (loss, lossb), (final[0], hb)] + [(grads[k], v.grad) for k, v in p.items()]
        for k, v in p.items():
            v.grad = grads[k]
    else:
        for v in p.values():
            v.grad = None
        lb, lossb, fb = loop_window(cell, act, L, p, ids, tgt, state)
        lossb.backward()
        pairs = [(logits, lb), (loss, lossb)] + list(zip(final, fb))
        pairs += [(grads[k], v.grad) for k, v in p.items()]
        for k, v in p.items():
            v.grad = grads[k]
    for u, w in pairs:
        err = (u.detach() - w.detach()).abs().max().item()
        assert err < 1e-5, (cell, act, L, err)


def make_stream(g):
    """A stream of B*2T+1 ordinary ids (3..10) with about one in eight replaced by </s>, and its B rows."""
    n = B * 2 * T + 1
    stream = torch.randint(3, V, (n,), generator=g)
    eos = torch.rand(n, generator=g) < 0.12
    stream = torch.where(eos, torch.full_like(stream, EOS), stream).tolist()
    return stream, [[stream[b * 2 * T + t] for t in range(2 * T + 1)] for b in range(B)]


def record(out, w, p, logits, loss, final):
    """Window w's logits, loss, gradients and carried state (h; the LSTM's c too) into the fixture."""
    out[f"logits{w}"] = flat(logits)
    out[f"loss{w}"] = loss.item()
    out[f"grads{w}"] = {k: flat(v.grad) for k, v in p.items()}
    out[f"h{w}"] = flat(final[0])
    if len(final) > 1:
        out[f"c{w}"] = flat(final[1])


def fixture(name, cell, act, L, seed):
    g = torch.Generator().manual_seed(seed)
    p = make_params(cell, L, g)
    stream, rows = make_stream(g)
    ins1 = torch.tensor([r[0:T] for r in rows])
    tg1 = torch.tensor([r[1:T + 1] for r in rows])
    ins2 = torch.tensor([r[T:2 * T] for r in rows])
    tg2 = torch.tensor([r[T + 1:2 * T + 1] for r in rows])

    zero = tuple(torch.zeros(L, B, H) for _ in range(2 if cell == "lstm" else 1))

    out = {"cell": cell}
    if cell == "rnn":
        out["activation"] = act
    out.update({
        "layers": L, "vocab_size": V, "embed": E, "hidden": H, "batch": B, "bptt": T,
        "masked": [BOS], "seed": seed, "stream": stream,
        "weights": {k: {"shape": list(v.shape), "data": flat(v)} for k, v in p.items()},
        "inputs1": ins1.tolist(), "targets1": tg1.tolist(), "inputs2": ins2.tolist(), "targets2": tg2.tolist(),
    })

    state = zero
    for w, (ids, tgt) in enumerate([(ins1, tg1), (ins2, tg2)], start=1):
        for v in p.values():
            v.grad = None
        logits, loss, final = run_window(cell, act, L, p, ids, tgt, state)
        loss.backward()
        record(out, w, p, logits, loss, final)
        self_test(cell, act, L, p, ids, tgt, state, logits, loss, final)
        state = tuple(s.detach() for s in final)  # truncated BPTT: carry the values, not the graph
    return out


def check(fx):
    """Sanity: finite numbers, losses near ln(10), every weight-matrix gradient non-zero."""
    for w in (1, 2):
        assert math.isfinite(fx[f"loss{w}"]) and 0.5 < fx[f"loss{w}"] < 8, fx[f"loss{w}"]
        assert len(fx[f"logits{w}"]) == B * T * V
        assert len(fx[f"h{w}"]) == fx["layers"] * B * H
        for k, gr in fx[f"grads{w}"].items():
            assert len(gr) == len(fx["weights"][k]["data"]) and all(math.isfinite(x) for x in gr), k
            assert any(x != 0 for x in gr), (k, w)


def make_bi_params(cell, L, g):
    G = GATES[cell]
    p = {"embedding.weight": torch.randn(V, E, generator=g)}
    for k in range(L):
        n_in = E if k == 0 else 2 * H
        for sfx in ("", "_reverse"):
            p[f"rnn.weight_ih_l{k}{sfx}"] = torch.randn(G * H, n_in, generator=g) * 0.3
            p[f"rnn.weight_hh_l{k}{sfx}"] = torch.randn(G * H, H, generator=g) * 0.3
            p[f"rnn.bias_ih_l{k}{sfx}"] = torch.randn(G * H, generator=g) * 0.3
            p[f"rnn.bias_hh_l{k}{sfx}"] = torch.randn(G * H, generator=g) * 0.3
    p["output.weight"] = torch.randn(V, 2 * H, generator=g) * 0.3
    p["output.bias"] = torch.randn(V, generator=g) * 0.3
    return {k: v.float().requires_grad_(True) for k, v in p.items()}


def bi_fixture(name, cell, act, L, seed):
    """A bidirectional case through torch.nn's bidirectional modules (see the module docstring)."""
    g = torch.Generator().manual_seed(seed)
    p = make_bi_params(cell, L, g)
    stream, rows = make_stream(g)
    windows = [(torch.tensor([r[0:T] for r in rows]), torch.tensor([r[1:T + 1] for r in rows])),
               (torch.tensor([r[T:2 * T] for r in rows]), torch.tensor([r[T + 1:2 * T + 1] for r in rows]))]
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    kw = {"nonlinearity": act} if cell == "rnn" else {}
    m = cls(E, H, num_layers=L, batch_first=True, bidirectional=True, **kw)
    mp = {name_: p["rnn." + name_] for name_, _ in m.named_parameters()}
    assert set(mp) == {k[4:] for k in p if k.startswith("rnn.")}
    out = {"cell": cell}
    if cell == "rnn":
        out["activation"] = act
    out.update({
        "layers": L, "bidirectional": True, "vocab_size": V, "embed": E, "hidden": H, "batch": B, "bptt": T,
        "masked": [BOS], "seed": seed, "stream": stream,
        "weights": {k: {"shape": list(v.shape), "data": flat(v)} for k, v in p.items()},
    })
    nstate = 2 if cell == "lstm" else 1
    carried = [torch.zeros(L, B, H) for _ in range(nstate)]  # forward directions only
    for w, (ids, tgt) in enumerate(windows, start=1):
        for v in p.values():
            v.grad = None
        # torch's h0 is [L*2, B, H], direction-minor: the forward from the carried state, the reverse 0.
        h0 = [torch.stack([x for k in range(L) for x in (c[k], torch.zeros(B, H))]) for c in carried]
        x = p["embedding.weight"][ids]
        top, fin = torch.func.functional_call(m, mp, (x, tuple(h0) if cell == "lstm" else h0[0]))
        fin = fin if cell == "lstm" else (fin,)
        logits = top @ p["output.weight"].T + p["output.bias"]
        masked = logits.clone()
        masked[..., BOS] = float("-inf")
        loss = torch.nn.functional.cross_entropy(masked.reshape(-1, V), tgt.reshape(-1))
        loss.backward()
        carried = [f.detach()[0::2] for f in fin]
        out[f"inputs{w}"], out[f"targets{w}"] = ids.tolist(), tgt.tolist()
        record(out, w, p, logits, loss, carried)
    return out


if __name__ == "__main__":
    import sys
    os.makedirs(OUT, exist_ok=True)
    only = set(sys.argv[1:])
    for name, cell, act, L, seed in CASES + BI_CASES:
        if only and name not in only:
            continue
        fx = (bi_fixture if (name, cell, act, L, seed) in BI_CASES else fixture)(name, cell, act, L, seed)
        check(fx)
        path = os.path.join(OUT, f"rnn_{name.removeprefix('rnn_')}.json")
        with open(path, "w") as f:
            json.dump(fx, f)
        print(f"{os.path.basename(path)}: loss1 {fx['loss1']:.6f} loss2 {fx['loss2']:.6f}, "
              f"{os.path.getsize(path)} bytes")
    print("with torch", torch.__version__)
