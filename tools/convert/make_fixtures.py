#!/usr/bin/python3
"""Regenerates test/fixtures/convert/ (run via tools/convert/make_fixtures.sh).

A small fake AnyGPT checkpoint (hidden 64, 2 layers, 4 heads / 2 KV heads, 600 base pieces, upstream
added-token strings and order with shrunken modality blocks) is converted with convert.py into
  pkg-fp32/  llm.onnx fp32 + variant int4 (float32 activations, MatMulNBits accuracy_level 4)
  pkg-fp16/  llm.onnx fp16 + variant int4 (float16 activations)
and the torch replica (llama_ref.py) computes the reference logits in parity.json:
  fp32: original weights; int4: weights replaced by their RTN int4 dequantisation (what MatMulNBits computes).
seed/ holds a small-dims SEED decoder export (tools/convert/seed_decoder.py) and torch outputs.
tok-nonlegacy/ holds the tokenizer of the same checkpoint with tokenizer_config "legacy": false.
"""

import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import convert  # noqa: E402
import fake_checkpoints  # noqa: E402
import layout  # noqa: E402
import llama_ref  # noqa: E402
import llm_builder  # noqa: E402
import seed_decoder  # noqa: E402
import tokenizer_convert  # noqa: E402

OUT = os.path.join(HERE, "..", "..", "test", "fixtures", "convert")
DIMS = dict(hidden=64, intermediate=160, layers=2, heads=4, kv_heads=2, base_vocab=600, small_blocks=True)


def quiet(*_):
    pass


def make_seed(tmp):
    """seed/: a small-dims SEED decoder export + torch outputs for two code vectors."""
    d = os.path.join(OUT, "seed")
    os.makedirs(d)
    ck = os.path.join(tmp, "seed_quantizer.pt")
    dims = seed_decoder.make_fake(ck, small=True, seed=3)
    model, _ = seed_decoder.load(ck)
    seed_decoder.export(model, os.path.join(d, "image_seed_decoder.onnx"))
    g = torch.Generator().manual_seed(5)
    cases = []
    for _ in range(2):
        codes = torch.randint(0, dims["n_embed"], (1, 32), generator=g)
        with torch.no_grad():
            emb = model(codes)[0]
        cases.append({"codes": codes[0].tolist(), "image_embeds": [round(v, 6) for v in emb.tolist()]})
    with open(os.path.join(d, "parity.json"), "w") as f:
        json.dump({"dims": dims, "cases": cases}, f)


def main():
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    tmp = tempfile.mkdtemp(prefix="anygpt-fixture-")
    try:
        src = os.path.join(tmp, "src")
        cfg = fake_checkpoints.make(src, seed=7, **DIMS)
        # convert.check_source expects the full upstream blocks; the fixture's shrunken blocks have the same
        # first/start/end strings, so the checks pass unchanged.
        convert.convert(
            src,
            os.path.join(OUT, "pkg-fp32"),
            ["fp32", "int4"],
            max_positions=512,
            name="fixture-convert-fp32",
            log=quiet,
        )
        convert.convert(
            src,
            os.path.join(OUT, "pkg-fp16"),
            ["fp16", "int4"],
            max_positions=512,
            name="fixture-convert-fp16",
            log=quiet,
        )
        src_nl = os.path.join(tmp, "src-nonlegacy")
        fake_checkpoints.make(src_nl, seed=7, legacy=False, **DIMS)
        info = tokenizer_convert.convert(src_nl, os.path.join(OUT, "tok-nonlegacy"), log=quiet)
        with open(os.path.join(OUT, "tok-nonlegacy", "goldens.json"), "w", encoding="utf-8") as f:
            json.dump({"legacy": False, "goldens": tokenizer_convert.goldens(info)}, f, ensure_ascii=False, indent=1)

        tok = tokenizer_convert.reference(tokenizer_convert.load_sources(src))
        ids = tok.encode(layout.GOLDEN_PROMPTS[3])
        steps = [
            tok.token_to_id("<sosp>"),
            tok.token_to_id(f"<{layout.SPEECH_PREFIX}3>"),
            tok.token_to_id("<eosp>"),
            tok.token_to_id("<eos>"),
            29,
        ]
        w = torch.load(os.path.join(src, "pytorch_model.bin"))

        def run(weights):
            lg, cache = llama_ref.forward(weights, cfg, torch.tensor([ids]))
            res = [lg[0, -1].tolist()]
            for t in steps:
                lg, cache = llama_ref.forward(weights, cfg, torch.tensor([[t]]), cache)
                res.append(lg[0, -1].tolist())
            return res

        ref_fp32 = run(w)
        greedy = []
        lg, cache = llama_ref.forward(w, cfg, torch.tensor([ids]))
        for _ in range(8):
            nxt = int(lg[0, -1].argmax())
            greedy.append(nxt)
            lg, cache = llama_ref.forward(w, cfg, torch.tensor([[nxt]]), cache)
        wq = dict(w)
        for k in w:
            if k.endswith("_proj.weight") or k == "lm_head.weight":
                wq[k] = torch.from_numpy(llm_builder.dequantize_int4(w[k].numpy()))
        ref_int4 = run(wq)
        r4 = lambda rows: [[round(v, 6) for v in row] for row in rows]
        with open(os.path.join(OUT, "parity.json"), "w") as f:
            json.dump(
                {
                    "generator": "tools/convert/make_fixtures.sh",
                    "config": cfg,
                    "prompt": layout.GOLDEN_PROMPTS[3],
                    "ids": ids,
                    "steps": steps,
                    "greedy": greedy,
                    "reference": {"fp32": r4(ref_fp32), "int4": r4(ref_int4)},
                    "logitStd": float(np.std(np.array(ref_fp32))),
                },
                f,
            )
        make_seed(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(OUT) for f in fs)
    print(f"wrote {os.path.normpath(OUT)} ({total / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
