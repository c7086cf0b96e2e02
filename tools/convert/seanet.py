#!/usr/bin/python3
"""Plain-torch replicas of the two SEANet codecs AnyGPT uses, their fake checkpoints and ONNX exports.

* **EnCodec 32 kHz** (`facebook/encodec_32khz`, transformers `EncodecModel`): `config.json` + `model.safetensors`.
  Music contract (docs/model-package.md): encoder `waveform` f32 [1,1,T] → `audio_codes` i64 [1,1,Q,F];
  decoder `audio_codes` i64 [1,1,Q,F] → `waveform` f32 [1,1,640·F].
* **SpeechTokenizer** (`fnlp/AnyGPT-speech-modules/speechtokenizer/{ckpt.dev,config.json}`, Snake variant):
  encoder `waveform` f32 [1,1,T] → `codes` i64 [Q,1,F]; decoder `codes` i64 [Q',1,F] → `waveform` f32 [1,1,320·F].

Written from the architecture description in docs/anygpt.md ("Speech", "Music", "Component sizes") and the
module layouts of the upstream code as remembered; no upstream code is copied or imported.

State-dict key names are **checked** against the upstream modules themselves: EnCodec's against transformers'
modeling_encodec.py (test/fixtures/upstream/manifests/encodec.json), SpeechTokenizer's against speechtokenizer
0.1.2 (manifests/speechtokenizer.json); both made by tools/convert/oracle/make_fixtures.py. Loading is strict:
keys other than those below and the UNUSED ones are an error that names them.

EnCodec (transformers EncodecModel):
  encoder.layers.{i}.conv.{weight_g,weight_v,bias}          EncodecConv1d (weight-norm)
  encoder.layers.{i}.block.{1,3}.conv.{weight_g,weight_v,bias}  EncodecResnetBlock (ELU at 0 and 2)
  encoder.layers.{i}.shortcut.conv.*                        only with use_conv_shortcut
  encoder.layers.{i}.lstm.{weight_ih_l0,weight_hh_l0,bias_ih_l0,bias_hh_l0,…_l1}   EncodecLSTM (skip)
  decoder.layers.{i}.conv.*                                 EncodecConvTranspose1d has the same `.conv` name
  quantizer.layers.{q}.codebook.{embed,embed_avg,cluster_size,inited}
  (newer transformers save weight-norm as conv.parametrizations.weight.original0/1; both are accepted)
SpeechTokenizer (speechtokenizer 0.1.2 SEANet, audiocraft-style modules):
  encoder.model.{i}.conv.conv.{weight_g,weight_v,bias}      SConv1d → NormConv1d → Conv1d
  encoder.model.{i}.block.{1,3}.conv.conv.*                 SEANetResnetBlock
  encoder.model.{i}.shortcut.conv.conv.*                    1×1 conv shortcut (true_skip false: see SPT_SNAKE)
  encoder.model.{i}.alpha / encoder.model.{i}.block.{0,2}.alpha   Snake1d [1,C,1]
  encoder.model.{i}.lstm.*  (+ *_reverse: bidirectional)     SLSTM (skip; x repeated ×2 when bidirectional)
  decoder.model.{i}.convtr.convtr.{weight_g,weight_v,bias}  SConvTranspose1d
  quantizer.vq.layers.{q}._codebook.{embed,embed_avg,cluster_size,inited}
  transform.{weight,bias}                                   semantic distillation head (unused here)

Non-causal SEANet padding: a conv of kernel k, stride s, dilation d pads (k−1)d−(s−1) split left ⌈·/2⌉ /
right ⌊·/2⌋ in reflect mode, plus `extra` = ceil-based padding so that the last window is complete. Upstream
computes `extra` from `x.shape` with Python math (a constant when traced). The export instead pads s−1
on the right always: reflect padding is prefix-stable, so the frames are the same and the frame count
is ⌈L/s⌉ for every length (`dynamic-length-safe`). The torch replica keeps the upstream formula, and the
parity tests compare the two at lengths that are not multiples of the hop.
Weight norm is folded (w = g·v/‖v‖, norm over all dims but 0, as torch.nn.utils.weight_norm) at load time.
"""

import json
import math
import os
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

