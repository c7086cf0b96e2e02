#!/usr/bin/python3
"""Media components of the package (called by convert.py): each source folder → ONNX graphs (fp32) + the
manifest's `modalities` entries (common/manifest.ts, docs/model-package.md, docs/codecs.md).

  --speech-modules DIR   fnlp/AnyGPT-speech-modules: speechtokenizer/{ckpt.dev,config.json},
                         soundstorm/speechtokenizer_soundstorm_mls.pt      → speech_encoder/decoder/acoustic.onnx
  --encodec DIR          facebook/encodec_32khz: config.json, model.safetensors → music_encoder/decoder.onnx
  --seed DIR             AILab-CVC/seed-tokenizer-2: seed_quantizer.pt      → image_seed_decoder.onnx,
                         + eva_vit_g.pth (LAVIS EVA ViT-g)                 → image_encoder.onnx (seed_encoder.py)
  --unclip DIR           stabilityai/stable-diffusion-2-1-unclip (unet/, vae/, image_normalizer/, scheduler/,
                         text_encoder/, tokenizer/; or text_embedding.f32) → image_unet.onnx, image_vae_decoder.onnx,
                                                                              image_text_embedding.f32, image_norm_{mean,std}.f32
  --image-encoder FILE   optional override: an already exported SEED encoder graph (pixel_values [1,3,224,224] →
                         codes [1,32]) copied instead of exporting ours.

The image modality needs --seed and --unclip. Graphs over 1.8 GB are written with one external-data file
(`<graph>.data`); the SEED encoder at the real widths (EVA ViT-g, ≈1 B parameters) is one of them.
"""

import os
import shutil
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atomic  # noqa: E402
import layout  # noqa: E402


class MediaError(Exception):
    pass


def block_size(contents, prefix):
    n = 0
    while f"<{prefix}{n}>" in contents:
        n += 1
    return n


def _finalize(tmp_path, out_dir, name, log):
    """Moves an exported graph into the package; large graphs get one external-data file."""
    import onnx

    m = onnx.load(tmp_path)  # also loads torch's per-tensor external files, if any
    size = sum(t.ByteSize() for t in m.graph.initializer)
    ref = {"path": name}
    external = size > 1.8 * 2**30
    # Saved under a staging folder in the package, then renamed into place (a failed save leaves the old file).
    with atomic.staged(out_dir, [name, name + ".data"] if external else [name]) as stage:
        dst = os.path.join(stage, name)
        if external:
            onnx.save_model(
                m,
                dst,
                save_as_external_data=True,
                all_tensors_to_one_file=True,
                location=name + ".data",
                size_threshold=1024,
            )
            ref["externalData"] = [{"path": name + ".data"}]
        else:
            onnx.save_model(m, dst)
    log(f"  {name}: {size / 2**20:.1f} MiB of weights")
    return ref


def _export_to(out_dir, name, fn, log):
    tmpd = tempfile.mkdtemp(dir=out_dir)
    try:
        p = os.path.join(tmpd, name)
        fn(p)
        return _finalize(p, out_dir, name, log)
    finally:
        shutil.rmtree(tmpd, ignore_errors=True)


def _quiet():
    import warnings

    warnings.filterwarnings("ignore")


