"""Image tokenizer: a colour x shape product VQ. 32x32 RGB -> 4x4 grid of 8x8 patches -> 2 codes per patch = 32 codes.

Each patch is modelled as one colour times a coverage mask (pixel = mask * colour), which is exactly how the world
paints a shape on black. Per patch, in raster order, the tokens are:
  * its colour: ids 0..255, a palette of black, the world's 8 colours, a 6x6x6 RGB cube and greys;
  * its mask: ids 256..511, 256 + j for the j-th 8x8 coverage mask.
The encoder takes the patch's brightest pixel as its colour and the projection of every pixel onto that colour as
its mask (nearest codeword each); the decoder multiplies them back. Every object in the world is centred on a patch
corner and fills the 2x2 patches around it, so a world scene encodes losslessly (up to uint8 rounding) with masks
that are the world's own (kept verbatim); the remaining masks are k-means centroids of random scenes, so other
images still encode, coarsely.

Why this shape: the LM's hard decision in text->image is the first patch of an object. With one code per patch
(the first nano: 4x4 patches, 64 codes; then 8x8 patches with one joint code) that first code had to name shape,
colour and size at once, and greedy decoding kept choosing the background. With the colour first, that decision is
"black or the caption's colour", and the mask then only depends on shape, size and the patch's place in the object.
"""

import os, sys
import numpy as np, torch, torch.nn as nn
import world
from vq import kmeans, nearest

K, P = 512, 8  # token block (256 colours + 256 masks), patch side
KC = KM = 256
G = world.IMG // P  # 4x4 grid
TOKENS = 2 * G * G
MEAN, STD = 0.5, 0.5  # pixel_values = (rgb/255 - MEAN) / STD


def patches(rgb):  # [B,32,32,3] float 0..1 -> [B,16,64,3] (row-major grid, pixels row-major)
    b = rgb.shape[0]
    return rgb.reshape(b, G, P, G, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, G * G, P * P, 3)


def unpatch(p):  # inverse of patches
    b = p.shape[0]
    return p.reshape(b, G, G, P, P, 3).permute(0, 1, 3, 2, 4, 5).reshape(b, world.IMG, world.IMG, 3)


def split(x):
    """patches [B,N,64,3] -> colour [B,N,3] (the brightest pixel) and mask [B,N,64] (projection onto it, 0..1)."""
    idx = x.sum(-1).argmax(-1)  # [B,N]
    colour = x.gather(2, idx[..., None, None].expand(-1, -1, 1, 3))[:, :, 0]
    cc = (colour * colour).sum(-1, keepdim=True)
    mask = ((x * colour[:, :, None]).sum(-1) / cc.clamp_min(1e-6)).clamp(0, 1)
    return colour, mask * (cc > 1e-4).float()  # a black patch has an empty mask


class Encoder(nn.Module):  # pixel_values f32 [1,3,32,32] normalised -> codes i64 [1,32]
    def __init__(self, cb):
        super().__init__()
        self.register_buffer("colours", cb["colours"])
        self.register_buffer("masks", cb["masks"])

    def forward(self, pixel_values):
        rgb = (pixel_values * STD + MEAN).permute(0, 2, 3, 1)
        colour, mask = split(patches(rgb))
        c, m = nearest(colour, self.colours), nearest(mask, self.masks) + KC
        return torch.stack([c, m], -1).reshape(c.shape[0], TOKENS)


class Decoder(nn.Module):  # codes i64 [1,32] -> pixels f32 [1,32,32,3] in 0..255
    """Codes out of place (a mask id where a colour belongs, or the reverse) are read modulo 256, so any ids in the
    block decode to an image."""

    def __init__(self, cb):
        super().__init__()
        self.register_buffer("colours", cb["colours"])
        self.register_buffer("masks", cb["masks"])

    def forward(self, codes):
        pairs = codes.reshape(codes.shape[0], G * G, 2) % KC
        px = self.masks[pairs[..., 1]][..., None] * self.colours[pairs[..., 0]][:, :, None, :]
        return (unpatch(px) * 255).clamp(0, 255)


def random_scene(rng):
    """Random 1-2 shapes with continuous positions/sizes, for codebook diversity."""
    return [
        (
            world.SHAPES[rng.randint(4)],
            list(world.COLOURS)[rng.randint(8)],
            rng.uniform(3, 8),
            (rng.uniform(5, 27), rng.uniform(5, 27)),
        )
        for _ in range(rng.randint(1, 3))
    ]


def palette():
    """256 colours: black, the world's 8, a 6x6x6 RGB cube (black dropped), then greys."""
    world_c = [np.array(c) / 255 for c in world.COLOURS.values()]
    lv = np.linspace(0, 1, 6)
    cube = [np.array([r, g, b]) for r in lv for g in lv for b in lv][1:]
    greys = [np.full(3, v) for v in np.linspace(0.1, 0.9, KC - 1 - len(world_c) - len(cube))]
    return torch.tensor(np.stack([np.zeros(3)] + world_c + cube + greys)).float()


def fit(smoke=False):
    rng = np.random.RandomState(world.SEED)
    to_masks = lambda scenes: split(patches(torch.tensor(np.stack([world.render(s) for s in scenes])).float() / 255))[
        1
    ].reshape(-1, P * P)
    world_scenes = [[o] for o in world.TRAIN_OBJECTS] + [world.two_shape_scene(rng) for _ in range(300)]
    # the world's masks (the empty one included), verbatim; masks equal up to uint8 rounding are one codeword
    exact = torch.unique((to_masks(world_scenes) * 64).round() / 64, dim=0)
    free = KM - len(exact)
    assert free > 0, f"{len(exact)} distinct world masks do not fit {KM} codewords"
    x = to_masks([random_scene(rng) for _ in range(100 if smoke else 600)])
    x = x[x.sum(1) > 1e-3]
    c = kmeans(x, free, 5 if smoke else 30, world.SEED)
    print(
        f"{len(exact)} exact world masks, {free} k-means masks on {len(x)} random-scene patches, mse {((x - c[nearest(x, c)]) ** 2).mean():.5f}"
    )
    return {"colours": palette(), "masks": torch.cat([exact, c])}


def to_input(rgb_u8):  # [B,32,32,3] uint8 -> normalised [B,3,32,32]
    return (torch.tensor(rgb_u8).float().permute(0, 3, 1, 2) / 255 - MEAN) / STD


@torch.no_grad()
def evaluate(cb):
    imgs = np.stack([world.render([o]) for o in world.ALL_OBJECTS])
    codes = Encoder(cb)(to_input(imgs))
    rec = Decoder(cb)(codes)
    err = (rec - torch.tensor(imgs).float()).abs().max().item()
    return {
        "max_abs_error_0_255": round(err, 2),
        "distinct": len({tuple(c.tolist()) for c in codes}),
        "codes_used": len(codes.unique()),
    }


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("NANO_THREADS", "2")))
    cb = fit("--smoke" in sys.argv)
    print(evaluate(cb))
    torch.save(cb, os.path.join(world.WORK, "image_codec.pt"))
