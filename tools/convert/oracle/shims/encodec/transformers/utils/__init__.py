# SHIM (ours): ModelOutput as an OrderedDict dataclass base (attribute and index access, as upstream),
# docstring decorators as no-ops, logging through the standard library.
import logging as _logging
from collections import OrderedDict


class ModelOutput(OrderedDict):
    def __post_init__(self):
        for f in self.__dataclass_fields__:
            v = getattr(self, f)
            if v is not None:
                self[f] = v

    def __getitem__(self, k):
        if isinstance(k, str):
            return dict(self.items())[k]
        return tuple(self.values())[k]


def _passthrough(*a, **k):
    def deco(fn):
        return fn

    return deco


add_start_docstrings = _passthrough
add_start_docstrings_to_model_forward = _passthrough
replace_return_docstrings = _passthrough


class logging:
    get_logger = staticmethod(_logging.getLogger)
