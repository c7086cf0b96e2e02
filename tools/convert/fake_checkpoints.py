#!/usr/bin/python3
"""Makes a fake `fnlp/AnyGPT-base`-style checkpoint folder: real file names, key names, formats and dtypes;
random weights and configurable small dimensions.

    /usr/bin/python3 tools/convert/fake_checkpoints.py --out /tmp/anygpt-fake [--hidden 64 --layers 2 ...]

Files (as on the hub): config.json (LlamaForCausalLM, 4.34 key names), generation_config.json,
pytorch_model.bin (torch.save's zip format of the HF LLaMA state_dict, written one tensor at a time), tokenizer.model (SentencePiece BPE
ModelProto written by hand, LLaMA layout: <unk>,<s>,</s>, 256 byte pieces, merges, characters),
added_tokens.json, special_tokens_map.json, tokenizer_config.json (4.34 `added_tokens_decoder` form).

The base SentencePiece vocabulary is reduced (default 1000 pieces instead of 32000, trained here by a tiny
BPE on AnyGPT prompt text); the added tokens follow upstream's strings and order exactly (21,516 of them),
unless --small-blocks shrinks the modality blocks for test fixtures.
"""

import argparse
import collections
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layout  # noqa: E402
import spm  # noqa: E402
import torch_zip_writer  # noqa: E402

SMALL_BLOCKS = {"image": 32, "speech": 16, "music": 64, "audio": 16}

CORPUS = "\n".join(
    layout.GOLDEN_PROMPTS
    + list(layout.TEMPLATES["instructions"].values())
    + [
        layout.MMGPT_SYSTEM,
        layout.ANYGPT_SYSTEM,
        "Please recognize the voice command and give reply and voice",
        "The quick brown fox jumps over the lazy dog. A cat sits on the mat, and the dog is sleeping.",
        "Generate a picture of a sunset over the sea. Transcribe the following speech into text.",
        "Compose a calm piano melody. What is the mood of this song? hello world, how are you today?",
        "Read this sentence aloud in a natural voice. Caption this image with a short description.",
    ]
)


def base_pieces(size):
    """LLaMA-shaped base vocabulary: specials, 256 byte pieces, BPE merges (score = -rank), then characters."""
    pieces = [("<unk>", 0.0, spm.UNKNOWN), ("<s>", 0.0, spm.CONTROL), ("</s>", 0.0, spm.CONTROL)]
    pieces += [(f"<0x{b:02X}>", 0.0, spm.BYTE) for b in range(256)]
    chars = sorted(set(CORPUS.replace(" ", spm.SP).replace("\n", "")) | set(chr(c) for c in range(33, 127)) | {spm.SP})
    # Leave a few corpus characters out so that byte fallback is exercised (and out of the merges too: a real
    # SentencePiece BPE vocabulary contains every character of its pieces).
    left_out = ("☃", "日", "本", "\t")
    chars = [c for c in chars if c not in left_out]
    n_merges = size - len(pieces) - len(chars)
    if n_merges < 1:
        raise SystemExit(f"--base-vocab {size} is too small (need > {len(pieces) + len(chars)})")
    words = collections.Counter()
    for line in CORPUS.split("\n"):
        for w in line.split(" "):
            if w and not any(c in w for c in left_out):
                words[tuple(spm.SP + w)] += 1
    words[(spm.SP, spm.SP)] += 50  # LLaMA has "▁▁" (and longer runs) as pieces
    merges = []
    while len(merges) < n_merges:
        pairs = collections.Counter()
        for w, n in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += n
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], -len(kv[0][0] + kv[0][1]), kv[0]))
        merged = a + b
        if merged not in [m for m in merges]:
            merges.append(merged)
        new = collections.Counter()
        for w, n in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(merged)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += n
        words = new
    k = 0
    while len(merges) < n_merges:  # corpus exhausted: filler pieces that never merge
        merges.append(f"{spm.SP}zz{k}")
        k += 1
    pieces += [(m, -float(i), spm.NORMAL) for i, m in enumerate(merges)]
    pieces += [(c, -float(len(merges) + i), spm.NORMAL) for i, c in enumerate(chars)]
    return pieces


def added_token_entry(content, special):
    return {
        "content": content,
        "lstrip": False,
        "normalized": not special,
        "rstrip": False,
        "single_word": False,
        "special": special,
    }


