#!/usr/bin/python3
"""Converts a downloaded AnyGPT checkpoint folder into a model package the engine loads.

    /usr/bin/python3 tools/convert/convert.py --src DIR --out models/anygpt-7b --llm-dtype fp16|int4|fp32[,VARIANT...]

DIR is `fnlp/AnyGPT-base` or `fnlp/AnyGPT-chat` as downloaded (config.json, pytorch_model.bin or shards /
safetensors, tokenizer.model, added_tokens.json, tokenizer_config.json). The first --llm-dtype is the main
graph (llm.onnx); further ones become `llm.variants` (llm-<dtype>.onnx), e.g. `--llm-dtype fp16,int4` makes an
fp16 graph plus an int4 graph with fp16 activations (same KV dtype, as the manifest requires). int4 as the main
graph uses float32 activations (CPU; MatMulNBits accuracy_level 4).

The package gets anygpt.json (common/manifest.ts), tokenizer.json + tokenizer_config.json, the LLM graph(s) with
one external-data file each, MODEL_CARD.md, and checks/tokenizer-goldens.json (ids from our slow-tokenizer
reference, to compare with transformers 4.34.1 on the real files). With --speech-modules, --encodec and
--seed/--unclip (optionally --image-encoder) the media components go into the same package (tools/convert/media_convert.py);
without them the package has no `modalities` and the engine runs it as a text/token-string model.
"""

import argparse
import hashlib
import json
import os
import shutil
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atomic  # noqa: E402
import checkpoint as ckpt_mod  # noqa: E402
import layout  # noqa: E402
import llm_builder  # noqa: E402
import media_convert  # noqa: E402
import tokenizer_convert  # noqa: E402

GiB = 2**30


class ConvertError(Exception):
    pass


