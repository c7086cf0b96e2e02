#!/usr/bin/python3
"""Fake checkpoints generated from upstream key manifests (test/fixtures/upstream/manifests, written by
tools/convert/oracle/make_fixtures.py from the upstream modules), not from our replicas: the keys, shapes
and dtypes are upstream's; only the values are ours (random, scaled so the converted graphs stay finite and
O(1)).

`tensors(manifest, seed)` makes the values; `save_torch(path, tensors)` writes them in torch's zip format.
The two are separate so that the writer can change (say, to stream one tensor at a time) on its own.
"""

import json
import math
import os
import re

import torch

MANIFESTS = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "fixtures", "upstream", "manifests"
)


def read_manifest(name):
    with open(os.path.join(MANIFESTS, f"{name}.json")) as f:
        return json.load(f)


def _dtype(s):
    return getattr(torch, s)


def _fan_in(key, shape):
    if key.endswith("to_logits.2.weight"):  # einops EinMix weight [gq, d, l]: d is the input
        return shape[1]
    return max(1, math.prod(shape[1:]))


def _value(key, shape, g):
    """A plausible random value for one tensor, chosen by the upstream key name."""
    if key.endswith(".alpha"):  # Snake
        return 0.5 + torch.rand(shape, generator=g)
    if key.endswith("._codebook.inited") or key.endswith(".codebook.inited"):
        return torch.ones(shape)
    if key.endswith("cluster_size"):
        return torch.ones(shape)
    if key.endswith("._codebook.embed") or key.endswith(".codebook.embed"):
        return torch.randn(shape, generator=g)
    if re.search(r"\.lstm\.(weight|bias)_", key):
        hidden = shape[0] // 4
        return torch.randn(shape, generator=g) / math.sqrt(hidden)
    if key.endswith("gamma") or re.search(r"(norm|net1\.0|to_logits\.0)\.weight$", key):
        return 1 + 0.1 * torch.randn(shape, generator=g)
    if key.endswith("bias") or len(shape) == 1:
        return 0.02 * torch.randn(shape, generator=g)
    if "emb" in key:
        return torch.randn(shape, generator=g)
    return torch.randn(shape, generator=g) / math.sqrt(_fan_in(key, shape))


def tensors(manifest, seed=0, overrides=None):
    """{key: tensor} for every key of the manifest, in its order. Weight norm: `weight_g` is set from its
    `weight_v` (gain ≈ 1/√fan_in), as a trained weight-normed conv would be; EMA `embed_avg` copies `embed`."""
    g = torch.Generator().manual_seed(seed)
    out = {}
    keys = manifest["keys"]
    for key, shape, dtype in keys:
        if key.endswith(".weight_g") or key.endswith("embed_avg"):
            continue
        out[key] = _value(key, tuple(shape), g).to(_dtype(dtype))
    for key, shape, dtype in keys:
        if key.endswith("embed_avg"):
            out[key] = out[key[: -len("_avg")]].clone()
        elif key.endswith(".weight_g"):
            v = out[key[: -len("g")] + "v"]
            norm = v.reshape(v.shape[0], -1).norm(dim=1)
            gain = (0.8 + 0.4 * torch.rand(v.shape[0], generator=g)) / math.sqrt(_fan_in(key, tuple(v.shape)))
            out[key] = (gain * norm).reshape(shape).to(_dtype(dtype))
    for key, fn in (overrides or {}).items():
        out[key] = fn(out[key])
    ordered = {k: out[k] for k, _, _ in keys}
    if set(ordered) != set(out):
        raise KeyError(f"overrides name keys the manifest does not have: {sorted(set(out) - set(ordered))}")
    return ordered


def save_torch(path, named):
    """torch.save of a plain state dict (the upstream format of both speech-module files)."""
    torch.save(dict(named), path)
