# SHIM (ours): PreTrainedModel reduced to nn.Module + config + post_init applying _init_weights (as upstream's
# post_init → init_weights does). No loading, saving or hub code; nothing touches the math of forward passes.
from torch import nn


class PreTrainedModel(nn.Module):
    def __init__(self, config, *args, **kwargs):
        super().__init__()
        self.config = config

    def post_init(self):
        self.apply(self._init_weights)
