# SHIM (ours). trunc_normal_ only initialises (torch's own, same a=-2, b=2 bounds as timm's); drop_path and
# DropPath act only in training (drop rate 0 here: upstream then uses nn.Identity); to_2tuple repeats a scalar.
import torch
from torch import nn

SKIP_INIT = False  # set by the manifest builder: keys only, no random init of 1 B values


def trunc_normal_(t, mean=0.0, std=1.0, a=-2.0, b=2.0):
    if SKIP_INIT:
        return t
    return nn.init.trunc_normal_(t, mean, std, a, b)


def to_2tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x, x)


def drop_path(x, drop_prob=0.0, training=False):
    if drop_prob == 0.0 or not training:
        return x
    raise NotImplementedError("shim: drop_path in training")


class DropPath(nn.Module):
    def __init__(self, drop_prob=None):
        super().__init__()
        self.drop_prob = drop_prob

    def forward(self, x):
        return drop_path(x, self.drop_prob or 0.0, self.training)


_ = torch