# ---------------------------------------------------------------------------------------------- configs
ENCODEC_32K = dict(  # facebook/encodec_32khz: as manifests/encodec.json["config"] (transformers' conversion script)
    audio_channels=1,
    sampling_rate=32000,
    num_filters=64,
    num_residual_layers=1,
    upsampling_ratios=[8, 5, 4, 4],
    kernel_size=7,
    last_kernel_size=7,
    residual_kernel_size=3,
    dilation_growth_rate=2,
    compress=2,
    hidden_size=128,
    num_lstm_layers=2,
    codebook_size=2048,
    codebook_dim=128,
    target_bandwidths=[2.2],
    use_causal_conv=False,
    pad_mode="reflect",
    norm_type="weight_norm",
    use_conv_shortcut=False,
    normalize=False,
    trim_right_ratio=1.0,
    chunk_length_s=None,
    overlap=None,
    model_type="encodec",
    architectures=["EncodecModel"],
)

SPT_SNAKE = dict(  # spt_base_cfg.json + activation Snake [S; the real config.json was not read: verify]
    n_filters=64,
    strides=[8, 5, 4, 2],
    dimension=1024,
    semantic_dimension=768,
    bidirectional=True,
    dilation_base=2,
    residual_kernel_size=3,
    n_residual_layers=1,
    lstm_layers=2,
    activation="Snake",
    sample_rate=16000,
    codebook_size=1024,
    n_q=8,
    kernel_size=7,
    last_kernel_size=7,
    true_skip=False,
    compress=2,
)
# Parameter counts check the structure against the upstream ones (docs/anygpt.md, "Component sizes"): with these configs the
# replicas have SpeechTokenizer encoder 67.70 M / decoder 35.18 M (upstream 67.7 / 35.2: the 1×1 conv shortcuts,
# true_skip false, account for 0.35 M on each side), EnCodec 56.9 M + 2 × 1.05 M codebook/EMA ≈ 59.0 M ≈ 236 MB (upstream:
# 236 MB model.safetensors; conv shortcuts would add 0.7 M), SoundStorm 351.37 M (upstream 351.4 M).


