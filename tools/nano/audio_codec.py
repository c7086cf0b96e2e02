"""Audio tokenizers for speech and music: spectral residual k-means + Griffin-Lim (probe recipe 3b).

16 kHz. STFT n_fft 1024, hop 320 (50 STFT frames/s); one token frame = 2 consecutive log-magnitude frames
(1026 numbers), so tokens run at 25 Hz. Level q of the residual k-means quantises what levels < q left over.
Decoding sums the codewords of the given levels, turns them back into magnitudes and runs fast Griffin-Lim.
The DFT kernels and the window are computed inside the graph from small aranges, so the ONNX files hold
little more than the codebooks.
"""
import math, os, sys
import numpy as np, torch, torch.nn as nn, torch.nn.functional as F
import world

N_FFT, HOP, SUB = 1024, 320, 2  # SUB STFT frames per token frame
BINS = N_FFT // 2 + 1
DIM = SUB * BINS
FRAME = HOP * SUB  # samples per token frame (640 -> 25 Hz)
EPS = 1e-3
GL_ITERS = 32


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
    x = F.pad(x, (N_FFT // 2, N_FFT // 2), mode='reflect')
    y = F.conv1d(x, ana, stride=HOP)
    return y[:, :BINS], y[:, BINS:]


def istft(re, im, syn, win, length):  # -> [1,1,length]
    y = F.conv_transpose1d(torch.cat([re, im], 1), syn, stride=HOP)
    env = F.conv_transpose1d(torch.ones_like(re[:, :1]), (win * win).reshape(1, 1, N_FFT), stride=HOP)
    y = y / env.clamp_min(1e-6)
    return y[:, :, N_FFT // 2: N_FFT // 2 + length]


def features(wave):
    """wave [1,1,T] -> token-frame features [F, DIM] (log magnitude of SUB stacked STFT frames)."""
    ana, _, _ = dft_kernels(wave)
    re, im = stft(wave, ana)
    logmag = torch.log(torch.sqrt(re * re + im * im + 1e-10) + EPS)[0].t()  # [Fs, BINS]
    f = logmag.shape[0] // SUB
    return logmag[:f * SUB].reshape(f, DIM)


class Encoder(nn.Module):
    """waveform f32 [1,1,T] -> codes i64 [Q,1,F] (residual argmin over codebooks [Q,K,DIM])."""

    def __init__(self, codebooks):
        super().__init__()
        self.register_buffer('cb', codebooks)

    def forward(self, waveform):
        r = features(waveform)
        codes = []
        for q in range(self.cb.shape[0]):
            c = self.cb[q]
            idx = (2 * r @ c.t() - (c * c).sum(1)).argmax(-1)
            codes.append(idx)
            r = r - c[idx]
        return torch.stack(codes)[:, None, :]


class Decoder(nn.Module):
    """codes i64 [Q',1,F] -> waveform f32 [1,1,F*FRAME] (sum of codewords -> magnitude -> fast Griffin-Lim)."""

    def __init__(self, codebooks):
        super().__init__()
        self.register_buffer('cb', codebooks)

    def forward(self, codes):
        q = codes.shape[0]
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


def kmeans(x, k, iters, seed):
    g = torch.Generator().manual_seed(seed)
    c = x[torch.randperm(len(x), generator=g)[:k]].clone()
    for _ in range(iters):
        a = (2 * x @ c.t() - (c * c).sum(1)).argmax(-1)
        s = torch.zeros_like(c).index_add_(0, a, x)
        n = torch.bincount(a, minlength=k).float()
        empty = n == 0
        c = torch.where(empty[:, None], x[torch.randint(len(x), (k,), generator=g)], s / n.clamp_min(1)[:, None])
    return c


def fit(waves, levels, k, seed, iters=25):
    x = torch.cat([features(torch.tensor(w)[None, None]) for w in waves])
    cbs, r = [], x
    for q in range(levels):
        c = kmeans(r, k, iters, seed + q)
        a = (2 * r @ c.t() - (c * c).sum(1)).argmax(-1)
        print(f'  level {q}: {len(x)} frames, residual rms {(r - c[a]).pow(2).mean().sqrt():.3f}', flush=True)
        cbs.append(c); r = r - c[a]
    return torch.stack(cbs)


def music_training_waves(smoke=False):
    rng = np.random.RandomState(world.SEED + 3)
    waves = []
    for item in world.music_items():  # the codec (not the LM) sees every timbre x pitch
        for _ in range(1 if smoke else 3):
            waves.append(world.synth(item, rng.uniform(0.5, 2.0), rng.uniform(0.3, 0.7)))
        waves.append(world.synth(item, 1.0, 0.5))
    return waves


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


if __name__ == '__main__':
    torch.set_num_threads(int(os.environ.get('NANO_THREADS', '2')))
    torch.manual_seed(world.SEED)
    smoke = '--smoke' in sys.argv
    sets = np.load(os.path.join(world.WORK, 'speech.npy'), allow_pickle=True).item()
    print('speech codec')
    speech_cb = fit([c[-1] for c in sets['train'] + sets['tts']], 2, 256, world.SEED, 5 if smoke else 25)
    print('music codec')
    music_cb = fit(music_training_waves(smoke), 2, 256, world.SEED + 10, 5 if smoke else 25)
    torch.save({'speech': speech_cb, 'music': music_cb}, os.path.join(world.WORK, 'audio_codec.pt'))
    notes = [i for i in world.music_items() if i[0] == 'note'][::1 if not smoke else 12]
    with torch.no_grad():
        print('music pitch within 50 cents after 2-level round trip:', pitch_check(Decoder(music_cb), Encoder(music_cb), notes))
        print('music pitch, level 0 only:', pitch_check(Decoder(music_cb), lambda w: Encoder(music_cb)(w)[:1], notes))
