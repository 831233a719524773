#!/usr/bin/env python3
"""Load a playground Transformer model file in PyTorch (llm.c's test_gpt2, in spirit).

A model file is what the page's Export / Save and `lmplay train --save FILE` write: one safetensors
container (docs/formats.md, "Model files") with the settings, the vocabulary and a checksum in its
metadata and the parameters under nanoGPT's names. `load(path)` checks the container and the
checksum, reads the settings and the vocabulary, and builds `GPT` of tests/reference/transformer.py
(the module the parity fixtures come from) with the file's weights:

    import lmplay_torch                       # tests/reference/ on sys.path
    lm = lmplay_torch.load("model.safetensors")
    ids = lm.encode_prompt("ROMEO:")          # <s> R O M E O :   (the file's tokenizer and vocabulary)
    logits = lm.logits(torch.tensor([ids]))   # [1, T, V]; the <s> column is -inf
    lm.model                                  # the nn.Module: train it, wrap it in DDP, save it

Every setting the core's Transformer has is handled: positional learned, sinusoidal, relative (Shaw),
alibi, rope, none; attention full or sparse (window, stride); pre- or post-LN; relu or gelu; tied or
untied head. Anything else (a newer attention pattern, another family) is refused with a message
that names it. Dropout is a training-time setting; the loaded model computes without it.

Tokenizing follows docs/conventions.md: `char` (one Unicode scalar value) and `whitespace` (runs of
non-whitespace) exactly; `word` (UAX #29 word segments, whitespace dropped, each CJK ideograph a
token) with the `regex` package's Unicode word boundaries, which agree with the core's for ordinary
text. Tokens outside the vocabulary become [UNK]. Boundaries `line` and `none` are supported;
`sentence` (UAX #29 sentences) is refused.

Command line, the next-token distribution after a prompt (the page's "next" view, `lmplay view next`):

    python3 tests/reference/lmplay_torch.py model.safetensors --prompt "ROMEO:" --top 5

Needs torch and numpy only (plus `regex` for the word tokenizer); CI never runs it.
"""
import argparse
import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformer import GPT  # noqa: E402  (the parity fixtures' reference model)

UNK, BOS, EOS = 0, 1, 2
FORMAT = "lm-playground-model"
VERSIONS = ("1", "2")
DTYPES = {"F32": np.float32, "U32": np.uint32}
# The core's defaults (crate/src/nn/models/transformer/config.rs), for settings a file leaves out.
DEFAULTS = dict(layers=4, heads=4, width=128, ffn=0, context=64, dropout=0.0, tied=True, norm="pre",
                activation="relu", positional="learned", rel_clip=16, attention="full", window=8, stride=8)
SUPPORTED = dict(positional={"learned", "sinusoidal", "relative", "alibi", "rope", "none"},
                 attention={"full", "sparse"}, norm={"pre", "post"}, activation={"relu", "gelu"})


class ModelFileError(ValueError):
    """A file this loader cannot use; `code` is the core's error code where there is one."""

    def __init__(self, code, message):
        super().__init__(f"{code}: {message}")
        self.code = code


