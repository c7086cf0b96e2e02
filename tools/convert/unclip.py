#!/usr/bin/python3
"""stable-diffusion-2-1-unclip pieces AnyGPT's image decoder needs: UNet (with `class_labels`), VAE decoder,
image normaliser, and the constant empty-prompt text embedding. Plain-torch replicas of diffusers'
UNet2DConditionModel / AutoencoderKL decoder (structure as in the diffusers model configs; no diffusers code),
fake checkpoints in the diffusers folder layout, ONNX exports to docs/codecs.md:

  UNet: sample f32 [B,4,h,w], timestep f32 [B], encoder_hidden_states f32 [B,77,Dt], class_labels f32 [B,2D]
        → out_sample f32 [B,4,h,w]
  VAE decoder: latent_sample f32 [1,4,h,w] → sample f32 [1,3,8h,8w] (2^(levels−1) in general)
  text embedding: raw little-endian f32 [1,77,Dt]; image normaliser: raw f32 [D] mean and std.

Folder layout (as on the hub, [S]/[inferred]): unet/{config.json,diffusion_pytorch_model.safetensors},
vae/{config.json,diffusion_pytorch_model.safetensors}, image_normalizer/{config.json,
diffusion_pytorch_model.safetensors} (keys mean, std [1,D]), scheduler/scheduler_config.json,
image_noising_scheduler/scheduler_config.json. Key names follow diffusers' module names, **checked** against
diffusers 0.20.2 itself (test/fixtures/upstream/unclip: a diffusers-made checkpoint loads strictly and matches;
full-size key lists in test/fixtures/upstream/manifests/unclip_*.json):
  conv_in, time_embedding.linear_{1,2}, class_embedding.linear_{1,2} (class_embed_type "projection"),
  {down_blocks.i,mid_block,up_blocks.i}.resnets.j.{norm1,conv1,time_emb_proj,norm2,conv2,conv_shortcut},
  ….attentions.j.{norm,proj_in,proj_out,transformer_blocks.0.{norm1,attn1,norm2,attn2,norm3,ff.net.0.proj,ff.net.2}}
  (attn*: to_q,to_k,to_v (no bias), to_out.0), down_blocks.i.downsamplers.0.conv, up_blocks.i.upsamplers.0.conv,
  conv_norm_out, conv_out; VAE: post_quant_conv, decoder.{conv_in, mid_block.resnets.{0,1},
  mid_block.attentions.0.{group_norm,to_q,to_k,to_v,to_out.0} (older files: query/key/value/proj_attn, accepted),
  up_blocks.i.resnets.j, up_blocks.i.upsamplers.0.conv, conv_norm_out, conv_out}.
Supported config (that of SD 2.1 unclip): CrossAttnDownBlock2D… + DownBlock2D last, UpBlock2D first +
CrossAttnUpBlock2D…, UNetMidBlock2DCrossAttn, use_linear_projection true, 1 transformer layer, GEGLU,
flip_sin_to_cos true, freq_shift 0, GroupNorm (norm_num_groups, eps 1e-5; transformer norm eps 1e-6).

The empty-prompt embedding comes from `text_encoder/` + `tokenizer/` in the folder (computed by our replica,
clip_text.py), or from `text_embedding.f32` (raw f32 [1,77,Dt], e.g. made with diffusers, docs/real-model.md)
when that file exists: the file wins, and if both are there the two are compared (max-abs in the log).
"""

import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from seanet import SafeTensors, write_safetensors  # noqa: E402

