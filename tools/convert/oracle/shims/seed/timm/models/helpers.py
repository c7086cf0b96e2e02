# SHIM (ours): only vit.py's VisionTransformer (not built for SEED) uses these.
def named_apply(*a, **k):
    raise NotImplementedError("shim")


def adapt_input_conv(*a, **k):
    raise NotImplementedError("shim")
