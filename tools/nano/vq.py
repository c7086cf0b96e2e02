"""The two vector-quantisation helpers every nano codec uses: nearest codeword, and k-means with fixed anchors."""

import torch


def nearest(x, c):
    """Index of the nearest row of c for each row of x (squared distance, as one matmul)."""
    return (2 * x @ c.t() - (c * c).sum(1)).argmax(-1)


def kmeans(x, k, iters, seed, anchors=None):
    """k centroids; the first len(anchors) are fixed (not moved), the rest are fitted around them.
    Seeded; an empty centroid is re-drawn from x."""
    g = torch.Generator().manual_seed(seed)
    fixed = 0 if anchors is None else len(anchors)
    c = x[torch.randperm(len(x), generator=g)[:k]].clone()
    if fixed:
        c[:fixed] = anchors
    for _ in range(iters):
        a = nearest(x, c)
        s = torch.zeros_like(c).index_add_(0, a, x)
        n = torch.bincount(a, minlength=k).float()
        new = torch.where((n == 0)[:, None], x[torch.randint(len(x), (k,), generator=g)], s / n.clamp_min(1)[:, None])
        c = torch.cat([c[:fixed], new[fixed:]])
    return c
