# SHIM (ours): PretrainedConfig reduced to attribute storage (return_dict defaults to True, as upstream).
class PretrainedConfig:
    def __init__(self, **kwargs):
        self.return_dict = kwargs.pop("return_dict", True)
        for k, v in kwargs.items():
            setattr(self, k, v)
