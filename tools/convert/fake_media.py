#!/usr/bin/python3
"""Fake media checkpoints in the upstream formats (file names, key names, dtypes; random values, small dims),
beside a fake LLM checkpoint from fake_checkpoints.py:

    /usr/bin/python3 tools/convert/fake_media.py --out /tmp/anygpt-media [--small-blocks]

writes
  AnyGPT-speech-modules/speechtokenizer/{config.json,ckpt.dev}             (upstream manifest)
  AnyGPT-speech-modules/soundstorm/speechtokenizer_soundstorm_mls.pt       (upstream manifest)
  encodec_32khz/{config.json,preprocessor_config.json,model.safetensors}   (upstream manifest)
  seed-tokenizer-2/seed_quantizer.pt    decoder + encoder (Q-Former, ln_vision, encode_task_layer) tensors,
                                        one shared codebook                  (seed_decoder.py, seed_encoder.py)
  seed-tokenizer-2/eva_vit_g.pth        the EVA ViT-g tensors (LAVIS file)   (seed_encoder.py)
  stable-diffusion-2-1-unclip/{unet,vae,image_normalizer,scheduler,image_noising_scheduler}/…    (unclip.py)
  stable-diffusion-2-1-unclip/{text_encoder,tokenizer}/…  (clip_text.py; no text_embedding.f32: the converter computes it)
The two speech-module files and EnCodec are generated from upstream key manifests (fake_from_manifest.py); the others
still from our replicas (no upstream module could be run for them here: docs/real-model.md §6).
Codebook sizes follow the vocabulary blocks: full upstream layout (image 8192, speech 1024, music 4×2048) or,
with --small-blocks, fake_checkpoints.SMALL_BLOCKS (image 32, speech 16, music 4×16). Widths are small (SEED
encoder: seed_encoder.SMALL; text encoder: clip_text.SMALL at the UNet's cross-attention width).
"""

import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clip_text  # noqa: E402
import fake_checkpoints  # noqa: E402
import fake_from_manifest  # noqa: E402
import seanet  # noqa: E402
import seed_decoder  # noqa: E402
import seed_encoder  # noqa: E402
import unclip  # noqa: E402


def make_speech_modules(out, small_blocks=False, seed=0):
    """AnyGPT-speech-modules/{speechtokenizer,soundstorm}: keys, shapes and dtypes from the upstream manifests
    (made by running the upstream modules at these widths), values random."""
    blocks = fake_checkpoints.SMALL_BLOCKS if small_blocks else {"speech": 1024}
    sm = os.path.join(out, "AnyGPT-speech-modules")
    spt = fake_from_manifest.read_manifest(f"speechtokenizer.fake-{blocks['speech']}")
    os.makedirs(os.path.join(sm, "speechtokenizer"), exist_ok=True)
    with open(os.path.join(sm, "speechtokenizer", "config.json"), "w") as f:
        json.dump(spt["config"], f, indent=2)
    last = max(
        (k for k, _, _ in spt["keys"] if k.startswith("decoder.model.") and k.endswith(".conv.conv.weight_g")),
        key=lambda k: int(k.split(".")[2]),
    )
    # Random Snake/residual stacks grow the signal ≈ 50×: scale the last conv so the fake's waveform is O(1).
    spt_small = {last: lambda t: t / 50, last.replace("weight_g", "bias"): lambda t: t / 50}
    fake_from_manifest.save_torch(
        os.path.join(sm, "speechtokenizer", "ckpt.dev"), fake_from_manifest.tensors(spt, seed + 1, spt_small)
    )
    os.makedirs(os.path.join(sm, "soundstorm"), exist_ok=True)
    fake_from_manifest.save_torch(
        os.path.join(sm, "soundstorm", "speechtokenizer_soundstorm_mls.pt"),
        fake_from_manifest.tensors(fake_from_manifest.read_manifest(f"soundstorm.fake-{blocks['speech']}"), seed + 2),
    )
    return sm


def make_encodec(folder, codebook_size, seed=0):
    """facebook/encodec_32khz layout (config.json, preprocessor_config.json, model.safetensors): keys, shapes and
    config from the upstream manifest made by transformers' EncodecModel at 2 filters, hidden 8; values random."""
    m = fake_from_manifest.read_manifest(f"encodec.fake-{codebook_size}")
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(m["config"], f, indent=2)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump(
            {
                "chunk_length_s": None,
                "feature_extractor_type": "EncodecFeatureExtractor",
                "feature_size": 1,
                "overlap": None,
                "padding_side": "right",
                "padding_value": 0.0,
                "return_attention_mask": True,
                "sampling_rate": m["config"]["sampling_rate"],
            },
            f,
            indent=2,
        )
    seanet.write_safetensors(os.path.join(folder, "model.safetensors"), fake_from_manifest.tensors(m, seed))
    return folder


def make(out, small_blocks=False, seed=0, text_dim=16, embed_dim=32):
    blocks = fake_checkpoints.SMALL_BLOCKS if small_blocks else {"image": 8192, "speech": 1024, "music": 8192}
    sm = make_speech_modules(out, small_blocks, seed)
    make_encodec(os.path.join(out, "encodec_32khz"), blocks["music"] // 4, seed + 3)
    dims = dict(seed_decoder.SMALL, n_embed=blocks["image"], out_dim=embed_dim)
    torch.manual_seed(seed + 4)
    m = seed_decoder.SeedDecoder(**dims)
    decoder = dict(m.state_dict())  # its quantize.embedding.weight is the codebook both halves share
    enc_dims = dict(seed_encoder.SMALL, hidden=dims["hidden"], code_dim=dims["code_dim"], n_embed=dims["n_embed"])
    seed_encoder.make_fake(os.path.join(out, "seed-tokenizer-2"), enc_dims, seed=seed + 6, extra=decoder)
    ud = os.path.join(out, "stable-diffusion-2-1-unclip")
    unclip.make_fake(ud, seed=seed + 5, embed_dim=embed_dim, text_dim=text_dim, text_embedding=False)
    clip_text.make_fake(ud, dict(clip_text.SMALL, hidden_size=text_dim, intermediate_size=2 * text_dim), seed=seed + 7)
    return {
        "speech_modules": sm,
        "encodec": os.path.join(out, "encodec_32khz"),
        "seed": os.path.join(out, "seed-tokenizer-2"),
        "unclip": ud,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--small-blocks", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    import warnings

    warnings.filterwarnings("ignore")
    for k, v in make(a.out, a.small_blocks, a.seed).items():
        print(f"{k}: {v}")


if __name__ == "__main__":
    main()
