#!/usr/bin/python3
"""The real LLaMA-2 base vocabulary as a `tokenizer.model`, rebuilt from the npm package llama-tokenizer-js.

    /usr/bin/python3 tools/convert/llama_vocab.py --out DIR [--legacy true|false|absent] [--strip lstrip,rstrip]

Meta's `tokenizer.model` is not redistributable here, but llama-tokenizer-js (a dev dependency) ships the same
32,000 pieces (by id) and the BPE merges of the Hugging Face conversion, in rank order. A SentencePiece BPE model
needs, per piece, a type and a score; the merge of two symbols whose concatenation has the highest score goes
first. So the scores are rebuilt from the ranks: a piece that some merge produces scores -(rank of its first
merge); a piece no merge produces (single characters) scores below every merged piece. Types follow LLaMA:
<unk> UNKNOWN, <s> and </s> CONTROL, <0x00>…<0xFF> BYTE, the rest NORMAL; the normaliser is LLaMA's
("identity", dummy prefix, no whitespace squeezing, byte fallback). tools/convert/llama_goldens.py checks that
the sentencepiece library on this model gives the ids llama-tokenizer-js gives.

--out writes a checkpoint-style tokenizer folder (tokenizer.model, added_tokens.json, special_tokens_map.json,
tokenizer_config.json in the transformers 4.34 form) with AnyGPT's added tokens (tools/convert/layout.py), as the
converter (tools/convert/tokenizer_convert.py) reads it from a real checkpoint.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layout  # noqa: E402
import spm  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def dump_llama_js(path):
    """Runs tools/convert/llama_js_dump.mjs (Node, from the repository root so the package resolves)."""
    subprocess.run(["node", os.path.join(HERE, "llama_js_dump.mjs"), "--vocab", path], check=True, cwd=ROOT)
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def pieces_from_dump(dump):
    """[(piece, score, type)] by id, from {"vocab": [...], "merges": ["a b", ...]}."""
    vocab, merges = dump["vocab"], dump["merges"]
    if len(vocab) != 32000 or vocab[:3] != ["<unk>", "<s>", "</s>"]:
        raise ValueError(f"not the LLaMA vocabulary: {len(vocab)} pieces, first {vocab[:3]}")
    first_rank = {}
    for rank, m in enumerate(merges):
        a, b = m.split(" ")
        first_rank.setdefault(a + b, rank)
    pieces = []
    for i, p in enumerate(vocab):
        if i == 0:
            pieces.append((p, 0.0, spm.UNKNOWN))
        elif i < 3:
            pieces.append((p, 0.0, spm.CONTROL))
        elif i < 259:
            if p != f"<0x{i - 3:02X}>":
                raise ValueError(f"piece {i} is {p!r}, expected the byte piece <0x{i - 3:02X}>")
            pieces.append((p, 0.0, spm.BYTE))
        elif p in first_rank:
            pieces.append((p, -float(first_rank[p]), spm.NORMAL))
        else:
            pieces.append((p, -float(len(merges) + i), spm.NORMAL))
    return pieces


def write_model(path, pieces):
    spm.write_model(path, pieces, byte_fallback=True, add_dummy_prefix=True, remove_extra_whitespaces=False)


def added_entry(content, *, special, lstrip=False, rstrip=False):
    return {
        "content": content,
        "lstrip": lstrip,
        "normalized": not special,
        "rstrip": rstrip,
        "single_word": False,
        "special": special,
    }


def write_checkpoint_tokenizer(out, pieces, added, *, legacy=None, strip=None):
    """A checkpoint's tokenizer files (transformers 4.34 form). added: token strings, ids after the base pieces;
    strip: {token: (lstrip, rstrip)} for tokens whose flags are true (AnyGPT's are all false)."""
    strip = strip or {}
    os.makedirs(out, exist_ok=True)
    write_model(os.path.join(out, "tokenizer.model"), pieces)
    ids = {t: len(pieces) + i for i, t in enumerate(added)}
    with open(os.path.join(out, "added_tokens.json"), "w", encoding="utf-8") as f:
        json.dump(ids, f, ensure_ascii=False, indent=2)
    with open(os.path.join(out, "special_tokens_map.json"), "w", encoding="utf-8") as f:
        json.dump({"bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>"}, f, indent=2)
    decoder = {str(i): added_entry(p, special=True) for i, p in enumerate(("<unk>", "<s>", "</s>"))}
    for t, i in ids.items():
        ls, rs = strip.get(t, (False, False))
        decoder[str(i)] = added_entry(t, special=False, lstrip=ls, rstrip=rs)
    cfg = {
        "add_bos_token": True,
        "add_eos_token": False,
        "added_tokens_decoder": decoder,
        "bos_token": "<s>",
        "clean_up_tokenization_spaces": False,
        "eos_token": "</s>",
        "pad_token": None,
        "sp_model_kwargs": {},
        "tokenizer_class": "LlamaTokenizer",
        "unk_token": "<unk>",
    }
    if legacy is not None:
        cfg["legacy"] = legacy
    with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
    return ids


# Added tokens whose lstrip/rstrip flags the strip variants set (AnyGPT's real ones are all false).
STRIP_TOKENS = {"<eoh>": (True, False), "[MMGPT]": (False, True), "<sosp>": (True, True)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True)
    ap.add_argument("--vocab", help="llama_js_dump.mjs output (default: run it)")
    ap.add_argument("--legacy", choices=("true", "false", "absent"), default="absent")
    ap.add_argument("--strip", action="store_true", help=f"set lstrip/rstrip on {sorted(STRIP_TOKENS)}")
    a = ap.parse_args()
    if a.vocab:
        with open(a.vocab, encoding="utf-8") as f:
            dump = json.load(f)
    else:
        with tempfile.TemporaryDirectory() as d:
            dump = dump_llama_js(os.path.join(d, "llama.json"))
    legacy = {"true": True, "false": False, "absent": None}[a.legacy]
    write_checkpoint_tokenizer(
        a.out,
        pieces_from_dump(dump),
        layout.added_tokens(),
        legacy=legacy,
        strip=STRIP_TOKENS if a.strip else None,
    )


if __name__ == "__main__":
    main()
