#!/usr/bin/python3
"""Edits copies of the upstream-made oracle checkpoints (one key added, one removed) and prints, as JSON, what
our loaders say about each: test/convert/upstream-oracle.test.ts checks that they refuse and name the keys.

    /usr/bin/python3 tools/convert/oracle/strict_probe.py --fixtures test/fixtures/upstream --tmp DIR
"""

import argparse
import json
import os
import shutil
import sys
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import seanet  # noqa: E402
import soundstorm  # noqa: E402


def attempt(fn):
    try:
        fn()
        return "loaded"
    except (KeyError, ValueError) as e:
        return str(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--tmp", required=True)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    out = {}
    ss = torch.load(os.path.join(a.fixtures, "soundstorm", "speechtokenizer_soundstorm_mls.pt"))
    spt_dir = os.path.join(a.fixtures, "speechtokenizer")
    spt = torch.load(os.path.join(spt_dir, "ckpt.dev"))
    cases = {
        "soundstorm_extra": (ss, {"net.conformer.layers.1.attn.fn.to_q.bias": torch.zeros(4)}, ()),
        "soundstorm_missing": (ss, {}, ("net.conformer.layers.0.attn.fn.to_out.bias",)),
        "speechtokenizer_extra": (spt, {"encoder.model.0.conv.conv.extra": torch.zeros(1)}, ()),
        "speechtokenizer_missing": (spt, {}, ("decoder.model.1.lstm.bias_hh_l1",)),
    }
    for name, (sd, add, drop) in cases.items():
        sd = {k: v for k, v in sd.items() if k not in drop}
        sd.update(add)
        d = os.path.join(a.tmp, name)
        os.makedirs(d, exist_ok=True)
        if name.startswith("soundstorm"):
            p = os.path.join(d, "speechtokenizer_soundstorm_mls.pt")
            torch.save(sd, p)
            out[name] = attempt(lambda: soundstorm.load(p, heads=4))
        else:
            shutil.copy(os.path.join(spt_dir, "config.json"), d)
            torch.save(sd, os.path.join(d, "ckpt.dev"))
            out[name] = attempt(lambda: seanet.load_spt(d))
    out.update(diffusers_cases(a.tmp))
    print(json.dumps(out))


def diffusers_cases(tmp):
    """The unCLIP files have no upstream oracle (diffusers could not be run here): edit our own fakes."""
    import clip_text
    import unclip

    d = os.path.join(tmp, "unclip")
    unclip.make_fake(d, seed=5, embed_dim=32, text_dim=16, text_embedding=False)
    clip_text.make_fake(d, dict(clip_text.SMALL, hidden_size=16, intermediate_size=32), seed=7)
    out = {}
    edits = {
        "unet_extra": ("unet/diffusion_pytorch_model.safetensors", "time_embedding.cond_proj.weight"),
        "vae_extra": ("vae/diffusion_pytorch_model.safetensors", "decoder.up_blocks.9.extra"),
        "normaliser_extra": ("image_normalizer/diffusion_pytorch_model.safetensors", "scale"),
        "text_encoder_extra": ("text_encoder/model.safetensors", "text_model.final_layer_norm.extra"),
        # known and unused: the VAE encoder half, the text encoder's position_ids buffer
        "vae_encoder_half": ("vae/diffusion_pytorch_model.safetensors", "encoder.conv_in.weight"),
        "text_encoder_position_ids": ("text_encoder/model.safetensors", "text_model.embeddings.position_ids"),
    }
    for name, (rel, key) in edits.items():
        p = os.path.join(d, rel)
        if not os.path.isfile(p):
            out[name] = f"no {rel} in the fake"
            continue
        st = seanet.SafeTensors(p)
        orig = {k: st.get(k) for k in st.header}
        seanet.write_safetensors(p, dict(orig, **{key: torch.zeros(3)}))
        if name.startswith("text_encoder"):
            out[name] = attempt(lambda: clip_text.load(os.path.join(d, "text_encoder")))
        else:
            out[name] = attempt(lambda: unclip.load(d))
        seanet.write_safetensors(p, orig)
    return out


if __name__ == "__main__":
    main()
