"""Audio tokenizers for speech and music: a two-level spectral codec + Griffin-Lim.

16 kHz. STFT n_fft 1024, hop 320 (50 STFT frames/s); one token frame = 2 consecutive log-magnitude frames
(1026 numbers), so tokens run at 25 Hz. Decoding sums one codeword per given level (log-magnitude), turns it back
into magnitudes and runs fast Griffin-Lim. The DFT kernels are computed inside the graph from small aranges, so the
ONNX files hold little more than the codebooks.

Level 0 is what the LM reads and writes, so it quantises the part of the spectrum that carries the meaning, the
way SpeechTokenizer's first level is distilled towards content:
  * speech: the spectral envelope (cepstral coefficients 1..NC-1, mean-normalised over the utterance). Pitch and
    the speaker's average colouring are left out, so the same word gives similar codes across voices.
  * music: the whitened fine structure in the band of the world's fundamentals (log-magnitude minus its cepstral
    envelope, positive part, 200-1300 Hz), which depends on the pitches and hardly on the timbre. So "flute C#5"
    and "organ C#5" share level-0 codes and a held-out (note, timbre) pair is made of codes the LM has seen.
Each level-0 code decodes to the mean log-magnitude of the training frames assigned to it (speech: that mean's
cepstral envelope). Level 1 quantises what is left:
  * speech: the pitch. A harmonic comb is scored on the fine structure (log-magnitude minus its cepstral envelope)
    for 96 log-spaced f0 candidates (70-400 Hz): +1 at each harmonic below 2 kHz, -1 half-way between, so twice or
    half the f0 scores low. Code k in 1..96 is a candidate (pitch_code says which), code 0 a frame whose best score
    is below VOICED_SCORE (unvoiced or silent). Speech level-0 codes decode to their cepstral envelope only, and a
    pitch code to a clean harmonic spectrum at its f0 (zero mean), so a voice's pitch is one number per frame that
    any level-0 code can carry: the acoustic stage can move a prompt's pitch onto sounds it never heard in that
    voice. (A 256-codeword k-means of the residual, used before, gave each voice codes of its own that occurred only
    with its own sounds, and voice prompts did not carry over; see MODEL_CARD.md.)
  * music: the timbre, as one number per frame: the residual's coordinate along its level-0 code's timbre axis
    (the principal direction of the residuals of that code's frames, scaled so that its frames have unit RMS,
    signed so that + means more energy above 1.5 kHz), quantised to TIMBRE_LEVELS fixed steps. A frame decodes to
    d0[c0] + level[c1] * axis[c0]. The code therefore says "how rich", not "which item": flute frames at every
    pitch share the same few codes, organ frames others, and a held-out (note, timbre) pair is made of level-1 codes
    the LM has read. (A 256-codeword k-means of the residual's envelope, used before, gave every (pitch, timbre)
    item codes of its own: a held-out item's level-1 codes were ones the LM had never seen.)
The first nano used a plain residual k-means on log-magnitudes, whose codes followed voice and timbre; the LM could
not generalise over them (see MODEL_CARD.md).
"""

import math, os, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import world
from vq import kmeans, nearest

N_FFT, HOP, SUB = 1024, 320, 2  # SUB STFT frames per token frame
BINS = N_FFT // 2 + 1
DIM = SUB * BINS
FRAME = HOP * SUB  # samples per token frame (640 -> 25 Hz)
EPS = 1e-3
GL_ITERS = 32
NC = 20  # cepstral coefficients in the envelope: below the quefrency of any pitch in the world (f0 >= 80 Hz)
MUSIC_BAND = (13, 84)  # bins 200-1300 Hz: the world's fundamentals (262-988 Hz) and their nearest partials
BRIGHT_BIN = 96  # 1.5 kHz: the sign of a timbre axis is fixed by its mean above this bin (+ = richer)
TIMBRE_LEVELS = torch.linspace(-2, 2, 9)  # music level 1: steps along the timbre axis, in units of its RMS
F0_CANDIDATES = np.geomspace(70, 400, 96)  # speech level 1: codes 1..96 (0 = unvoiced)
VOICED_SCORE = 0.6  # mean peak-minus-valley of the fine structure (natural-log units) for a voiced frame
NEAR_BEST = 0.8  # see pitch_code
COMB_TOP_HZ = 2000  # harmonics scored for the pitch code (above, espeak's harmonics blur into noise)