def encodec_num_quantizers(cfg):
    frame_rate = math.ceil(cfg["sampling_rate"] / int(np.prod(cfg["upsampling_ratios"])))
    return int(1000 * cfg["target_bandwidths"][-1] // (frame_rate * 10))


# ---------------------------------------------------------------------------------------------- modules
class Snake(nn.Module):
    def __init__(self, ch):
        super().__init__()
        self.alpha = nn.Parameter(torch.ones(1, ch, 1))

    def forward(self, x):
        return x + (self.alpha + 1e-9).reciprocal() * torch.sin(self.alpha * x).pow(2)


def act(kind, ch):
    return Snake(ch) if kind == "Snake" else nn.ELU()


class Conv(nn.Module):
    """Non-causal SEANet conv with reflect padding (weights already folded)."""

    def __init__(self, cin, cout, k, stride=1, dilation=1):
        super().__init__()
        self.conv = nn.Conv1d(cin, cout, k, stride=stride, dilation=dilation)
        self.k, self.s, self.d = k, stride, dilation
        self.export_mode = False

    def forward(self, x):
        total = (self.k - 1) * self.d - (self.s - 1)
        right = total // 2
        left = total - right
        if self.export_mode:
            extra = self.s - 1  # prefix-stable; see the module docstring
        else:
            L = x.shape[-1]
            n = (L - self.k + total) / self.s + 1
            extra = (math.ceil(n) - 1) * self.s + (self.k - total) - L
        if left or right + extra:
            x = reflect_pad_graph(x, left, right + extra) if self.export_mode else reflect_pad(x, left, right + extra)
        return self.conv(x)


def reflect_pad(x, left, right):
    """Upstream's reflect pad: inputs not longer than the pad are zero-extended first, then trimmed back."""
    L = x.shape[-1]
    m = max(left, right)
    e = m - L + 1 if L <= m else 0
    if e:
        x = F.pad(x, (0, e))
    y = F.pad(x, (left, right), mode="reflect")
    return y[..., : y.shape[-1] - e] if e else y


def reflect_pad_graph(x, left, right):
    """The same as reflect_pad with the length taken from the tensor at run time (Range/Gather/Where in ONNX)."""
    m = max(left, right)
    L = torch._shape_as_tensor(x)[-1]
    e = torch.clamp(m + 1 - L, min=0)
    n = L + e  # effective (zero-extended) length
    xe = F.pad(x, (0, m + 1))
    i = torch.arange(L + left + right, dtype=torch.long) - left
    i = torch.where(i < 0, -i, i)
    i = torch.where(i >= n, 2 * (n - 1) - i, i)
    return torch.index_select(xe, x.dim() - 1, i)


class ConvTr(nn.Module):
    def __init__(self, cin, cout, k, stride):
        super().__init__()
        self.conv = nn.ConvTranspose1d(cin, cout, k, stride=stride)
        self.total = k - stride

    def forward(self, x):
        y = self.conv(x)
        right = self.total // 2
        left = self.total - right
        return y[..., left : y.shape[-1] - right] if right else y[..., left:]


class ResBlock(nn.Module):
    def __init__(self, dim, kernel, dilation, compress, activation, conv_shortcut=False):
        super().__init__()
        h = dim // compress
        self.block = nn.ModuleList(
            [act(activation, dim), Conv(dim, h, kernel, dilation=dilation), act(activation, h), Conv(h, dim, 1)]
        )
        self.shortcut = Conv(dim, dim, 1) if conv_shortcut else None

    def forward(self, x):
        y = x
        for m in self.block:
            y = m(y)
        return (self.shortcut(x) if self.shortcut is not None else x) + y


class Lstm(nn.Module):
    def __init__(self, dim, layers, bidirectional=False):
        super().__init__()
        self.lstm = nn.LSTM(dim, dim, layers, bidirectional=bidirectional)
        self.bi = bidirectional

    def forward(self, x):
        x = x.permute(2, 0, 1)
        y = self.lstm(x)[0]
        if self.bi:
            x = torch.cat([x, x], dim=-1)
        return (y + x).permute(1, 2, 0)


def seanet_encoder(
    *,
    channels,
    n_filters,
    ratios,
    dimension,
    kernel,
    last_kernel,
    res_kernel,
    n_res,
    dil_base,
    compress,
    lstm,
    bidirectional,
    activation,
    conv_shortcut,
):
    m = [Conv(channels, n_filters, kernel)]
    mult = 1
    for r in ratios:
        for j in range(n_res):
            m.append(ResBlock(mult * n_filters, res_kernel, dil_base**j, compress, activation, conv_shortcut))
        m += [act(activation, mult * n_filters), Conv(mult * n_filters, 2 * mult * n_filters, 2 * r, stride=r)]
        mult *= 2
    m.append(Lstm(mult * n_filters, lstm, bidirectional))
    if bidirectional:
        mult *= 2
    m += [act(activation, mult * n_filters), Conv(mult * n_filters, dimension, last_kernel)]
    return m


def seanet_decoder(
    *,
    channels,
    n_filters,
    ratios,
    dimension,
    kernel,
    last_kernel,
    res_kernel,
    n_res,
    dil_base,
    compress,
    lstm,
    activation,
    conv_shortcut,
):
    mult = 2 ** len(ratios)
    m = [Conv(dimension, mult * n_filters, kernel), Lstm(mult * n_filters, lstm)]
    for r in ratios:
        m += [act(activation, mult * n_filters), ConvTr(mult * n_filters, mult * n_filters // 2, 2 * r, r)]
        for j in range(n_res):
            m.append(ResBlock(mult * n_filters // 2, res_kernel, dil_base**j, compress, activation, conv_shortcut))
        mult //= 2
    m += [act(activation, n_filters), Conv(n_filters, channels, last_kernel)]
    return m


class Seq(nn.Module):
    def __init__(self, mods, attr):
        super().__init__()
        setattr(self, attr, nn.ModuleList(mods))
        self.attr = attr

    def forward(self, x):
        for m in getattr(self, self.attr):
            x = m(x)
        return x


def rvq_encode(x, codebooks):
    """x [B,D,F] → codes [Q,B,F]; nearest neighbour by argmax(−‖x−e‖²), residual per layer."""
    r = x.transpose(1, 2)  # [B,F,D]
    out = []
    for e in codebooks:
        dist = -(r.pow(2).sum(-1, keepdim=True) - 2 * r @ e.t() + e.pow(2).sum(-1)[None, None, :])
        idx = dist.argmax(-1)
        out.append(idx)
        r = r - F.embedding(idx, e)
    return torch.stack(out, 0)


def rvq_decode(codes, codebooks):
    """codes [Q,B,F] → [B,D,F] (sum of the first Q layers)."""
    table = torch.cat(list(codebooks), 0)  # [Q·bins, D]; Q' ≤ Q layers may be given (dynamic in the graph)
    bins = codebooks[0].shape[0]
    off = (torch.arange(codes.shape[0], device=codes.device) * bins).reshape(-1, 1, 1)
    return F.embedding(codes + off, table).sum(0).transpose(1, 2)


class Codec(nn.Module):
    def __init__(self, encoder, decoder, attr, n_q, bins, dim):
        super().__init__()
        self.encoder = Seq(encoder, attr)
        self.decoder = Seq(decoder, attr)
        self.codebooks = nn.ParameterList([nn.Parameter(torch.zeros(bins, dim)) for _ in range(n_q)])

    def set_export(self, on):
        for m in self.modules():
            if isinstance(m, Conv):
                m.export_mode = on

    def encode(self, wav):
        return rvq_encode(self.encoder(wav), list(self.codebooks))

    def decode(self, codes):
        return self.decoder(rvq_decode(codes, list(self.codebooks)))


def encodec_model(cfg):
    c = cfg
    kw = dict(
        channels=c["audio_channels"],
        n_filters=c["num_filters"],
        dimension=c["hidden_size"],
        kernel=c["kernel_size"],
        last_kernel=c["last_kernel_size"],
        res_kernel=c["residual_kernel_size"],
        n_res=c["num_residual_layers"],
        dil_base=c["dilation_growth_rate"],
        compress=c["compress"],
        lstm=c["num_lstm_layers"],
        activation="ELU",
        conv_shortcut=bool(c.get("use_conv_shortcut")),
    )
    enc = seanet_encoder(ratios=list(reversed(c["upsampling_ratios"])), bidirectional=False, **kw)
    dec = seanet_decoder(ratios=list(c["upsampling_ratios"]), **kw)
    return Codec(
        enc, dec, "layers", encodec_num_quantizers(c), c["codebook_size"], c.get("codebook_dim") or c["hidden_size"]
    )


def spt_model(cfg):
    c = dict(SPT_SNAKE, **cfg)
    kw = dict(
        channels=1,
        n_filters=c["n_filters"],
        dimension=c["dimension"],
        kernel=c["kernel_size"],
        last_kernel=c["last_kernel_size"],
        res_kernel=c["residual_kernel_size"],
        n_res=c["n_residual_layers"],
        dil_base=c["dilation_base"],
        compress=c["compress"],
        lstm=c["lstm_layers"],
        activation=c["activation"],
        conv_shortcut=not c["true_skip"],
    )
    enc = seanet_encoder(ratios=list(reversed(c["strides"])), bidirectional=c["bidirectional"], **kw)
    dec = seanet_decoder(ratios=list(c["strides"]), **kw)
    return Codec(enc, dec, "model", c["n_q"], c["codebook_size"], c["dimension"])


# ------------------------------------------------------------------- upstream state-dict names ↔ replica
def _upstream_names(model, kind):
    """Yields (upstream key stem, replica parameter, kind) — kind in conv, convtr, lstm, alpha, codebook."""
    attr = "layers" if kind == "encodec" else "model"
    for part in ("encoder", "decoder"):
        for i, m in enumerate(getattr(getattr(model, part), attr)):
            stem = f"{part}.{attr}.{i}"
            if isinstance(m, Conv):
                yield (f"{stem}.conv" if kind == "encodec" else f"{stem}.conv.conv"), m.conv, "conv"
            elif isinstance(m, ConvTr):
                yield (f"{stem}.conv" if kind == "encodec" else f"{stem}.convtr.convtr"), m.conv, "conv"
            elif isinstance(m, Lstm):
                yield f"{stem}.lstm", m.lstm, "lstm"
            elif isinstance(m, Snake):
                yield f"{stem}.alpha", m, "alpha"
            elif isinstance(m, ResBlock):
                for j, b in enumerate(m.block):
                    if isinstance(b, Conv):
                        yield (
                            (f"{stem}.block.{j}.conv" if kind == "encodec" else f"{stem}.block.{j}.conv.conv"),
                            b.conv,
                            "conv",
                        )
                    elif isinstance(b, Snake):
                        yield f"{stem}.block.{j}.alpha", b, "alpha"
                if m.shortcut is not None:
                    yield (
                        (f"{stem}.shortcut.conv" if kind == "encodec" else f"{stem}.shortcut.conv.conv"),
                        m.shortcut.conv,
                        "conv",
                    )
    for q, cb in enumerate(model.codebooks):
        yield (
            (
                f"quantizer.layers.{q}.codebook.embed"
                if kind == "encodec"
                else f"quantizer.vq.layers.{q}._codebook.embed"
            ),
            cb,
            "codebook",
        )


def _wn_norm(v):
    return v.reshape(v.shape[0], -1).norm(dim=1).reshape(-1, *([1] * (v.dim() - 1)))


def to_upstream_state(model, kind, seed=0):
    """Random upstream-format state dict (weight_g/weight_v, EMA codebook buffers) for a fake checkpoint."""
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for stem, mod, k in _upstream_names(model, kind):
        if k == "conv":
            w = mod.weight
            fan = (
                w.shape[1] * w.shape[2]
                if isinstance(mod, nn.Conv1d)
                else w.shape[0] * w.shape[2] / max(1, mod.stride[0])
            )
            v = torch.randn(w.shape, generator=g)
            gain = (1.0 / math.sqrt(fan)) * (0.8 + 0.4 * torch.rand(w.shape[0], generator=g))
            sd[f"{stem}.weight_g"] = (gain.reshape(-1, 1, 1) * _wn_norm(v)).float()
            sd[f"{stem}.weight_v"] = v
            sd[f"{stem}.bias"] = 0.05 * torch.randn(mod.bias.shape, generator=g)
        elif k == "lstm":
            for n, p in mod.named_parameters():
                sd[f"{stem}.{n}"] = torch.randn(p.shape, generator=g) / math.sqrt(mod.hidden_size)
        elif k == "alpha":
            sd[stem] = 0.5 + torch.rand(mod.alpha.shape, generator=g)
        elif k == "codebook":
            e = torch.randn(mod.shape, generator=g)
            base = stem[: -len(".embed")]
            sd[stem] = e
            sd[f"{base}.embed_avg"] = e.clone()
            sd[f"{base}.cluster_size"] = torch.ones(mod.shape[0])
            sd[f"{base}.inited"] = torch.ones(1)
    return sd


# Keys of the upstream files that inference does not read, and why (the loaders are strict otherwise).
UNUSED = {
    # EMA state of the k-means codebooks (training only): the codes come from `embed`.
    "encodec": (
        "quantizer.layers.*.codebook.inited",
        "quantizer.layers.*.codebook.cluster_size",
        "quantizer.layers.*.codebook.embed_avg",
    ),
    "spt": (
        "quantizer.vq.layers.*._codebook.inited",
        "quantizer.vq.layers.*._codebook.cluster_size",
        "quantizer.vq.layers.*._codebook.embed_avg",
        # the semantic-distillation projection (trained against HuBERT); encode/decode never use it
        "transform.weight",
        "transform.bias",
    ),
}


def _unused(kind, keys):
    import re

    pats = [re.compile(re.escape(p).replace(r"\*", r"\d+") + "$") for p in UNUSED[kind]]
    return [k for k in keys if any(p.match(k) for p in pats)]


def _conv_names(stem, has):
    """The weight names of one conv in the file: weight norm as weight_g/_v (torch ≤ 2.0), as parametrizations
    (newer transformers), or a plain weight; the weight_g form when none is there (the error names it)."""
    for g, v in (("weight_g", "weight_v"), ("parametrizations.weight.original0", "parametrizations.weight.original1")):
        if has(f"{stem}.{g}"):
            return f"{stem}.{g}", f"{stem}.{v}"
    if has(f"{stem}.weight"):
        return None, f"{stem}.weight"
    return f"{stem}.weight_g", f"{stem}.weight_v"


def expected_keys(model, kind, has):
    """Every key the replica reads from an upstream file (weight-norm naming as found in it)."""
    keys = []
    for stem, mod, k in _upstream_names(model, kind):
        if k == "conv":
            keys += [n for n in _conv_names(stem, has) if n] + [f"{stem}.bias"]
        elif k == "lstm":
            keys += [f"{stem}.{n}" for n, _ in mod.named_parameters()]
        else:
            keys.append(stem)
    return keys


def load_upstream_state(model, kind, get, has, present, source):
    """Fills the replica from upstream tensors (`get(name)` → torch tensor), folding weight norm. Strict: the
    file's keys (`present`) must be exactly those read plus the documented UNUSED ones."""
    import checkpoint

    present = list(present)
    checkpoint.check_keys(source, present, expected_keys(model, kind, has), _unused(kind, present))
    with torch.no_grad():
        for stem, mod, k in _upstream_names(model, kind):
            if k == "conv":
                gname, vname = _conv_names(stem, has)
                v = get(vname)
                w = v if gname is None else get(gname) * v / _wn_norm(v)
                if tuple(w.shape) != tuple(mod.weight.shape):
                    raise ValueError(f"{stem}: shape {tuple(w.shape)}, expected {tuple(mod.weight.shape)}")
                mod.weight.copy_(w)
                mod.bias.copy_(get(f"{stem}.bias"))
            elif k == "lstm":
                for n, p in mod.named_parameters():
                    t = get(f"{stem}.{n}")
                    if tuple(t.shape) != tuple(p.shape):
                        raise ValueError(f"{stem}.{n}: shape {tuple(t.shape)}, expected {tuple(p.shape)}")
                    p.copy_(t)
            elif k == "alpha":
                t = get(stem)
                if t.numel() != mod.alpha.numel():
                    raise ValueError(f"{stem}: shape {tuple(t.shape)}, expected {tuple(mod.alpha.shape)}")
                mod.alpha.copy_(t.reshape(mod.alpha.shape))
            else:
                t = get(stem)
                if tuple(t.shape) != tuple(mod.shape):
                    raise ValueError(f"{stem}: shape {tuple(t.shape)}, expected {tuple(mod.shape)}")
                mod.copy_(t)
    return model.eval()


# ------------------------------------------------------------------------------------------ safetensors
_ST_DT = {"F32": np.float32, "F16": np.float16, "I64": np.int64, "BF16": None}


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for k, t in tensors.items():
        a = t.detach().contiguous().numpy()
        dt = {np.dtype("float32"): "F32", np.dtype("float16"): "F16", np.dtype("int64"): "I64"}[a.dtype]
        b = a.tobytes()
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


class SafeTensors:
    """Reads one tensor at a time from a .safetensors file (no library needed)."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            self.header = json.loads(f.read(n))
        self.base = 8 + n
        self.header.pop("__metadata__", None)

    def has(self, k):
        return k in self.header

    def get(self, k):
        h = self.header[k]
        a, b = h["data_offsets"]
        with open(self.path, "rb") as f:
            f.seek(self.base + a)
            raw = f.read(b - a)
        if h["dtype"] == "BF16":
            arr = (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32)
        else:
            arr = np.frombuffer(raw, _ST_DT[h["dtype"]])
        return torch.from_numpy(arr.astype(np.float32).reshape(h["shape"]).copy())


# ----------------------------------------------------------------------------------- fakes and loading
def make_fake_encodec(folder, seed=0, **overrides):
    """facebook/encodec_32khz layout: config.json, preprocessor_config.json, model.safetensors."""
    os.makedirs(folder, exist_ok=True)
    cfg = dict(ENCODEC_32K, **overrides)
    cfg["frame_rate"] = math.ceil(cfg["sampling_rate"] / int(np.prod(cfg["upsampling_ratios"])))
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(folder, "preprocessor_config.json"), "w") as f:
        json.dump(
            {
                "chunk_length_s": None,
                "feature_extractor_type": "EncodecFeatureExtractor",
                "feature_size": 1,
                "overlap": None,
                "padding_side": "right",
                "padding_value": 0.0,
                "return_attention_mask": True,
                "sampling_rate": cfg["sampling_rate"],
            },
            f,
            indent=2,
        )
    write_safetensors(os.path.join(folder, "model.safetensors"), to_upstream_state(encodec_model(cfg), "encodec", seed))
    return cfg


def load_encodec(folder):
    for fn in ("config.json", "model.safetensors"):
        if not os.path.isfile(os.path.join(folder, fn)):
            raise FileNotFoundError(f"{folder}: no {fn} (expected facebook/encodec_32khz)")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = dict(ENCODEC_32K, **json.load(f))
    if cfg.get("normalize") or cfg.get("chunk_length_s") or cfg.get("use_causal_conv") or cfg["audio_channels"] != 1:
        raise ValueError(f"{folder}: EnCodec config not like encodec_32khz (normalize/chunking/causal/channels)")
    st = SafeTensors(os.path.join(folder, "model.safetensors"))
    path = os.path.join(folder, "model.safetensors")
    return load_upstream_state(encodec_model(cfg), "encodec", st.get, st.has, st.header.keys(), path), cfg


def make_fake_spt(folder, seed=0, **overrides):
    """fnlp/AnyGPT-speech-modules/speechtokenizer layout: config.json + ckpt.dev (torch.save state_dict)."""
    os.makedirs(folder, exist_ok=True)
    cfg = dict(SPT_SNAKE, **overrides)
    with open(os.path.join(folder, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    model = spt_model(cfg)
    sd = to_upstream_state(model, "spt", seed)
    # Random Snake/residual stacks grow the signal ≈ 50×; scale the last conv so the fake's waveform is O(1)
    # (makes the absolute parity tolerance meaningful).
    last = f"decoder.model.{len(model.decoder.model) - 1}.conv.conv"
    sd[f"{last}.weight_g"] = sd[f"{last}.weight_g"] / 50
    sd[f"{last}.bias"] = sd[f"{last}.bias"] / 50
    g = torch.Generator().manual_seed(seed + 1)
    sd["transform.weight"] = torch.randn(cfg["semantic_dimension"], cfg["dimension"], generator=g) * 0.01
    sd["transform.bias"] = torch.zeros(cfg["semantic_dimension"])
    torch.save(sd, os.path.join(folder, "ckpt.dev"))
    return cfg


def load_spt(folder):
    for fn in ("config.json", "ckpt.dev"):
        if not os.path.isfile(os.path.join(folder, fn)):
            raise FileNotFoundError(f"{folder}: no {fn} (expected AnyGPT-speech-modules/speechtokenizer)")
    with open(os.path.join(folder, "config.json")) as f:
        cfg = dict(SPT_SNAKE, **json.load(f))
    import checkpoint

    r = checkpoint._TorchZipReader(os.path.join(folder, "ckpt.dev"))
    state = r.state

    def get(k):
        return torch.from_numpy(np.asarray(state[k].numpy(), dtype=np.float32).copy())

    path = os.path.join(folder, "ckpt.dev")
    return load_upstream_state(spt_model(cfg), "spt", get, lambda k: k in state, state.keys(), path), cfg


# ----------------------------------------------------------------------------------------------- export
class _MusicEnc(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, waveform):
        return self.m.encode(waveform).transpose(0, 1).unsqueeze(0)  # [Q,1,F] → [1,1,Q,F]


class _MusicDec(nn.Module):
    def __init__(self, m):
        super().__init__()
        self.m = m

    def forward(self, audio_codes):
        return self.m.decode(audio_codes[0].transpose(0, 1))  # [1,1,Q,F] → [Q,1,F]


class _SpeechEnc(_MusicEnc):
    def forward(self, waveform):
        return self.m.encode(waveform)


class _SpeechDec(_MusicDec):
    def forward(self, codes):
        return self.m.decode(codes)


def _export(mod, args, out, inames, onames, axes):
    torch.onnx.export(
        mod,
        args,
        out,
        input_names=inames,
        output_names=onames,
        dynamic_axes=axes,
        opset_version=17,
        do_constant_folding=True,
    )


def export_codec(model, kind, enc_out, dec_out, hop):
    """kind 'music' (audio_codes [1,1,Q,F]) or 'speech' (codes [Q,1,F]); a None path skips that graph."""
    model.set_export(True)
    try:
        wav = torch.randn(1, 1, hop * 3 + 17)
        n_q = len(model.codebooks)
        codes = torch.zeros(n_q, 1, 8, dtype=torch.long)
        if kind == "music":
            if enc_out:
                _export(
                    _MusicEnc(model),
                    (wav,),
                    enc_out,
                    ["waveform"],
                    ["audio_codes"],
                    {"waveform": {2: "T"}, "audio_codes": {3: "F"}},
                )
            if dec_out:
                _export(
                    _MusicDec(model),
                    (codes.transpose(0, 1).unsqueeze(0),),
                    dec_out,
                    ["audio_codes"],
                    ["waveform"],
                    {"audio_codes": {3: "F"}, "waveform": {2: "T"}},
                )
        else:
            if enc_out:
                _export(
                    _SpeechEnc(model),
                    (wav,),
                    enc_out,
                    ["waveform"],
                    ["codes"],
                    {"waveform": {2: "T"}, "codes": {2: "F"}},
                )
            if dec_out:
                _export(
                    _SpeechDec(model),
                    (codes,),
                    dec_out,
                    ["codes"],
                    ["waveform"],
                    {"codes": {0: "Q", 2: "F"}, "waveform": {2: "T"}},
                )
    finally:
        model.set_export(False)
