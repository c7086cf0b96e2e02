#!/usr/bin/python3
"""Edits copies of the upstream-made oracle checkpoints (one key added, one removed) and prints, as JSON, what
our loaders say about each: test/convert/upstream-oracle.test.ts checks that they refuse and name the keys.

    /usr/bin/python3 tools/convert/oracle/strict_probe.py --fixtures test/fixtures/upstream --tmp DIR
"""

import argparse
import json
import os
import shutil
import sys
import warnings

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import seanet  # noqa: E402
import soundstorm  # noqa: E402


def attempt(fn):
    try:
        fn()
        return "loaded"
    except (KeyError, ValueError) as e:
        return str(e)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fixtures", required=True)
    ap.add_argument("--tmp", required=True)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    out = {}
    ss = torch.load(os.path.join(a.fixtures, "soundstorm", "speechtokenizer_soundstorm_mls.pt"))
    spt_dir = os.path.join(a.fixtures, "speechtokenizer")
    spt = torch.load(os.path.join(spt_dir, "ckpt.dev"))
    cases = {
        "soundstorm_extra": (ss, {"net.conformer.layers.1.attn.fn.to_q.bias": torch.zeros(4)}, ()),
        "soundstorm_missing": (ss, {}, ("net.conformer.layers.0.attn.fn.to_out.bias",)),
        "speechtokenizer_extra": (spt, {"encoder.model.0.conv.conv.extra": torch.zeros(1)}, ()),
        "speechtokenizer_missing": (spt, {}, ("decoder.model.1.lstm.bias_hh_l1",)),
    }
    for name, (sd, add, drop) in cases.items():
        sd = {k: v for k, v in sd.items() if k not in drop}
        sd.update(add)
        d = os.path.join(a.tmp, name)
        os.makedirs(d, exist_ok=True)
        if name.startswith("soundstorm"):
            p = os.path.join(d, "speechtokenizer_soundstorm_mls.pt")
            torch.save(sd, p)
            out[name] = attempt(lambda: soundstorm.load(p, heads=4))
        else:
            shutil.copy(os.path.join(spt_dir, "config.json"), d)
            torch.save(sd, os.path.join(d, "ckpt.dev"))
            out[name] = attempt(lambda: seanet.load_spt(d))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