def convert_speech(src, out, contents, log):
    import seanet
    import soundstorm

    spt_dir = os.path.join(src, "speechtokenizer")
    ss_path = os.path.join(src, "soundstorm", "speechtokenizer_soundstorm_mls.pt")
    for p in (os.path.join(spt_dir, "ckpt.dev"), os.path.join(spt_dir, "config.json"), ss_path):
        if not os.path.isfile(p):
            raise MediaError(
                f"--speech-modules {src}: missing {os.path.relpath(p, src)} (download fnlp/AnyGPT-speech-modules)"
            )
    try:
        spt, cfg = seanet.load_spt(spt_dir)
    except (KeyError, ValueError) as e:
        raise MediaError(f"{spt_dir}/ckpt.dev: {e}")
    size = block_size(contents, layout.SPEECH_PREFIX)
    if size != cfg["codebook_size"]:
        raise MediaError(f"SpeechTokenizer codebook {cfg['codebook_size']} ≠ {size} speech tokens in the vocabulary")
    hop = int(np.prod(cfg["strides"]))
    log(f"  SpeechTokenizer: {cfg['n_q']}×{cfg['codebook_size']} RVQ, hop {hop}, {cfg['activation']}")
    refs = {}
    refs["enc"] = _export_to(
        out, "speech_encoder.onnx", lambda p: seanet.export_codec(spt, "speech", p, None, hop), log
    )
    refs["dec"] = _export_to(
        out, "speech_decoder.onnx", lambda p: seanet.export_codec(spt, "speech", None, p, hop), log
    )
    try:
        net, scfg = soundstorm.load(ss_path)
    except (KeyError, ValueError) as e:
        raise MediaError(str(e))
    if scfg["codebook_size"] != cfg["codebook_size"] or scfg["num_quantizers"] != cfg["n_q"] - 1:
        raise MediaError(
            f"SoundStorm ({scfg['num_quantizers']}×{scfg['codebook_size']}) does not fit SpeechTokenizer "
            f"({cfg['n_q']}×{cfg['codebook_size']})"
        )
    log(f"  SoundStorm net: dim {scfg['dim']}, depth {scfg['depth']}, {scfg['heads']} heads")
    refs["ac"] = _export_to(out, "speech_acoustic.onnx", lambda p: soundstorm.export(net, p), log)
    return {
        "tokens": {"prefix": layout.SPEECH_PREFIX, "size": size, "start": "<sosp>", "end": "<eosp>"},
        "sampleRate": cfg["sample_rate"],
        "frameRate": cfg["sample_rate"] // hop,
        "numQuantizers": cfg["n_q"],
        "codebookSize": cfg["codebook_size"],
        "maxInputSeconds": 60,
        "encoder": refs["enc"],
        "acoustic": {
            "graph": refs["ac"],
            "numAcousticQuantizers": scfg["num_quantizers"],
            "maskId": scfg["codebook_size"],
            "steps": 3,
            "topkFraction": 0.7,
        },
        "decoder": refs["dec"],
    }


def convert_music(src, out, contents, log):
    import seanet

    try:
        m, cfg = seanet.load_encodec(src)
    except FileNotFoundError as e:
        raise MediaError(f"--encodec: {e}")
    except (KeyError, ValueError) as e:
        raise MediaError(f"{src}/model.safetensors: {e}")
    Q, S = len(m.codebooks), cfg["codebook_size"]
    size = block_size(contents, layout.MUSIC_PREFIX)
    if size != Q * S:
        raise MediaError(f"EnCodec {Q}×{S} codes ≠ {size} music tokens in the vocabulary")
    hop = int(np.prod(cfg["upsampling_ratios"]))
    log(f"  EnCodec: {Q}×{S} RVQ, hop {hop}, {cfg['sampling_rate']} Hz")
    enc = _export_to(out, "music_encoder.onnx", lambda p: seanet.export_codec(m, "music", p, None, hop), log)
    dec = _export_to(out, "music_decoder.onnx", lambda p: seanet.export_codec(m, "music", None, p, hop), log)
    return {
        "tokens": {"prefix": layout.MUSIC_PREFIX, "size": size, "start": "<somu>", "end": "<eomu>"},
        "sampleRate": cfg["sampling_rate"],
        "frameRate": cfg["sampling_rate"] // hop,
        "numCodebooks": Q,
        "codebookSize": S,
        "maxInputSeconds": 20,
        "chatMaxInputSeconds": 5,  # upstream's chat CLI (music_segment_duration); base inference takes 20 s
        "encoder": enc,
        "decoder": dec,
    }


