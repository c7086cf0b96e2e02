#!/usr/bin/python3
"""The unCLIP empty-prompt text embedding: a plain-torch replica of the `text_encoder` of
stabilityai/stable-diffusion-2-1-unclip (transformers CLIPTextModel format; OpenCLIP ViT-H/14 text tower) and the
tokenisation of the empty prompt, to compute the constant `encoder_hidden_states` [1,77,1024] that AnyGPT's
image decoder feeds the UNet in both guidance branches (docs/anygpt.md,
"Images": the empty prompt's text embedding feeds both guidance branches, so it is a constant [1,77,1024]).

What the pipeline computes (diffusers 0.20 StableUnCLIPImg2ImgPipeline `_encode_prompt`, prompt "" and the
negative prompt "" — [inferred from the diffusers source; verify]):
  ids = tokenizer("", padding="max_length", max_length=77, truncation=True).input_ids
      = [BOS, EOS, PAD × 75]; with the SD-2 tokenizer files: BOS <|startoftext|> 49406, EOS <|endoftext|> 49407,
        PAD "!" = 0 (special_tokens_map.json says pad_token "!", which wins over tokenizer_config.json's
        "<|endoftext|>" when transformers loads the folder) → [49406, 49407, 0, 0, …, 0]
  embedding = text_encoder(ids)[0] = last_hidden_state: the output of the LAST layer of the HF text encoder
        after `final_layer_norm`, no attention mask (config has no use_attention_mask), causal self-attention.
  SD 2.x uses the penultimate layer of OpenCLIP-H: the converted `text_encoder` already has only 23 of the 24
  OpenCLIP layers (`num_hidden_layers: 23` in the SD-2 configs), so its last hidden state is OpenCLIP-H's
  penultimate layer, then final_layer_norm. We run whatever `num_hidden_layers` the config says.
The ids are read from tokenizer/{vocab.json, special_tokens_map.json, tokenizer_config.json}; no BPE is needed
(the empty prompt has no text tokens).

Architecture (transformers CLIPTextModel): token_embedding + position_embedding(0..76) → per layer (pre-norm)
x += out_proj(attn(layer_norm1(x))) with causal mask, q scaled by head_dim^-0.5; x += fc2(act(fc1(layer_norm2(x))))
→ final_layer_norm. act = config `hidden_act` ("gelu" exact for SD-2 / OpenCLIP; "quick_gelu" also accepted).
Keys (text_encoder/model.safetensors or pytorch_model.bin): text_model.embeddings.{token,position}_embedding.weight,
text_model.encoder.layers.{i}.{self_attn.{q,k,v,out}_proj, layer_norm1, mlp.fc1, mlp.fc2, layer_norm2}.{weight,bias},
text_model.final_layer_norm.{weight,bias} — the transformers CLIP module names [inferred for the real file].

    /usr/bin/python3 tools/convert/clip_text.py --unclip DIR [--out text_embedding.f32]   # prints the ids and stats
    /usr/bin/python3 tools/convert/clip_text.py --fake DIR                               # small random text_encoder/ + tokenizer/
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FULL = dict(
    vocab_size=49408,
    hidden_size=1024,
    intermediate_size=4096,
    num_attention_heads=16,
    num_hidden_layers=23,
    max_position_embeddings=77,
    hidden_act="gelu",
    layer_norm_eps=1e-5,
)
SMALL = dict(FULL, vocab_size=514, hidden_size=16, intermediate_size=32, num_attention_heads=2, num_hidden_layers=2)
KEYS = (
    "vocab_size",
    "hidden_size",
    "intermediate_size",
    "num_attention_heads",
    "num_hidden_layers",
    "max_position_embeddings",
    "hidden_act",
    "layer_norm_eps",
)


class _Layer(nn.Module):
    def __init__(self, d, heads, inner, eps, act):
        super().__init__()
        self.heads, self.act = heads, act
        self.self_attn = nn.Module()
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            setattr(self.self_attn, n, nn.Linear(d, d))
        self.layer_norm1 = nn.LayerNorm(d, eps=eps)
        self.mlp = nn.Module()
        self.mlp.fc1 = nn.Linear(d, inner)
        self.mlp.fc2 = nn.Linear(inner, d)
        self.layer_norm2 = nn.LayerNorm(d, eps=eps)

    def forward(self, x, mask):
        B, N, D = x.shape
        hd = D // self.heads
        a = self.self_attn
        h = self.layer_norm1(x)
        split = lambda t: t.reshape(B, N, self.heads, hd).transpose(1, 2)  # noqa: E731
        q, k, v = split(a.q_proj(h) * hd**-0.5), split(a.k_proj(h)), split(a.v_proj(h))
        w = (q @ k.transpose(-1, -2) + mask).softmax(-1)
        x = x + a.out_proj((w @ v).transpose(1, 2).reshape(B, N, D))
        h = self.mlp.fc1(self.layer_norm2(x))
        h = h * torch.sigmoid(1.702 * h) if self.act == "quick_gelu" else F.gelu(h)
        return x + self.mlp.fc2(h)


class ClipTextModel(nn.Module):
    """input_ids [B,N] → last_hidden_state [B,N,D]; parameter names are the transformers CLIPTextModel keys."""

    def __init__(
        self,
        vocab_size,
        hidden_size,
        intermediate_size,
        num_attention_heads,
        num_hidden_layers,
        max_position_embeddings,
        hidden_act,
        layer_norm_eps,
    ):
        super().__init__()
        if hidden_act not in ("gelu", "quick_gelu"):
            raise ValueError(f"text_encoder hidden_act {hidden_act!r}: only gelu and quick_gelu are implemented")
        self.text_model = t = nn.Module()
        t.embeddings = nn.Module()
        t.embeddings.token_embedding = nn.Embedding(vocab_size, hidden_size)
        t.embeddings.position_embedding = nn.Embedding(max_position_embeddings, hidden_size)
        t.encoder = nn.Module()
        t.encoder.layers = nn.ModuleList(
            [
                _Layer(hidden_size, num_attention_heads, intermediate_size, layer_norm_eps, hidden_act)
                for _ in range(num_hidden_layers)
            ]
        )
        t.final_layer_norm = nn.LayerNorm(hidden_size, eps=layer_norm_eps)
        n = max_position_embeddings
        # transformers fills the upper triangle with the dtype's minimum
        self.register_buffer("causal", torch.full((n, n), torch.finfo(torch.float32).min).triu(1), persistent=False)

    def forward(self, input_ids):
        t = self.text_model
        N = input_ids.shape[1]
        x = t.embeddings.token_embedding(input_ids) + t.embeddings.position_embedding.weight[:N]
        mask = self.causal[:N, :N]
        for layer in t.encoder.layers:
            x = layer(x, mask)
        return t.final_layer_norm(x)


# ------------------------------------------------------------------------------------------------ tokenizer
def _token(v):
    return v.get("content") if isinstance(v, dict) else v


def empty_prompt_ids(tokenizer_dir):
    """→ (ids, info): [BOS, EOS] padded to model_max_length with the pad token, as the CLIPTokenizer does for ""."""
    rd = lambda n: json.load(open(os.path.join(tokenizer_dir, n), encoding="utf-8"))  # noqa: E731
    vocab = rd("vocab.json")
    cfg = rd("tokenizer_config.json") if os.path.isfile(os.path.join(tokenizer_dir, "tokenizer_config.json")) else {}
    stm = (
        rd("special_tokens_map.json") if os.path.isfile(os.path.join(tokenizer_dir, "special_tokens_map.json")) else {}
    )
    tok = {}
    for role, default in (
        ("bos_token", "<|startoftext|>"),
        ("eos_token", "<|endoftext|>"),
        ("pad_token", "<|endoftext|>"),
    ):
        s = (
            _token(stm.get(role)) or _token(cfg.get(role)) or default
        )  # special_tokens_map.json wins, as in transformers
        if s not in vocab:
            raise KeyError(f"{tokenizer_dir}: {role} {s!r} is not in vocab.json")
        tok[role] = (s, vocab[s])
    n = int(cfg.get("model_max_length", 77))
    if n > 10**6:  # transformers' "no limit" sentinel: CLIP's context is 77
        n = 77
    ids = [tok["bos_token"][1], tok["eos_token"][1]] + [tok["pad_token"][1]] * (n - 2)
    return ids, {k: v for k, v in tok.items()} | {"length": n}


# ------------------------------------------------------------------------------------------------ loading
def _weights(folder):
    from seanet import SafeTensors

    p = os.path.join(folder, "model.safetensors")
    if os.path.isfile(p):
        st = SafeTensors(p)
        return st.has, st.get, p, list(st.header.keys())
    p = os.path.join(folder, "pytorch_model.bin")
    if os.path.isfile(p):
        import checkpoint

        r = checkpoint._TorchZipReader(p)
        return (
            (lambda k: k in r.state),
            (lambda k: torch.from_numpy(np.array(r.state[k].numpy(), dtype=np.float32))),
            p,
            list(r.state.keys()),
        )
    raise FileNotFoundError(f"{folder}: no model.safetensors or pytorch_model.bin (the fp32 text_encoder weights)")


def load(text_encoder_dir):
    cfg = json.load(open(os.path.join(text_encoder_dir, "config.json")))
    dims = {k: cfg[k] for k in KEYS if k in cfg}
    dims = dict(FULL, **dims)
    m = ClipTextModel(**dims)
    has, get, path, present = _weights(text_encoder_dir)
    own = m.state_dict()
    import checkpoint

    # position_ids is a constant buffer (arange) that older transformers saved; it is not a weight.
    checkpoint.check_keys(path, present, own.keys(), ("text_model.embeddings.position_ids",))
    for k in own:
        if not has(k):
            raise KeyError(f"{path}: missing {k}")
        t = get(k)
        if tuple(t.shape) != tuple(own[k].shape):
            raise ValueError(f"{path}: {k} has shape {tuple(t.shape)}, expected {tuple(own[k].shape)}")
        own[k] = t
    m.load_state_dict(own)
    return m.eval(), dims


def has_text_encoder(unclip_dir):
    return os.path.isfile(os.path.join(unclip_dir, "text_encoder", "config.json")) and os.path.isfile(
        os.path.join(unclip_dir, "tokenizer", "vocab.json")
    )


def embed_empty_prompt(unclip_dir):
    """→ (float32 [1,77,D] numpy, info) computed from unclip_dir/{text_encoder,tokenizer}/."""
    ids, info = empty_prompt_ids(os.path.join(unclip_dir, "tokenizer"))
    m, dims = load(os.path.join(unclip_dir, "text_encoder"))
    if len(ids) > dims["max_position_embeddings"]:
        raise ValueError(
            f"tokenizer length {len(ids)} > text_encoder max_position_embeddings {dims['max_position_embeddings']}"
        )
    with torch.no_grad():
        e = m(torch.tensor([ids]))
    return e.numpy().astype(np.float32), dict(info, ids=ids, dims=dims)


# ------------------------------------------------------------------------------------------------ fakes, export
def _byte_chars():
    """The 256 characters CLIP's byte-level BPE uses for bytes (printable ones stand for themselves, in the order
    !..~, ¡..¬, ®..ÿ, then the rest shifted past 255): their order is the start of the real vocab ("!" = 0)."""
    keep = (
        list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    )
    out, extra = [chr(b) for b in keep], 0
    for b in range(256):
        if b not in keep:
            out.append(chr(256 + extra))
            extra += 1
    return out


def make_fake(unclip_dir, dims=None, seed=0):
    """text_encoder/{config.json, model.safetensors} and tokenizer/{vocab.json, merges.txt, special_tokens_map.json,
    tokenizer_config.json} in the SD-2 layout, small widths, a 514-entry vocab (256 byte chars, the same with
    </w>, BOS, EOS: "!" = 0 as in the real vocab; BOS/EOS ids differ from the real 49406/49407)."""
    from seanet import write_safetensors

    dims = dict(dims or SMALL)
    chars = _byte_chars()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    dims["vocab_size"] = max(dims["vocab_size"], len(vocab))
    td, kd = os.path.join(unclip_dir, "text_encoder"), os.path.join(unclip_dir, "tokenizer")
    os.makedirs(td, exist_ok=True)
    os.makedirs(kd, exist_ok=True)
    with open(os.path.join(td, "config.json"), "w") as f:
        json.dump(
            dict(
                dims,
                architectures=["CLIPTextModel"],
                model_type="clip_text_model",
                projection_dim=512,
                bos_token_id=0,
                eos_token_id=2,
                pad_token_id=1,
                torch_dtype="float32",
            ),
            f,
            indent=2,
        )
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, p in ClipTextModel(**dims).state_dict().items():
        if "norm" in k and k.endswith("weight"):
            sd[k] = 1 + 0.1 * torch.randn(p.shape, generator=g)
        elif k.endswith("bias"):
            sd[k] = 0.02 * torch.randn(p.shape, generator=g)
        elif "embedding" in k:
            sd[k] = torch.randn(p.shape, generator=g)
        else:
            sd[k] = torch.randn(p.shape, generator=g) / math.sqrt(p.shape[-1])
    write_safetensors(os.path.join(td, "model.safetensors"), sd)
    with open(os.path.join(kd, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump(vocab, f, ensure_ascii=False)
    with open(os.path.join(kd, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n")
    tokd = lambda s: {"content": s, "lstrip": False, "normalized": True, "rstrip": False, "single_word": False}  # noqa: E731
    with open(os.path.join(kd, "special_tokens_map.json"), "w") as f:
        json.dump(
            {
                "bos_token": tokd("<|startoftext|>"),
                "eos_token": tokd("<|endoftext|>"),
                "pad_token": "!",
                "unk_token": tokd("<|endoftext|>"),
            },
            f,
            indent=2,
        )
    with open(os.path.join(kd, "tokenizer_config.json"), "w") as f:
        json.dump(
            {
                "bos_token": dict(tokd("<|startoftext|>"), __type="AddedToken"),
                "do_lower_case": True,
                "eos_token": dict(tokd("<|endoftext|>"), __type="AddedToken"),
                "model_max_length": 77,
                "pad_token": "<|endoftext|>",
                "tokenizer_class": "CLIPTokenizer",
            },
            f,
            indent=2,
        )
    return dims


def export(model, out, n=77):
    torch.onnx.export(
        model,
        (torch.zeros(1, n, dtype=torch.long),),
        out,
        input_names=["input_ids"],
        output_names=["last_hidden_state"],
        opset_version=17,
        do_constant_folding=True,
    )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--unclip", help="stable-diffusion-2-1-unclip folder with text_encoder/ and tokenizer/")
    ap.add_argument("--out", help="write the embedding here (raw little-endian f32 [1,77,D])")
    ap.add_argument("--fake", help="write a small random text_encoder/ + tokenizer/ into this folder")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.fake:
        print(make_fake(a.fake))
        return
    e, info = embed_empty_prompt(a.unclip)
    print(
        f"ids: {info['ids'][:4]}… ({info['length']}; bos {info['bos_token']}, eos {info['eos_token']}, pad {info['pad_token']})"
    )
    print(f"embedding {list(e.shape)}: mean {e.mean():.4f}, std {e.std():.4f}")
    if a.out:
        e.astype("<f4").tofile(a.out)


if __name__ == "__main__":
    main()
