#!/usr/bin/python3
"""SEED-2 image tokenizer encoder ("SEED encoder": a 224×224 image → 32 image codes), as AnyGPT runs it
(`Blip2QformerQuantizer.get_codebook_indices`, docs/anygpt.md, "Images"):

  pixel_values [1,3,224,224] (resized bicubic to 224×224, CLIP mean/std; the engine does this, manifest `input`)
  → EVA-CLIP ViT-g/14: patch conv 14×14 → [cls] + 256 patches + abs pos-emb → 39 pre-norm blocks
    (1408 wide, 16 heads of 88, MLP 6144 GELU, LayerNorm eps 1e-6, qkv with q and v biases only, no final norm)
    → 257×1408 → ln_vision (LayerNorm eps 1e-5)
  → Q-Former (BERT-base: 12 post-norm layers, 768 wide, 12 heads, LayerNorm eps 1e-12, exact GELU): 32 learned
    query tokens → embeddings.LayerNorm → per layer: self-attention among the queries, **causal** (upstream turns
    it on when there are exactly 32 queries; masked scores get −10000, as upstream adds) → cross-attention to
    the image tokens in every 2nd layer (0, 2, …, 10) → the query FFN (intermediate_query/output_query)
  → encode_task_layer Linear(768,768) → Tanh → Linear(768,32)                        = `features` [1,32,32]
  → VectorQuantizer2: d = ‖z‖² + ‖e‖² − 2 z·e over the 8192×32 codebook, argmin       = `codes` i64 [1,32]

ONNX graph (opset 17, static shapes): input `pixel_values` f32 [1,3,224,224]; outputs `codes` i64 [1,32] (the
engine's image-encoder contract, docs/model-package.md) and `features` f32 [1,32,code_dim] (pre-quantisation,
for checks; the engine ignores it).

Written from docs/anygpt.md ("Images") and from reading the upstream module definitions (AnyGPT seed2/seed_qformer/{eva_vit,blip2,
qformer_quantizer}.py; the causal Q-Former from AILab-CVC/SEED models/Qformer_casual.py, which AnyGPT vendors as
qformer_causual.py); no upstream code is copied. Checked against the upstream modules themselves at small widths
(test/fixtures/upstream/seed, tools/convert/oracle/make_fixtures.py; test/convert/upstream-oracle.test.ts), not
against the real weights.

Weights. `seed_quantizer.pt` (AILab-CVC/seed-tokenizer-2) is a Blip2QformerQuantizer state_dict that upstream
loads with strict=False. The spec infers that it is too small (1.23 GB) to hold the 1 B-parameter ViT, which
upstream loads from LAVIS' `eva_vit_g.pth` (a plain state_dict of the ViT; downloaded at construction,
`eva_vit.py` create_eva_vit_g). So the loader takes the ViT tensors from `visual_encoder.*` keys in
seed_quantizer.pt if there are any, else from `eva_vit_g.pth` (keys without the prefix) beside it.

Key names **[checked against the keys of the upstream modules (test/fixtures/upstream/manifests/{seed_quantizer,
eva_vit_g}.json); the real files were not read]**:
  ViT (eva_vit_g.pth; or visual_encoder.<same> in seed_quantizer.pt): cls_token [1,1,W], pos_embed [1,257,W],
    patch_embed.proj.{weight,bias}, blocks.{i}.norm1.{weight,bias}, blocks.{i}.attn.qkv.weight [3W,W],
    blocks.{i}.attn.q_bias, blocks.{i}.attn.v_bias, blocks.{i}.attn.proj.{weight,bias}, blocks.{i}.norm2.*,
    blocks.{i}.mlp.fc1.*, blocks.{i}.mlp.fc2.*
  seed_quantizer.pt: ln_vision.{weight,bias}, query_tokens [1,32,H], Qformer.bert.embeddings.LayerNorm.*,
    Qformer.bert.encoder.layer.{i}.attention.self.{query,key,value}.*, ….attention.output.{dense,LayerNorm}.*,
    ….crossattention.self.{query,key,value}.* (key/value: W → H), ….crossattention.output.{dense,LayerNorm}.*,
    ….intermediate_query.dense.*, ….output_query.{dense,LayerNorm}.*, encode_task_layer.{0,2}.*,
    quantize.embedding.weight
  (the text-side FFNs `intermediate`/`output`, word/position embeddings and `cls` head are unused and ignored).
Dimensions come from the tensor shapes; cross-attention layers are those with `crossattention` keys. Head counts
are not stored: ViT heads = W/88 (upstream `1408 // 88`), Q-Former heads = 12 at H = 768; other (test) widths
use W/8 and H/12 (the rule seed_decoder.py uses), or --vit-heads/--heads.

Differences from upstream that can change codes: upstream runs in fp16 on a GPU (docs/anygpt.md, "Images"; the ViT's linear and
conv weights are cast to fp16, ln_vision computes in fp32); this graph is fp32 throughout. A query whose two nearest codebook entries are nearly equidistant can get
the other id. pos_embed must be for 224×224 (257 tokens): upstream's bicubic pos-emb interpolation is not done.

    /usr/bin/python3 tools/convert/seed_encoder.py --seed DIR --out image_encoder.onnx [--vit FILE]
    /usr/bin/python3 tools/convert/seed_encoder.py --fake DIR [--small]      # random-weight checkpoint files
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FULL = dict(
    image_size=224,
    patch=14,
    vit_dim=1408,
    vit_depth=39,
    vit_heads=16,
    vit_mlp=6144,
    hidden=768,
    layers=12,
    heads=12,
    ffn=3072,
    cross=tuple(range(0, 12, 2)),
    queries=32,
    code_dim=32,
    n_embed=8192,
)
# test widths (real image size, patch, query count and layer pattern)
SMALL = dict(
    FULL,
    vit_dim=16,
    vit_depth=2,
    vit_heads=2,
    vit_mlp=69,
    hidden=48,
    layers=2,
    heads=4,
    ffn=96,
    cross=(0,),
    code_dim=8,
    n_embed=64,
)
VIT_FILE = "eva_vit_g.pth"
QFORMER = "Qformer.bert."


def vit_heads(width):
    return width // 88 if width % 88 == 0 else max(1, width // 8)


def qformer_heads(hidden):
    return 12 if hidden == 768 else max(1, hidden // 12)


# ------------------------------------------------------------------------------------------------ EVA ViT-g
class _EvaBlock(nn.Module):
    def __init__(self, d, heads, mlp):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(d, 3 * d, bias=False)
        self.attn.q_bias = nn.Parameter(torch.zeros(d))
        self.attn.v_bias = nn.Parameter(torch.zeros(d))
        self.attn.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, mlp)
        self.mlp.fc2 = nn.Linear(mlp, d)

    def forward(self, x):
        B, N, D = x.shape
        a = self.attn
        bias = torch.cat([a.q_bias, torch.zeros_like(a.q_bias), a.v_bias])  # the key projection has no bias
        qkv = (
            F.linear(self.norm1(x), a.qkv.weight, bias)
            .reshape(B, N, 3, self.heads, D // self.heads)
            .permute(2, 0, 3, 1, 4)
        )
        q, k, v = qkv[0], qkv[1], qkv[2]
        w = ((q * (D // self.heads) ** -0.5) @ k.transpose(-2, -1)).softmax(-1)
        x = x + a.proj((w @ v).transpose(1, 2).reshape(B, N, -1))
        return x + self.mlp.fc2(F.gelu(self.mlp.fc1(self.norm2(x))))


class EvaVit(nn.Module):
    def __init__(self, image_size, patch, vit_dim, vit_depth, vit_heads, vit_mlp):
        super().__init__()
        n = (image_size // patch) ** 2
        self.patch_embed = nn.Module()
        self.patch_embed.proj = nn.Conv2d(3, vit_dim, patch, stride=patch)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, vit_dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, vit_dim))
        self.blocks = nn.ModuleList([_EvaBlock(vit_dim, vit_heads, vit_mlp) for _ in range(vit_depth)])

    def forward(self, pixels):
        x = self.patch_embed.proj(pixels).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], 1) + self.pos_embed
        for b in self.blocks:
            x = b(x)
        return x


# ------------------------------------------------------------------------------------------------ Q-Former
class _Heads(nn.Module):
    """query/key/value projections (BERT `attention.self`)."""

    def __init__(self, hidden, ctx):
        super().__init__()
        self.query = nn.Linear(hidden, hidden)
        self.key = nn.Linear(ctx, hidden)
        self.value = nn.Linear(ctx, hidden)


class _AddNorm(nn.Module):
    """dense → + residual → LayerNorm (BERT `attention.output` / `output_query`)."""

    def __init__(self, cin, hidden):
        super().__init__()
        self.dense = nn.Linear(cin, hidden)
        self.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)

    def forward(self, x, residual):
        return self.LayerNorm(self.dense(x) + residual)


class _Attention(nn.Module):
    def __init__(self, hidden, ctx, heads):
        super().__init__()
        self.n, self.hd = heads, hidden // heads
        setattr(self, "self", _Heads(hidden, ctx))  # upstream module name `self`
        self.output = _AddNorm(hidden, hidden)

    def forward(self, x, ctx, mask=None):
        h = getattr(self, "self")
        B, N, H = x.shape
        hd = self.hd
        split = lambda t: t.reshape(B, -1, self.n, hd).transpose(1, 2)  # noqa: E731
        q, k, v = split(h.query(x)), split(h.key(ctx)), split(h.value(ctx))
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        if mask is not None:
            s = s + mask
        return self.output((s.softmax(-1) @ v).transpose(1, 2).reshape(B, N, H), x)


class _QLayer(nn.Module):
    def __init__(self, hidden, heads, ffn, vit_dim, cross):
        super().__init__()
        self.attention = _Attention(hidden, hidden, heads)
        self.crossattention = _Attention(hidden, vit_dim, heads) if cross else None
        self.intermediate_query = nn.Module()
        self.intermediate_query.dense = nn.Linear(hidden, ffn)
        self.output_query = _AddNorm(ffn, hidden)

    def forward(self, x, image, mask):
        x = self.attention(x, x, mask)
        if self.crossattention is not None:
            x = self.crossattention(x, image)
        return self.output_query(F.gelu(self.intermediate_query.dense(x)), x)


class SeedEncoder(nn.Module):
    """Module and parameter names follow upstream, so state_dict keys are the checkpoint keys."""

    def __init__(
        self,
        image_size,
        patch,
        vit_dim,
        vit_depth,
        vit_heads,
        vit_mlp,
        hidden,
        layers,
        heads,
        ffn,
        cross,
        queries,
        code_dim,
        n_embed,
    ):
        super().__init__()
        self.visual_encoder = EvaVit(image_size, patch, vit_dim, vit_depth, vit_heads, vit_mlp)
        self.ln_vision = nn.LayerNorm(vit_dim)  # eps 1e-5 (LAVIS LayerNorm subclass, computed in fp32)
        self.query_tokens = nn.Parameter(torch.zeros(1, queries, hidden))
        self.Qformer = nn.Module()
        self.Qformer.bert = nn.Module()
        self.Qformer.bert.embeddings = nn.Module()
        self.Qformer.bert.embeddings.LayerNorm = nn.LayerNorm(hidden, eps=1e-12)
        self.Qformer.bert.encoder = nn.Module()
        self.Qformer.bert.encoder.layer = nn.ModuleList(
            [_QLayer(hidden, heads, ffn, vit_dim, i in cross) for i in range(layers)]
        )
        self.encode_task_layer = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Linear(hidden, code_dim))
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(n_embed, code_dim)
        # upstream: causal among the queries only when there are exactly 32 of them; (1 − allowed) · −10000
        allowed = torch.tril(torch.ones(queries, queries)) if queries == 32 else torch.ones(queries, queries)
        self.register_buffer("query_mask", (1.0 - allowed) * -10000.0, persistent=False)

    def features(self, pixel_values):
        image = self.ln_vision(self.visual_encoder(pixel_values))
        x = self.Qformer.bert.embeddings.LayerNorm(self.query_tokens.expand(pixel_values.shape[0], -1, -1))
        for layer in self.Qformer.bert.encoder.layer:
            x = layer(x, image, self.query_mask)
        return self.encode_task_layer(x)

    def forward(self, pixel_values):
        z = self.features(pixel_values)
        flat = z.reshape(-1, z.shape[-1])
        e = self.quantize.embedding.weight
        d = (flat**2).sum(1, keepdim=True) + (e**2).sum(1) - 2 * (flat @ e.t())
        return d.argmin(1).reshape(z.shape[0], -1), z


# ------------------------------------------------------------------------------------------------ loading
class _StateFile:
    """Tensors of one torch checkpoint, one at a time (checkpoint.py's zip reader; a legacy pickle is loaded whole)."""

    def __init__(self, path):
        import checkpoint

        self.path = path
        try:
            r = checkpoint._TorchZipReader(path)
            state = r.state
        except ValueError:
            state = torch.load(path, map_location="cpu")
        if isinstance(state, dict):
            for k in ("state_dict", "model"):
                if isinstance(state.get(k), dict):
                    state = state[k]
        self.state = {k: v for k, v in state.items() if hasattr(v, "shape")}

    def shape(self, k):
        return tuple(self.state[k].shape)

    def get(self, k):
        v = self.state[k]
        a = v.numpy() if not isinstance(v, torch.Tensor) else v.detach().float().numpy()
        return torch.from_numpy(np.array(a, dtype=np.float32))


def _sources(seed_dir, vit_path=None):
    """→ (quantizer StateFile, vit StateFile, vit key prefix)."""
    qp = os.path.join(seed_dir, "seed_quantizer.pt")
    if not os.path.isfile(qp):
        raise FileNotFoundError(f"{seed_dir}: no seed_quantizer.pt (download AILab-CVC/seed-tokenizer-2)")
    q = _StateFile(qp)
    if vit_path is None and any(k.startswith("visual_encoder.") for k in q.state):
        return q, q, "visual_encoder."
    vp = vit_path or os.path.join(seed_dir, VIT_FILE)
    if not os.path.isfile(vp):
        raise FileNotFoundError(
            f"{seed_dir}: seed_quantizer.pt has no visual_encoder.* tensors and there is no {VIT_FILE} "
            f"(the LAVIS EVA ViT-g weights SEED loads; docs/real-model.md §1), or pass --image-encoder"
        )
    v = _StateFile(vp)
    pre = "visual_encoder." if any(k.startswith("visual_encoder.") for k in v.state) else ""
    return q, v, pre


def has_vit(seed_dir):
    """Cheap check for convert.py: can an encoder be exported from this folder?"""
    if os.path.isfile(os.path.join(seed_dir, VIT_FILE)):
        return True
    try:
        return any(
            k.startswith("visual_encoder.") for k in _StateFile(os.path.join(seed_dir, "seed_quantizer.pt")).state
        )
    except (OSError, ValueError):
        return False


def dims_from(q, v, pre):
    def need(f, k):
        if k not in f.state:
            raise KeyError(f"{f.path}: missing {k}")
        return f.shape(k)

    _, _, W = need(v, pre + "cls_token")
    _, ntok, _ = need(v, pre + "pos_embed")
    patch = need(v, pre + "patch_embed.proj.weight")[-1]
    grid = int(round(math.sqrt(ntok - 1)))
    if grid * grid != ntok - 1 or grid * patch != 224:
        raise ValueError(
            f"{v.path}: pos_embed has {ntok} tokens at patch {patch}: not a 224×224 ViT (interpolation "
            "of the position embedding is not implemented)"
        )
    depth = len({k[len(pre) :].split(".")[1] for k in v.state if k.startswith(pre + "blocks.")})
    _, queries, H = need(q, "query_tokens")
    lk = QFORMER + "encoder.layer."
    layers = len({k[len(lk) :].split(".")[0] for k in q.state if k.startswith(lk)})
    cross = tuple(i for i in range(layers) if f"{lk}{i}.crossattention.self.query.weight" in q.state)
    n_embed, code_dim = need(q, "quantize.embedding.weight")
    return dict(
        image_size=224,
        patch=patch,
        vit_dim=W,
        vit_depth=depth,
        vit_heads=vit_heads(W),
        vit_mlp=need(v, pre + "blocks.0.mlp.fc1.weight")[0],
        hidden=H,
        layers=layers,
        heads=qformer_heads(H),
        ffn=need(q, lk + "0.intermediate_query.dense.weight")[0],
        cross=cross,
        queries=queries,
        code_dim=code_dim,
        n_embed=n_embed,
    )


def load(seed_dir, vit_path=None, vit_heads=None, heads=None):
    """→ (SeedEncoder in eval mode, dims) from an AILab-CVC/seed-tokenizer-2 folder (+ eva_vit_g.pth)."""
    q, v, pre = _sources(seed_dir, vit_path)
    dims = dims_from(q, v, pre)
    if vit_heads:
        dims["vit_heads"] = vit_heads
    if heads:
        dims["heads"] = heads
    m = SeedEncoder(**dims)
    own = m.state_dict()
    for k in own:
        f, up = (v, pre + k[len("visual_encoder.") :]) if k.startswith("visual_encoder.") else (q, k)
        if up not in f.state:
            raise KeyError(f"{f.path}: missing {up}")
        t = f.get(up)
        if t.shape != own[k].shape:
            raise ValueError(f"{f.path}: {up} has shape {tuple(t.shape)}, expected {tuple(own[k].shape)}")
        own[k] = t
    m.load_state_dict(own)
    return m.eval(), dims


# ------------------------------------------------------------------------------------------------ fakes, export
def random_state(dims, seed=0):
    """Random weights at `dims` with upstream key names (encoder only): (seed_quantizer keys, eva_vit_g keys)."""
    torch.manual_seed(seed)
    m = SeedEncoder(**dims)
    g = torch.Generator().manual_seed(seed)
    q, v = {}, {}
    for k, p in m.state_dict().items():
        if k.endswith("LayerNorm.weight") or ".norm" in k and k.endswith("weight") or k == "ln_vision.weight":
            t = 1 + 0.1 * torch.randn(p.shape, generator=g)
        elif k.endswith("bias"):
            t = 0.02 * torch.randn(p.shape, generator=g)
        elif k in ("quantize.embedding.weight", "query_tokens", "visual_encoder.cls_token", "visual_encoder.pos_embed"):
            t = torch.randn(p.shape, generator=g)
        else:
            t = torch.randn(p.shape, generator=g) / math.sqrt(p[0].numel())
        if k.startswith("visual_encoder."):
            v[k[len("visual_encoder.") :]] = t
        else:
            q[k] = t
    return q, v


def make_fake(folder, dims=None, seed=0, extra=None):
    """Writes seed_quantizer.pt (encoder keys + `extra`, e.g. the decoder's, which wins on shared keys such as the
    codebook quantize.embedding.weight) and eva_vit_g.pth into folder."""
    dims = dims or SMALL
    q, v = random_state(dims, seed)
    os.makedirs(folder, exist_ok=True)
    torch.save(dict(q, **(extra or {})), os.path.join(folder, "seed_quantizer.pt"))
    torch.save(v, os.path.join(folder, VIT_FILE))
    return dims


def export(model, out):
    x = torch.zeros(1, 3, 224, 224)
    torch.onnx.export(
        model,
        (x,),
        out,
        input_names=["pixel_values"],
        output_names=["codes", "features"],
        opset_version=17,
        do_constant_folding=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", help="AILab-CVC/seed-tokenizer-2 folder (seed_quantizer.pt [+ eva_vit_g.pth])")
    ap.add_argument("--vit", help=f"EVA ViT-g weights if not {VIT_FILE} in --seed")
    ap.add_argument("--out")
    ap.add_argument("--vit-heads", type=int)
    ap.add_argument("--heads", type=int, help="Q-Former heads")
    ap.add_argument("--fake", help="write random-weight seed_quantizer.pt + eva_vit_g.pth into this folder")
    ap.add_argument("--small", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.fake:
        print(make_fake(a.fake, SMALL if a.small else FULL))
        return
    m, dims = load(a.seed, a.vit, a.vit_heads, a.heads)
    export(m, a.out)
    print(f"wrote {a.out} ({dims})")


if __name__ == "__main__":
    main()
