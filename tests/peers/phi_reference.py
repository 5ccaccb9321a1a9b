"""PyTorch peer of HF transformers' PhiForCausalLM forward (modeling_phi.py, eager attention), without transformers.

Usage: phi_reference.py DIR [DIR ...]   where each DIR holds config.json, weights.json ({name: [offset, shape]}), weights.bin
(float32 little-endian) and inputs.json ({input_ids, attention_mask?, position_ids?}); writes DIR/logits.bin (float32).
"""
import json
import math
import sys

import numpy as np
import torch
from torch import nn


class PhiRotaryEmbedding(nn.Module):
    def __init__(self, dim, base):
        super().__init__()
        self.inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.int64).float() / dim))

    def forward(self, position_ids):
        inv_freq = self.inv_freq[None, :, None].expand(position_ids.shape[0], -1, 1)
        freqs = (inv_freq @ position_ids[:, None, :].float()).transpose(1, 2)
        emb = torch.cat((freqs, freqs), dim=-1)
        return emb.cos(), emb.sin()


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary_pos_emb(q, k, cos, sin):
    cos, sin = cos.unsqueeze(1), sin.unsqueeze(1)
    return q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin


def new_gelu(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class PhiAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        h = c["hidden_size"]
        self.heads = c["num_attention_heads"]
        self.head_dim = h // self.heads
        self.rotary_ndims = int(self.head_dim * c["partial_rotary_factor"])
        self.q_proj, self.k_proj, self.v_proj, self.dense = (nn.Linear(h, h, bias=True) for _ in range(4))

    def forward(self, x, mask, cos, sin):
        b, t, _ = x.shape
        shape = (b, t, self.heads, self.head_dim)
        q = self.q_proj(x).view(shape).transpose(1, 2)
        k = self.k_proj(x).view(shape).transpose(1, 2)
        v = self.v_proj(x).view(shape).transpose(1, 2)
        r = self.rotary_ndims
        q_rot, q_pass = q[..., :r], q[..., r:]
        k_rot, k_pass = k[..., :r], k[..., r:]
        q_rot, k_rot = apply_rotary_pos_emb(q_rot, k_rot, cos, sin)
        q, k = torch.cat((q_rot, q_pass), dim=-1), torch.cat((k_rot, k_pass), dim=-1)
        w = torch.matmul(q.to(torch.float32), k.to(torch.float32).transpose(2, 3)) / math.sqrt(self.head_dim)
        w = nn.functional.softmax(w + mask, dim=-1, dtype=torch.float32).to(v.dtype)
        out = torch.matmul(w, v).transpose(1, 2).reshape(b, t, -1)
        return self.dense(out)


class PhiMLP(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.fc1 = nn.Linear(c["hidden_size"], c["intermediate_size"])
        self.fc2 = nn.Linear(c["intermediate_size"], c["hidden_size"])

    def forward(self, x):
        return self.fc2(new_gelu(self.fc1(x)))


class PhiDecoderLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.self_attn = PhiAttention(c)
        self.mlp = PhiMLP(c)
        self.input_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])

    def forward(self, x, mask, cos, sin):
        h = self.input_layernorm(x)
        return self.self_attn(h, mask, cos, sin) + self.mlp(h) + x


class PhiModel(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.embed_tokens = nn.Embedding(c["vocab_size"], c["hidden_size"])
        self.layers = nn.ModuleList(PhiDecoderLayer(c) for _ in range(c["num_hidden_layers"]))
        self.final_layernorm = nn.LayerNorm(c["hidden_size"], eps=c["layer_norm_eps"])
        head_dim = c["hidden_size"] // c["num_attention_heads"]
        self.rotary_emb = PhiRotaryEmbedding(int(head_dim * c["partial_rotary_factor"]), c["rope_theta"])


class PhiForCausalLM(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.model = PhiModel(c)
        self.lm_head = nn.Linear(c["hidden_size"], c["vocab_size"], bias=True)

    def forward(self, input_ids, attention_mask, position_ids):
        b, t = input_ids.shape
        x = self.model.embed_tokens(input_ids)
        # _prepare_4d_causal_attention_mask: finfo.min above the diagonal and on padded keys
        minv = torch.finfo(torch.float32).min
        causal = torch.triu(torch.full((t, t), minv), diagonal=1)[None, None]
        padding = (1.0 - attention_mask[:, None, None, :].float()) * minv
        mask = (causal + padding).clamp(min=minv)
        cos, sin = self.model.rotary_emb(position_ids)
        for layer in self.model.layers:
            x = layer(x, mask, cos, sin)
        return self.lm_head(self.model.final_layernorm(x)).float()


def main(d):
    c = json.load(open(f"{d}/config.json"))
    index = json.load(open(f"{d}/weights.json"))
    blob = np.fromfile(f"{d}/weights.bin", dtype="<f4")
    inputs = json.load(open(f"{d}/inputs.json"))
    model = PhiForCausalLM(c)
    state = {name: torch.from_numpy(blob[off : off + int(np.prod(shape))].reshape(shape).copy()) for name, (off, shape) in index.items()}
    model.load_state_dict(state, strict=True)
    ids = torch.tensor(inputs["input_ids"], dtype=torch.long)
    mask = torch.tensor(inputs.get("attention_mask") or [[1] * ids.shape[1]] * ids.shape[0])
    if inputs.get("position_ids"):
        pos = torch.tensor(inputs["position_ids"], dtype=torch.long)
    else:  # as HF's generate derives them
        pos = mask.long().cumsum(-1) - 1
        pos.masked_fill_(mask == 0, 1)
    with torch.no_grad():
        logits = model(ids, mask, pos)
    logits.numpy().astype("<f4").tofile(f"{d}/logits.bin")


if __name__ == "__main__":
    for case_dir in sys.argv[1:]:
        main(case_dir)
