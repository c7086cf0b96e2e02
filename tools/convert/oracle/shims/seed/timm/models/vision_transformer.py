# SHIM (ours): used only by seed2/seed_qformer/vit.py's VisionTransformer, which SEED does not build.
def _cfg(url="", **kwargs):
    return dict(url=url, **kwargs)


class PatchEmbed:
    def __init__(self, *a, **k):
        raise NotImplementedError("shim: timm PatchEmbed is not needed by Blip2QformerQuantizer")
