# SHIM (ours): transformers' ACT2FN["gelu"] is GELUActivation = torch.nn.functional.gelu (exact erf form).
from torch import nn

ACT2FN = {"gelu": nn.GELU()}
