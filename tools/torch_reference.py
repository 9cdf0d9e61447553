#!/usr/bin/python3
"""PyTorch reference of the Basis.Model transformer (same architecture, same weight layout).

Modes:
  check WEIGHTS BATCH OUT   float64 forward/backward of a safetensors checkpoint on a safetensors batch
                            (input_ids, target_ids, attention_mask, loss_mask as I32 [B,T]; dlogp, dentropy F32 [B,T]);
                            writes logits, logp, entropy and grad.<param> (F64) to OUT.
  bench --size small|medium --threads N
                            float32 training-step and KV-cache sampling throughput; prints one JSON line.

The safetensors format is parsed here with struct + json (the safetensors package is not assumed).
"""
import argparse
import json
import math
import struct
import sys
import time

import torch

DTYPES = {"F32": (torch.float32, 4), "F64": (torch.float64, 8), "I32": (torch.int32, 4), "I64": (torch.int64, 8)}


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: truncated ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"))
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    tensors = {}
    for name, info in header.items():
        dtype, size = DTYPES[info["dtype"]]
        begin, end = info["data_offsets"]
        count = math.prod(info["shape"])
        if end - begin != count * size or end > len(body):
            raise ValueError(f"{path}: bad offsets for {name}")
        buf = bytearray(body[begin:end])
        t = torch.frombuffer(buf, dtype=dtype) if count > 0 else torch.zeros(0, dtype=dtype)
        tensors[name] = t.reshape(info["shape"]).clone()
    return meta, tensors


