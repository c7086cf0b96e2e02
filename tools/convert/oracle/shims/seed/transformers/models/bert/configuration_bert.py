# SHIM (ours): BertConfig with transformers' defaults; from_pretrained("bert-base-uncased") gives that model's
# config.json values (which equal the defaults) updated by PRETRAINED_OVERRIDE, the oracle's small widths.
from ...configuration_utils import PretrainedConfig

BERT_BASE_UNCASED = dict(
    vocab_size=30522,
    hidden_size=768,
    num_hidden_layers=12,
    num_attention_heads=12,
    intermediate_size=3072,
    hidden_act="gelu",
    hidden_dropout_prob=0.1,
    attention_probs_dropout_prob=0.1,
    max_position_embeddings=512,
    type_vocab_size=2,
    initializer_range=0.02,
    layer_norm_eps=1e-12,
    pad_token_id=0,
    position_embedding_type="absolute",
    use_cache=True,
)
PRETRAINED_OVERRIDE = {}


class BertConfig(PretrainedConfig):
    model_type = "bert"

    def __init__(self, **kwargs):
        super().__init__(**dict(BERT_BASE_UNCASED, **kwargs))

    @classmethod
    def from_pretrained(cls, name, **kwargs):
        if name != "bert-base-uncased":
            raise ValueError(f"shim: only bert-base-uncased, not {name}")
        return cls(**dict(PRETRAINED_OVERRIDE, **kwargs))
