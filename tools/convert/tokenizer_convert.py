#!/usr/bin/python3
"""tokenizer.model + added_tokens.json + tokenizer_config.json → Hugging Face `tokenizer.json` that
reproduces the *slow* transformers 4.34 LlamaTokenizer used by AnyGPT.

    /usr/bin/python3 tools/convert/tokenizer_convert.py --src CHECKPOINT_DIR --out OUT_DIR [--goldens]

How the slow rules map onto tokenizer.json + tokenizer_config.json:
* Added tokens (tokenizer_config `added_tokens_decoder`, else added_tokens.json) are written with
  `normalized: false`, so they are split on the raw text before anything else (slow: trie split first);
  lstrip/rstrip/single_word are copied from the config.
* SentencePiece BPE → `BPE` model with the same vocabulary, merges ranked by the merged piece's score
  (SentencePiece merges the best-scoring pair first), `byte_fallback: true`, `fuse_unk: true`.
* legacy=true (also when the key is absent or null: 4.34's default): every text chunk between added tokens
  gets SentencePiece's dummy prefix → normalizer Sequence[Prepend("▁"), Replace(" ", "▁")], applied per chunk.
* legacy=false: chunks get no prefix → normalizer Replace(" ", "▁") only; the one "▁" in front of the whole text
  (and the lone "▁" the slow tokenizer drops before a special token) is the engine's (kernel/engine/tokenizer.ts).
* tokenizer_config.json gets `slow_tokenizer_rules`: the engine then splits on added tokens itself with the slow
  rules (Python's whitespace for lstrip/rstrip, the legacy=false start of text), as the library differs there;
  `additional_special_tokens` is copied for the legacy=false rule. Checked against sentencepiece on LLaMA-2's
  real vocabulary: tools/convert/llama_goldens.py, test/convert/tokenizer-llama.test.ts.
* BOS is added by a TemplateProcessing post-processor when add_bos_token (AnyGPT: true); EOS when add_eos_token.
  (The engine adds BOS itself, from the manifest.)
* single_word=true is not reproduced by the engine; the converter warns.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import atomic  # noqa: E402
import layout  # noqa: E402
import spm  # noqa: E402


class TokenizerSourceError(Exception):
    pass


def load_sources(src):
    paths = {
        n: os.path.join(src, n)
        for n in ("tokenizer.model", "added_tokens.json", "tokenizer_config.json", "special_tokens_map.json")
    }
    if not os.path.exists(paths["tokenizer.model"]):
        raise TokenizerSourceError(f"{src}: tokenizer.model is missing")
    model = spm.read_model(paths["tokenizer.model"])
    cfg = {}
    if os.path.exists(paths["tokenizer_config.json"]):
        with open(paths["tokenizer_config.json"], encoding="utf-8") as f:
            cfg = json.load(f)
    added_json = {}
    if os.path.exists(paths["added_tokens.json"]):
        with open(paths["added_tokens.json"], encoding="utf-8") as f:
            added_json = json.load(f)
    n_base = len(model["pieces"])
    entries = {}
    for sid, e in (cfg.get("added_tokens_decoder") or {}).items():
        entries[int(sid)] = {
            "content": e["content"],
            "id": int(sid),
            "lstrip": bool(e.get("lstrip")),
            "rstrip": bool(e.get("rstrip")),
            "single_word": bool(e.get("single_word")),
            "special": bool(e.get("special")),
        }
    for content, i in added_json.items():
        if i in entries and entries[i]["content"] != content:
            raise TokenizerSourceError(
                f"added_tokens.json says {content!r} = {i}, tokenizer_config.json says {entries[i]['content']!r}"
            )
        entries.setdefault(
            i, {"content": content, "id": i, "lstrip": False, "rstrip": False, "single_word": False, "special": False}
        )
    pieces = model["pieces"]
    for i, p in ((0, "<unk>"), (1, "<s>"), (2, "</s>")):
        if i < n_base and pieces[i][0] == p:
            entries.setdefault(
                i, {"content": p, "id": i, "lstrip": False, "rstrip": False, "single_word": False, "special": True}
            )
    extra = sorted(i for i in entries if i >= n_base)
    if extra and extra != list(range(n_base, n_base + len(extra))):
        raise TokenizerSourceError(f"added token ids are not contiguous after the {n_base} base pieces")
    for i in entries:
        if i < n_base and pieces[i][0] != entries[i]["content"]:
            raise TokenizerSourceError(
                f"added token {entries[i]['content']!r} has id {i}, which is the base piece {pieces[i][0]!r}"
            )
    legacy = cfg.get("legacy")
    return {
        "model": model,
        "config": cfg,
        "added": [entries[i] for i in sorted(entries)],
        "legacy": True if legacy is None else bool(legacy),
        "legacy_raw": legacy,
        "add_bos": cfg.get("add_bos_token", True),
        "add_eos": cfg.get("add_eos_token", False),
        "vocab_size": n_base + len(extra),
    }


def _tok_str(v, default):
    if isinstance(v, dict):
        return v.get("content", default)
    return v if v is not None else default


def build_tokenizer_json(srcinfo):
    model = srcinfo["model"]
    pieces = model["pieces"]
    vocab = {}
    for i, (p, _, _) in enumerate(pieces):
        vocab.setdefault(p, i)
    mergeable = {p: (s, i) for i, (p, s, t) in enumerate(pieces) if t in (spm.NORMAL, spm.USER_DEFINED)}
    merges = []
    for m, (score, mid) in mergeable.items():
        for j in range(1, len(m)):
            a, b = m[:j], m[j:]
            if a in mergeable and b in mergeable:
                merges.append((-score, mid, mergeable[a][1], mergeable[b][1], a, b))
    merges.sort()
    reachable = {m[4] + m[5] for m in merges}
    srcinfo["unreachable"] = [p for p in mergeable if len(p) > 1 and p not in reachable]
    legacy = srcinfo["legacy"]
    cfg = srcinfo["config"]
    bos, eos = _tok_str(cfg.get("bos_token"), "<s>"), _tok_str(cfg.get("eos_token"), "</s>")
    single = (
        ([{"SpecialToken": {"id": bos, "type_id": 0}}] if srcinfo["add_bos"] else [])
        + [{"Sequence": {"id": "A", "type_id": 0}}]
        + ([{"SpecialToken": {"id": eos, "type_id": 0}}] if srcinfo["add_eos"] else [])
    )
    pair = single + [dict(x) for x in single]
    pair = single + [
        (
            {"Sequence": {"id": "B", "type_id": 1}}
            if "Sequence" in x
            else {"SpecialToken": {"id": x["SpecialToken"]["id"], "type_id": 1}}
        )
        for x in single
    ]
    specials = {}
    for t in ([bos] if srcinfo["add_bos"] else []) + ([eos] if srcinfo["add_eos"] else []):
        specials[t] = {"id": t, "ids": [vocab[t]], "tokens": [t]}
    tj = {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [
            {
                "id": a["id"],
                "content": a["content"],
                "single_word": a["single_word"],
                "lstrip": a["lstrip"],
                "rstrip": a["rstrip"],
                "normalized": False,
                "special": a["special"],
            }
            for a in srcinfo["added"]
        ],
        "normalizer": {
            "type": "Sequence",
            "normalizers": ([{"type": "Prepend", "prepend": spm.SP}] if legacy else [])
            + [{"type": "Replace", "pattern": {"String": " "}, "content": spm.SP}],
        },
        "pre_tokenizer": None,
        "post_processor": {"type": "TemplateProcessing", "single": single, "pair": pair, "special_tokens": specials},
        "decoder": {
            "type": "Sequence",
            "decoders": [
                {"type": "Replace", "pattern": {"String": spm.SP}, "content": " "},
                {"type": "ByteFallback"},
                {"type": "Fuse"},
                {"type": "Strip", "content": " ", "start": 1, "stop": 0},
            ],
        },
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": pieces[model["trainer"].get("unk_id", 0)][0],
            "continuing_subword_prefix": None,
            "end_of_word_suffix": None,
            "fuse_unk": True,
            "byte_fallback": bool(model["trainer"].get("byte_fallback")),
            "ignore_merges": False,
            "vocab": vocab,
            "merges": [[m[4], m[5]] for m in merges],
        },
    }
    small_cfg = {
        k: cfg[k]
        for k in (
            "add_bos_token",
            "add_eos_token",
            "clean_up_tokenization_spaces",
            "model_max_length",
            "padding_side",
            "tokenizer_class",
        )
        if k in cfg
    }
    small_cfg.update(
        {
            "bos_token": bos,
            "eos_token": eos,
            "unk_token": _tok_str(cfg.get("unk_token"), "<unk>"),
            "legacy": legacy,
            "clean_up_tokenization_spaces": cfg.get("clean_up_tokenization_spaces", False),
            "converted_by": "tools/convert/tokenizer_convert.py (added_tokens_decoder is in tokenizer.json)",
            "slow_tokenizer_rules": "LlamaTokenizer, transformers 4.34.1",
        }
    )
    extra_special = [_tok_str(t, None) for t in cfg.get("additional_special_tokens") or []]
    if extra_special:
        small_cfg["additional_special_tokens"] = extra_special
    small_cfg.pop("model_max_length", None)
    return tj, small_cfg


def reference(srcinfo):
    cfg = srcinfo["config"]
    return spm.SlowLlamaTokenizer(
        srcinfo["model"],
        srcinfo["added"],
        legacy=srcinfo["legacy"],
        add_bos=srcinfo["add_bos"],
        add_eos=srcinfo["add_eos"],
        bos=_tok_str(cfg.get("bos_token"), "<s>"),
        eos=_tok_str(cfg.get("eos_token"), "</s>"),
        unk=_tok_str(cfg.get("unk_token"), "<unk>"),
    )


def goldens(srcinfo, prompts=None):
    ref = reference(srcinfo)
    return [{"text": p, "ids": ref.encode(p)} for p in (prompts or layout.GOLDEN_PROMPTS)]


def convert(src, out, log=print):
    info = load_sources(src)
    tj, small_cfg = build_tokenizer_json(info)
    os.makedirs(out, exist_ok=True)
    atomic.write_json(os.path.join(out, "tokenizer.json"), tj, ensure_ascii=False, separators=(",", ":"))
    atomic.write_json(os.path.join(out, "tokenizer_config.json"), small_cfg, ensure_ascii=False, indent=2)
    mode = "legacy" if info["legacy"] else "non-legacy"
    log(
        f"  tokenizer.json: {len(tj['model']['vocab'])} base pieces, {len(tj['model']['merges'])} merges, "
        f"{len(tj['added_tokens'])} added tokens, {mode} spacing "
        f'(tokenizer_config "legacy": {json.dumps(info["legacy_raw"])})'
    )
    if info["unreachable"]:
        log(
            f"  warning: {len(info['unreachable'])} pieces cannot be formed from two pieces (e.g. "
            f"{info['unreachable'][:3]}); SentencePiece may still emit them, tokenizer.json will not"
        )
    single = [a["content"] for a in info["added"] if a["single_word"]]
    if single:
        log(
            f"  warning: {len(single)} added tokens have single_word true (e.g. {single[:3]}); the engine splits them "
            "like the others, the slow tokenizer would not when they touch a word"
        )
    return info


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--goldens", action="store_true", help="also write goldens.json (slow-tokenizer reference ids)")
    a = ap.parse_args()
    info = convert(a.src, a.out)
    if a.goldens:
        with open(os.path.join(a.out, "goldens.json"), "w", encoding="utf-8") as f:
            json.dump({"legacy": info["legacy"], "goldens": goldens(info)}, f, ensure_ascii=False, indent=1)


if __name__ == "__main__":
    main()