def make(
    out,
    *,
    hidden=64,
    intermediate=172,
    layers=2,
    heads=4,
    kv_heads=None,
    base_vocab=1000,
    small_blocks=False,
    legacy=None,
    dtype="float32",
    seed=0,
    max_positions=2048,
):
    os.makedirs(out, exist_ok=True)
    kv_heads = kv_heads or heads
    if hidden % heads:
        raise SystemExit("--hidden must be a multiple of --heads")
    pieces = base_pieces(base_vocab)
    spm.write_model(os.path.join(out, "tokenizer.model"), pieces)
    added = layout.added_tokens(SMALL_BLOCKS if small_blocks else None)
    added_ids = {t: len(pieces) + i for i, t in enumerate(added)}
    vocab_size = len(pieces) + len(added)
    with open(os.path.join(out, "added_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(added_ids, f, ensure_ascii=False, indent=2)
    with open(os.path.join(out, "special_tokens_map.json"), "w") as f:
        json.dump(
            {
                k: {"content": v, "lstrip": False, "normalized": False, "rstrip": False, "single_word": False}
                for k, v in (("bos_token", "<s>"), ("eos_token", "</s>"), ("unk_token", "<unk>"))
            },
            f,
            indent=2,
        )
    decoder = {
        "0": added_token_entry("<unk>", True),
        "1": added_token_entry("<s>", True),
        "2": added_token_entry("</s>", True),
    }
    for t, i in added_ids.items():
        decoder[str(i)] = added_token_entry(t, False)
    tok_cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "model_max_length": 1000000000000000019884624838656,
        "pad_token": None,
        "padding_side": "right",
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
    }
    if legacy is not None:
        tok_cfg["legacy"] = legacy
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(tok_cfg, f, ensure_ascii=False, indent=2)
    config = {
        "_name_or_path": "fake/AnyGPT-base",
        "architectures": ["LlamaForCausalLM"],
        "attention_bias": False,
        "bos_token_id": 1,
        "eos_token_id": 2,
        "hidden_act": "silu",
        "hidden_size": hidden,
        "initializer_range": 0.02,
        "intermediate_size": intermediate,
        "max_position_embeddings": max_positions,
        "model_type": "llama",
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "num_key_value_heads": kv_heads,
        "pad_token_id": 0,
        "pretraining_tp": 1,
        "rms_norm_eps": 1e-05,
        "rope_scaling": None,
        "rope_theta": 10000.0,
        "tie_word_embeddings": False,
        "torch_dtype": dtype,
        "transformers_version": "4.34.1",
        "use_cache": True,
        "vocab_size": vocab_size,
    }
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(
            {
                "_from_model_config": True,
                "bos_token_id": 1,
                "eos_token_id": 2,
                "pad_token_id": 0,
                "transformers_version": "4.34.1",
            },
            f,
            indent=2,
        )

    g = torch.Generator().manual_seed(seed)
    hd = hidden // heads

    def lin(o, i):  # std 1/sqrt(fan_in) keeps activations O(1), so logits are not vanishingly small
        return torch.randn(o, i, generator=g) / (i**0.5)

    def norm(n):
        return 1.0 + 0.1 * torch.randn(n, generator=g)

    tdt = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}[dtype]

    # Each tensor is drawn just before it is written and freed after (torch_zip_writer), in the same order and
    # from the same generator as when the whole dict was built first, so small fakes keep their values and a
    # full-size one (27.7 GB fp32) needs about one tensor of RAM.
    def spec(name, shape, fill):
        return torch_zip_writer.TensorSpec(name, shape, tdt, lambda: fill().to(tdt))

    specs = [spec("model.embed_tokens.weight", (vocab_size, hidden), lambda: torch.randn(vocab_size, hidden, generator=g))]
    for i in range(layers):
        p = f"model.layers.{i}."
        specs += [
            spec(p + "self_attn.q_proj.weight", (heads * hd, hidden), lambda: lin(heads * hd, hidden)),
            spec(p + "self_attn.k_proj.weight", (kv_heads * hd, hidden), lambda: lin(kv_heads * hd, hidden)),
            spec(p + "self_attn.v_proj.weight", (kv_heads * hd, hidden), lambda: lin(kv_heads * hd, hidden)),
            spec(p + "self_attn.o_proj.weight", (hidden, heads * hd), lambda: lin(hidden, heads * hd)),
            spec(p + "mlp.gate_proj.weight", (intermediate, hidden), lambda: lin(intermediate, hidden)),
            spec(p + "mlp.up_proj.weight", (intermediate, hidden), lambda: lin(intermediate, hidden)),
            spec(p + "mlp.down_proj.weight", (hidden, intermediate), lambda: lin(hidden, intermediate)),
            spec(p + "input_layernorm.weight", (hidden,), lambda: norm(hidden)),
            spec(p + "post_attention_layernorm.weight", (hidden,), lambda: norm(hidden)),
        ]
    specs.append(spec("model.norm.weight", (hidden,), lambda: norm(hidden)))
    specs.append(spec("lm_head.weight", (vocab_size, hidden), lambda: lin(vocab_size, hidden)))
    torch_zip_writer.write_state_dict(os.path.join(out, "pytorch_model.bin"), specs)
    return config


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--intermediate", type=int, default=172)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=None)
    ap.add_argument("--base-vocab", type=int, default=1000, help="SentencePiece pieces (real: 32000)")
    ap.add_argument(
        "--small-blocks",
        action="store_true",
        help=f"shrink modality blocks to {SMALL_BLOCKS} (fixtures only; strings and order kept)",
    )
    ap.add_argument(
        "--legacy",
        choices=["true", "false", "absent"],
        default="absent",
        help='tokenizer_config.json "legacy" (absent = transformers 4.34 default, legacy)',
    )
    ap.add_argument("--dtype", choices=["float32", "float16", "bfloat16"], default="float32")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    legacy = {"true": True, "false": False, "absent": None}[a.legacy]
    cfg = make(
        a.out,
        hidden=a.hidden,
        intermediate=a.intermediate,
        layers=a.layers,
        heads=a.heads,
        kv_heads=a.kv_heads,
        base_vocab=a.base_vocab,
        small_blocks=a.small_blocks,
        legacy=legacy,
        dtype=a.dtype,
        seed=a.seed,
    )
    print(f"wrote {a.out}: vocab {cfg['vocab_size']}, hidden {a.hidden}, layers {a.layers}")


if __name__ == "__main__":
    main()
