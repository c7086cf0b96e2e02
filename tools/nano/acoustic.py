"""The acoustic stage of AnyGPT-nano: a tiny SoundStorm-contract net that lets text->speech follow a voice prompt.

The LM writes speech level 0 only (the speaker-normalised envelope, see audio_codec.py). Level 1 holds what makes a
voice: its pitch and its colouring relative to the canonical voice. This net fills level 1 in for the generated
frames by masked prediction (MaskGIT), conditioned on the level-0 ids of every frame and on the voice prompt's own
level-1 codes, which stay visible. It is the contract of AnyGPT's SoundStorm (`codes` [1, L*A] frame-major with
MASK at masked positions, `cond_ids` [1, L] -> `logits` [1, L*A, C]) with A = 1 acoustic layer of C = 256 codes,
so the engine's TypeScript SoundStorm loop drives it unchanged.

Training pairs come from the ASR clips (8 voices, random speed and pitch): the first part of a clip is the prompt,
the rest is the target, as SoundStorm is trained. Clips of the canonical TTS voice are also used without a prompt,
so that text->speech without a voice prompt keeps the canonical voice.

python3 acoustic.py [--smoke]   (needs work/speech.npy and work/audio_codec.pt; writes work/acoustic.pt)
"""

import math, os, sys, time
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import world, audio_codec
from lm import Block

C = 256  # level-1 codebook
MASK = C  # input id of a masked position
STEPS = 8  # MaskGIT iterations the engine runs (manifest speech.acoustic.steps)
TOPK_FRACTION = 0.7
PITCHES = len(audio_codec.F0_CANDIDATES)  # level-1 codes 1..PITCHES are pitches, 0 is unvoiced
MAX_SHIFT, SHIFT_PROB = 24, 0.8  # pitch augmentation of prompted examples (shift_pitch)


class Config:
    dim, n_layers, n_heads, hidden, rope_theta = 128, 3, 4, 384, 10000.0


class AcousticNet(nn.Module):
    """codes i64 [B, L] (level 1, MASK where masked), cond_ids i64 [B, L] (level 0) -> logits [B, L, C].
    Bidirectional: every frame sees every other (key padding only, via `valid`)."""

    def __init__(self, c=Config):
        super().__init__()
        self.c = c
        self.code = nn.Embedding(C + 1, c.dim)
        self.cond = nn.Embedding(C, c.dim)
        self.blocks = nn.ModuleList(Block(c) for _ in range(c.n_layers))
        self.norm = nn.LayerNorm(c.dim)
        self.head = nn.Linear(c.dim, C)

    def forward(self, codes, cond_ids, valid=None):
        x = self.code(codes) + self.cond(cond_ids)
        pos = torch.ones_like(codes).cumsum(-1) - 1  # from the input, so the exported graph keeps L dynamic
        bias = (codes * 0).float()[:, None, None, :] if valid is None else ((~valid).float() * -1e4)[:, None, None, :]
        hd = self.c.dim // self.c.n_heads
        empty = torch.zeros(codes.shape[0], self.c.n_heads, 0, hd)  # no KV cache: one bidirectional pass
        for blk in self.blocks:
            x = blk(x, pos, bias, empty, empty)[0]
        return self.head(self.norm(x))


def clip_codes(enc, sets):
    """[(voice, level0, level1)] for the ASR (all training voices) and TTS (canonical voice) clips."""
    out = []
    with torch.no_grad():
        for key in ("train", "tts"):
            for text, voice, *_, wave in sets[key]:
                codes = enc(torch.tensor(wave)[None, None])[:, 0]
                out.append((voice, codes[0], codes[1]))
    return out


def example(clips, rng):
    """-> (input level-1 codes with MASK, level 0, level 1, mask): a prompt prefix (kept) and a partly masked target
    suffix of one clip, or a whole clip with no prompt (half of the canonical-voice clips, and any clip under 8 frames,
    too short to split)."""
    voice, c0, c1 = clips[rng.randint(len(clips))]
    n = len(c0)
    if (voice == world.TTS_VOICE and rng.rand() < 0.5) or n < 8:
        p = 0  # no prompt: the canonical voice
    else:
        p = rng.randint(3, n - 4)
        c1 = shift_pitch(c1, rng) if rng.rand() < SHIFT_PROB else c1
    tgt = n - p
    k = max(1, math.ceil(math.cos(math.pi / 2 * rng.rand()) * tgt))  # MaskGIT's cosine mask ratio
    masked = torch.zeros(n, dtype=torch.bool)
    masked[p + torch.tensor(rng.permutation(tgt)[:k])] = True
    return torch.where(masked, torch.full_like(c1, MASK), c1), c0, c1, masked


def shift_pitch(c1, rng):
    """The clip's voiced pitch codes (1..96) moved together by up to MAX_SHIFT codes (about +-0.6 octave), within
    range: 8 training voices alone leave most pitches unheard, and a prompt at an unheard pitch must still be followed."""
    voiced = c1 > 0
    if not voiced.any():
        return c1
    lo, hi = int(c1[voiced].min()), int(c1[voiced].max())
    s = rng.randint(max(-MAX_SHIFT, 1 - lo), min(MAX_SHIFT, PITCHES - hi) + 1)
    return torch.where(voiced, c1 + s, c1)


def batch(clips, bs, rng):
    ex = [example(clips, rng) for _ in range(bs)]
    L = max(len(e[0]) for e in ex)
    codes = torch.full((bs, L), MASK)
    cond = torch.zeros(bs, L, dtype=torch.long)
    y = torch.full((bs, L), -100)
    valid = torch.zeros(bs, L, dtype=torch.bool)
    for b, (x, c0, c1, m) in enumerate(ex):
        n = len(x)
        codes[b, :n], cond[b, :n], valid[b, :n] = x, c0, True
        y[b, :n] = torch.where(m, c1, torch.full_like(c1, -100))
    return codes, cond, y, valid


def train(steps, bs=32, lr=2e-3, smoke=False):
    torch.manual_seed(world.SEED)
    rng = np.random.RandomState(world.SEED + 20)
    sets = np.load(os.path.join(world.WORK, "speech.npy"), allow_pickle=True).item()
    enc = audio_codec.Encoder(torch.load(os.path.join(world.WORK, "audio_codec.pt"))["speech"])
    clips = clip_codes(enc, sets)
    net = AcousticNet()
    print(f"acoustic net {sum(p.numel() for p in net.parameters()) / 1e6:.2f}M params, {len(clips)} clips", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr, betas=(0.9, 0.95), weight_decay=0.01)
    t0, hist = time.time(), []
    for step in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr * min(1, (step + 1) / 50) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * step / steps)))
        codes, cond, y, valid = batch(clips, bs, rng)
        loss = F.cross_entropy(net(codes, cond, valid).flatten(0, 1), y.flatten())
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        hist.append(loss.item())
        if step % 100 == 0 or step == steps - 1:
            print(f"step {step} {time.time() - t0:.0f}s loss {np.mean(hist[-20:]):.3f}", flush=True)
    torch.save(net.state_dict(), os.path.join(world.WORK, "acoustic.pt"))
    return net


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("NANO_THREADS", "2")))
    smoke = "--smoke" in sys.argv
    train(10 if smoke else int(sys.argv[sys.argv.index("--steps") + 1]) if "--steps" in sys.argv else 1500, smoke=smoke)
