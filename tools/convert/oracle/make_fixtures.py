#!/usr/bin/python3
"""Upstream oracle fixtures: made by running the upstream modules themselves, never our replicas.

    nice -n 10 /usr/bin/python3 tools/convert/oracle/make_fixtures.py --upstream DIR [--out test/fixtures/upstream]

DIR holds one folder per upstream repository, each a checkout at the commit in UPSTREAM below (a git work tree,
or an extracted tree with the commit hash in a file named COMMIT). Nothing from DIR is copied into the repo:
the code is only run, here, to write data:

* manifests/<component>.json: every state-dict key of the upstream module built with the real configuration,
  with shape and dtype, and the repository, commit and configuration it came from. The fake checkpoints
  (tools/convert/fake_checkpoints.py) are generated from these.
* <component>/: a small-width checkpoint with random weights made by the upstream module and saved in the
  upstream file format, and reference.json with the upstream module's outputs on fixed inputs.

The upstream code runs unchanged. Only package `__init__` files that import training-only dependencies
(torchaudio, accelerate) are bypassed by registering the package as a bare namespace.
"""

import argparse
import base64
import json
import math
import os
import subprocess
import sys
import types

import numpy as np
import torch
from torch import nn

UPSTREAM = {
    "AnyGPT": ("OpenMOSS/AnyGPT", "282b58fa96ae3f14d639b23f47b4732bf68883f0"),
    "SpeechTokenizer": (
        "ZhangXInFD/SpeechTokenizer",
        "cff02d2dac5224cc7a72738201dc72b3ad944e42",
    ),  # speechtokenizer 0.1.2, AnyGPT's pin
    "einops": ("arogozhnikov/einops", "5b960621df194a1373f1f8419db83338b3620327"),  # v0.7.0; AnyGPT pins none
    "beartype": ("beartype/beartype", "58b1982be4dfb69560a889518d8e1ce9f641d1a1"),  # v0.16.4, AnyGPT's pin
    # EnCodec: modeling_encodec.py at this commit (a later version than AnyGPT's pin 4.34.1, which this
    # environment cannot bring: see ENCODEC below) and configuration_encodec.py at ENCODEC_CONFIG_COMMIT.
    "transformers": ("huggingface/transformers", "1484ad89e052a50e1e002f75f700110c7ca5a145"),
    "diffusers": ("huggingface/diffusers", "399834ee7743cb77b3177f3ec0678a7bb88ad9ea"),  # v0.20.2, AnyGPT's pin
}
ENCODEC_CONFIG_COMMIT = "1c70522e01cdf5fcc6ebda6c372ee0198d557c53"
# Which checkouts each component runs.
NEEDS = {
    "soundstorm": ("AnyGPT", "einops", "beartype"),
    "speechtokenizer": ("SpeechTokenizer", "einops", "beartype"),
    "encodec": ("transformers",),
    "seed": ("AnyGPT", "einops"),
    "unclip": ("diffusers",),
}


HERE = os.path.dirname(os.path.abspath(__file__))


def use_shims(name):
    """Puts tools/convert/oracle/shims/<name> (our stand-ins for timm / transformers library code, see its
    README) first on sys.path, dropping another component's shims of the same package names."""
    for k in list(sys.modules):
        if k.split(".")[0] in ("transformers", "timm"):
            del sys.modules[k]
    sys.path[:] = [p for p in sys.path if not p.startswith(os.path.join(HERE, "shims"))]
    sys.path.insert(0, os.path.join(HERE, "shims", name))