def expected_keys(cfg):
    D, H = cfg["hidden_size"], cfg["num_attention_heads"]
    kvH = cfg.get("num_key_value_heads") or H
    hd, I, V = D // H, cfg["intermediate_size"], cfg["vocab_size"]
    keys = {"model.embed_tokens.weight": (V, D), "model.norm.weight": (D,), "lm_head.weight": (V, D)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        keys.update(
            {
                p + "self_attn.q_proj.weight": (H * hd, D),
                p + "self_attn.k_proj.weight": (kvH * hd, D),
                p + "self_attn.v_proj.weight": (kvH * hd, D),
                p + "self_attn.o_proj.weight": (D, H * hd),
                p + "mlp.gate_proj.weight": (I, D),
                p + "mlp.up_proj.weight": (I, D),
                p + "mlp.down_proj.weight": (D, I),
                p + "input_layernorm.weight": (D,),
                p + "post_attention_layernorm.weight": (D,),
            }
        )
    return keys


def check_source(src, log):
    if not os.path.isdir(src):
        raise ConvertError(f"--src {src}: not a directory")
    missing = [f for f in ("config.json", "tokenizer.model") if not os.path.exists(os.path.join(src, f))]
    if not (
        os.path.exists(os.path.join(src, "added_tokens.json"))
        or os.path.exists(os.path.join(src, "tokenizer_config.json"))
    ):
        missing.append("added_tokens.json (or tokenizer_config.json with added_tokens_decoder)")
    if missing:
        raise ConvertError(
            f"{src}: missing {', '.join(missing)}. Download all files of fnlp/AnyGPT-base "
            "(or -chat); see docs/real-model.md"
        )
    with open(os.path.join(src, "config.json")) as f:
        cfg = json.load(f)
    if cfg.get("model_type") != "llama" or "LlamaForCausalLM" not in (cfg.get("architectures") or []):
        raise ConvertError(
            f"{src}/config.json: model_type {cfg.get('model_type')!r}, architectures "
            f"{cfg.get('architectures')}; expected a LlamaForCausalLM checkpoint"
        )
    for k in ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"):
        if not isinstance(cfg.get(k), int):
            raise ConvertError(f'{src}/config.json: "{k}" missing or not an integer')
    if cfg.get("hidden_act", "silu") != "silu":
        raise ConvertError(f"{src}/config.json: hidden_act {cfg['hidden_act']!r} (only silu is supported)")
    if cfg.get("tie_word_embeddings"):
        raise ConvertError(f"{src}/config.json: tie_word_embeddings is true; AnyGPT has separate lm_head weights")
    try:
        ck = ckpt_mod.Checkpoint(src)
    except FileNotFoundError as e:
        raise ConvertError(f"{e}. Expected pytorch_model.bin (27.7 GB for AnyGPT-7B) or its shards")
    have = set(ck.keys())
    want = expected_keys(cfg)
    absent = [k for k in want if k not in have]
    if absent:
        raise ConvertError(
            f"{src}: checkpoint lacks {len(absent)} tensors, e.g. {absent[:3]}; is the download "
            f"complete (files: {ck.files})?"
        )
    for k, shape in want.items():
        if tuple(ck.shape(k)) != shape:
            raise ConvertError(f"{src}: tensor {k} has shape {tuple(ck.shape(k))}, config.json implies {shape}")
    unused = [k for k in have - set(want) if not k.endswith("rotary_emb.inv_freq")]
    if unused:
        log(f"  warning: {len(unused)} checkpoint tensors are not used, e.g. {sorted(unused)[:3]}")
    tok = tokenizer_convert.load_sources(src)
    if tok["vocab_size"] != cfg["vocab_size"]:
        raise ConvertError(
            f"{src}: tokenizer has {tok['vocab_size']} tokens (tokenizer.model + added tokens), "
            f"config.json vocab_size is {cfg['vocab_size']}. AnyGPT-base: 32000 + 21516 = 53516"
        )
    contents = {a["content"] for a in tok["added"]}
    lacking = [t for t in layout.ROLE_TOKENS if t not in contents]
    for name, prefix, n, start, end in layout.UPSTREAM_BLOCKS:
        for t in (f"<{prefix}0>", start, end):
            if t not in contents:
                lacking.append(t)
    if lacking:
        raise ConvertError(f"{src}: added tokens lack {lacking[:6]}; not an AnyGPT tokenizer?")
    return cfg, ck, tok


def estimates(cfg, ck, dtypes):
    """Bytes per package variant and peak RAM (from tensor shapes; no weights read)."""
    keys = expected_keys(cfg)
    n_lin = sum(
        int(__import__("numpy").prod(s)) for k, s in keys.items() if k.endswith("_proj.weight") or k == "lm_head.weight"
    )
    n_all = sum(int(__import__("numpy").prod(s)) for s in keys.values())
    out = {}
    main_act = 2 if dtypes[0] == "fp16" else 4
    for d in dtypes:
        if d == "fp32":
            out[d] = n_all * 4
        elif d == "fp16":
            out[d] = n_all * 2
        else:
            act = main_act
            out[d] = n_lin // 2 + n_lin // 32 * (act + 0.5) + (n_all - n_lin) * act
    largest = max(int(__import__("numpy").prod(s)) for s in keys.values())
    src = ck.dtype("lm_head.weight")
    # the tensor as read (bfloat16: raw + widened float32), plus a converted copy only where the graph's dtype
    # differs from it; int4 quantises 2048-row chunks; 512 MiB for the interpreter, onnx and those chunks
    read = {"float16": 2, "bfloat16": 2 + 4}.get(src, 4)
    read_dtype_bytes = 2 if src == "float16" else 4
    conv = main_act if main_act != read_dtype_bytes else 0
    ram = largest * (read + conv) + 512 * 2**20
    return out, n_all, ram


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 24), b""):
            h.update(b)
    return h.hexdigest()


