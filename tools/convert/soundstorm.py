#!/usr/bin/python3
"""SoundStorm `net` (AnyGPT's vendored soundstorm_speechtokenizer copy): plain-torch replica, fake checkpoint,
ONNX export to the speech-acoustic contract: `codes` i64 [1,L·A] (frame-major, A = 7 acoustic layers, mask id =
codebook size), `cond_ids` i64 [1,L] (semantic ids) → `logits` f32 [1,L·A,C].

Upstream (OpenMOSS/AnyGPT 282b58f, soundstorm_speechtokenizer/soundstorm.py; AnyGPT's voice_clone.py builds
it): ConformerWrapper(codebook_size 1024, num_quantizers 7, conformer dim 1024, depth 12, heads 8, dim_head
128), SoundStorm(num_semantic_token_ids 1024). Per frame x = Σ_q code_embeds[code_q + q·(C+1)] +
semantic_token_emb[cond]; blocks of ½FF(×4, Swish) → MHSA with rotary (θ 10000, non-interleaved halves,
per-frame positions) → conv module (LN, 1×1 conv D→4D, GLU, depthwise k=31 over 2D, Swish, ChanLayerNorm,
1×1 conv) → ½FF → LayerNorm; head Linear(D, A·D) → A vectors per frame → LayerNorm → per-codebook EinMix
weight [A,D,C], bias [1,1,A,C].

Checkpoint `speechtokenizer_soundstorm_mls.pt`: torch.save of the bare SoundStorm state dict (upstream's
`SoundStorm.load` passes it to `load_state_dict` strictly); {'model': state dict} is accepted too. Key names
**checked** against the upstream module (test/fixtures/upstream/manifests/soundstorm.json lists all of them at
the real widths, made by tools/convert/oracle/make_fixtures.py):
  semantic_token_emb.weight [1024, D]
  net.code_embeds.weight [A·(C+1), D]
  net.conformer.layers.{i}.ff{1,2}.fn.norm.{weight,bias}       Scale(0.5, PreNorm(FeedForward))
  net.conformer.layers.{i}.ff{1,2}.fn.fn.net.{0,3}.{weight,bias}
  net.conformer.layers.{i}.attn.norm.{weight,bias}             PreNorm(Attention)
  net.conformer.layers.{i}.attn.fn.{to_q,to_kv}.weight         (no biases)
  net.conformer.layers.{i}.attn.fn.to_out.{weight,bias}        (with a bias)
  net.conformer.layers.{i}.conv.net1.0.{weight,bias}           LayerNorm (net1.1 is a Rearrange)
  net.conformer.layers.{i}.conv.net1.2.{weight,bias}           Conv1d(D, 4D, 1)   (GLU follows)
  net.conformer.layers.{i}.conv.ds_conv.conv.{weight,bias}     depthwise Conv1d(2D, 2D, 31, groups=2D)
  net.conformer.layers.{i}.conv.net2.1.gamma                   ChanLayerNorm [1, 2D, 1] (after Swish)
  net.conformer.layers.{i}.conv.net2.2.{weight,bias}           Conv1d(2D, D, 1)
  net.conformer.layers.{i}.post_norm.{weight,bias}
  net.heads.0.{weight,bias}                                    Linear(D, A·D) (heads.1 is a Rearrange)
  net.to_logits.0.{weight,bias}                                LayerNorm(D) (to_logits.1 is a Rearrange)
  net.to_logits.2.weight [A, D, C], net.to_logits.2.bias [1, 1, A, C]   EinMix
Buffers (rotary inv_freq, quantizer offsets) are not persistent upstream and are recomputed here. The loader is
strict: a key the replica does not have, or one it needs and the file lacks, stops it with their names.
Dropout is off (inference). The masked depthwise conv zeroes padded frames; with batch 1 and no padding (what
the TypeScript MaskGIT loop feeds) it is a plain depthwise conv with zero padding 15/15.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn

FULL = dict(
    dim=1024,
    depth=12,
    heads=8,
    dim_head=128,
    codebook_size=1024,
    num_quantizers=7,
    semantic_ids=1024,
    ff_mult=4,
    conv_expansion=2,
    conv_kernel=31,
)


class _Pre(nn.Module):
    def __init__(self, dim, fn):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.fn = fn

    def forward(self, x, *a):
        return self.fn(self.norm(x), *a)


class _Scale(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fn = fn

    def forward(self, x):
        return 0.5 * self.fn(x)


class _FF(nn.Module):
    def __init__(self, dim, mult):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(dim, dim * mult), nn.SiLU(), nn.Identity(), nn.Linear(dim * mult, dim))

    def forward(self, x):
        return self.net(x)


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat((-b, a), dim=-1)


class _Attn(nn.Module):
    def __init__(self, dim, heads, dim_head):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head = heads, dim_head
        self.to_q = nn.Linear(dim, inner, bias=False)
        self.to_kv = nn.Linear(dim, 2 * inner, bias=False)
        self.to_out = nn.Linear(inner, dim)

    def forward(self, x, cos, sin):
        B, N, _ = x.shape
        q = self.to_q(x)
        k, v = self.to_kv(x).chunk(2, dim=-1)
        q, k, v = (t.reshape(B, N, self.heads, self.dim_head).transpose(1, 2) for t in (q, k, v))
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        a = (q @ k.transpose(-1, -2) * self.dim_head**-0.5).softmax(-1)
        return self.to_out((a @ v).transpose(1, 2).reshape(B, N, -1))


class _ChanLN(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1, ch, 1))

    def forward(self, x):
        mean = x.mean(dim=1, keepdim=True)
        var = (x - mean).pow(2).mean(dim=1, keepdim=True)
        return (x - mean) * var.clamp(min=1e-6).rsqrt() * self.gamma


class _DS(nn.Module):
    def __init__(self, ch, k):
        super().__init__()
        self.conv = nn.Conv1d(ch, ch, k, groups=ch)
        self.pad = (k // 2, k // 2 - (k + 1) % 2)

    def forward(self, x):
        return self.conv(F.pad(x, self.pad))


class _ConvModule(nn.Module):
    def __init__(self, dim, expansion, kernel):
        super().__init__()
        inner = dim * expansion
        self.net1 = nn.Sequential(nn.LayerNorm(dim), nn.Identity(), nn.Conv1d(dim, inner * 2, 1))
        self.ds_conv = _DS(inner, kernel)
        self.net2 = nn.Sequential(nn.SiLU(), _ChanLN(inner), nn.Conv1d(inner, dim, 1))

    def forward(self, x):
        h = self.net1[0](x).transpose(1, 2)
        h = F.glu(self.net1[2](h), dim=1)
        h = self.net2(self.ds_conv(h))
        return h.transpose(1, 2)


class _Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["dim"]
        self.ff1 = _Scale(_Pre(d, _FF(d, c["ff_mult"])))
        self.attn = _Pre(d, _Attn(d, c["heads"], c["dim_head"]))
        self.conv = _ConvModule(d, c["conv_expansion"], c["conv_kernel"])
        self.ff2 = _Scale(_Pre(d, _FF(d, c["ff_mult"])))
        self.post_norm = nn.LayerNorm(d)

    def forward(self, x, cos, sin):
        x = self.ff1(x) + x
        x = self.attn(x, cos, sin) + x
        x = self.conv(x) + x
        x = self.ff2(x) + x
        return self.post_norm(x)


class _Conformer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.layers = nn.ModuleList([_Block(c) for _ in range(c["depth"])])


class _EinMix(nn.Module):
    """einops EinMix('b n gq d -> b n gq l', weight 'gq d l', bias 'gq l'): its bias has the output's rank
    with 1 for the axes it does not name, [1, 1, gq, l]."""

    def __init__(self, q, d, c):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(q, d, c))
        self.bias = nn.Parameter(torch.zeros(1, 1, q, c))


class _Wrapper(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, A, C = c["dim"], c["num_quantizers"], c["codebook_size"]
        self.code_embeds = nn.Embedding(A * (C + 1), d)
        self.conformer = _Conformer(c)
        self.heads = nn.Sequential(nn.Linear(d, d * A))  # upstream index 1 is a parameterless Rearrange
        # upstream: LayerNorm, Rearrange, EinMix, Rearrange; the Rearranges are modules without parameters, so
        # the EinMix weights are `to_logits.2.*`.
        self.to_logits = nn.Sequential(nn.LayerNorm(d), nn.Identity(), _EinMix(A, d, C))


class SoundStormNet(nn.Module):
    """forward(codes [B, L·A], cond_ids [B, L]) → logits [B, L·A, C]."""

    def __init__(self, **cfg):
        super().__init__()
        self.c = c = dict(FULL, **cfg)
        self.semantic_token_emb = nn.Embedding(c["semantic_ids"], c["dim"])
        self.net = _Wrapper(c)

    def forward(self, codes, cond_ids):
        c = self.c
        A, C, d = c["num_quantizers"], c["codebook_size"], c["dim"]
        B = codes.shape[0]
        codes = codes.reshape(B, -1, A)
        L = codes.shape[1]
        offsets = torch.arange(A, device=codes.device) * (C + 1)
        x = self.net.code_embeds(codes + offsets).sum(2) + self.semantic_token_emb(cond_ids)
        dh = c["dim_head"]
        inv = 1.0 / (10000 ** (torch.arange(0, dh, 2, dtype=torch.float32) / dh))
        t = torch.arange(L, device=codes.device).float()
        freqs = t[:, None] * inv[None, :]
        freqs = torch.cat((freqs, freqs), -1)
        cos, sin = freqs.cos(), freqs.sin()
        for blk in self.net.conformer.layers:
            x = blk(x, cos, sin)
        h = self.net.heads(x).reshape(B, L, A, d)
        h = self.net.to_logits[0](h)
        em = self.net.to_logits[2]
        logits = torch.einsum("bnqd,qdc->bnqc", h, em.weight) + em.bias
        return logits.reshape(B, L * A, C)


def make_fake(path, seed=0, **cfg):
    torch.manual_seed(seed)
    m = SoundStormNet(**cfg)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if (
                n.endswith("gamma")
                or (p.dim() == 1 and "norm" in n and n.endswith("weight"))
                or ".net1.0.weight" in n
                or "to_logits.0.weight" in n
            ):
                p.copy_(1 + 0.1 * torch.randn_like(p))
            elif p.dim() == 1 or n.endswith("to_logits.2.bias"):
                p.copy_(0.02 * torch.randn_like(p))
            elif "embed" in n or "emb" in n:
                p.copy_(torch.randn_like(p))
            else:
                fan = p.shape[1] * (p.shape[2] if p.dim() == 3 and "to_logits" not in n else 1)
                p.copy_(torch.randn_like(p) / math.sqrt(fan))
    torch.save(m.state_dict(), path)  # upstream SoundStorm.load reads a bare state dict
    return m.c


def load(path, **override):
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import checkpoint
    import numpy as np

    r = checkpoint._TorchZipReader(path)
    st = r.state
    if isinstance(st, dict) and "model" in st and isinstance(st["model"], dict):
        st = st["model"]
    need = ("semantic_token_emb.weight", "net.code_embeds.weight", "net.to_logits.2.weight", "net.heads.0.weight")
    miss = [k for k in need if k not in st]
    if miss:
        raise KeyError(f"{path}: no {miss}; not a SoundStorm checkpoint in the AnyGPT layout?")
    A, D, C = tuple(st["net.to_logits.2.weight"].shape)
    depth = len({k.split(".")[3] for k in st if k.startswith("net.conformer.layers.")})
    inner = tuple(st["net.conformer.layers.0.attn.fn.to_q.weight"].shape)[0]
    heads = override.pop("heads", 8)  # upstream: 8 heads (not recoverable from the weights)
    k = tuple(st["net.conformer.layers.0.conv.ds_conv.conv.weight"].shape)[-1]
    exp = tuple(st["net.conformer.layers.0.conv.ds_conv.conv.weight"].shape)[0] // D
    ff = tuple(st["net.conformer.layers.0.ff1.fn.fn.net.0.weight"].shape)[0] // D
    cfg = dict(
        dim=D,
        depth=depth,
        heads=heads,
        dim_head=inner // heads,
        codebook_size=C,
        num_quantizers=A,
        semantic_ids=tuple(st["semantic_token_emb.weight"].shape)[0],
        ff_mult=ff,
        conv_expansion=exp,
        conv_kernel=k,
        **override,
    )
    m = SoundStormNet(**cfg).eval()
    own = m.state_dict()
    # Strict, as upstream's `SoundStorm.load` (load_state_dict strict): the replica's keys are upstream's.
    checkpoint.check_keys(path, st.keys(), own.keys())
    for name in own:
        t = torch.from_numpy(np.asarray(st[name].numpy(), dtype=np.float32).copy())
        if tuple(t.shape) != tuple(own[name].shape):
            raise ValueError(f"{path}: {name} has shape {tuple(t.shape)}, expected {tuple(own[name].shape)}")
        own[name] = t
    m.load_state_dict(own)
    return m, cfg


def export(m, out):
    A = m.c["num_quantizers"]
    L = 5
    codes = torch.randint(0, m.c["codebook_size"] + 1, (1, L * A))
    cond = torch.randint(0, m.c["semantic_ids"], (1, L))
    torch.onnx.export(
        m,
        (codes, cond),
        out,
        input_names=["codes", "cond_ids"],
        output_names=["logits"],
        dynamic_axes={"codes": {1: "LA"}, "cond_ids": {1: "L"}, "logits": {1: "LA"}},
        opset_version=17,
        do_constant_folding=True,
    )