UNET_SD21 = dict(  # stabilityai/stable-diffusion-2-1-unclip unet/config.json as we read it [S: the file is not here]
    in_channels=4,
    out_channels=4,
    block_out_channels=[320, 640, 1280, 1280],
    layers_per_block=2,
    attention_head_dim=[5, 10, 20, 20],
    cross_attention_dim=1024,
    norm_num_groups=32,
    norm_eps=1e-5,
    class_embed_type="projection",
    projection_class_embeddings_input_dim=2048,
    use_linear_projection=True,
    flip_sin_to_cos=True,
    freq_shift=0,
    sample_size=96,
    down_block_types=["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"],
)
VAE_SD21 = dict(
    in_channels=3,
    out_channels=3,
    latent_channels=4,
    block_out_channels=[128, 256, 512, 512],
    layers_per_block=2,
    norm_num_groups=32,
    scaling_factor=0.18215,
    sample_size=768,
)
UNET_TINY = dict(
    UNET_SD21,
    block_out_channels=[8, 16],
    attention_head_dim=[2, 2],
    cross_attention_dim=16,
    norm_num_groups=4,
    layers_per_block=1,
    projection_class_embeddings_input_dim=32,
    down_block_types=["CrossAttnDownBlock2D", "DownBlock2D"],
    up_block_types=["UpBlock2D", "CrossAttnUpBlock2D"],
    sample_size=8,
)
VAE_TINY = dict(VAE_SD21, block_out_channels=[8, 16], layers_per_block=1, norm_num_groups=4, sample_size=16)


class Resnet(nn.Module):
    def __init__(self, cin, cout, groups, eps, temb=None):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, cin, eps=eps)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.time_emb_proj = nn.Linear(temb, cout) if temb else None
        self.norm2 = nn.GroupNorm(groups, cout, eps=eps)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.conv_shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x, temb=None):
        h = self.conv1(F.silu(self.norm1(x)))
        if self.time_emb_proj is not None:
            h = h + self.time_emb_proj(F.silu(temb))[:, :, None, None]
        h = self.conv2(F.silu(self.norm2(h)))
        return (self.conv_shortcut(x) if self.conv_shortcut is not None else x) + h


class Attention(nn.Module):
    def __init__(self, q_dim, heads, dim_head, ctx_dim=None, bias=False):
        super().__init__()
        inner = heads * dim_head
        self.heads, self.dim_head = heads, dim_head
        self.to_q = nn.Linear(q_dim, inner, bias=bias)
        self.to_k = nn.Linear(ctx_dim or q_dim, inner, bias=bias)
        self.to_v = nn.Linear(ctx_dim or q_dim, inner, bias=bias)
        self.to_out = nn.ModuleList([nn.Linear(inner, q_dim)])

    def forward(self, x, ctx=None):
        ctx = x if ctx is None else ctx
        B, N, _ = x.shape
        q, k, v = (
            t.reshape(B, -1, self.heads, self.dim_head).transpose(1, 2)
            for t in (self.to_q(x), self.to_k(ctx), self.to_v(ctx))
        )
        a = (q @ k.transpose(-1, -2) * self.dim_head**-0.5).softmax(-1)
        return self.to_out[0]((a @ v).transpose(1, 2).reshape(B, N, -1))


class _GEGLU(nn.Module):
    def __init__(self, d, inner):
        super().__init__()
        self.proj = nn.Linear(d, inner * 2)

    def forward(self, x):
        a, g = self.proj(x).chunk(2, dim=-1)
        return a * F.gelu(g)


class _TBlock(nn.Module):
    def __init__(self, d, heads, dh, ctx):
        super().__init__()
        self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)
        self.attn1 = Attention(d, heads, dh)
        self.attn2 = Attention(d, heads, dh, ctx)
        self.ff = nn.Module()
        self.ff.net = nn.ModuleList([_GEGLU(d, 4 * d), nn.Identity(), nn.Linear(4 * d, d)])

    def forward(self, x, ctx):
        x = self.attn1(self.norm1(x)) + x
        x = self.attn2(self.norm2(x), ctx) + x
        return self.ff.net[2](self.ff.net[0](self.norm3(x))) + x