def write_safetensors(path, tensors, meta=None):
    names = {torch.float32: "F32", torch.float64: "F64", torch.int32: "I32", torch.int64: "I64"}
    header = {}
    if meta:
        header["__metadata__"] = meta
    blobs = []
    offset = 0
    for name, t in tensors.items():
        t = t.detach().contiguous().cpu()
        raw = t.numpy().tobytes()
        header[name] = {"dtype": names[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    h = json.dumps(header).encode("utf-8")
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class Config:
    def __init__(self, meta):
        self.vocab = int(meta["vocab_size"])
        self.d = int(meta["model_dim"])
        self.layers = int(meta["layers"])
        self.heads = int(meta["heads"])
        self.ffn = int(meta["ffn_dim"])
        self.max_seq = int(meta["max_seq_len"])
        self.tied = meta["tied_embeddings"] == "true"
        self.theta = float(meta["rope_theta"])
        self.eps = float(meta["norm_eps"])


def rmsnorm(x, g, eps):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps) * g


def rope_tables(pos, hd, theta, dtype):
    i = torch.arange(0, hd // 2, dtype=torch.float64)
    freqs = theta ** (-2.0 * i / hd)
    ang = pos.to(torch.float64)[..., None] * freqs
    return torch.cos(ang).to(dtype), torch.sin(ang).to(dtype)


def rope(x, cos, sin):
    # x [B, T, H, hd]; cos/sin [B, T, hd/2]; rotates pairs (2i, 2i+1).
    x0 = x[..., 0::2]
    x1 = x[..., 1::2]
    c = cos[:, :, None, :]
    s = sin[:, :, None, :]
    return torch.stack((x0 * c - x1 * s, x0 * s + x1 * c), dim=-1).flatten(-2)


def forward(cfg, w, input_ids, attn_mask):
    b, t = input_ids.shape
    h, hd = cfg.heads, cfg.d // cfg.heads
    pos = torch.cumsum(attn_mask.long(), dim=1) - attn_mask.long()
    cos, sin = rope_tables(pos, hd, cfg.theta, w["norm"].dtype)
    x = w["tok_embeddings"][input_ids.long()]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    allowed = causal[None, :, :] & attn_mask.bool()[:, None, :]  # [B, Tq, Tk]
    any_allowed = allowed.any(-1, keepdim=True)
    for l in range(cfg.layers):
        p = lambda n: w[f"layers.{l}.{n}"]
        y = rmsnorm(x, p("attn_norm"), cfg.eps)
        q = rope((y @ p("wq")).view(b, t, h, hd), cos, sin).transpose(1, 2)
        k = rope((y @ p("wk")).view(b, t, h, hd), cos, sin).transpose(1, 2)
        v = (y @ p("wv")).view(b, t, h, hd).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        s = s.masked_fill(~allowed[:, None], float("-inf"))
        a = torch.softmax(s, dim=-1)
        a = torch.where(any_allowed[:, None], a, torch.zeros_like(a))
        o = (a @ v).transpose(1, 2).reshape(b, t, cfg.d)
        x = x + o @ p("wo")
        y = rmsnorm(x, p("mlp_norm"), cfg.eps)
        x = x + (torch.nn.functional.silu(y @ p("w_gate")) * (y @ p("w_up"))) @ p("w_down")
    y = rmsnorm(x, w["norm"], cfg.eps)
    return y @ (w["tok_embeddings"].t() if cfg.tied else w["lm_head"])


def check(args):
    meta, weights = read_safetensors(args.weights)
    cfg = Config(meta)
    _, batch = read_safetensors(args.batch)
    w = {n: t.to(torch.float64).requires_grad_(True) for n, t in weights.items()}
    logits = forward(cfg, w, batch["input_ids"], batch["attention_mask"])
    logp_all = torch.log_softmax(logits, dim=-1)
    target = batch["target_ids"].long()
    logp = logp_all.gather(-1, target[..., None])[..., 0]
    entropy = -(logp_all.exp() * logp_all).sum(-1)
    mask = batch["loss_mask"].to(torch.float64)
    objective = (mask * (batch["dlogp"].to(torch.float64) * logp + batch["dentropy"].to(torch.float64) * entropy)).sum()
    objective.backward()
    out = {"logits": logits.detach().reshape(-1, cfg.vocab), "logp": (logp * mask).detach().reshape(-1),
           "entropy": (entropy * mask).detach().reshape(-1)}
    for n, t in w.items():
        out["grad." + n] = t.grad
    write_safetensors(args.out, out)


SIZES = {"small": dict(d=128, layers=4, heads=4, ffn=352), "medium": dict(d=256, layers=6, heads=4, ffn=704)}


def bench(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    s = SIZES[args.size]
    cfg = Config({"vocab_size": str(args.vocab), "model_dim": str(s["d"]), "layers": str(s["layers"]), "heads": str(s["heads"]),
                  "ffn_dim": str(s["ffn"]), "max_seq_len": str(args.context), "tied_embeddings": "true", "rope_theta": "10000",
                  "norm_eps": "1e-5"})
    w = {"tok_embeddings": torch.randn(cfg.vocab, cfg.d) * 0.02, "norm": torch.ones(cfg.d)}
    for l in range(cfg.layers):
        for n, shape in (("attn_norm", (cfg.d,)), ("mlp_norm", (cfg.d,)), ("wq", (cfg.d, cfg.d)), ("wk", (cfg.d, cfg.d)),
                         ("wv", (cfg.d, cfg.d)), ("wo", (cfg.d, cfg.d)), ("w_gate", (cfg.d, cfg.ffn)), ("w_up", (cfg.d, cfg.ffn)),
                         ("w_down", (cfg.ffn, cfg.d))):
            w[f"layers.{l}.{n}"] = torch.ones(shape) if len(shape) == 1 else torch.randn(shape) * 0.02
    params = [t.requires_grad_(True) for t in w.values()]
    opt = torch.optim.AdamW(params, lr=1e-4, weight_decay=0.01)
    b, t = args.batch, args.context
    ids = torch.randint(4, cfg.vocab, (b, t + 1))
    mask = torch.ones(b, t, dtype=torch.bool)

    def train_step():
        logits = forward(cfg, w, ids[:, :-1], mask)
        logp = torch.log_softmax(logits, -1).gather(-1, ids[:, 1:, None])[..., 0]
        loss = -logp.mean()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()

    train_step()
    start = time.perf_counter()
    for _ in range(args.steps):
        train_step()
    train_tps = args.steps * b * t / (time.perf_counter() - start)

    prompt_len = args.prompt
    new_tokens = t - prompt_len
    with torch.no_grad():
        sample(cfg, w, ids[:, :prompt_len], 4)
        start = time.perf_counter()
        sample(cfg, w, ids[:, :prompt_len], new_tokens)
        sample_tps = b * new_tokens / (time.perf_counter() - start)
    print(json.dumps({"size": args.size, "threads": args.threads, "train_tokens_per_s": train_tps, "sample_tokens_per_s": sample_tps}))


def sample(cfg, w, prompt, new_tokens):
    """KV-cached incremental decoding with multinomial sampling at temperature 1."""
    b, p = prompt.shape
    h, hd = cfg.heads, cfg.d // cfg.heads
    total = p + new_tokens
    kc = [torch.zeros(b, h, total, hd) for _ in range(cfg.layers)]
    vc = [torch.zeros(b, h, total, hd) for _ in range(cfg.layers)]
    gen = torch.Generator().manual_seed(1)
    tokens = prompt
    start = 0
    out = []
    for _ in range(new_tokens):
        n = tokens.shape[1]
        pos = torch.arange(start, start + n).expand(b, n)
        cos, sin = rope_tables(pos, hd, cfg.theta, torch.float32)
        x = w["tok_embeddings"][tokens]
        causal = torch.tril(torch.ones(n, start + n, dtype=torch.bool), diagonal=start)
        for l in range(cfg.layers):
            p_ = lambda nm: w[f"layers.{l}.{nm}"]
            y = rmsnorm(x, p_("attn_norm"), cfg.eps)
            q = rope((y @ p_("wq")).view(b, n, h, hd), cos, sin).transpose(1, 2)
            kc[l][:, :, start:start + n] = rope((y @ p_("wk")).view(b, n, h, hd), cos, sin).transpose(1, 2)
            vc[l][:, :, start:start + n] = (y @ p_("wv")).view(b, n, h, hd).transpose(1, 2)
            k = kc[l][:, :, :start + n]
            v = vc[l][:, :, :start + n]
            s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
            s = s.masked_fill(~causal, float("-inf"))
            o = (torch.softmax(s, -1) @ v).transpose(1, 2).reshape(b, n, cfg.d)
            x = x + o @ p_("wo")
            y = rmsnorm(x, p_("mlp_norm"), cfg.eps)
            x = x + (torch.nn.functional.silu(y @ p_("w_gate")) * (y @ p_("w_up"))) @ p_("w_down")
        y = rmsnorm(x[:, -1], w["norm"], cfg.eps)
        logits = y @ w["tok_embeddings"].t()
        probs = torch.softmax(logits, -1)
        nxt = torch.multinomial(probs, 1, generator=gen)
        out.append(nxt)
        start += n
        tokens = nxt
    return torch.cat(out, 1)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="mode", required=True)
    c = sub.add_parser("check")
    c.add_argument("weights")
    c.add_argument("batch")
    c.add_argument("out")
    bp = sub.add_parser("bench")
    bp.add_argument("--size", choices=sorted(SIZES), required=True)
    bp.add_argument("--threads", type=int, default=1)
    bp.add_argument("--steps", type=int, default=2)
    bp.add_argument("--batch", type=int, default=64)
    bp.add_argument("--context", type=int, default=128)
    bp.add_argument("--prompt", type=int, default=16)
    bp.add_argument("--vocab", type=int, default=100)
    args = ap.parse_args()
    torch.set_grad_enabled(args.mode == "check")
    if args.mode == "check":
        torch.set_num_threads(1)
        check(args)
    else:
        torch.set_grad_enabled(True)
        bench(args)


if __name__ == "__main__":
    sys.exit(main())
