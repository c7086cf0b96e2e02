# SHIM (ours): ModelOutput as an ordered dict with attribute access (upstream's semantics for these uses).
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

    def to_tuple(self):
        return tuple(self.values())
