"""A LLaMA decoder in plain torch (HF LlamaForCausalLM semantics, transformers 4.34), the parity reference
for llm_builder.py. Written from the architecture description (docs/anygpt.md, "The language model"), not from transformers' code.

    logits, cache = forward(weights, cfg, ids, cache)   # cache: list of (k, v) [1, kvH, T, hd]
"""

import math

import torch


def rms_norm(x, w, eps):
    xf = x.float()
    xf = xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
    return w * xf.to(x.dtype)


def rope(x, pos, theta):
    """Non-interleaved ("rotate_half") rotary embedding; x [1, h, S, hd], pos [S]."""
    hd = x.shape[-1]
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    f = torch.outer(pos.double(), inv).float()
    cos = torch.cat([f.cos(), f.cos()], -1).to(x.dtype)
    sin = torch.cat([f.sin(), f.sin()], -1).to(x.dtype)
    x1, x2 = x[..., : hd // 2], x[..., hd // 2 :]
    return x * cos + torch.cat([-x2, x1], -1) * sin


@torch.no_grad()
def forward(w, cfg, ids, cache=None):
    """ids: LongTensor [1, S]; returns (logits [1, S, V] float32, new cache)."""
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    kvH = cfg.get("num_key_value_heads") or H
    hd, eps, theta = D // H, cfg["rms_norm_eps"], cfg.get("rope_theta", 10000.0)
    S = ids.shape[1]
    P = 0 if not cache else cache[0][0].shape[2]
    pos = torch.arange(P, P + S)
    x = w["model.embed_tokens.weight"][ids]
    new_cache = []
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, w[p + "input_layernorm.weight"], eps)
        q = (h @ w[p + "self_attn.q_proj.weight"].T).view(1, S, H, hd).transpose(1, 2)
        k = (h @ w[p + "self_attn.k_proj.weight"].T).view(1, S, kvH, hd).transpose(1, 2)
        v = (h @ w[p + "self_attn.v_proj.weight"].T).view(1, S, kvH, hd).transpose(1, 2)
        q, k = rope(q, pos, theta), rope(k, pos, theta)
        if cache:
            k = torch.cat([cache[i][0], k], 2)
            v = torch.cat([cache[i][1], v], 2)
        new_cache.append((k, v))
        rep = H // kvH
        kk = k[:, :, None].expand(1, kvH, rep, P + S, hd).reshape(1, H, P + S, hd)
        vv = v[:, :, None].expand(1, kvH, rep, P + S, hd).reshape(1, H, P + S, hd)
        att = (q @ kk.transpose(2, 3)) / math.sqrt(hd)
        causal = torch.ones(S, P + S, dtype=torch.bool).tril(P)
        att = att.masked_fill(~causal, float("-inf")).float().softmax(-1).to(q.dtype)
        o = (att @ vv).transpose(1, 2).reshape(1, S, D)
        x = x + o @ w[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, w[p + "post_attention_layernorm.weight"], eps)
        g = h @ w[p + "mlp.gate_proj.weight"].T
        u = h @ w[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, w["model.norm.weight"], eps)
    return (x @ w["lm_head.weight"].T).float(), new_cache