def _seed_encoder(seed_dir, encoder_graph, dims, out, log):
    """image_encoder.onnx: our export of the SEED encoder, or the --image-encoder graph copied as it is."""
    if encoder_graph:
        log(f"  SEED encoder: supplied graph {encoder_graph} (copied, not converted)")
        with atomic.staged(out, ["image_encoder.onnx"]) as stage:
            shutil.copyfile(encoder_graph, os.path.join(stage, "image_encoder.onnx"))
        return {"path": "image_encoder.onnx"}
    import seed_encoder

    try:
        enc, edims = seed_encoder.load(seed_dir)
    except FileNotFoundError as e:
        raise MediaError(f"--seed: {e}")
    except (KeyError, ValueError) as e:
        raise MediaError(f"--seed {seed_dir}: {e}")
    if (edims["n_embed"], edims["code_dim"], edims["queries"]) != (dims["n_embed"], dims["code_dim"], dims["tokens"]):
        raise MediaError(
            f"SEED encoder ({edims['queries']} queries, {edims['n_embed']}×{edims['code_dim']} codebook) "
            f"does not fit the decoder ({dims['tokens']} codes, {dims['n_embed']}×{dims['code_dim']})"
        )
    log(
        f"  SEED encoder: ViT {edims['vit_dim']}×{edims['vit_depth']} ({edims['vit_heads']} heads), Q-Former "
        f"{edims['hidden']}×{edims['layers']} ({edims['heads']} heads, cross-attention in layers {list(edims['cross'])}), "
        f"{edims['queries']} causal queries, {edims['n_embed']}×{edims['code_dim']} codebook"
    )
    return _export_to(out, "image_encoder.onnx", lambda q: seed_encoder.export(enc, q), log)


def convert_image(seed_dir, unclip_dir, encoder_graph, out, contents, log):
    import seed_decoder
    import unclip

    p = os.path.join(seed_dir, "seed_quantizer.pt")
    if not os.path.isfile(p):
        raise MediaError(f"--seed {seed_dir}: no seed_quantizer.pt (download AILab-CVC/seed-tokenizer-2)")
    if encoder_graph and not os.path.isfile(encoder_graph):
        raise MediaError(f"--image-encoder {encoder_graph}: not a file")
    sd, dims = seed_decoder.load(p)
    size = block_size(contents, layout.IMAGE_PREFIX)
    if size != dims["n_embed"]:
        raise MediaError(f"SEED codebook {dims['n_embed']} ≠ {size} image tokens in the vocabulary")
    enc_ref = _seed_encoder(seed_dir, encoder_graph, dims, out, log)  # before the UNet is loaded: peak RAM
    try:
        unet, vae, extra = unclip.load(unclip_dir)
    except FileNotFoundError as e:
        raise MediaError(f"--unclip: {e}")
    except (KeyError, ValueError) as e:
        raise MediaError(f"--unclip {unclip_dir}: {e}")
    D = dims["out_dim"]
    if unet.c["projection_class_embeddings_input_dim"] != 2 * D:
        raise MediaError(
            f"UNet class labels are {unet.c['projection_class_embeddings_input_dim']}-d, the SEED decoder gives {D}-d"
        )
    log(f"  SEED decoder {dims}; UNet channels {unet.c['block_out_channels']}; VAE {vae.c['block_out_channels']}")
    log(f"  text embedding: {extra['text_note']}")
    seed_ref = _export_to(out, "image_seed_decoder.onnx", lambda q: seed_decoder.export(sd, q, dims["tokens"]), log)
    lat = unet.c["sample_size"]
    unet_ref = _export_to(out, "image_unet.onnx", lambda q: unclip.export_unet(unet, q, lat, lat), log)
    vae_ref = _export_to(out, "image_vae_decoder.onnx", lambda q: unclip.export_vae(vae, q, lat, lat), log)
    atomic.write_bytes(os.path.join(out, "image_text_embedding.f32"), extra["text"].astype("<f4").tobytes())
    dec = {
        "kind": "seed-unclip",
        "seedDecoder": seed_ref,
        "unet": unet_ref,
        "vae": vae_ref,
        "textEmbedding": {"path": "image_text_embedding.f32"},
    }
    if "mean" in extra:
        atomic.write_bytes(os.path.join(out, "image_norm_mean.f32"), extra["mean"].numpy().astype("<f4").tobytes())
        atomic.write_bytes(os.path.join(out, "image_norm_std.f32"), extra["std"].numpy().astype("<f4").tobytes())
        dec["imageNormalizer"] = {"mean": {"path": "image_norm_mean.f32"}, "std": {"path": "image_norm_std.f32"}}
    s = extra["scheduler"]
    dec["scheduler"] = {
        "numTrainTimesteps": s.get("num_train_timesteps", 1000),
        "betaStart": s.get("beta_start", 0.00085),
        "betaEnd": s.get("beta_end", 0.012),
        "betaSchedule": s.get("beta_schedule", "scaled_linear"),
        "predictionType": s.get("prediction_type", "v_prediction"),
        "stepsOffset": s.get("steps_offset", 1),
        "setAlphaToOne": bool(s.get("set_alpha_to_one", False)),
    }
    if dec["scheduler"]["betaSchedule"] != "scaled_linear":
        raise MediaError(
            f"{unclip_dir}/scheduler: beta_schedule {s.get('beta_schedule')!r}, only scaled_linear is supported"
        )
    dec.update(steps=20, guidanceScale=10, latentShape=[1, 4, lat, lat], vaeScale=vae.c.get("scaling_factor", 0.18215))
    return {
        "tokens": {"prefix": layout.IMAGE_PREFIX, "size": size, "start": "<soim>", "end": "<eoim>"},
        "tokensPerImage": dims["tokens"],
        "input": {
            "width": 224,
            "height": 224,
            "resize": "fill-bicubic",
            "mean": [0.48145466, 0.4578275, 0.40821073],
            "std": [0.26862954, 0.26130258, 0.27577711],
            "background": "#ffffff",
        },
        "encoder": enc_ref,
        "decoder": dec,
    }