def fnv1a64(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return h


def read_safetensors(path, verify=True):
    """(metadata dict, {name: numpy array}) of a playground model file; checks the container, the
    format id, the version and (verify=True, pure Python, about 1 MB/s) the FNV-1a checksum."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 8:
        raise ModelFileError("file-wrong-format", "not a safetensors file")
    (n,) = struct.unpack("<Q", raw[:8])
    if 8 + n > len(raw):
        raise ModelFileError("file-truncated", f"the header says {n} bytes, the file has {len(raw) - 8}")
    try:
        header = json.loads(raw[8:8 + n])
    except ValueError as e:
        raise ModelFileError("file-wrong-format", f"invalid header JSON ({e})")
    meta = header.pop("__metadata__", {}) or {}
    if meta.get("format") != FORMAT:
        raise ModelFileError("file-wrong-format", f"not a playground model file (format = {meta.get('format')!r})")
    if meta.get("format_version") not in VERSIONS:
        raise ModelFileError("file-version", f"format_version {meta.get('format_version')!r}; this loader reads {', '.join(VERSIONS)}")
    data = raw[8 + n:]
    tensors, spans = {}, {}
    for name, spec in header.items():
        if spec["dtype"] not in DTYPES:
            raise ModelFileError("file-corrupt", f"tensor {name}: dtype {spec['dtype']}")
        a, b = spec["data_offsets"]
        spans[name] = data[a:b]
        tensors[name] = np.frombuffer(data[a:b], dtype=np.dtype(DTYPES[spec["dtype"]]).newbyteorder("<")).reshape(spec["shape"])
    if verify:
        h = 0xcbf29ce484222325
        for name in sorted(spans):
            h = fnv1a64(fnv1a64(h, name.encode() + b"\0"), spans[name])
        with_meta = meta["format_version"] != "1"
        if with_meta:
            for k in sorted(meta):
                if k != "checksum":
                    h = fnv1a64(h, k.encode() + b"\0" + meta[k].encode() + b"\0")
        want = f"fnv1a64{'+meta' if with_meta else ''}:{h:016x}"
        if meta.get("checksum") != want:
            raise ModelFileError("file-corrupt", f"checksum mismatch (the file says {meta.get('checksum')}, its contents give {want})")
    return meta, tensors


def reference_config(settings, vocab_size):
    """The file's Transformer settings as the config dict of transformer.py's GPT; refuses what it
    does not implement."""
    s = dict(DEFAULTS, **{k: v for k, v in settings.items() if k != "family"})
    for key, ok in SUPPORTED.items():
        if s[key] not in ok:
            raise ModelFileError("unsupported", f"{key} '{s[key]}' is not implemented by this PyTorch loader (it knows {', '.join(sorted(ok))})")
    if s["width"] % s["heads"]:
        raise ModelFileError("file-corrupt", f"width {s['width']} is not a multiple of heads {s['heads']}")
    cfg = {k: s[k] for k in ("layers", "heads", "width", "context", "positional", "attention", "window", "stride",
                             "rel_clip", "norm", "activation", "tied")}
    cfg["ffn"] = s["ffn"] or 4 * s["width"]
    cfg["vocab_size"] = vocab_size
    return cfg, s


class Tokenizer:
    """docs/conventions.md's tokenizers and boundary markers, for a file's `data` settings."""

    def __init__(self, data, vocab):
        tok = data.get("tokenizer", {})
        self.kind = tok.get("kind", "word")
        self.lowercase = tok.get("lowercase", False)
        self.boundary = data.get("boundary", "line")
        self.vocab = vocab
        self.ids = {t: i for i, t in enumerate(vocab["tokens"])}
        if self.boundary not in ("line", "none"):
            raise ModelFileError("unsupported", f"boundary '{self.boundary}' (UAX #29 sentences) is not implemented in Python; tokenize with the playground")
        if self.kind == "word":
            try:
                import regex
            except ImportError:
                raise ModelFileError("unsupported", "the word tokenizer needs the `regex` package (pip install regex)")
            self._bounds = regex.compile(r"\b", flags=regex.WORD | regex.V1)
        elif self.kind not in ("char", "whitespace"):
            raise ModelFileError("unsupported", f"tokenizer '{self.kind}'")

    def tokens(self, line):
        """The tokens of one line (no markers)."""
        if self.lowercase:
            line = line.lower()
        if self.kind == "char":
            return list(line)
        if self.kind == "whitespace":
            return line.split()
        out = []
        for seg in self._bounds.split(line):
            if not seg or seg.isspace():
                continue
            out.extend(split_ideographs(seg) if len(seg) > 1 and any(is_cjk_ideograph(c) for c in seg) else [seg])
        return out

    def id(self, token):
        return self.ids.get(token, UNK) if token not in ("[UNK]", "<s>", "</s>") else UNK

    def encode_text(self, text):
        """A whole text as the core encodes validation text: `<s> w … </s>` per non-empty line, or
        (boundary none) one `<s>` then every line's tokens (char: each line ends with "\\n")."""
        bounded = self.boundary != "none"
        out = [] if bounded else [BOS]
        for line in split_lines(text):
            toks = self.tokens(line) + (["\n"] if not bounded and self.kind == "char" else [])
            if not toks:
                continue
            out += ([BOS] if bounded else []) + [self.id(t) for t in toks] + ([EOS] if bounded else [])
        return out

    def encode_prompt(self, prompt):
        """A prompt as the core encodes it for generation: starts with `<s>`, lines become closed
        sentences, the last one stays open."""
        out = [BOS]
        lines = prompt.split("\n")
        for i, line in enumerate(lines):
            out += [self.id(t) for t in self.tokens(line[:-1] if line.endswith("\r") else line)]
            if i + 1 < len(lines):
                if self.vocab.get("predicts_eos", True):
                    if out[-1] != BOS:
                        out += [EOS, BOS]
                elif self.kind == "char":
                    out.append(self.id("\n"))
        return out


def split_lines(text):
    """Rust's str::lines: split on \\n, drop one trailing \\r, no final empty line."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [l[:-1] if l.endswith("\r") else l for l in lines]


def is_cjk_ideograph(c):
    o = ord(c)
    return (0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF or 0xF900 <= o <= 0xFAFF or 0x20000 <= o <= 0x2A6DF
            or 0x2A700 <= o <= 0x2EBEF or 0x2F800 <= o <= 0x2FA1F or 0x30000 <= o <= 0x3134F or o == 0x3007)


def split_ideographs(seg):
    out, run = [], ""
    for c in seg:
        if is_cjk_ideograph(c):
            if run:
                out.append(run)
            out.append(c)
            run = ""
        else:
            run += c
    return out + ([run] if run else [])


class Loaded:
    """A model file in PyTorch: `model` (transformer.py's GPT), `cfg` (its config dict), `settings`
    (the file's Transformer settings, training recipe included), `run` (the whole run settings),
    `vocab`, `tokenizer`, `state` (the training state), `optim` ({"m"|"v": {name: tensor}}, the
    playground's optimizer moments when the file has them)."""

    def __init__(self, meta, tensors, dtype):
        if meta.get("family") != "transformer":
            raise ModelFileError("unsupported", f"family '{meta.get('family')}': this loader reads Transformer files")
        self.meta = meta
        self.run = json.loads(meta["config"])
        self.vocab = json.loads(meta["vocab"])
        self.state = json.loads(meta.get("state", "{}"))
        self.cfg, self.settings = reference_config(self.run["model"], len(self.vocab["tokens"]))
        self.tokenizer = Tokenizer(self.run.get("data", {}), self.vocab)
        self.model = GPT(self.cfg)
        params = {k: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items() if not k.startswith("optim.")}
        want = dict(self.model.state_dict())
        missing = sorted(set(want) - set(params))
        extra = sorted(set(params) - set(want))
        if missing or extra:
            raise ModelFileError("file-mismatch", f"tensors missing {missing}, unexpected {extra}")
        for k, v in params.items():
            if tuple(v.shape) != tuple(want[k].shape):
                raise ModelFileError("file-mismatch", f"{k}: shape {list(v.shape)}, the settings need {list(want[k].shape)}")
        self.model.load_state_dict(params, strict=True)
        self.model.to(dtype)
        self.model.eval()
        self.optim = {s: {k[len(f"optim.{s}/"):]: torch.from_numpy(v.astype(np.float32)) for k, v in tensors.items()
                          if k.startswith(f"optim.{s}/")} for s in ("m", "v")}

    def encode_text(self, text):
        return self.tokenizer.encode_text(text)

    def encode_prompt(self, prompt):
        return self.tokenizer.encode_prompt(prompt)

    def decode(self, ids):
        return [self.vocab["tokens"][i] for i in ids]

    def unpredictable(self):
        """Ids no distribution covers: <s>, and </s> when the vocabulary does not predict it."""
        return [BOS] + ([] if self.vocab.get("predicts_eos", True) else [EOS])

    def logits(self, idx):
        """idx [B, T] (T ≤ context, positions from 0) -> logits [B, T, V], the unpredictable columns -inf."""
        if idx.shape[-1] > self.cfg["context"]:
            raise ValueError(f"{idx.shape[-1]} tokens: the model reads at most its context, {self.cfg['context']}")
        out = self.model(idx).clone()
        out[..., self.unpredictable()] = float("-inf")
        return out

    def window(self, ids):
        """The tokens a core stream reads after `ids`: a stream whose window is full (T tokens) keeps
        its last T/2 (rounded down) before it takes the next token (model.rs, "Streams keep a KV cache")."""
        t, win = self.cfg["context"], []
        for i in ids:
            if len(win) == t:
                win = win[t - t // 2:]
            win.append(i)
        return win

    def next_distribution(self, prompt):
        """P(next token | prompt) as the core's streams give it (the page's "next" view)."""
        ids = self.window(self.encode_prompt(prompt))
        with torch.no_grad():
            return F.softmax(self.logits(torch.tensor([ids]))[0, -1].double(), dim=-1)


def load(path, dtype=torch.float32, verify=True):
    """The model file at `path` as a `Loaded` (its `model` in `dtype`, in eval mode)."""
    meta, tensors = read_safetensors(path, verify=verify)
    return Loaded(meta, tensors, dtype)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model", help="a .safetensors model file of the transformer family")
    ap.add_argument("--prompt", default="", help="text before the next token (encoded as a prompt)")
    ap.add_argument("--top", type=int, default=10, help="how many tokens to list")
    ap.add_argument("--no-verify", action="store_true", help="skip the checksum (pure Python, slow on big files)")
    a = ap.parse_args()
    lm = load(a.model, verify=not a.no_verify)
    p = lm.next_distribution(a.prompt)
    top = torch.argsort(p, descending=True)[:a.top].tolist()
    print(json.dumps({"top": [{"id": i, "token": lm.vocab["tokens"][i], "prob": p[i].item()} for i in top]}, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
