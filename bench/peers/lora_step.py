"""PyTorch peer of tunegraph's LoRA training step (bench/train.ts): a Phi-shaped decoder (HF modeling_phi.py's math:
parallel attention + MLP on one layernorm, partial rotary, gelu_new), random frozen weights, LoRA on q_proj/v_proj
(dropout on the LoRA input), masked shifted cross-entropy, AdamW on the LoRA tensors.

Usage: lora_step.py JSON   with {hidden, intermediate, layers, heads, vocab, rotary_dim, batch, seq, steps, r, mode,
threads}; mode "fp32" or "bf16" (CPU autocast). Prints one JSON line: {"secondsPerStep": median, "mode": ...}.
"""
import json
import math
import statistics
import sys
import time

import torch
from torch import nn


class Lora(nn.Module):
    def __init__(self, base, r, alpha, dropout):
        super().__init__()
        self.base = base
        self.a = nn.Linear(base.in_features, r, bias=False)
        self.b = nn.Linear(r, base.out_features, bias=False)
        nn.init.kaiming_uniform_(self.a.weight, a=math.sqrt(5))
        nn.init.zeros_(self.b.weight)
        self.drop = nn.Dropout(dropout)
        self.scale = alpha / r

    def forward(self, x):
        return self.base(x) + self.b(self.a(self.drop(x))) * self.scale


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Layer(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        h, m = c["hidden"], c["intermediate"]
        self.heads, self.hd, self.rot = c["heads"], h // c["heads"], c["rotary_dim"]
        self.ln = nn.LayerNorm(h)
        self.q = Lora(nn.Linear(h, h), r, 16, 0.1)
        self.k = nn.Linear(h, h)
        self.v = Lora(nn.Linear(h, h), r, 16, 0.1)
        self.dense = nn.Linear(h, h)
        self.fc1 = nn.Linear(h, m)
        self.fc2 = nn.Linear(m, h)

    def forward(self, x, mask, cos, sin):
        b, t, _ = x.shape
        h = self.ln(x)
        shape = (b, t, self.heads, self.hd)
        q, k, v = (p(h).view(shape).transpose(1, 2) for p in (self.q, self.k, self.v))
        r = self.rot
        q = torch.cat((q[..., :r] * cos + rotate_half(q[..., :r]) * sin, q[..., r:]), dim=-1)
        k = torch.cat((k[..., :r] * cos + rotate_half(k[..., :r]) * sin, k[..., r:]), dim=-1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.hd) + mask
        o = (torch.softmax(s.float(), dim=-1).to(v.dtype) @ v).transpose(1, 2).reshape(b, t, -1)
        return self.dense(o) + self.fc2(gelu_new(self.fc1(h))) + x


def main():
    c = json.loads(sys.argv[1])
    torch.set_num_threads(c["threads"])
    torch.manual_seed(0)
    layers = nn.ModuleList(Layer(c, c["r"]) for _ in range(c["layers"]))
    embed = nn.Embedding(c["vocab"], c["hidden"])
    final_ln = nn.LayerNorm(c["hidden"])
    head = nn.Linear(c["hidden"], c["vocab"])
    for p in [*layers.parameters(), *embed.parameters(), *final_ln.parameters(), *head.parameters()]:
        p.requires_grad_(False)
    lora = [p for l in layers for m in (l.q, l.v) for p in (m.a.weight, m.b.weight)]
    for p in lora:
        p.requires_grad_(True)
    opt = torch.optim.AdamW(lora, lr=2e-4)
    b, t = c["batch"], c["seq"]
    ids = torch.randint(0, c["vocab"], (b, t))
    mask = torch.full((t, t), torch.finfo(torch.float32).min).triu(1)[None, None]
    inv = 1.0 / (10000 ** (torch.arange(0, c["rotary_dim"], 2).float() / c["rotary_dim"]))
    f = torch.outer(torch.arange(t).float(), inv)
    emb = torch.cat((f, f), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    times = []
    for step in range(c["steps"] + 1):
        t0 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=c["mode"] == "bf16"):
            x = embed(ids)
            for layer in layers:
                x = layer(x, mask, cos, sin)
            logits = head(final_ln(x)).float()
        loss = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, c["vocab"]), ids[:, 1:].reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(lora, 0.3)
        opt.step()
        opt.zero_grad()
        if step > 0:  # the first step warms up
            times.append(time.perf_counter() - t0)
    print(json.dumps({"secondsPerStep": statistics.median(times), "mode": c["mode"], "torch": torch.__version__}))


main()
