"""Reads nano's LM weights back out of a package's llm.onnx (+ .data) into lm.py's state dict: the inverse of
export.py's HFNames + tools/convert/llm_builder.py (weights stored [in, out]; q, k and v fused into qkv_proj).

python3 from_package.py [PACKAGE_DIR] [OUT.pt] [--audio-encoders]   (default models/anygpt-nano -> work/lm_package.pt;
  --audio-encoders also writes work/audio_codec.pt with the package's speech and music encoders)
Checked by replaying the package's parity fixture (test/fixtures/nano-parity.json) greedily in torch: same ids.
Lets a new stage (lm.py --from-package) start from a shipped package when the run that made it left no checkpoint.
"""

import json, os, sys
import onnx, torch
from onnx import numpy_helper
import world, lm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def state_dict(package):
    model = onnx.load(os.path.join(package, "llm.onnx"), load_external_data=False)
    onnx.load_external_data_for_model(model, package)
    w = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in model.graph.initializer}
    c = lm.Config
    sd = {"emb.weight": w["model.embed_tokens.weight"], "norm.weight": w["model.norm.weight"]}
    sd["head.weight"] = w["lm_head.weight"].t().contiguous()
    for i in range(c.n_layers):
        p, b = f"model.layers.{i}.", f"blocks.{i}."
        q, k, v = w[p + "attn.qkv_proj.weight"].t().split(c.dim, 0)
        sd.update(
            {
                b + "n1.weight": w[p + "input_layernorm.weight"],
                b + "n2.weight": w[p + "post_attention_layernorm.weight"],
                b + "wq.weight": q.contiguous(),
                b + "wk.weight": k.contiguous(),
                b + "wv.weight": v.contiguous(),
                b + "wo.weight": w[p + "attn.o_proj.weight"].t().contiguous(),
                b + "w1.weight": w[p + "mlp.gate_proj.weight"].t().contiguous(),
                b + "w3.weight": w[p + "mlp.up_proj.weight"].t().contiguous(),
                b + "w2.weight": w[p + "mlp.down_proj.weight"].t().contiguous(),
            }
        )
    return sd


def audio_encoders(package):
    """audio_codec.Encoder's state for speech and music from the package's encoder graphs (their buffers are named
    initializers): the LM's media codes then come from exactly the encoders users run."""
    read = lambda n: {
        t.name.removeprefix("e."): torch.from_numpy(numpy_helper.to_array(t).copy())
        for t in onnx.load(os.path.join(package, n)).graph.initializer
    }
    sp, mu = read("speech_encoder.onnx"), read("music_encoder.onnx")
    return {
        "speech": {"kind": "speech", "sem": sp["sem"]},
        "music": {"kind": "music", **{k: mu[k] for k in ("sem", "cb", "axis", "levels")}},
    }


def check(sd, fixture):
    """Greedy replay of the parity fixture's prompts: the recovered weights must give its ids."""
    with open(fixture, encoding="utf-8") as f:
        fx = json.load(f)
    model = lm.LM(sd["emb.weight"].shape[0])
    model.load_state_dict(sd)
    model.eval()
    bad = []
    for c in fx["cases"]:
        out = model.generate(c["promptIds"], len(c["generatedIds"]), ())
        if out != c["generatedIds"]:
            bad.append(c["task"])
    return bad


if __name__ == "__main__":
    torch.set_num_threads(2)
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    pkg = args[0] if args else os.path.join(ROOT, "models", "anygpt-nano")
    out = args[1] if len(args) > 1 else os.path.join(world.WORK, "lm_package.pt")
    sd = state_dict(pkg)
    bad = check(sd, os.path.join(ROOT, "test", "fixtures", "nano-parity.json"))
    if bad:
        sys.exit(f"from_package: the recovered weights do not reproduce the parity fixture for {bad}")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    torch.save(sd, out)
    print(f"wrote {out} (parity fixture reproduced, {sum(v.numel() for v in sd.values()) / 1e6:.2f}M params)")
    if "--audio-encoders" in sys.argv:  # for a stage resumed without world.py's codec fit (lm.py reads only encoders)
        torch.save(audio_encoders(pkg), os.path.join(world.WORK, "audio_codec.pt"))
        print("wrote", os.path.join(world.WORK, "audio_codec.pt"), "(the package's speech and music encoders)")