def dft_kernels(like):
    """Analysis kernel [2*BINS,1,N_FFT] (windowed cos, -sin) and synthesis kernel for the inverse.
    `like` is any input tensor: adding 0*like keeps the kernels as ops in the ONNX graph (KB instead of MB)."""
    zero = like.flatten()[:1].float() * 0
    n = torch.arange(N_FFT).float() + zero
    k = torch.arange(BINS).float() + zero
    win = 0.5 - 0.5 * torch.cos(2 * math.pi * n / N_FFT)  # periodic Hann
    ang = 2 * math.pi * k[:, None] * n[None, :] / N_FFT
    ana = torch.cat([torch.cos(ang), -torch.sin(ang)]) * win
    w = torch.where((k == 0) | (k == BINS - 1), torch.ones_like(k), 2 * torch.ones_like(k)) / N_FFT
    syn = torch.cat([torch.cos(ang) * w[:, None], -torch.sin(ang) * w[:, None]]) * win
    return ana.reshape(2 * BINS, 1, N_FFT), syn.reshape(2 * BINS, 1, N_FFT), win.reshape(N_FFT)


def stft(x, ana):  # x [1,1,T] -> re, im [1,BINS,Fs]
    x = F.pad(x, (N_FFT // 2, N_FFT // 2), mode="reflect")
    y = F.conv1d(x, ana, stride=HOP)
    return y[:, :BINS], y[:, BINS:]


def istft(re, im, syn, win, length):  # -> [1,1,length]
    y = F.conv_transpose1d(torch.cat([re, im], 1), syn, stride=HOP)
    env = F.conv_transpose1d(torch.ones_like(re[:, :1]), (win * win).reshape(1, 1, N_FFT), stride=HOP)
    y = y / env.clamp_min(1e-6)
    return y[:, :, N_FFT // 2 : N_FFT // 2 + length]


def features(wave):
    """wave [1,1,T] -> token-frame features [F, DIM] (log magnitude of SUB stacked STFT frames)."""
    ana, _, _ = dft_kernels(wave)
    re, im = stft(wave, ana)
    logmag = torch.log(torch.sqrt(re * re + im * im + 1e-10) + EPS)[0].t()  # [Fs, BINS]
    f = logmag.shape[0] // SUB
    return logmag[: f * SUB].reshape(f, DIM)


def dct_basis(like):
    """Orthonormal DCT-II rows 0..NC-1 over the BINS of one frame [NC, BINS], built in the graph like the DFT kernels."""
    zero = like.flatten()[:1].float() * 0
    n = torch.arange(BINS).float() + zero
    k = torch.arange(NC).float() + zero
    scale = torch.where(k == 0, torch.full_like(k, math.sqrt(1 / BINS)), torch.full_like(k, math.sqrt(2 / BINS)))
    return torch.cos(math.pi * k[:, None] * (n[None, :] + 0.5) / BINS) * scale[:, None]


def semantic(x, basis, kind):
    """The level-0 feature of token frames x [F, DIM] (see the module docstring)."""
    f = x.reshape(-1, BINS)
    if kind == "speech":
        c = (f @ basis.t())[:, 1:]  # drop c0 (loudness)
        c = c.reshape(x.shape[0], SUB * (NC - 1))
        return c - c.mean(0, keepdim=True)  # utterance mean normalisation: the speaker's and channel's colouring
    fine = (f - (f @ basis.t()) @ basis)[:, MUSIC_BAND[0] : MUSIC_BAND[1]].clamp_min(0)
    return fine.reshape(x.shape[0], -1)


class Encoder(nn.Module):
    """waveform f32 [1,1,T] -> codes i64 [2,1,F]. `sem` [K, dim] is level 0's codebook in the semantic feature
    space, `cb` [Q, K, DIM] the decoder's log-magnitude codewords (music: level 0 only, with `axis` and `levels`)."""

    def __init__(self, codec):
        super().__init__()
        self.kind = codec["kind"]
        self.register_buffer("sem", codec["sem"])
        if self.kind == "music":
            self.register_buffer("cb", codec["cb"])
            self.register_buffer("axis", codec["axis"])
            self.register_buffer("levels", codec["levels"])
        else:
            self.register_buffer("comb", pitch_combs())

    def forward(self, waveform):
        x = features(waveform)
        basis = dct_basis(waveform)
        c0 = nearest(semantic(x, basis, self.kind), self.sem)
        if self.kind == "music":
            c1 = timbre_code(x - self.cb[0][c0], self.axis[c0], self.levels)
        else:
            c1 = pitch_code(x, basis, self.comb)
        return torch.stack([c0, c1])[:, None, :]


def fine_structure(x, basis):
    """Token frames x [F, DIM] -> [F*SUB, BINS]: each STFT frame's log-magnitude minus its cepstral envelope."""
    f = x.reshape(-1, BINS)
    return f - (f @ basis.t()) @ basis


def envelope(x, basis):
    """Token frames [F, DIM] -> their cepstral envelopes (coefficients 0..NC-1 of each STFT frame), same shape."""
    f = x.reshape(-1, BINS)
    return ((f @ basis.t()) @ basis).reshape(x.shape)


def pitch_combs():
    """[96, BINS]: per f0 candidate, mean over its harmonics below COMB_TOP_HZ of (Gaussian at the harmonic -
    Gaussian half a harmonic lower), each Gaussian (0.7 bins wide) summing to 1."""
    bins = np.arange(BINS)[None, :]
    hz_per_bin = world.SR / N_FFT
    rows = []
    for f0 in F0_CANDIDATES:
        h = np.arange(1, int(COMB_TOP_HZ // f0) + 1)
        g = lambda centres: np.exp(-0.5 * ((bins - centres[:, None]) / 0.7) ** 2)
        peak, valley = g(h * f0 / hz_per_bin), g((h - 0.5) * f0 / hz_per_bin)
        rows.append(((peak / peak.sum(1, keepdims=True)) - (valley / valley.sum(1, keepdims=True))).mean(0))
    return torch.tensor(np.stack(rows), dtype=torch.float32)


def pitch_code(x, basis, comb):
    """Speech level 1 for the token frames x [F, DIM] of one clip, from the comb score averaged over the SUB STFT
    frames: 1 + the lowest candidate that is a local maximum within NEAR_BEST of the best score, or 0 where the best
    is below VOICED_SCORE, then a median over 3 frames. The comb cannot tell f0 from 3 f0 (the half-way teeth of 3 f0
    fall on f0's valleys too), but 3 f0 scores no higher, so the lowest near-best peak is f0."""
    score = (fine_structure(x, basis) @ comb.t()).reshape(x.shape[0], SUB, -1).mean(1)
    best = score.max(1, keepdim=True)[0]
    left = torch.cat([score[:, :1] - 1, score[:, :-1]], 1)
    right = torch.cat([score[:, 1:], score[:, -1:] - 1], 1)
    near = (score >= left) & (score >= right) & (score >= NEAR_BEST * best)
    rank = torch.arange(score.shape[1], 0, -1).float()[None, :] + 0 * score  # the lowest candidate ranks highest
    idx = (near.float() * rank).argmax(1)
    code = torch.where(best[:, 0] >= VOICED_SCORE, idx + 1, torch.zeros_like(idx))
    # median of 3 neighbouring frames: drops the comb's one-frame octave slips and lone voiced/unvoiced flips
    a = torch.cat([code[:1], code[:-1]])
    b = torch.cat([code[1:], code[-1:]])
    return torch.max(torch.min(a, code), torch.min(torch.max(a, code), b))


def harmonic_spectra():
    """[256, DIM]: what each speech level-1 code adds to a frame's log-magnitude. Code 0 (unvoiced) and the unused
    codes 97..255 add nothing; code k adds a zero-mean log spectrum of unit peaks (1 bin wide) at every harmonic of
    F0_CANDIDATES[k-1] over a floor of 0.05, the same in each of the SUB STFT frames."""
    bins = np.arange(BINS)[None, :]
    out = np.zeros((256, DIM), dtype=np.float32)
    for k, f0 in enumerate(F0_CANDIDATES, 1):
        h = np.arange(1, int((world.SR / 2) // f0) + 1)[:, None]
        s = np.log(np.exp(-0.5 * (bins - h * f0 / (world.SR / N_FFT)) ** 2).sum(0) + 0.05)
        out[k] = np.tile(s - s.mean(), SUB)
    return torch.tensor(out)


def timbre_code(r, axis, levels):
    """Music level 1: r [F, DIM] residuals, axis [F, DIM] their level-0 codes' timbre axes -> the nearest level's id."""
    s = (r * axis).sum(1) / (axis * axis).sum(1).clamp_min(1e-9)
    return (s[:, None] - levels[None, :]).abs().argmin(1)


class Decoder(nn.Module):
    """codes i64 [Q',1,F] -> waveform f32 [1,1,F*FRAME] (codewords -> magnitude -> fast Griffin-Lim). Speech sums
    one codeword per level; music adds level 1's step along level 0's timbre axis."""

    def __init__(self, codec):
        super().__init__()
        self.kind = codec["kind"]
        self.register_buffer("cb", codec["cb"])
        if self.kind == "music":
            self.register_buffer("axis", codec["axis"])
            self.register_buffer("levels", codec["levels"])

    def forward(self, codes):
        q = codes.shape[0]
        if self.kind == "music":
            c0 = codes[0, 0]
            step = self.levels[codes[1:, 0]].sum(
                0
            )  # [F]; zero without level 1 (no Python branch: ONNX keeps Q dynamic)
            feat = self.cb[0][c0] + step[:, None] * self.axis[c0]
        else:
            feat = (self.cb[:q].gather(1, codes[:, 0, :, None].expand(-1, -1, DIM))).sum(0)  # [F, DIM]
        mag = (torch.exp(feat) - EPS).clamp_min(0).reshape(-1, BINS).t()[None]  # [1,BINS,Fs]
        fs = mag.shape[2]
        length = fs * HOP
        ana, syn, win = dft_kernels(codes)
        k = torch.arange(BINS).float()[:, None]
        t = torch.arange(fs).float()[None, :] * torch.ones_like(mag[0, :1, :])
        h = torch.sin(k * 12.9898 + t * 78.233) * 43758.5453
        ph = 2 * math.pi * (h - torch.floor(h))  # fixed pseudo-random phase
        re, im = mag * torch.cos(ph), mag * torch.sin(ph)
        prev_re, prev_im = re, im
        for _ in range(GL_ITERS):
            y = istft(re, im, syn, win, length)
            r2, i2 = stft(y, ana)
            r2, i2 = r2[:, :, :fs], i2[:, :, :fs]
            # fast Griffin-Lim (momentum 0.99), then project onto the target magnitude
            ar, ai = r2 + 0.99 * (r2 - prev_re), i2 + 0.99 * (i2 - prev_im)
            prev_re, prev_im = r2, i2
            norm = torch.sqrt(ar * ar + ai * ai + 1e-10)
            re, im = mag * ar / norm, mag * ai / norm
        return istft(re, im, syn, win, length)


def fit(kind, waves, k0, seed, iters=25, decode_from=None, labels=None):
    """Fits both levels on the token frames of `waves`. Level-0 codewords decode to the mean log-magnitude of their
    frames, taken over `decode_from` (a mask of frames, e.g. the canonical TTS voice) where a code has >= 2 of them.
    `labels` (one per wave, e.g. the pitch set of a music clip) anchor level 0: the mean feature of each label's
    steady frames is a fixed codeword, the semantic target (as HuBERT is SpeechTokenizer's); k-means fits the
    remaining codewords (onsets, releases, anything outside the world) to the clips' first and last frames."""
    feats = [features(torch.tensor(w)[None, None]) for w in waves]
    x = torch.cat(feats)
    basis = dct_basis(x)
    sems = [semantic(f, basis, kind) for f in feats]
    sem = torch.cat(sems)
    anchors, free_from = None, sem
    if labels is not None:
        keys = sorted(set(labels))
        anchors = torch.stack([torch.cat([s[3:-3] for s, l in zip(sems, labels) if l == key]).mean(0) for key in keys])
        # The free codewords are fit on the onset and release frames only: fit on every frame, some settled on one
        # timbre's steady frames of a chord or note (C major on the flute, A5 on the flute, ...), so that pitch set
        # had a code per timbre and a held-out (chord, timbre) pair was made of a level-0 code the LM never read.
        free_from = torch.cat([torch.cat([s[:3], s[-3:]]) for s in sems])
    c = kmeans(free_from, k0, iters, seed, anchors)
    a0 = nearest(sem, c)
    n = torch.bincount(a0, minlength=k0).float()
    d0 = torch.zeros(k0, DIM).index_add_(0, a0, x) / n.clamp_min(1)[:, None]
    if decode_from is not None:
        m = decode_from.float()
        nm = torch.bincount(a0, weights=m, minlength=k0)
        dm = torch.zeros(k0, DIM).index_add_(0, a0, x * m[:, None]) / nm.clamp_min(1)[:, None]
        d0 = torch.where((nm >= 2)[:, None], dm, d0)
    r = x - d0[a0]
    rms = lambda t: t.pow(2).mean().sqrt().item()
    # level 0 has 256 token ids; ids the codebook does not use are never nearest (far away) and decode to silence
    sem_full = torch.cat([c, torch.full((256 - k0, c.shape[1]), 1e4)])
    d0_full = torch.cat([d0, torch.full((256 - k0, DIM), math.log(EPS))])
    if kind == "music":
        axis = torch.cat([timbre_axes(r, a0, k0), torch.zeros(256 - k0, DIM)])
        # level 1 has 256 token ids too; those past the steps decode as step 0 and are never produced
        levels = torch.cat([TIMBRE_LEVELS, torch.zeros(256 - len(TIMBRE_LEVELS))])
        a1 = timbre_code(r, axis[a0], TIMBRE_LEVELS)
        rec = levels[a1][:, None] * axis[a0]
        print(
            f"  {len(x)} frames: level 0 uses {int((n > 0).sum())}/{k0} codes, residual rms {rms(r):.3f} -> {rms(r - rec):.3f}, "
            f"timbre steps used {torch.bincount(a1, minlength=len(TIMBRE_LEVELS)).tolist()}",
            flush=True,
        )
        return {"kind": kind, "sem": sem_full, "cb": d0_full[None], "axis": axis, "levels": levels}
    # speech: level 0 decodes to the envelope of its frames' mean, level 1 adds the harmonics of its pitch
    a1 = pitch_code(x, basis, pitch_combs())
    voiced = a1 > 0
    print(
        f"  {len(x)} frames: level 0 uses {int((n > 0).sum())}/{k0} codes, voiced {voiced.float().mean():.2f}, "
        f"pitch codes used {len(torch.unique(a1[voiced]))}/{len(F0_CANDIDATES)}, "
        f"fine-structure rms {rms(fine_structure(x, basis)):.3f}",
        flush=True,
    )
    return {"kind": kind, "sem": sem_full, "cb": torch.stack([envelope(d0_full, basis), harmonic_spectra()])}


def timbre_axes(r, a0, k):
    """Per level-0 code, the principal direction of its frames' residuals r, scaled to their RMS along it and signed
    so that + is brighter (more energy above BRIGHT_BIN); zero for codes with fewer than 3 frames."""
    axes = torch.zeros(k, DIM)
    bright = (torch.arange(DIM) % BINS) >= BRIGHT_BIN
    for code in range(k):
        rk = r[a0 == code]
        if len(rk) < 3:
            continue
        u = torch.linalg.svd(rk, full_matrices=False)[2][0]
        p = rk @ u
        if u[bright].mean() < 0:
            u = -u
        axes[code] = u * p.pow(2).mean().sqrt()
    return axes


def music_training_waves(smoke=False):
    """-> [(item, wave)]: the codec (not the LM) sees every timbre x pitch."""
    rng = np.random.RandomState(world.SEED + 3)
    out = []
    for item in world.music_items():
        for _ in range(1 if smoke else 3):
            out.append((item, world.synth(item, rng.uniform(0.5, 2.0), rng.uniform(0.3, 0.7))))
        out.append((item, world.synth(item, 1.0, 0.5)))
    return out


def pitch_check(dec, enc, items):
    """Fraction of notes whose decoded FFT peak is within 50 cents of the true fundamental."""
    ok = 0
    for item in items:
        y = dec(enc(torch.tensor(world.synth(item, 1.0, 0.5))[None, None]))[0, 0].numpy()
        spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), 8 * len(y)))
        f = np.fft.rfftfreq(8 * len(y), 1 / world.SR)
        band = (f > 200) & (f < 1100)
        peak = f[band][spec[band].argmax()]
        ok += abs(1200 * np.log2(peak / world.hz(world.music_pitches(item)[0]))) < 50
    return ok / len(items)


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("NANO_THREADS", "2")))
    torch.manual_seed(world.SEED)
    smoke = "--smoke" in sys.argv
    sets = np.load(os.path.join(world.WORK, "speech.npy"), allow_pickle=True).item()
    print("speech codec")
    clips = sets["train"] + sets["tts"]
    canonical = torch.cat(
        [torch.full((features(torch.tensor(c[-1])[None, None]).shape[0],), c[1] == world.TTS_VOICE) for c in clips]
    )
    speech = fit("speech", [c[-1] for c in clips], 256, world.SEED, 5 if smoke else 25, decode_from=canonical)
    print("music codec")
    clips = music_training_waves(smoke)
    music = fit(
        "music",
        [w for _, w in clips],
        48,
        world.SEED + 10,
        5 if smoke else 25,
        labels=[tuple(world.music_pitches(i)) for i, _ in clips],
    )
    torch.save({"speech": speech, "music": music}, os.path.join(world.WORK, "audio_codec.pt"))
    notes = [i for i in world.music_items() if i[0] == "note"][:: 1 if not smoke else 12]
    with torch.no_grad():
        print(
            "music pitch within 50 cents after 2-level round trip:", pitch_check(Decoder(music), Encoder(music), notes)
        )
        print("music pitch, level 0 only:", pitch_check(Decoder(music), lambda w: Encoder(music)(w)[:1], notes))
        enc = Encoder(music)
        shared = [i for i in world.music_items() if i[2] == "flute"]
        same = [
            np.mean(
                [
                    a == b
                    for a, b in zip(
                        enc(torch.tensor(world.synth(i))[None, None])[0, 0].tolist(),
                        enc(torch.tensor(world.synth((i[0], i[1], "organ")))[None, None])[0, 0].tolist(),
                    )
                ]
            )
            for i in shared
        ]
        print(f"music level-0 codes shared by flute and organ on the same pitches: {np.mean(same):.2f}")
        for q in (0, 1):  # the LM can only generalise to held-out (note, timbre) pairs made of codes it has read
            seen = set(
                t for i in world.TRAIN_MUSIC for t in enc(torch.tensor(world.synth(i))[None, None])[q, 0].tolist()
            )
            held = [
                t for i in world.HELDOUT_MUSIC for t in enc(torch.tensor(world.synth(i))[None, None])[q, 0].tolist()
            ]
            print(
                f"music level-{q} codes of held-out items that training items also have: {np.mean([t in seen for t in held]):.2f}"
            )
