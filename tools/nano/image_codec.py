"""Image tokenizer: patch k-means VQ, 32x32 RGB -> 8x8 grid of 4x4 patches -> 64 codes out of K=512.

The probe's fallback to the conv VQ-VAE: on a shared 2-core machine the VQ-VAE autoencoder stayed at the
"black mean image" for the first minutes, while k-means on raw 4x4x3 patches fits in seconds, is deterministic,
and decodes to exact palette colours. Encoder = nearest codeword per patch; decoder = codeword lookup.
"""
import os, sys
import numpy as np, torch, torch.nn as nn
import world

K, P = 512, 4  # codebook size, patch side
G = world.IMG // P  # 8x8 grid
MEAN, STD = 0.5, 0.5  # pixel_values = (rgb/255 - MEAN) / STD


def patches(rgb):  # [B,32,32,3] float 0..1 -> [B,64,48] (row-major grid, each patch y,x,c)
    b = rgb.shape[0]
    return rgb.reshape(b, G, P, G, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, G * G, P * P * 3)


def unpatch(p):  # inverse of patches
    b = p.shape[0]
    return p.reshape(b, G, G, P, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, world.IMG, world.IMG, 3)


class Encoder(nn.Module):  # pixel_values f32 [1,3,32,32] normalised -> codes i64 [1,64]
    def __init__(self, cb):
        super().__init__()
        self.register_buffer('cb', cb)

    def forward(self, pixel_values):
        rgb = (pixel_values * STD + MEAN).permute(0, 2, 3, 1)
        x = patches(rgb)
        return (2 * x @ self.cb.t() - (self.cb * self.cb).sum(1)).argmax(-1)


class Decoder(nn.Module):  # codes i64 [1,64] -> pixels f32 [1,32,32,3] in 0..255
    def __init__(self, cb):
        super().__init__()
        self.register_buffer('cb', cb)

    def forward(self, codes):
        return (unpatch(self.cb[codes]) * 255).clamp(0, 255)


def random_scene(rng):
    """Random 1-2 shapes with continuous positions/sizes, for codebook diversity."""
    return [(world.SHAPES[rng.randint(4)], list(world.COLOURS)[rng.randint(8)], rng.uniform(3, 8),
             (rng.uniform(5, 27), rng.uniform(5, 27))) for _ in range(rng.randint(1, 3))]


def fit(smoke=False):
    rng = np.random.RandomState(world.SEED)
    scenes = [[o] for o in world.TRAIN_OBJECTS] * 4 + [world.two_shape_scene(rng) for _ in range(300)]
    scenes += [random_scene(rng) for _ in range(100 if smoke else 300)]
    x = patches(torch.tensor(np.stack([world.render(s) for s in scenes])).float() / 255).reshape(-1, P * P * 3)
    # weight non-background patches: drop most all-black patches before clustering
    bg = x.abs().sum(1) < 1e-3
    x = torch.cat([x[~bg], x[bg][:2000]])
    g = torch.Generator().manual_seed(world.SEED)
    c = x[torch.randperm(len(x), generator=g)[:K]].clone()
    for it in range(5 if smoke else 40):
        a = (2 * x @ c.t() - (c * c).sum(1)).argmax(-1)
        n = torch.bincount(a, minlength=K).float()
        s = torch.zeros_like(c).index_add_(0, a, x)
        c = torch.where(n[:, None] > 0, s / n.clamp_min(1)[:, None], x[torch.randint(len(x), (K,), generator=g)])
    print(f'{len(x)} patches, mse {((x - c[a]) ** 2).mean():.5f}')
    return c


def to_input(rgb_u8):  # [B,32,32,3] uint8 -> normalised [B,3,32,32]
    return (torch.tensor(rgb_u8).float().permute(0, 3, 1, 2) / 255 - MEAN) / STD


@torch.no_grad()
def evaluate(cb):
    imgs = np.stack([world.render([o]) for o in world.ALL_OBJECTS])
    codes = Encoder(cb)(to_input(imgs))
    rec = Decoder(cb)(codes) / 255
    mse = ((rec - torch.tensor(imgs) / 255) ** 2).mean().item()
    return {'psnr': round(10 * np.log10(1 / mse), 2), 'distinct': len({tuple(c.tolist()) for c in codes}),
            'codes_used': len(codes.unique())}


if __name__ == '__main__':
    torch.set_num_threads(int(os.environ.get('NANO_THREADS', '2')))
    cb = fit('--smoke' in sys.argv)
    print(evaluate(cb))
    torch.save(cb, os.path.join(world.WORK, 'image_codec.pt'))