class Transformer2D(nn.Module):
    def __init__(self, ch, heads, groups, ctx):
        super().__init__()
        self.norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.proj_in = nn.Linear(ch, ch)
        self.transformer_blocks = nn.ModuleList([_TBlock(ch, heads, ch // heads, ctx)])
        self.proj_out = nn.Linear(ch, ch)

    def forward(self, x, ctx):
        B, C, H, W = x.shape
        h = self.norm(x).permute(0, 2, 3, 1).reshape(B, H * W, C)
        h = self.transformer_blocks[0](self.proj_in(h), ctx)
        return self.proj_out(h).reshape(B, H, W, C).permute(0, 3, 1, 2) + x


class _Down(nn.Module):
    def __init__(self, conv):
        super().__init__()
        self.conv = conv


class _Block(nn.Module):
    pass


class _TimestepEmbedding(nn.Module):
    def __init__(self, cin, d):
        super().__init__()
        self.linear_1 = nn.Linear(cin, d)
        self.linear_2 = nn.Linear(d, d)

    def forward(self, x):
        return self.linear_2(F.silu(self.linear_1(x)))


def timestep_embedding(t, dim):
    """diffusers get_timestep_embedding, flip_sin_to_cos=True, downscale_freq_shift=0: [cos, sin]."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000) * torch.arange(half, dtype=torch.float32) / half)
    a = t.float()[:, None] * freqs[None, :]
    return torch.cat([torch.cos(a), torch.sin(a)], -1)


class UNet(nn.Module):
    def __init__(self, **cfg):
        super().__init__()
        c = self.c = dict(UNET_SD21, **cfg)
        ch = c["block_out_channels"]
        g, eps, ctx = c["norm_num_groups"], c["norm_eps"], c["cross_attention_dim"]
        hd = (
            c["attention_head_dim"]
            if isinstance(c["attention_head_dim"], list)
            else [c["attention_head_dim"]] * len(ch)
        )
        te = ch[0] * 4
        if c["class_embed_type"] != "projection" or not c["use_linear_projection"]:
            raise ValueError('UNet config: class_embed_type "projection" and use_linear_projection expected')
        self.conv_in = nn.Conv2d(c["in_channels"], ch[0], 3, padding=1)
        self.time_embedding = _TimestepEmbedding(ch[0], te)
        self.class_embedding = _TimestepEmbedding(c["projection_class_embeddings_input_dim"], te)
        self.down_blocks = nn.ModuleList()
        prev = ch[0]
        for i, oc in enumerate(ch):
            b = _Block()
            cross = c["down_block_types"][i].startswith("CrossAttn")
            b.resnets = nn.ModuleList(
                [Resnet(prev if j == 0 else oc, oc, g, eps, te) for j in range(c["layers_per_block"])]
            )
            b.attentions = (
                nn.ModuleList([Transformer2D(oc, hd[i], g, ctx) for _ in range(c["layers_per_block"])])
                if cross
                else None
            )
            b.downsamplers = (
                nn.ModuleList([_Down(nn.Conv2d(oc, oc, 3, stride=2, padding=1))]) if i < len(ch) - 1 else None
            )
            self.down_blocks.append(b)
            prev = oc
        self.mid_block = _Block()
        self.mid_block.resnets = nn.ModuleList([Resnet(ch[-1], ch[-1], g, eps, te) for _ in range(2)])
        self.mid_block.attentions = nn.ModuleList([Transformer2D(ch[-1], hd[-1], g, ctx)])
        self.up_blocks = nn.ModuleList()
        rch, rhd = list(reversed(ch)), list(reversed(hd))
        prev = rch[0]
        for i, oc in enumerate(rch):
            inp = rch[min(i + 1, len(ch) - 1)]
            cross = c["up_block_types"][i].startswith("CrossAttn")
            b = _Block()
            n = c["layers_per_block"] + 1
            b.resnets = nn.ModuleList(
                [Resnet((prev if j == 0 else oc) + (inp if j == n - 1 else oc), oc, g, eps, te) for j in range(n)]
            )
            b.attentions = nn.ModuleList([Transformer2D(oc, rhd[i], g, ctx) for _ in range(n)]) if cross else None
            b.upsamplers = nn.ModuleList([_Down(nn.Conv2d(oc, oc, 3, padding=1))]) if i < len(ch) - 1 else None
            self.up_blocks.append(b)
            prev = oc
        self.conv_norm_out = nn.GroupNorm(g, ch[0], eps=eps)
        self.conv_out = nn.Conv2d(ch[0], c["out_channels"], 3, padding=1)

    def forward(self, sample, timestep, encoder_hidden_states, class_labels):
        B = sample.shape[0]
        t = timestep.reshape(-1).expand(B) if timestep.dim() <= 1 else timestep
        emb = self.time_embedding(timestep_embedding(t, self.c["block_out_channels"][0]))
        emb = emb + self.class_embedding(class_labels)
        ctx = encoder_hidden_states
        h = self.conv_in(sample)
        skips = [h]
        for b in self.down_blocks:
            for j, r in enumerate(b.resnets):
                h = r(h, emb)
                if b.attentions is not None:
                    h = b.attentions[j](h, ctx)
                skips.append(h)
            if b.downsamplers is not None:
                h = b.downsamplers[0].conv(h)
                skips.append(h)
        h = self.mid_block.resnets[0](h, emb)
        h = self.mid_block.attentions[0](h, ctx)
        h = self.mid_block.resnets[1](h, emb)
        for b in self.up_blocks:
            for j, r in enumerate(b.resnets):
                h = r(torch.cat([h, skips.pop()], 1), emb)
                if b.attentions is not None:
                    h = b.attentions[j](h, ctx)
            if b.upsamplers is not None:
                h = b.upsamplers[0].conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return self.conv_out(F.silu(self.conv_norm_out(h)))


class _VaeAttn(nn.Module):
    def __init__(self, ch, groups):
        super().__init__()
        self.group_norm = nn.GroupNorm(groups, ch, eps=1e-6)
        self.attn = Attention(ch, 1, ch, bias=True)

    def forward(self, x):
        B, C, H, W = x.shape
        h = self.group_norm(x).reshape(B, C, H * W).transpose(1, 2)
        return self.attn(h).transpose(1, 2).reshape(B, C, H, W) + x


class VaeDecoder(nn.Module):
    def __init__(self, **cfg):
        super().__init__()
        c = self.c = dict(VAE_SD21, **cfg)
        ch, g, lc = c["block_out_channels"], c["norm_num_groups"], c["latent_channels"]
        self.post_quant_conv = nn.Conv2d(lc, lc, 1)
        d = self.decoder = nn.Module()
        d.conv_in = nn.Conv2d(lc, ch[-1], 3, padding=1)
        d.mid_block = _Block()
        d.mid_block.resnets = nn.ModuleList([Resnet(ch[-1], ch[-1], g, 1e-6) for _ in range(2)])
        d.mid_block.attentions = nn.ModuleList([_VaeAttn(ch[-1], g)])
        d.up_blocks = nn.ModuleList()
        rch = list(reversed(ch))
        prev = rch[0]
        for i, oc in enumerate(rch):
            b = _Block()
            b.resnets = nn.ModuleList(
                [Resnet(prev if j == 0 else oc, oc, g, 1e-6) for j in range(c["layers_per_block"] + 1)]
            )
            b.upsamplers = nn.ModuleList([_Down(nn.Conv2d(oc, oc, 3, padding=1))]) if i < len(ch) - 1 else None
            d.up_blocks.append(b)
            prev = oc
        d.conv_norm_out = nn.GroupNorm(g, ch[0], eps=1e-6)
        d.conv_out = nn.Conv2d(ch[0], c["out_channels"], 3, padding=1)

    def forward(self, latent_sample):
        d = self.decoder
        h = d.conv_in(self.post_quant_conv(latent_sample))
        h = d.mid_block.resnets[1](d.mid_block.attentions[0](d.mid_block.resnets[0](h)))
        for b in d.up_blocks:
            for r in b.resnets:
                h = r(h)
            if b.upsamplers is not None:
                h = b.upsamplers[0].conv(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        return d.conv_out(F.silu(d.conv_norm_out(h)))


def _vae_key(k):
    return k.replace(".attn.", ".")  # our _VaeAttn wraps Attention; diffusers keeps to_q… on the block itself


_OLD_VAE = {"to_q": "query", "to_k": "key", "to_v": "value", "to_out.0": "proj_attn"}


# Keys of the diffusers files that the converted graphs do not need: the VAE's encoder half (images are only
# decoded). Everything else in the UNet and VAE files must be read (strict loading).
VAE_UNUSED = ("encoder.", "quant_conv.")


def _fill(model, get, has, keymap=lambda k: k, alt=lambda k: None, what="", present=None, unused=()):
    import checkpoint

    own = model.state_dict()
    names = {}
    for k in own:
        up = keymap(k)
        if not has(up) and alt(up) and has(alt(up)):
            up = alt(up)
        names[k] = up
    if present is not None:
        checkpoint.check_keys(what, present, names.values(), unused)
    with torch.no_grad():
        for k in own:
            up = names[k]
            if not has(up):
                raise KeyError(f"{what}: missing {up}")
            t = get(up)
            if t.numel() != own[k].numel():
                raise ValueError(f"{what}: {up} has shape {tuple(t.shape)}, expected {tuple(own[k].shape)}")
            own[k] = t.reshape(own[k].shape)
    model.load_state_dict(own)
    return model.eval()


def _rand_state(model, seed, keymap=lambda k: k):
    g = torch.Generator().manual_seed(seed)
    sd = {}
    for k, p in model.state_dict().items():
        if "norm" in k and k.endswith("weight"):
            v = 1 + 0.1 * torch.randn(p.shape, generator=g)
        elif k.endswith("bias"):
            v = 0.02 * torch.randn(p.shape, generator=g)
        else:
            v = torch.randn(p.shape, generator=g) / math.sqrt(max(1, p[0].numel()))
        sd[keymap(k)] = v
    return sd


def make_fake(folder, seed=0, unet=None, vae=None, embed_dim=32, text_dim=16, text_embedding=True):
    """Diffusers-layout fake of stabilityai/stable-diffusion-2-1-unclip (the parts AnyGPT uses), small dims.
    text_embedding=False: no text_embedding.f32 (add text_encoder/ + tokenizer/ with clip_text.make_fake)."""
    ucfg = dict(UNET_TINY, **(unet or {}))
    ucfg["projection_class_embeddings_input_dim"] = 2 * embed_dim
    ucfg["cross_attention_dim"] = text_dim
    vcfg = dict(VAE_TINY, **(vae or {}))
    for sub, cfg, model, km in (("unet", ucfg, UNet, lambda k: k), ("vae", vcfg, VaeDecoder, _vae_key)):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        with open(os.path.join(folder, sub, "config.json"), "w") as f:
            json.dump(
                dict(
                    cfg,
                    _class_name="UNet2DConditionModel" if sub == "unet" else "AutoencoderKL",
                    _diffusers_version="0.20.2",
                ),
                f,
                indent=2,
            )
        write_safetensors(
            os.path.join(folder, sub, "diffusion_pytorch_model.safetensors"), _rand_state(model(**cfg), seed, km)
        )
    g = torch.Generator().manual_seed(seed + 7)
    os.makedirs(os.path.join(folder, "image_normalizer"), exist_ok=True)
    with open(os.path.join(folder, "image_normalizer", "config.json"), "w") as f:
        json.dump({"_class_name": "StableUnCLIPImageNormalizer", "embedding_dim": embed_dim}, f)
    write_safetensors(
        os.path.join(folder, "image_normalizer", "diffusion_pytorch_model.safetensors"),
        {"mean": 0.1 * torch.randn(1, embed_dim, generator=g), "std": 0.5 + torch.rand(1, embed_dim, generator=g)},
    )
    for sub, cfg in (
        (
            "scheduler",
            {
                "_class_name": "PNDMScheduler",
                "beta_end": 0.012,
                "beta_schedule": "scaled_linear",
                "beta_start": 0.00085,
                "num_train_timesteps": 1000,
                "prediction_type": "v_prediction",
                "set_alpha_to_one": False,
                "skip_prk_steps": True,
                "steps_offset": 1,
            },
        ),
        (
            "image_noising_scheduler",
            {"_class_name": "DDPMScheduler", "beta_schedule": "squaredcos_cap_v2", "num_train_timesteps": 1000},
        ),
    ):
        os.makedirs(os.path.join(folder, sub), exist_ok=True)
        with open(os.path.join(folder, sub, "scheduler_config.json"), "w") as f:
            json.dump(cfg, f, indent=2)
    if text_embedding:
        (0.1 * torch.randn(1, 77, text_dim, generator=g)).numpy().astype("<f4").tofile(
            os.path.join(folder, "text_embedding.f32")
        )
    return ucfg, vcfg


def text_source(folder):
    """'file' (text_embedding.f32), 'encoder' (text_encoder/ + tokenizer/) or None."""
    import clip_text

    if os.path.isfile(os.path.join(folder, "text_embedding.f32")):
        return "file"
    return "encoder" if clip_text.has_text_encoder(folder) else None


def text_embedding(folder, width):
    """→ (flat f32 numpy [77·width], log line): text_embedding.f32 if present, else computed with clip_text.py."""
    import clip_text

    src = text_source(folder)
    if src is None:
        raise FileNotFoundError(
            f"{folder}: no text_encoder/ + tokenizer/ and no text_embedding.f32 (the empty-prompt "
            "text embedding; docs/real-model.md §1)"
        )
    if src == "file":
        text = np.fromfile(os.path.join(folder, "text_embedding.f32"), "<f4")
        note = "text_embedding.f32 (supplied)"
        if clip_text.has_text_encoder(folder):
            mine, _ = clip_text.embed_empty_prompt(folder)
            if mine.size == text.size:
                note += f"; our text_encoder replica differs by max-abs {np.abs(mine.reshape(-1) - text).max():.2e}"
    else:
        e, info = clip_text.embed_empty_prompt(folder)
        text = e.reshape(-1)
        d = info["dims"]
        note = (
            f"computed from text_encoder/ ({d['num_hidden_layers']} layers × {d['hidden_size']}, last hidden state "
            f"after final_layer_norm) on the empty prompt [{info['ids'][0]}, {info['ids'][1]}, {info['ids'][2]} × "
            f"{len(info['ids']) - 2}]"
        )
    if text.size % 77 or text.size // 77 != width:
        raise ValueError(
            f"{folder}: text embedding has {text.size} floats, expected 77 × {width} (UNet cross_attention_dim)"
        )
    return text, note


def load(folder):
    """→ (unet, vae, {mean, std, text, scheduler, unet_cfg, vae_cfg}) from a diffusers-layout folder."""
    need = [
        "unet/config.json",
        "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
        "scheduler/scheduler_config.json",
    ]
    miss = [n for n in need if not os.path.isfile(os.path.join(folder, n))]
    if text_source(folder) is None:
        miss.append("text_encoder/ + tokenizer/ (or text_embedding.f32)")
    if miss:
        raise FileNotFoundError(f"{folder}: missing {', '.join(miss)}")
    rd = lambda p: json.load(open(os.path.join(folder, p)))  # noqa: E731
    ucfg = {k: v for k, v in rd("unet/config.json").items() if k in UNET_SD21}
    vcfg = {k: v for k, v in rd("vae/config.json").items() if k in VAE_SD21}
    st = SafeTensors(os.path.join(folder, "unet/diffusion_pytorch_model.safetensors"))
    unet = _fill(UNet(**ucfg), st.get, st.has, what=st.path, present=st.header.keys())
    st = SafeTensors(os.path.join(folder, "vae/diffusion_pytorch_model.safetensors"))

    def alt(k):
        for new, old in _OLD_VAE.items():
            if f".{new}." in k:
                return k.replace(f".{new}.", f".{old}.")
        return None

    vae = _fill(VaeDecoder(**vcfg), st.get, st.has, _vae_key, alt, st.path, st.header.keys(), VAE_UNUSED)
    extra = {"unet_cfg": unet.c, "vae_cfg": vae.c, "scheduler": rd("scheduler/scheduler_config.json")}
    p = os.path.join(folder, "image_normalizer/diffusion_pytorch_model.safetensors")
    if os.path.isfile(p):
        st = SafeTensors(p)
        import checkpoint

        checkpoint.check_keys(p, st.header.keys(), ("mean", "std"))
        extra["mean"], extra["std"] = st.get("mean").reshape(-1), st.get("std").reshape(-1)
    extra["text"], extra["text_note"] = text_embedding(folder, unet.c["cross_attention_dim"])
    return unet, vae, extra


def export_unet(unet, out, h=8, w=8):
    c = unet.c
    D2 = c["projection_class_embeddings_input_dim"]
    args = (
        torch.randn(2, 4, h, w),
        torch.tensor([951.0, 951.0]),
        torch.randn(2, 77, c["cross_attention_dim"]),
        torch.randn(2, D2),
    )
    torch.onnx.export(
        unet,
        args,
        out,
        input_names=["sample", "timestep", "encoder_hidden_states", "class_labels"],
        output_names=["out_sample"],
        dynamic_axes={
            "sample": {0: "B", 2: "h", 3: "w"},
            "timestep": {0: "B"},
            "encoder_hidden_states": {0: "B"},
            "class_labels": {0: "B"},
            "out_sample": {0: "B", 2: "h", 3: "w"},
        },
        opset_version=17,
        do_constant_folding=True,
    )


def export_vae(vae, out, h=8, w=8):
    torch.onnx.export(
        vae,
        (torch.randn(1, 4, h, w),),
        out,
        input_names=["latent_sample"],
        output_names=["sample"],
        dynamic_axes={"latent_sample": {2: "h", 3: "w"}, "sample": {2: "H", 3: "W"}},
        opset_version=17,
        do_constant_folding=True,
    )


def make_fixture(tmp, out):
    import base64

    enc = lambda a: base64.b64encode(np.ascontiguousarray(a, dtype=np.float32).tobytes()).decode()  # noqa: E731
    folder = os.path.join(tmp, "sd21-unclip")
    make_fake(folder, seed=5)
    unet, vae, extra = load(folder)
    export_unet(unet, os.path.join(out, "image_unet.onnx"))
    export_vae(vae, os.path.join(out, "image_vae_decoder.onnx"))
    g = torch.Generator().manual_seed(6)
    x = torch.randn(2, 4, 8, 8, generator=g)
    t = torch.tensor([901.0, 901.0])
    ctx = torch.from_numpy(extra["text"]).reshape(1, 77, -1).expand(2, -1, -1).contiguous()
    lab = torch.randn(2, unet.c["projection_class_embeddings_input_dim"], generator=g)
    lab[0] = 0
    z = torch.randn(1, 4, 8, 8, generator=g)
    with torch.no_grad():
        y = unet(x, t, ctx, lab)
        img = vae(z)
    return {
        "sample": enc(x),
        "timestep": 901.0,
        "text": enc(ctx[0]),
        "text_dim": ctx.shape[-1],
        "class_labels": enc(lab),
        "label_dim": lab.shape[1],
        "out_sample": enc(y),
        "latent": enc(z),
        "image": enc(img),
        "image_shape": list(img.shape),
    }