def check(speech=None, encodec=None, seed=None, unclip_dir=None, image_encoder=None):
    """Cheap up-front check of the media source folders (before the long LLM conversion)."""
    need = []
    if speech:
        need += [os.path.join(speech, "speechtokenizer", f) for f in ("ckpt.dev", "config.json")]
        need.append(os.path.join(speech, "soundstorm", "speechtokenizer_soundstorm_mls.pt"))
    if encodec:
        need += [os.path.join(encodec, f) for f in ("config.json", "model.safetensors")]
    if seed:
        need.append(os.path.join(seed, "seed_quantizer.pt"))
    if unclip_dir:
        need += [
            os.path.join(unclip_dir, f)
            for f in (
                "unet/config.json",
                "unet/diffusion_pytorch_model.safetensors",
                "vae/config.json",
                "vae/diffusion_pytorch_model.safetensors",
                "scheduler/scheduler_config.json",
            )
        ]
    if image_encoder:
        need.append(image_encoder)
    miss = [p for p in need if not os.path.isfile(p)]
    if unclip_dir:
        import unclip

        if unclip.text_source(unclip_dir) is None:
            miss.append(f"{unclip_dir}/text_encoder/ + tokenizer/ (or text_embedding.f32)")
    if seed and not image_encoder and os.path.isfile(os.path.join(seed, "seed_quantizer.pt")):
        import seed_encoder

        if not seed_encoder.has_vit(seed):
            miss.append(
                f"{seed}/{seed_encoder.VIT_FILE} (EVA ViT-g weights for the SEED encoder; or pass --image-encoder)"
            )
    if miss:
        raise MediaError(f"missing media source files: {', '.join(miss)} (see docs/real-model.md §1)")
    _image_args(seed, unclip_dir, image_encoder)


def _image_args(seed, unclip_dir, image_encoder):
    given = {k for k, v in (("--seed", seed), ("--unclip", unclip_dir), ("--image-encoder", image_encoder)) if v}
    if given and not {"--seed", "--unclip"} <= given:
        raise MediaError(
            f"the image modality needs --seed and --unclip (--image-encoder optional); missing "
            f"{', '.join(k for k in ('--seed', '--unclip') if k not in given)}"
        )


def convert(out, contents, *, speech=None, encodec=None, seed=None, unclip_dir=None, image_encoder=None, log=print):
    """→ (modalities dict, [paths of package files written])."""
    _quiet()
    _image_args(seed, unclip_dir, image_encoder)
    mods = {}
    if seed:
        log("  image: SEED encoder + decoder, unCLIP")
        mods["image"] = convert_image(seed, unclip_dir, image_encoder, out, contents, log)
    if speech:
        log("  speech: SpeechTokenizer + SoundStorm")
        mods["speech"] = convert_speech(speech, out, contents, log)
    if encodec:
        log("  music: EnCodec 32 kHz")
        mods["music"] = convert_music(encodec, out, contents, log)
    return mods


def files_of(mods):
    """Every FileRef dict in the modalities, in manifest order (for hashing)."""
    refs = []

    def walk(x):
        if isinstance(x, dict):
            if "path" in x and isinstance(x["path"], str):
                refs.append(x)
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)

    walk(mods)
    return refs
