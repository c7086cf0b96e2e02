#!/usr/bin/python3
"""Converts the upstream-made oracle checkpoints (test/fixtures/upstream, see make_fixtures.py) with the
converter's own loaders and exporters, the functions convert.py runs on the real files:

    /usr/bin/python3 tools/convert/oracle/export_oracle.py --fixtures test/fixtures/upstream --out DIR

writes DIR/{speech_acoustic,speech_acoustic_peaked,speech_encoder,speech_decoder,music_encoder,music_decoder,
image_encoder,image_seed_decoder,image_unet,image_vae_decoder}.onnx and image_norm_{mean,std}.f32 for
test/convert/upstream-oracle.test.ts, which compares them in onnxruntime-node with the upstream outputs.
"""

import argparse
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import seanet  # noqa: E402
import seed_decoder  # noqa: E402
import seed_encoder  # noqa: E402
import soundstorm  # noqa: E402
import unclip  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", default="soundstorm,speechtokenizer,encodec,seed,unclip")
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    os.makedirs(a.out, exist_ok=True)
    only = a.only.split(",")
    if "soundstorm" in only:
        d = os.path.join(a.fixtures, "soundstorm")
        for ckpt, name in (
            ("speechtokenizer_soundstorm_mls.pt", "speech_acoustic"),
            ("peaked.pt", "speech_acoustic_peaked"),
        ):
            net, _ = soundstorm.load(os.path.join(d, ckpt), heads=4)
            soundstorm.export(net, os.path.join(a.out, f"{name}.onnx"))
    if "speechtokenizer" in only:
        spt, cfg = seanet.load_spt(os.path.join(a.fixtures, "speechtokenizer"))
        hop = int(np.prod(cfg["strides"]))
        seanet.export_codec(
            spt, "speech", os.path.join(a.out, "speech_encoder.onnx"), os.path.join(a.out, "speech_decoder.onnx"), hop
        )
    if "encodec" in only:
        m, cfg = seanet.load_encodec(os.path.join(a.fixtures, "encodec"))
        hop = int(np.prod(cfg["upsampling_ratios"]))
        seanet.export_codec(
            m, "music", os.path.join(a.out, "music_encoder.onnx"), os.path.join(a.out, "music_decoder.onnx"), hop
        )
    if "seed" in only:
        import json

        d = os.path.join(a.fixtures, "seed")
        with open(os.path.join(d, "reference.json")) as f:
            heads = json.load(f)["heads"]
        # head counts are not stored in the files: upstream's (eva ViT and Q-Former from their configs, 12 in
        # the decoder's blocks_image at every width)
        enc, _ = seed_encoder.load(d, vit_heads=heads["vit"], heads=heads["qformer"])
        seed_encoder.export(enc, os.path.join(a.out, "image_encoder.onnx"))
        dec, _ = seed_decoder.load(os.path.join(d, "seed_quantizer.pt"), heads=heads["blocks_image"])
        seed_decoder.export(dec, os.path.join(a.out, "image_seed_decoder.onnx"))
    if "unclip" in only:
        unet, vae, extra = unclip.load(os.path.join(a.fixtures, "unclip"))
        unclip.export_unet(unet, os.path.join(a.out, "image_unet.onnx"))
        unclip.export_vae(vae, os.path.join(a.out, "image_vae_decoder.onnx"))
        for k in ("mean", "std"):  # as media_convert.py writes them into a package
            with open(os.path.join(a.out, f"image_norm_{k}.f32"), "wb") as f:
                f.write(extra[k].numpy().astype("<f4").tobytes())
    print("ok")


if __name__ == "__main__":
    main()
