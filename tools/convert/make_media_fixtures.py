#!/usr/bin/python3
"""Writes test/fixtures/convert/media/: small random-weight media components exported to ONNX, plus the torch
replicas' outputs on the same weights, for test/convert/media-parity.test.ts (onnxruntime-node).

    nice -n 10 /usr/bin/python3 tools/convert/make_media_fixtures.py [--out test/fixtures/convert/media]

Each component goes through its fake upstream checkpoint (same file and key names as upstream) and the loader
the converter uses, so the fixtures also cover the checkpoint → replica path.
"""

import argparse
import base64
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import seanet  # noqa: E402
import soundstorm  # noqa: E402
import unclip  # noqa: E402

ENCODEC_SMALL = dict(num_filters=2, hidden_size=8, codebook_dim=8, codebook_size=64)
SPT_SMALL = dict(n_filters=2, dimension=16, semantic_dimension=8, codebook_size=64)
SS_SMALL = dict(dim=32, depth=2, heads=8, dim_head=8, codebook_size=64, semantic_ids=64)


def f32(a):
    return base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode()


def wave(n, seed):
    g = np.random.default_rng(seed)
    t = np.arange(n)
    return (0.3 * np.sin(2 * np.pi * t * g.uniform(0.005, 0.05)) + 0.1 * g.standard_normal(n)).astype(np.float32)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="test/fixtures/convert/media")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    tmp = tempfile.mkdtemp()
    cases = {}
    torch.manual_seed(0)
    try:
        # EnCodec 32 kHz (hop 640)
        seanet.make_fake_encodec(os.path.join(tmp, "encodec"), seed=1, **ENCODEC_SMALL)
        m, cfg = seanet.load_encodec(os.path.join(tmp, "encodec"))
        seanet.export_codec(
            m, "music", os.path.join(a.out, "music_encoder.onnx"), os.path.join(a.out, "music_decoder.onnx"), 640
        )
        music = []
        for n in (640 * 4 + 123, 640 * 9):
            w = wave(n, n)
            with torch.no_grad():
                codes = m.encode(torch.from_numpy(w)[None, None])  # [Q,1,F]
                y = m.decode(codes)
            music.append({"waveform": f32(w), "T": n, "codes": codes[:, 0].tolist(), "out": f32(y[0, 0].numpy())})
        short = []  # 1–3 frames: shorter than the decoder's first reflect pad (upstream zero-extends)
        for F_ in (1, 2, 3):
            codes = torch.randint(0, cfg["codebook_size"], (len(m.codebooks), 1, F_))
            with torch.no_grad():
                short.append({"codes": codes[:, 0].tolist(), "out": f32(m.decode(codes)[0, 0].numpy())})
        cases["music"] = {"Q": len(m.codebooks), "hop": 640, "cases": music, "short": short}

        # SpeechTokenizer (hop 320, Snake, BiLSTM encoder)
        seanet.make_fake_spt(os.path.join(tmp, "spt"), seed=2, **SPT_SMALL)
        m, cfg = seanet.load_spt(os.path.join(tmp, "spt"))
        seanet.export_codec(
            m, "speech", os.path.join(a.out, "speech_encoder.onnx"), os.path.join(a.out, "speech_decoder.onnx"), 320
        )
        speech = []
        for n in (320 * 6 + 45, 320 * 11):
            w = wave(n, n + 1)
            with torch.no_grad():
                codes = m.encode(torch.from_numpy(w)[None, None])  # [Q,1,F]
                y = m.decode(codes)
                y1 = m.decode(codes[:1])
            speech.append(
                {
                    "waveform": f32(w),
                    "T": n,
                    "codes": codes[:, 0].tolist(),
                    "out": f32(y[0, 0].numpy()),
                    "out_semantic_only": f32(y1[0, 0].numpy()),
                }
            )
        short = []
        for F_ in (1, 2, 3):
            codes = torch.randint(0, cfg["codebook_size"], (len(m.codebooks), 1, F_))
            with torch.no_grad():
                short.append({"codes": codes[:, 0].tolist(), "out": f32(m.decode(codes)[0, 0].numpy())})
        cases["speech"] = {"Q": len(m.codebooks), "hop": 320, "cases": speech, "short": short}

        # SoundStorm net
        p = os.path.join(tmp, "speechtokenizer_soundstorm_mls.pt")
        soundstorm.make_fake(p, seed=3, **SS_SMALL)
        m, cfg = soundstorm.load(p)
        soundstorm.export(m, os.path.join(a.out, "speech_acoustic.onnx"))
        ss = []
        g = torch.Generator().manual_seed(4)
        for L in (3, 12):
            codes = torch.randint(0, cfg["codebook_size"] + 1, (1, L * 7), generator=g)
            codes[0, : 7 * (L // 3)] = cfg["codebook_size"]  # some masked frames
            cond = torch.randint(0, cfg["semantic_ids"], (1, L), generator=g)
            with torch.no_grad():
                y = m(codes, cond)
            ss.append({"L": L, "codes": codes[0].tolist(), "cond_ids": cond[0].tolist(), "logits": f32(y[0].numpy())})
        cases["soundstorm"] = {"A": 7, "C": cfg["codebook_size"], "cases": ss}

        # unCLIP UNet + VAE decoder (tiny)
        cases["unclip"] = unclip.make_fixture(tmp, a.out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    with open(os.path.join(a.out, "parity.json"), "w") as f:
        json.dump(cases, f)
    for fn in sorted(os.listdir(a.out)):
        print(f"{fn}: {os.path.getsize(os.path.join(a.out, fn)) / 1024:.0f} KiB")


if __name__ == "__main__":
    main()