def commit_of(path):
    f = os.path.join(path, "COMMIT")
    if os.path.isfile(f):
        return open(f).read().strip()
    return subprocess.run(
        ["git", "-C", path, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def check_upstream(root, names):
    got = {}
    for name in names:
        repo, want = UPSTREAM[name]
        p = os.path.join(root, name)
        if not os.path.isdir(p):
            sys.exit(f"error: {p} missing: check out {repo} at {want} there")
        c = commit_of(p)
        if c != want:
            sys.exit(f"error: {p} is at {c}, expected {repo} {want}")
        got[name] = {"repo": repo, "commit": c}
    return got


def b64(t):
    return base64.b64encode(np.ascontiguousarray(t.detach().numpy(), dtype="<f4").tobytes()).decode()


def manifest(module, meta):
    keys = [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in module.state_dict().items()]
    return dict(meta, keys=keys)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=1)
        f.write("\n")


# --------------------------------------------------------------------------------------------- SoundStorm
def import_soundstorm(root):
    pkg = types.ModuleType("soundstorm_speechtokenizer")
    pkg.__path__ = [os.path.join(root, "AnyGPT", "soundstorm_speechtokenizer")]
    sys.modules["soundstorm_speechtokenizer"] = pkg
    from soundstorm_speechtokenizer import soundstorm as ss

    return ss


def build_soundstorm(ss, codebook, dim, depth, heads, dim_head, semantic):
    # As AnyGPT's anygpt/src/infer/voice_clone.py load_soundstorm (real: 1024, 1024, 12, 8, 128, 1024).
    net = ss.ConformerWrapper(
        codebook_size=codebook,
        num_quantizers=7,
        conformer={"dim": dim, "depth": depth, "heads": heads, "dim_head": dim_head, "attn_flash": False},
    )
    return ss.SoundStorm(
        net=net, num_semantic_token_ids=semantic, semantic_pad_id=codebook, pad_id=codebook, schedule="cosine"
    ).eval()


SS_ORACLE = dict(codebook=32, dim=32, depth=2, heads=4, dim_head=8, semantic=32)


def soundstorm_fixtures(ss, out, src):
    real = build_soundstorm(ss, 1024, 1024, 12, 8, 128, 1024)
    write_json(
        os.path.join(out, "manifests", "soundstorm.json"),
        manifest(
            real,
            {
                "component": "SoundStorm (speech acoustic)",
                "source": src["AnyGPT"],
                "module": "soundstorm_speechtokenizer/soundstorm.py SoundStorm(ConformerWrapper(...)), as "
                "anygpt/src/infer/voice_clone.py load_soundstorm builds it",
                "config": {
                    "codebook_size": 1024,
                    "num_quantizers": 7,
                    "dim": 1024,
                    "depth": 12,
                    "heads": 8,
                    "dim_head": 128,
                    "num_semantic_token_ids": 1024,
                },
                "file": "fnlp/AnyGPT-speech-modules soundstorm/speechtokenizer_soundstorm_mls.pt",
                "format": "torch.save(state_dict)",
            },
        ),
    )
    del real
    # The same module at the small widths tools/convert/fake_media.py writes (speech codebook of the full
    # vocabulary layout, 1024, and of fake_checkpoints.SMALL_BLOCKS, 16): the fakes are generated from these.
    for cb in (1024, 16):
        small = dict(codebook=cb, dim=32, depth=2, heads=8, dim_head=8, semantic=cb)
        write_json(
            os.path.join(out, "manifests", f"soundstorm.fake-{cb}.json"),
            manifest(
                build_soundstorm(ss, **small),
                {
                    "component": "SoundStorm, fake widths",
                    "source": src["AnyGPT"],
                    "config": small,
                    "format": "torch.save(state_dict)",
                },
            ),
        )

    d = os.path.join(out, "soundstorm")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(1234)
    m = build_soundstorm(ss, **SS_ORACLE)
    # Default inits leave LayerNorm affines at 1/0 and the EinMix bias at 0: randomise them so each is seen.
    with torch.no_grad():
        for n, p in m.named_parameters():
            if p.dim() == 1 or n.endswith("gamma") or n.endswith("to_logits.2.bias"):
                p.add_(0.1 * torch.randn_like(p))
    torch.save(m.state_dict(), os.path.join(d, "speechtokenizer_soundstorm_mls.pt"))
    C = SS_ORACLE["codebook"]
    g = torch.Generator().manual_seed(7)
    cases = []
    for L in (3, 12):
        codes = torch.randint(0, C, (1, L * 7), generator=g)
        codes[torch.rand(1, L * 7, generator=g) < 0.4] = C  # mask id
        cond = torch.randint(0, SS_ORACLE["semantic"], (1, L), generator=g)
        with torch.no_grad():
            # what SoundStorm.generate feeds: net(codes, mask=all frames, cond=semantic_token_emb(cond))
            logits = m.net(codes, mask=torch.ones(1, L, dtype=torch.bool), cond=m.semantic_token_emb(cond))
        cases.append({"L": L, "codes": codes[0].tolist(), "cond": cond[0].tolist(), "logits": b64(logits)})

    # MaskGIT loop, pinned on a checkpoint whose logits are peaked (EinMix weights ×40), so that upstream's
    # gumbel draws cannot change its choices: the result is checked to be the same for several torch seeds.
    peaked = build_soundstorm(ss, **SS_ORACLE)
    peaked.load_state_dict(m.state_dict())
    with torch.no_grad():
        peaked.net.to_logits[2].weight.mul_(40)
    torch.save(peaked.state_dict(), os.path.join(d, "peaked.pt"))
    gens = []
    for steps, P, N in ((1, 0, 9), (3, 0, 10), (3, 4, 6), (4, 3, 8)):
        sem = torch.randint(0, SS_ORACLE["semantic"], (1, N), generator=g)
        prompt = None
        if P:
            prompt = torch.cat(
                [
                    torch.randint(0, SS_ORACLE["semantic"], (1, P, 1), generator=g),
                    torch.randint(0, C, (1, P, 7), generator=g),
                ],
                dim=-1,
            )
        outs = []
        for seed in (0, 1, 2):
            torch.manual_seed(seed)
            outs.append(peaked.generate(sem, prompt_tokens=prompt, steps=steps, greedy=True))
        same = all(torch.equal(outs[0], o) for o in outs[1:])
        if not same:
            sys.exit(f"SoundStorm generate steps={steps} P={P}: result depends on the torch seed; raise the peak")
        gens.append(
            {
                "steps": steps,
                "semantic": sem[0].tolist(),
                "prompt": None if prompt is None else prompt[0].T.tolist(),  # layer-major [1+7][P]
                "codes": outs[0][0].T.tolist(),  # layer-major [1+7][N]: semantic layer first
            }
        )
    write_json(
        os.path.join(d, "reference.json"),
        {
            "source": src,
            "config": SS_ORACLE,
            "net": cases,
            "generate": {
                "checkpoint": "peaked.pt",
                "topk_pres": 0.7,
                "greedy": True,
                "note": "SoundStorm.generate as voice_clone.semantic2acoustic calls it; same codes for torch seeds 0-2",
                "cases": gens,
            },
        },
    )


# ---------------------------------------------------------------------------------------- SpeechTokenizer
SPT_REAL = dict(  # fnlp/AnyGPT-speech-modules speechtokenizer/config.json is not in any repository: see docs
    n_filters=64,
    strides=[8, 5, 4, 2],
    dimension=1024,
    semantic_dimension=768,
    bidirectional=True,
    dilation_base=2,
    residual_kernel_size=3,
    n_residual_layers=1,
    lstm_layers=2,
    activation="Snake",
    sample_rate=16000,
    codebook_size=1024,
    n_q=8,
)
SPT_ORACLE = dict(SPT_REAL, n_filters=2, dimension=16, semantic_dimension=8, codebook_size=64)


def speechtokenizer_fixtures(out, src):
    from speechtokenizer import SpeechTokenizer

    real = SpeechTokenizer(SPT_REAL)
    write_json(
        os.path.join(out, "manifests", "speechtokenizer.json"),
        manifest(
            real,
            {
                "component": "SpeechTokenizer (speech encoder + decoder)",
                "source": src["SpeechTokenizer"],
                "module": "speechtokenizer/model.py SpeechTokenizer(config)",
                "config": SPT_REAL,
                "file": "fnlp/AnyGPT-speech-modules speechtokenizer/ckpt.dev (+ config.json)",
                "format": "torch.save(state_dict)",
            },
        ),
    )
    del real
    for cb in (1024, 16):  # as for SoundStorm above
        small = dict(SPT_REAL, n_filters=2, dimension=16, semantic_dimension=8, codebook_size=cb)
        write_json(
            os.path.join(out, "manifests", f"speechtokenizer.fake-{cb}.json"),
            manifest(
                SpeechTokenizer(small),
                {
                    "component": "SpeechTokenizer, fake widths",
                    "source": src["SpeechTokenizer"],
                    "config": small,
                    "format": "torch.save(state_dict)",
                },
            ),
        )
    d = os.path.join(out, "speechtokenizer")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(99)
    m = SpeechTokenizer(SPT_ORACLE).eval()
    sd = m.state_dict()
    # Random init leaves the RVQ input nearly constant over time and the k-means codebooks empty. Shift and scale
    # the encoder's last conv so its output has zero mean and unit spread over a chirp-and-noise batch (as a
    # trained encoder's would vary), and fill the codebooks with Gaussian vectors (shrinking per layer, like
    # residuals), marked initialised; Snake alphas start at 1: vary them.
    rng = np.random.default_rng(11)
    with torch.no_grad():
        for k in list(sd):
            if k.endswith(".alpha"):
                sd[k] = 0.5 + torch.rand_like(sd[k])
        m.load_state_dict(sd)
        T = 160 * int(np.prod(SPT_ORACLE["strides"]))
        t = np.arange(T) / 16000
        train = 0.3 * np.sin(2 * np.pi * (100 + 400 * t) * t) + 0.2 * rng.standard_normal(T)
        vec = m.encoder(torch.from_numpy(train.astype(np.float32)).reshape(1, 1, T))[0]  # [D, F]
        last = max(
            (k for k in sd if k.startswith("encoder.model.") and k.endswith(".conv.conv.weight_g")),
            key=lambda k: int(k.split(".")[2]),
        )
        mean, gain = vec.mean(1), 1.0 / float((vec - vec.mean(1, keepdim=True)).std())
        sd[last] = sd[last] * gain
        bias = last.replace("weight_g", "bias")
        sd[bias] = (sd[bias] - mean) * gain
        for q in range(SPT_ORACLE["n_q"]):
            base = f"quantizer.vq.layers.{q}._codebook."
            e = torch.randn_like(sd[base + "embed"]) * 0.7**q
            sd[base + "embed"] = e.clone()
            sd[base + "embed_avg"] = e.clone()
            sd[base + "cluster_size"] = torch.ones_like(sd[base + "cluster_size"])
            sd[base + "inited"] = torch.ones_like(sd[base + "inited"])
    m.load_state_dict(sd)
    torch.save(m.state_dict(), os.path.join(d, "ckpt.dev"))
    write_json(os.path.join(d, "config.json"), SPT_ORACLE)
    hop = int(np.prod(SPT_ORACLE["strides"]))
    rng = np.random.default_rng(5)
    cases = []
    for T, f0 in ((4 * hop + 123, 220), (9 * hop, 150)):
        t = np.arange(T) / 16000
        wav = 0.3 * np.sin(2 * np.pi * f0 * (1 + 2 * t) * t) + 0.2 * rng.standard_normal(T)
        x = torch.from_numpy(wav.astype(np.float32)).reshape(1, 1, T)
        with torch.no_grad():
            codes = m.encode(x)  # [n_q, 1, F]
            full = m.decode(codes)
            sem = m.decode(codes[:1])
        cases.append(
            {
                "T": T,
                "waveform": b64(x),
                "codes": codes[:, 0, :].tolist(),
                "decoded": b64(full),
                "decodedSemantic": b64(sem),
            }
        )
    write_json(os.path.join(d, "reference.json"), {"source": src, "config": SPT_ORACLE, "hop": hop, "cases": cases})


# ------------------------------------------------------------------------------------------------ EnCodec
# facebook/encodec_32khz as transformers' convert_encodec_checkpoint_to_pytorch.py builds it (model_name
# "encodec_32khz": ratios 8-5-4-4, 2.2 kbps, 64 filters, 32 kHz, 2048 codes, non-causal, no normalisation, no
# conv shortcut) on EncodecConfig's defaults for the rest.
ENCODEC_REAL = dict(
    upsampling_ratios=[8, 5, 4, 4],
    target_bandwidths=[2.2],
    num_filters=64,
    sampling_rate=32000,
    codebook_size=2048,
    use_causal_conv=False,
    normalize=False,
    use_conv_shortcut=False,
)
ENCODEC_ORACLE = dict(ENCODEC_REAL, num_filters=4, hidden_size=8, codebook_size=64)


def import_encodec():
    from transformers.models.encodec.configuration_encodec import EncodecConfig
    from transformers.models.encodec.modeling_encodec import EncodecModel

    return EncodecConfig, EncodecModel


def encodec_config_json(cfg):
    """config.json as save_pretrained writes the fields the converter reads (all EncodecConfig arguments)."""
    keys = (
        "target_bandwidths sampling_rate audio_channels normalize chunk_length_s overlap hidden_size num_filters "
        "num_residual_layers upsampling_ratios norm_type kernel_size last_kernel_size residual_kernel_size "
        "dilation_growth_rate use_causal_conv pad_mode compress num_lstm_layers trim_right_ratio codebook_size "
        "codebook_dim use_conv_shortcut"
    ).split()
    return dict({k: getattr(cfg, k) for k in keys}, model_type="encodec", architectures=["EncodecModel"])


def encodec_fixtures(out, src):
    import seanet  # our safetensors writer: safetensors (the library) is not in Debian

    EncodecConfig, EncodecModel = import_encodec()
    src = dict(src["transformers"], configuration_commit=ENCODEC_CONFIG_COMMIT)
    real = EncodecModel(EncodecConfig(**ENCODEC_REAL))
    write_json(
        os.path.join(out, "manifests", "encodec.json"),
        manifest(
            real,
            {
                "component": "EnCodec 32 kHz (music encoder + decoder)",
                "source": src,
                "module": "transformers/models/encodec/modeling_encodec.py EncodecModel(EncodecConfig(**config))",
                "config": encodec_config_json(real.config),
                "file": "facebook/encodec_32khz model.safetensors (+ config.json)",
                "format": "safetensors (save_pretrained)",
            },
        ),
    )
    del real
    # The fake widths of tools/convert/fake_media.py: 2 filters, hidden 8, codebook of the music block / 4
    # (full layout 8192 → 2048; fake_checkpoints.SMALL_BLOCKS 64 → 16).
    for cb in (2048, 16):
        small = dict(ENCODEC_REAL, num_filters=2, hidden_size=8, codebook_size=cb)
        m = EncodecModel(EncodecConfig(**small))
        write_json(
            os.path.join(out, "manifests", f"encodec.fake-{cb}.json"),
            manifest(
                m,
                {
                    "component": "EnCodec, fake widths",
                    "source": src,
                    "config": encodec_config_json(m.config),
                    "format": "safetensors (save_pretrained)",
                },
            ),
        )
    d = os.path.join(out, "encodec")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(321)
    m = EncodecModel(EncodecConfig(**ENCODEC_ORACLE)).eval()
    cfg = m.config
    hop = int(np.prod(cfg.upsampling_ratios))
    # Upstream's init leaves the LSTM biases at 0 and the codebooks empty: vary the biases, scale the encoder's
    # last conv so that its output has zero mean and unit spread over a training clip, and fill the codebooks
    # with Gaussian vectors shrinking per layer (like residuals).
    rng = np.random.default_rng(21)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if ".lstm.bias" in n:
                p.copy_(0.1 * torch.randn_like(p))
        T = 120 * hop
        t = np.arange(T) / cfg.sampling_rate
        train = 0.3 * np.sin(2 * np.pi * (110 + 300 * t) * t) + 0.2 * rng.standard_normal(T)
        vec = m.encoder(torch.from_numpy(train.astype(np.float32)).reshape(1, 1, T))[0]  # [D, F]
        last = m.encoder.layers[-1].conv
        mean, gain = vec.mean(1), 1.0 / float((vec - vec.mean(1, keepdim=True)).std())
        last.weight_g.mul_(gain)
        last.bias.copy_((last.bias - mean) * gain)
        for q, layer in enumerate(m.quantizer.layers):
            e = torch.randn_like(layer.codebook.embed) * 0.7**q
            layer.codebook.embed.copy_(e)
            layer.codebook.embed_avg.copy_(e)
            layer.codebook.cluster_size.fill_(1.0)
        # and the decoder's last conv so that its waveform spreads like audio (std 0.3), not ≈ 0.02
        x = torch.from_numpy(train.astype(np.float32)).reshape(1, 1, T)
        y = m.decode(m.encode(x, return_dict=True).audio_codes, [None], return_dict=True).audio_values
        out_conv = m.decoder.layers[-1].conv
        out_conv.weight_g.mul_(0.3 / float(y.std()))
        out_conv.bias.mul_(0.3 / float(y.std()))
    sd = m.state_dict()
    seanet.write_safetensors(os.path.join(d, "model.safetensors"), sd)
    write_json(os.path.join(d, "config.json"), encodec_config_json(cfg))
    rng = np.random.default_rng(6)
    cases = []
    for T, f0 in ((4 * hop + 123, 330), (9 * hop, 200)):
        t = np.arange(T) / cfg.sampling_rate
        wav = 0.3 * np.sin(2 * np.pi * f0 * (1 + 2 * t) * t) + 0.2 * rng.standard_normal(T)
        x = torch.from_numpy(wav.astype(np.float32)).reshape(1, 1, T)
        with torch.no_grad():
            enc = m.encode(x, return_dict=True)
            codes = enc.audio_codes  # [chunks=1, B=1, Q, F]
            dec = m.decode(codes, enc.audio_scales, return_dict=True).audio_values  # [1, 1, hop·F]
            # how close the nearest code came to the second (codes must not hinge on fp32 rounding)
            res = m.encoder(x)
            gap = float("inf")
            for layer in m.quantizer.layers:
                h = res.permute(0, 2, 1).reshape(-1, res.shape[1])
                dist = torch.cdist(h, layer.codebook.embed)
                two = dist.topk(2, largest=False).values
                gap = min(gap, float((two[:, 1] - two[:, 0]).min()))
                res = res - layer.decode(layer.encode(res))
        if gap < 1e-4:
            sys.exit(f"EnCodec oracle T={T}: nearest codes only {gap} apart; change the seed")
        cases.append(
            {"T": T, "waveform": b64(x), "codes": codes[0, 0].tolist(), "decoded": b64(dec), "minCodeGap": gap}
        )
    write_json(
        os.path.join(d, "reference.json"),
        {
            "source": src,
            "config": encodec_config_json(cfg),
            "hop": hop,
            "note": "EncodecModel.encode / .decode (return_dict); codes [Q][F] of the single chunk",
            "cases": cases,
        },
    )


# --------------------------------------------------------------------------------------------------- SEED
# AnyGPT's seed2/seed_qformer (Blip2QformerQuantizer, as seed2/seed_llama_tokenizer.py ImageTokenizer builds it:
# EVA ViT-g from create_eva_vit_g, BERT-base Q-Former with 32 causal queries, codebook 8192 × 32, decoder depth 4,
# image features 1024). Upstream runs it in fp16 on a GPU; the oracle runs fp32 (vit_precision "fp32").
SEED_ORACLE = dict(
    vit=dict(embed_dim=16, depth=2, num_heads=2),
    bert=dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96),
    model=dict(codebook_embed_dim=8, n_embed=64, decode_depth=2, image_features_dim=64),
)
SEED_REAL = dict(vit=dict(embed_dim=1408, depth=39, num_heads=1408 // 88), bert={}, model={})


def build_seed(vit, bert, model):
    """Blip2QformerQuantizer with create_eva_vit_g's VisionTransformer at `vit` widths (its download of
    eva_vit_g.pth skipped) and bert-base-uncased's config updated by `bert` (the shim's from_pretrained)."""
    from functools import partial

    from seed2.seed_qformer import blip2, eva_vit, qformer_quantizer
    from transformers.models.bert import configuration_bert

    configuration_bert.PRETRAINED_OVERRIDE.clear()
    configuration_bert.PRETRAINED_OVERRIDE.update(bert)

    def create_vit(img_size=224, drop_path_rate=0.4, use_checkpoint=False, precision="fp16"):
        m = eva_vit.VisionTransformer(
            img_size=img_size,
            patch_size=14,
            use_mean_pooling=False,
            mlp_ratio=4.3637,
            qkv_bias=True,
            drop_path_rate=drop_path_rate,
            norm_layer=partial(nn.LayerNorm, eps=1e-6),
            use_checkpoint=use_checkpoint,
            **vit,
        )
        if precision == "fp16":
            eva_vit.convert_weights_to_fp16(m)
        return m

    blip2.create_eva_vit_g = create_vit
    return qformer_quantizer.Blip2QformerQuantizer(vit_precision="fp32", **model).eval()


class _NoInit:
    """Keys only: skip the random init of the 1 B-value ViT (allocation without touching the pages)."""

    MODS = (nn.Linear, nn.Conv2d, nn.LayerNorm, nn.Embedding, nn.GroupNorm)

    def __enter__(self):
        layers = sys.modules.get("timm.models.layers")
        if layers:
            layers.SKIP_INIT = True
        self.saved = [m.reset_parameters for m in self.MODS]
        for m in self.MODS:
            m.reset_parameters = lambda self: None

    def __exit__(self, *exc):
        layers = sys.modules.get("timm.models.layers")
        if layers:
            layers.SKIP_INIT = False
        for m, f in zip(self.MODS, self.saved):
            m.reset_parameters = f


def seed_fixtures(out, src):
    src = dict(src["AnyGPT"], path="seed2/seed_qformer")
    meta = {
        "source": src,
        "module": "seed2/seed_qformer/qformer_quantizer.py Blip2QformerQuantizer(vit_precision='fp32'), ViT from "
        "eva_vit.py create_eva_vit_g (its weight download skipped)",
    }
    with _NoInit():
        real = build_seed(**SEED_REAL)
    sd = real.state_dict()
    write_json(
        os.path.join(out, "manifests", "seed_quantizer.json"),
        dict(
            meta,
            component="SEED tokenizer (Blip2QformerQuantizer without its ViT)",
            config={"num_query_token": 32, "codebook_embed_dim": 32, "n_embed": 8192, "decode_depth": 4},
            file="AILab-CVC/seed-tokenizer-2 seed_quantizer.pt (loaded with strict=False: these are the keys "
            "upstream can fill; the file may hold fewer or more)",
            format="torch.save(state_dict)",
            keys=[[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()
                  if not k.startswith("visual_encoder.")],
        ),
    )
    write_json(
        os.path.join(out, "manifests", "eva_vit_g.json"),
        dict(
            meta,
            component="EVA ViT-g (SEED's image encoder)",
            config=dict(SEED_REAL["vit"], patch_size=14, img_size=224, mlp_ratio=4.3637),
            file="LAVIS eva_vit_g.pth (create_eva_vit_g loads it with strict=False)",
            format="torch.save(state_dict)",
            keys=manifest(real.visual_encoder, {})["keys"],
        ),
    )
    del real, sd

    d = os.path.join(out, "seed")
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(4242)
    m = build_seed(**SEED_ORACLE)
    g = torch.Generator().manual_seed(17)
    # Upstream's inits (BERT's N(0, 0.02), zero biases, unit LayerNorms, zero position embeddings, a uniform
    # ±1/n codebook) make every query alike: draw every tensor anew at O(1) scales.
    with torch.no_grad():
        for n, p in m.named_parameters():
            if n.endswith("bias"):
                p.copy_(0.05 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:  # LayerNorm weights
                p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
            elif n in ("query_tokens", "pos_embed", "pos_embed_image") or n.endswith(("cls_token", "pos_embed")):
                p.copy_(torch.randn(p.shape, generator=g))
            elif n == "quantize.embedding.weight":
                continue
            else:
                p.copy_(torch.randn(p.shape, generator=g) / float(np.sqrt(p[0].numel())))
        # smooth-ish pixel patterns in the normalised range
        def image(kind, seed):
            r = np.random.default_rng(seed)
            y, x = np.mgrid[0:224, 0:224] / 224.0
            if kind == "gradient":
                a = np.stack([x, y, (x + y) / 2]) * 3 - 1.5
            elif kind == "blocks":
                a = np.kron(r.standard_normal((3, 8, 8)), np.ones((28, 28)))
            else:
                a = r.standard_normal((3, 224, 224))
            return torch.from_numpy(a.astype(np.float32))[None]

        train = torch.cat([image(k, 100 + i) for i, k in enumerate(("gradient", "blocks", "noise", "blocks", "noise"))])
        feats = []
        h = m.encode_task_layer.register_forward_hook(lambda mod, i, o: feats.append(o))
        m.get_codebook_indices(train)
        h.remove()
        f = feats[0].reshape(-1, feats[0].shape[-1])
        last = m.encode_task_layer[2]
        mean, std = f.mean(0), f.std(0)
        last.weight.div_(std[:, None])
        last.bias.copy_((last.bias - mean) / std)
        m.quantize.embedding.weight.copy_(torch.randn(m.quantize.embedding.weight.shape, generator=g))
    sd = m.state_dict()
    torch.save({k: v for k, v in sd.items() if not k.startswith("visual_encoder.")}, os.path.join(d, "seed_quantizer.pt"))
    torch.save(m.visual_encoder.state_dict(), os.path.join(d, "eva_vit_g.pth"))

    cases = []
    for i, kind in enumerate(("gradient", "blocks", "noise")):
        x = image(kind, i)
        feats = []
        h = m.encode_task_layer.register_forward_hook(lambda mod, inp, o: feats.append(o))
        with torch.no_grad():
            ids, _ = m.get_codebook_indices(x)
        h.remove()
        z = feats[0].reshape(-1, feats[0].shape[-1])
        e = m.quantize.embedding.weight
        dist = (z**2).sum(1, keepdim=True) + (e**2).sum(1) - 2 * z @ e.t()
        two = dist.topk(2, largest=False).values
        gap = float((two[:, 1] - two[:, 0]).min())
        if gap < 2e-4:  # squared distances of ≈ 16: fp32 rounding is ≈ 1e-5
            sys.exit(f"SEED oracle {kind}: nearest codes only {gap} apart; change the seed")
        cases.append({"image": kind, "pixels": b64(x), "codes": ids[0].tolist(), "features": b64(feats[0]),
                      "minCodeGap": gap})
    g2 = torch.Generator().manual_seed(5)
    decode = []
    for ids in [c["codes"] for c in cases] + [torch.randint(0, 64, (32,), generator=g2).tolist()]:
        with torch.no_grad():
            emb = m.get_codebook_entry(torch.tensor([ids]))
        decode.append({"codes": ids, "image_embeds": b64(emb)})
    write_json(
        os.path.join(d, "reference.json"),
        {
            "source": src,
            "config": SEED_ORACLE,
            "heads": {"vit": SEED_ORACLE["vit"]["num_heads"], "qformer": SEED_ORACLE["bert"]["num_attention_heads"],
                      "blocks_image": 12},
            "encode": {"note": "Blip2QformerQuantizer.get_codebook_indices (fp32); features = encode_task_layer "
                       "output before the quantizer", "cases": cases},
            "decode": {"note": "Blip2QformerQuantizer.get_codebook_entry", "cases": decode},
        },
    )


# ------------------------------------------------------------------------------------------ diffusers unCLIP
def unclip_fixtures(out, src):
    """diffusers 0.20.2 UNet2DConditionModel, AutoencoderKL and StableUnCLIPImageNormalizer at the tiny widths
    of tools/convert/unclip.py (block types, projection class embedding, linear projection, attention head dims
    as SD 2.1 unCLIP), and its schedulers with the SD 2.1 unCLIP configs: checkpoints in the diffusers folder
    layout, the modules' outputs, PNDM timesteps, alphas and a PLMS trajectory."""
    import seanet
    import unclip
    from diffusers.models.autoencoder_kl import AutoencoderKL
    from diffusers.models.embeddings import get_timestep_embedding
    from diffusers.models.unet_2d_condition import UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import StableUnCLIPImageNormalizer
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler
    from diffusers.schedulers.scheduling_pndm import PNDMScheduler

    src = src["diffusers"]
    # full-size key manifests at the SD 2.1 unCLIP configs as tools/convert/unclip.py reads them (the hub's
    # config.json files are not in any repository here: our reading, as for SpeechTokenizer's)
    n4 = len(unclip.VAE_SD21["block_out_channels"])
    for name, build, cfg in (
        ("unet", lambda c: UNet2DConditionModel(**c), dict(unclip.UNET_SD21)),
        (
            "vae",
            lambda c: AutoencoderKL(down_block_types=["DownEncoderBlock2D"] * n4, up_block_types=["UpDecoderBlock2D"] * n4, **c),
            dict(unclip.VAE_SD21),
        ),
        ("image_normalizer", lambda c: StableUnCLIPImageNormalizer(**c), {"embedding_dim": 1024}),
    ):
        with _NoInit():
            m = build(cfg)
        write_json(
            os.path.join(out, "manifests", f"unclip_{name}.json"),
            manifest(
                m,
                {
                    "component": f"stable-diffusion-2-1-unclip {name}",
                    "source": src,
                    "module": f"diffusers {type(m).__name__}",
                    "config": cfg,
                    "file": f"stabilityai/stable-diffusion-2-1-unclip {name}/diffusion_pytorch_model.safetensors",
                    "format": "safetensors",
                },
            ),
        )
        del m
    d = os.path.join(out, "unclip")
    torch.manual_seed(77)
    g = torch.Generator().manual_seed(78)
    ucfg = dict(unclip.UNET_TINY)
    ucfg.pop("sample_size", None)
    unet = UNet2DConditionModel(sample_size=8, **ucfg).eval()
    vcfg = {k: v for k, v in unclip.VAE_TINY.items() if k not in ("sample_size",)}
    n = len(vcfg["block_out_channels"])
    vae = AutoencoderKL(
        down_block_types=["DownEncoderBlock2D"] * n, up_block_types=["UpDecoderBlock2D"] * n, sample_size=16, **vcfg
    ).eval()
    D = ucfg["projection_class_embeddings_input_dim"] // 2
    norm = StableUnCLIPImageNormalizer(embedding_dim=D)
    # default inits leave GroupNorm/LayerNorm affines at 1/0, zero conv_out and biases: draw them anew
    with torch.no_grad():
        for m in (unet, vae, norm):
            for name, p in m.named_parameters():
                if name.endswith("bias"):
                    p.copy_(0.05 * torch.randn(p.shape, generator=g))
                elif p.dim() == 1:
                    p.copy_(1 + 0.1 * torch.randn(p.shape, generator=g))
                elif name in ("mean", "std"):
                    p.copy_(torch.randn(p.shape, generator=g) if name == "mean" else 0.5 + torch.rand(p.shape, generator=g))
                else:
                    p.copy_(torch.randn(p.shape, generator=g) / float(np.sqrt(p[0].numel())))
    for sub, m in (("unet", unet), ("vae", vae), ("image_normalizer", norm)):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
        seanet.write_safetensors(
            os.path.join(d, sub, "diffusion_pytorch_model.safetensors"), {k: v.contiguous() for k, v in m.state_dict().items()}
        )
        cfg = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dict(m.config).items() if not k.startswith("_")}
        write_json(os.path.join(d, sub, "config.json"), dict(cfg, _class_name=type(m).__name__))
    sched_cfg = {
        "beta_end": 0.012,
        "beta_schedule": "scaled_linear",
        "beta_start": 0.00085,
        "num_train_timesteps": 1000,
        "prediction_type": "v_prediction",
        "set_alpha_to_one": False,
        "skip_prk_steps": True,
        "steps_offset": 1,
    }
    noising_cfg = {"beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 1000}
    write_json(os.path.join(d, "scheduler", "scheduler_config.json"), dict(sched_cfg, _class_name="PNDMScheduler"))
    write_json(
        os.path.join(d, "image_noising_scheduler", "scheduler_config.json"), dict(noising_cfg, _class_name="DDPMScheduler")
    )
    text = torch.randn(1, 77, ucfg["cross_attention_dim"], generator=g)
    with open(os.path.join(d, "text_embedding.f32"), "wb") as f:
        f.write(np.ascontiguousarray(text.numpy(), dtype="<f4").tobytes())

    x = torch.randn(2, 4, 8, 8, generator=g)
    ctx = text.expand(2, -1, -1).contiguous()
    lab = torch.randn(2, 2 * D, generator=g)
    lab[0] = 0
    z = torch.randn(1, 4, 8, 8, generator=g)
    emb = torch.randn(1, D, generator=g)
    with torch.no_grad():
        y = unet(x, torch.tensor([901.0, 901.0]), ctx, class_labels=lab).sample
        img = vae.decode(z).sample
        scaled, unscaled = norm.scale(emb), norm.unscale(emb)
    # the class label AnyGPT's pipeline (seed2/pipeline_stable_unclip_img2img.py, "Copied from" this diffusers
    # method) builds from a SEED image embedding at noise_level 0
    import types as _types

    from diffusers.pipelines.stable_diffusion.pipeline_stable_unclip import StableUnCLIPPipeline

    noise = torch.randn(1, D, generator=g)
    ddpm = DDPMScheduler(**noising_cfg)
    with torch.no_grad():
        label = StableUnCLIPPipeline.noise_image_embeddings(
            _types.SimpleNamespace(image_normalizer=norm, image_noising_scheduler=ddpm), emb, 0, noise=noise
        )

    pndm = PNDMScheduler(**sched_cfg)
    timesteps = {}
    for steps in (1, 2, 20, 25, 50):
        pndm.set_timesteps(steps)
        timesteps[str(steps)] = pndm.timesteps.tolist()
    pndm = PNDMScheduler(**sched_cfg)
    pndm.set_timesteps(20)
    sample = torch.from_numpy(np.random.default_rng(9).standard_normal(16).astype(np.float32))
    init = sample.clone()
    traj = []
    for k, t in enumerate(pndm.timesteps):
        o = torch.tensor([0.5 * math.sin(0.11 * j + 0.7 * k) for j in range(16)], dtype=torch.float32)
        sample = pndm.step(o, t, sample).prev_sample
        traj.append(sample.tolist())
    te = {str(t): get_timestep_embedding(torch.tensor([t]), 16, flip_sin_to_cos=True, downscale_freq_shift=0)[0].tolist()
          for t in (0, 100)}
    write_json(
        os.path.join(d, "reference.json"),
        {
            "source": src,
            "unet": {"timestep": 901.0, "sample": b64(x), "text": b64(ctx[0]), "class_labels": b64(lab),
                     "out_sample": b64(y), "labelDim": 2 * D},
            "vae": {"latent": b64(z), "image": b64(img), "imageShape": list(img.shape)},
            "normaliser": {"embeds": b64(emb), "scaled": b64(scaled), "unscaled": b64(unscaled)},
            "classLabel": {"embeds": b64(emb), "noise": b64(noise), "noiseLevel": 0, "label": b64(label)},
            "scheduler": {
                "config": sched_cfg,
                "timesteps": timesteps,
                "alphasCumprod": pndm.alphas_cumprod.tolist(),
                "plms": {"steps": 20, "sampleInit": init.tolist(), "trajectory": traj,
                         "modelOutput": "0.5 * sin(0.11 j + 0.7 k) at step k, element j"},
                "noising": {"config": noising_cfg, "alphasCumprod0": float(ddpm.alphas_cumprod[0])},
                "timestepEmbedding": {"dim": 16, **te},
            },
        },
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--upstream", required=True, help="folder with one checkout per upstream repository")
    ap.add_argument(
        "--out", default=os.path.join(os.path.dirname(__file__), "..", "..", "..", "test", "fixtures", "upstream")
    )
    ap.add_argument("--only", default=",".join(NEEDS))
    a = ap.parse_args()
    only = a.only.split(",")
    src = check_upstream(a.upstream, sorted({n for c in only for n in NEEDS[c]}))
    for name in ("einops", "beartype", "SpeechTokenizer"):
        sys.path.insert(0, os.path.join(a.upstream, name))
    sys.path.insert(0, os.path.join(HERE, ".."))
    torch.set_num_threads(1)
    if "soundstorm" in only:
        soundstorm_fixtures(import_soundstorm(a.upstream), a.out, src)
    if "speechtokenizer" in only:
        speechtokenizer_fixtures(a.out, src)
    if "encodec" in only:
        use_shims("encodec")
        os.environ["ANYGPT_ORACLE_TRANSFORMERS_MODELS"] = os.path.join(
            a.upstream, "transformers", "src", "transformers", "models"
        )
        encodec_fixtures(a.out, src)
    if "seed" in only:
        use_shims("seed")
        sys.path.insert(0, os.path.join(a.upstream, "AnyGPT"))  # seed2/ sits at the repository root
        seed_fixtures(a.out, src)
    if "unclip" in only:
        use_shims("diffusers")
        import hub_stubs  # noqa: F401

        sys.path.insert(0, os.path.join(a.upstream, "diffusers", "src"))
        unclip_fixtures(a.out, src)


if __name__ == "__main__":
    main()
