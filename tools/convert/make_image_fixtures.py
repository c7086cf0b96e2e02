#!/usr/bin/python3
"""Writes test/fixtures/convert/image/: the SEED image encoder (seed_encoder.py) and the unCLIP empty-prompt text
encoder (clip_text.py) at small widths, exported to ONNX, plus the torch replicas' outputs on the same random
weights, for test/convert/seed-encoder.test.ts and test/convert/text-embedding.test.ts (onnxruntime-node).

    nice -n 10 /usr/bin/python3 tools/convert/make_image_fixtures.py [--out test/fixtures/convert/image]

Both go through fake checkpoint files in the upstream formats and the loaders the converter uses. The encoder
keeps the real input size (224×224, patch 14 → 257 tokens), 32 causal queries and the real 8192-entry codebook;
widths are small (ViT 16 × 2 blocks, Q-Former 48 × 2 layers, codes 8-d). Test images are 28×28 RGB bytes
scaled ×8 (nearest) to 224×224 and normalised with the CLIP mean/std in float32, which the test repeats
exactly. For each image the fixture records the torch codes, the pre-quantisation features and the smallest
gap between a query's nearest and second-nearest codebook distance (so a flip would be explainable).
"""

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_text  # noqa: E402
import seed_encoder  # noqa: E402

MEAN = np.array([0.48145466, 0.4578275, 0.40821073], np.float32)
STD = np.array([0.26862954, 0.26130258, 0.27577711], np.float32)
ENCODER = dict(seed_encoder.SMALL, n_embed=8192)


def f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode()


def pixels(u8):
    """[3,28,28] uint8 → [1,3,224,224] float32: ×8 nearest, x/255, (x − mean)/std, each step rounded to f32."""
    x = np.repeat(np.repeat(u8, 8, 1), 8, 2).astype(np.float32) / np.float32(255)
    return ((x - MEAN[:, None, None]) / STD[:, None, None]).astype(np.float32)[None]


def images():
    g = np.random.default_rng(7)
    yy, xx = np.mgrid[0:28, 0:28]
    grad = np.stack([xx * 9, yy * 9, (xx + yy) * 4]).astype(np.uint8)
    blocks = np.kron(g.integers(0, 256, (3, 4, 4)), np.ones((7, 7))).astype(np.uint8)
    noise = g.integers(0, 256, (3, 28, 28)).astype(np.uint8)
    return {"gradient": grad, "blocks": blocks, "noise": noise}


def margins(model, px):
    with torch.no_grad():
        z = model.features(px).reshape(-1, model.quantize.embedding.weight.shape[1])
        e = model.quantize.embedding.weight
        d = (z**2).sum(1, keepdim=True) + (e**2).sum(1) - 2 * (z @ e.t())
        two = d.topk(2, dim=1, largest=False).values
    return float((two[:, 1] - two[:, 0]).min())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="test/fixtures/convert/image")
    a = ap.parse_args()
    torch.set_num_threads(1)
    import warnings

    warnings.filterwarnings("ignore")
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    fix = {}
    try:
        seed_encoder.make_fake(os.path.join(tmp, "seed"), ENCODER, seed=3)
        m, dims = seed_encoder.load(os.path.join(tmp, "seed"))
        seed_encoder.export(m, os.path.join(a.out, "seed_encoder.onnx"))
        cases = []
        for name, u8 in images().items():
            px = torch.from_numpy(pixels(u8))
            with torch.no_grad():
                codes, z = m(px)
            gap = margins(m, px)
            cases.append(
                {
                    "name": name,
                    "u8": base64.b64encode(u8.tobytes()).decode(),
                    "codes": codes[0].tolist(),
                    "features": f32(z[0].numpy()),
                    "min_gap": gap,
                }
            )
            print(f"{name}: {len(set(codes[0].tolist()))} distinct codes of 32, smallest nearest/second gap {gap:.3g}")
        fix["encoder"] = {
            "dims": {k: (list(v) if isinstance(v, tuple) else v) for k, v in dims.items()},
            "mean": MEAN.tolist(),
            "std": STD.tolist(),
            "scale": 8,
            "cases": cases,
        }

        unclip = os.path.join(tmp, "unclip")
        clip_text.make_fake(unclip, seed=4)
        emb, info = clip_text.embed_empty_prompt(unclip)
        tm, tdims = clip_text.load(os.path.join(unclip, "text_encoder"))
        clip_text.export(tm, os.path.join(a.out, "clip_text.onnx"))
        g = torch.Generator().manual_seed(5)
        ids = torch.randint(0, tdims["vocab_size"], (1, 77), generator=g)
        with torch.no_grad():
            other = tm(ids)
        fix["text"] = {
            "dims": tdims,
            "empty_ids": info["ids"],
            "bos": info["bos_token"],
            "eos": info["eos_token"],
            "pad": info["pad_token"],
            "embedding": f32(emb),
            "random_ids": ids[0].tolist(),
            "random_out": f32(other.numpy()),
        }
        print(f"text: empty prompt ids {info['ids'][:3]}…, embedding std {emb.std():.3f}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(a.out, "parity.json"), "w") as f:
        json.dump(fix, f)
    for fn in sorted(os.listdir(a.out)):
        print(f"{fn}: {os.path.getsize(os.path.join(a.out, fn)) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
