# SHIM (ours): PreTrainedModel as nn.Module + config, with the few methods qformer_causual.py calls.
# from_pretrained builds the model from the config and loads NO weights (bert-base-uncased's weights are then
# replaced by seed_quantizer.pt upstream anyway; here the oracle sets random weights).
# On the forward path: dtype, get_head_mask(None) → [None] * layers, invert_attention_mask as transformers
# 4.34 (the Q-Former only gets all-ones image masks: the inverted mask is 0), apply_chunking_to_forward with
# chunk size 0 (BERT's default) → forward_fn(*inputs).
import torch
from torch import nn


class PreTrainedModel(nn.Module):
    def __init__(self, config, *a, **k):
        super().__init__()
        self.config = config

    def init_weights(self):
        self.apply(self._init_weights)

    @classmethod
    def from_pretrained(cls, name, config=None, **kwargs):
        return cls(config)

    @property
    def dtype(self):
        return next(self.parameters()).dtype

    def get_head_mask(self, head_mask, num_hidden_layers, is_attention_chunked=False):
        if head_mask is not None:
            raise NotImplementedError("shim: head_mask")
        return [None] * num_hidden_layers

    def invert_attention_mask(self, encoder_attention_mask):
        if encoder_attention_mask.dim() == 3:
            ext = encoder_attention_mask[:, None, :, :]
        elif encoder_attention_mask.dim() == 2:
            ext = encoder_attention_mask[:, None, None, :]
        ext = ext.to(dtype=self.dtype)
        return (1.0 - ext) * torch.finfo(self.dtype).min


def apply_chunking_to_forward(forward_fn, chunk_size, chunk_dim, *input_tensors):
    if chunk_size > 0:
        raise NotImplementedError("shim: chunk_size_feed_forward > 0")
    return forward_fn(*input_tensors)


def find_pruneable_heads_and_indices(*a, **k):
    raise NotImplementedError("shim: pruning")


def prune_linear_layer(*a, **k):
    raise NotImplementedError("shim: pruning")
