# SHIM (ours): the output containers qformer_causual.py names (fields as in transformers).
from dataclasses import dataclass
from typing import Optional, Tuple

import torch

from .file_utils import ModelOutput


@dataclass
class BaseModelOutputWithPastAndCrossAttentions(ModelOutput):
    last_hidden_state: torch.FloatTensor = None
    past_key_values: Optional[Tuple] = None
    hidden_states: Optional[Tuple] = None
    attentions: Optional[Tuple] = None
    cross_attentions: Optional[Tuple] = None


@dataclass
class BaseModelOutputWithPoolingAndCrossAttentions(ModelOutput):
    last_hidden_state: torch.FloatTensor = None
    pooler_output: torch.FloatTensor = None
    hidden_states: Optional[Tuple] = None
    past_key_values: Optional[Tuple] = None
    attentions: Optional[Tuple] = None
    cross_attentions: Optional[Tuple] = None


@dataclass
class CausalLMOutputWithCrossAttentions(ModelOutput):
    loss: Optional[torch.FloatTensor] = None
    logits: torch.FloatTensor = None
    past_key_values: Optional[Tuple] = None
    hidden_states: Optional[Tuple] = None
    attentions: Optional[Tuple] = None
    cross_attentions: Optional[Tuple] = None


MaskedLMOutput = MultipleChoiceModelOutput = NextSentencePredictorOutput = CausalLMOutputWithCrossAttentions
QuestionAnsweringModelOutput = SequenceClassifierOutput = TokenClassifierOutput = CausalLMOutputWithCrossAttentions
