#!/usr/bin/python3
"""SEED-2 de-tokenizer ("SEED decoder": 32 image codes → 1024-d unCLIP image embedding).

Upstream's `get_codebook_entry` (docs/anygpt.md, "Images"):
  codes [1,32] → codebook (8192×32) → decode_task_layer Linear(32,32)→Tanh→Linear(32,768) → + pos_embed_image
  → 4 ViT blocks (768, 12 heads, MLP ×4 GELU, qkv bias, LayerNorm eps 1e-6, pre-norm) → image_down
  Linear(768,256)→ReLU→Linear(256,128)→ReLU→Linear(128,32) (no bias) → flatten [1,1024]
  → distill_image_proj Linear(1024,1024) → image_embeds [1,1024].

Checkpoint keys (`AILab-CVC/seed-tokenizer-2/seed_quantizer.pt`, Blip2QformerQuantizer state_dict) [checked against
upstream's module (test/fixtures/upstream/manifests/seed_quantizer.json, and the oracle in
test/convert/upstream-oracle.test.ts); the real file was not read]: quantize.embedding.weight, decode_task_layer.{0,2}.{weight,bias},
pos_embed_image, blocks_image.{i}.{norm1,norm2}.{weight,bias}, blocks_image.{i}.attn.{qkv,proj}.{weight,bias},
blocks_image.{i}.mlp.{fc1,fc2}.{weight,bias}, image_down.{0,2,4}.weight, distill_image_proj.{weight,bias}.
Other keys (the encoder: Q-Former, encode_task_layer, blocks, pos_embed) are ignored here.

    /usr/bin/python3 tools/convert/seed_decoder.py --ckpt seed_quantizer.pt --out image_seed_decoder.onnx
    /usr/bin/python3 tools/convert/seed_decoder.py --fake seed_quantizer.pt [--small]   # random-weight checkpoint

The ONNX graph is a torch.onnx.export trace of `SeedDecoder` (opset 17, static [1,32] input: upstream needs
exactly 32 codes). Weights are loaded with checkpoint.py (tensor by tensor; the 1.23 GB file is never loaded whole).
"""

import argparse
import math
import os
import sys

import numpy as np
import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FULL = dict(n_embed=8192, code_dim=32, hidden=768, heads=12, depth=4, tokens=32, out_dim=1024)
SMALL = dict(n_embed=64, code_dim=8, hidden=48, heads=4, depth=2, tokens=32, out_dim=64)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(d, eps=1e-6)
        self.attn = nn.Module()
        self.attn.qkv = nn.Linear(d, 3 * d)
        self.attn.proj = nn.Linear(d, d)
        self.norm2 = nn.LayerNorm(d, eps=1e-6)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, 4 * d)
        self.mlp.fc2 = nn.Linear(4 * d, d)

    def forward(self, x):
        B, N, D = x.shape
        hd = D // self.heads
        qkv = self.attn.qkv(self.norm1(x)).reshape(B, N, 3, self.heads, hd).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        a = ((q * (1.0 / math.sqrt(hd))) @ k.transpose(-2, -1)).softmax(-1)
        x = x + self.attn.proj((a @ v).transpose(1, 2).reshape(B, N, D))
        return x + self.mlp.fc2(nn.functional.gelu(self.mlp.fc1(self.norm2(x))))


class SeedDecoder(nn.Module):
    def __init__(self, n_embed, code_dim, hidden, heads, depth, tokens, out_dim):
        super().__init__()
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(n_embed, code_dim)
        self.decode_task_layer = nn.Sequential(nn.Linear(code_dim, code_dim), nn.Tanh(), nn.Linear(code_dim, hidden))
        self.pos_embed_image = nn.Parameter(torch.zeros(1, tokens, hidden))
        self.blocks_image = nn.ModuleList([Block(hidden, heads) for _ in range(depth)])
        self.image_down = nn.Sequential(
            nn.Linear(hidden, 256, bias=False),
            nn.ReLU(),
            nn.Linear(256, 128, bias=False),
            nn.ReLU(),
            nn.Linear(128, 32, bias=False),
        )
        self.distill_image_proj = nn.Linear(tokens * 32, out_dim)

    def forward(self, codes):
        x = self.decode_task_layer(self.quantize.embedding(codes)) + self.pos_embed_image
        for b in self.blocks_image:
            x = b(x)
        return self.distill_image_proj(self.image_down(x).reshape(codes.shape[0], -1))


def dims_from_state(keys_shapes):
    n_embed, code_dim = keys_shapes["quantize.embedding.weight"]
    _, tokens, hidden = keys_shapes["pos_embed_image"]
    depth = len({k.split(".")[1] for k in keys_shapes if k.startswith("blocks_image.")})
    out_dim = keys_shapes["distill_image_proj.weight"][0]
    heads = 12 if hidden == 768 else max(1, hidden // 12)
    return dict(
        n_embed=n_embed, code_dim=code_dim, hidden=hidden, heads=heads, depth=depth, tokens=tokens, out_dim=out_dim
    )


def load(ckpt_path, heads=None):
    import checkpoint

    folder, name = os.path.split(os.path.abspath(ckpt_path))
    r = checkpoint._TorchZipReader(os.path.join(folder, name))
    state = r.state.get("state_dict", r.state) if isinstance(r.state, dict) else r.state
    shapes = {k: tuple(v.shape) for k, v in state.items() if hasattr(v, "shape")}
    missing = [
        k for k in ("quantize.embedding.weight", "pos_embed_image", "distill_image_proj.weight") if k not in shapes
    ]
    if missing:
        raise SystemExit(f"{ckpt_path}: no {missing}; not a SEED-2 seed_quantizer.pt?")
    dims = dims_from_state(shapes)
    if heads:
        dims["heads"] = heads
    m = SeedDecoder(**dims).eval()
    own = m.state_dict()
    for k in own:
        if k not in state:
            raise SystemExit(f"{ckpt_path}: missing decoder tensor {k}")
        own[k] = torch.from_numpy(state[k].numpy().astype(np.float32))
    m.load_state_dict(own)
    return m, dims


def make_fake(path, small=False, seed=0):
    dims = SMALL if small else FULL
    torch.manual_seed(seed)
    m = SeedDecoder(**dims)
    with torch.no_grad():
        for p in m.parameters():
            p.copy_(torch.randn_like(p) / math.sqrt(p.shape[-1] if p.dim() > 1 else 16))
        for b in m.blocks_image:
            for n in (b.norm1, b.norm2):
                n.weight.add_(1.0)
    sd = dict(m.state_dict())
    # a few encoder-side keys, as the real file has them (ignored by the decoder export)
    sd["encode_task_layer.0.weight"] = torch.randn(dims["hidden"], dims["hidden"])
    sd["query_tokens"] = torch.randn(1, dims["tokens"], dims["hidden"])
    torch.save(sd, path)
    return dims


def export(model, out, tokens=32):
    codes = torch.zeros(1, tokens, dtype=torch.long)
    torch.onnx.export(
        model,
        (codes,),
        out,
        input_names=["codes"],
        output_names=["image_embeds"],
        opset_version=17,
        do_constant_folding=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ckpt")
    ap.add_argument("--out")
    ap.add_argument("--fake", help="write a random-weight seed_quantizer.pt here")
    ap.add_argument("--small", action="store_true")
    a = ap.parse_args()
    if a.fake:
        print(make_fake(a.fake, a.small))
        return
    m, dims = load(a.ckpt)
    export(m, a.out, dims["tokens"])
    print(f"wrote {a.out} ({dims})")


if __name__ == "__main__":
    main()