def mem_available():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def convert(src, out, dtypes, *, max_positions=4608, name=None, force=False, hash_files=True, log=print, media=None):
    t0 = time.time()
    for d in dtypes:
        if d not in ("fp32", "fp16", "int4"):
            raise ConvertError(f"--llm-dtype {d}: use fp32, fp16 or int4")
    if "fp32" in dtypes and "fp16" in dtypes:
        raise ConvertError("fp32 and fp16 graphs have different KV dtypes and cannot share one package; convert twice")
    log(f"[1/5] checking {src}")
    cfg, ck, tok = check_source(src, log)
    media_convert.check(**{k: v for k, v in (media or {}).items() if v})
    kv = "float16" if dtypes[0] == "fp16" else "float32"
    sizes, n_params, ram = estimates(cfg, ck, dtypes)
    need = sum(sizes.values())
    log(
        f"  LlamaForCausalLM: {n_params / 1e9:.3f} B params, {cfg['num_hidden_layers']} layers, hidden "
        f"{cfg['hidden_size']}, vocab {cfg['vocab_size']}; checkpoint {ck.files} ({ck.dtype('lm_head.weight')})"
    )
    for d in dtypes:
        log(f"  estimate: {d} graph ≈ {sizes[d] / GiB:.2f} GiB on disk")
    log(f"  estimate: peak RAM ≈ {ram / GiB:.2f} GiB (one tensor at a time), disk ≈ {need / GiB:.2f} GiB")
    if os.path.exists(out) and os.listdir(out) and not force:
        raise ConvertError(f"--out {out} exists and is not empty (use --force to overwrite)")
    os.makedirs(out, exist_ok=True)
    free = shutil.disk_usage(out).free
    if free < need * 1.02:
        raise ConvertError(f"{out}: {free / GiB:.1f} GiB free, the package needs ≈ {need / GiB:.1f} GiB")
    avail = mem_available()
    if avail is not None and avail < ram:
        log(f"  warning: MemAvailable {avail / GiB:.1f} GiB < estimated peak {ram / GiB:.1f} GiB")

    log("[2/5] tokenizer")
    tokenizer_convert.convert(src, out, log=lambda m: log(m))
    os.makedirs(os.path.join(out, "checks"), exist_ok=True)
    atomic.write_json(
        os.path.join(out, "checks", "tokenizer-goldens.json"),
        {
            "source": "tools/convert/spm.py SlowLlamaTokenizer (our reference of transformers 4.34 rules)",
            "legacy": tok["legacy"],
            "goldens": tokenizer_convert.goldens(tok),
        },
        ensure_ascii=False,
        indent=1,
    )

    graphs = {}
    for j, d in enumerate(dtypes):
        fn = "llm.onnx" if j == 0 else f"llm-{d}.onnx"
        log(f"[3/5] LLM graph {fn} ({d}, activations/KV {kv})")
        with atomic.staged(out, [fn, fn + ".data"]) as tmpd:
            info = llm_builder.build(
                ck, cfg, os.path.join(tmpd, fn), d, act_dtype=kv, max_positions=max_positions, log=log
            )
        graphs[d] = (fn, info)

    media = {k: v for k, v in (media or {}).items() if v}
    mods = {}
    if media:
        log("[3b/5] media components (fp32 graphs)")
        mods = media_convert.convert(out, {a["content"] for a in tok["added"]}, log=log, **media)
    log("[4/5] hashing" if hash_files else "[4/5] hashing skipped (--no-hash)")
    if hash_files:
        for r in media_convert.files_of(mods):
            r["sha256"] = sha256(os.path.join(out, r["path"]))

    def ref(path):
        r = {"path": path}
        if hash_files:
            r["sha256"] = sha256(os.path.join(out, path))
        return r

    def onnx_ref(fn):
        r = ref(fn)
        r["externalData"] = [ref(fn + ".data")]
        return r

    main_fn, info = graphs[dtypes[0]]
    llm = {
        "graph": onnx_ref(main_fn),
        "numLayers": info["numLayers"],
        "numKvHeads": info["numKvHeads"],
        "headDim": info["headDim"],
        "vocabSize": info["vocabSize"],
        "maxPositions": info["maxPositions"],
        "kvDtype": kv,
    }
    if len(dtypes) > 1:
        llm["variants"] = {d: onnx_ref(graphs[d][0]) for d in dtypes[1:]}
    manifest = {
        "format": "anygpt-package",
        "version": 1,
        "name": name or os.path.basename(os.path.abspath(out)),
        "description": f"Converted from {os.path.basename(os.path.abspath(src))} by tools/convert/convert.py "
        f"(LLM {','.join(dtypes)}; media: {', '.join(mods) or 'none'}).",
        "license": "LLaMA 2 Community License (AnyGPT weights; see the upstream model card)",
        "llm": llm,
        "tokenizer": {
            "file": ref("tokenizer.json"),
            "config": ref("tokenizer_config.json"),
            "bos": "<s>",
            "eos": "</s>",
            "unk": "<unk>",
            "addBos": bool(tok["add_bos"]),
        },
        "specialTokens": list(layout.ROLE_TOKENS),
        "modalities": mods,
        "templates": layout.TEMPLATES,
        "presets": layout.PRESETS,
    }
    log("[5/5] manifest")
    atomic.write_json(os.path.join(out, "anygpt.json"), manifest, ensure_ascii=False, indent=2)
    atomic.write_text(
        os.path.join(out, "MODEL_CARD.md"),
        f"# {manifest['name']}\n\n{manifest['description']}\n\n"
        f"* LLM: {n_params / 1e9:.3f} B params, graphs: "
        + ", ".join(f"{graphs[d][0]} ({d})" for d in dtypes)
        + f"; RoPE tables cover {max_positions} positions; KV {kv}.\n"
        f"* Tokenizer: slow LlamaTokenizer rules, legacy={tok['legacy']}. Compare "
        "checks/tokenizer-goldens.json with transformers 4.34.1 before relying on exact ids.\n"
        f"* Media components: {', '.join(mods) or 'none'} (fp32 graphs; see docs/real-model.md for what was "
        "parity-tested)."
        + (
            " The image encoder graph was supplied with --image-encoder, not converted."
            if media.get("image_encoder")
            else ""
        )
        + "\n"
    )
    total = sum(os.path.getsize(os.path.join(out, f)) for f in os.listdir(out) if os.path.isfile(os.path.join(out, f)))
    log(f"done: {out} ({total / GiB:.2f} GiB) in {time.time() - t0:.1f} s")
    return manifest


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", required=True, help="downloaded checkpoint folder (fnlp/AnyGPT-base or -chat)")
    ap.add_argument("--out", required=True, help="package directory to write, e.g. models/anygpt-7b")
    ap.add_argument("--llm-dtype", default="fp16", help="fp16 | int4 | fp32, or a list: fp16,int4")
    ap.add_argument("--max-positions", type=int, default=4608, help="RoPE table rows (≥ 4500: AnyGPT trained at 4500)")
    ap.add_argument("--name", default=None)
    ap.add_argument("--force", action="store_true", help="write into a non-empty --out")
    ap.add_argument("--no-hash", action="store_true", help="skip sha256 of package files (see docs/real-model.md)")
    ap.add_argument("--speech-modules", help="fnlp/AnyGPT-speech-modules folder (speechtokenizer/, soundstorm/)")
    ap.add_argument("--encodec", help="facebook/encodec_32khz folder (config.json, model.safetensors)")
    ap.add_argument(
        "--seed", help="AILab-CVC/seed-tokenizer-2 folder (seed_quantizer.pt + eva_vit_g.pth): SEED encoder and decoder"
    )
    ap.add_argument(
        "--unclip",
        help="stabilityai/stable-diffusion-2-1-unclip folder (with text_encoder/ + tokenizer/, or text_embedding.f32)",
    )
    ap.add_argument(
        "--image-encoder",
        help="override: an exported SEED encoder graph (pixel_values → codes [1,32]) "
        "to use instead of exporting one from --seed",
    )
    a = ap.parse_args()
    try:
        convert(
            a.src,
            a.out,
            [d.strip() for d in a.llm_dtype.split(",") if d.strip()],
            max_positions=a.max_positions,
            name=a.name,
            force=a.force,
            hash_files=not a.no_hash,
            media=dict(
                speech=a.speech_modules,
                encodec=a.encodec,
                seed=a.seed,
                unclip_dir=a.unclip,
                image_encoder=a.image_encoder,
            ),
        )
    except (
        ConvertError,
        tokenizer_convert.TokenizerSourceError,
        ValueError,
        media_convert.MediaError,
        FileNotFoundError,
        KeyError,
    ) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
