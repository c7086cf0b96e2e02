"""SHIM (ours): diffusers 0.20.2 imports huggingface_hub, safetensors, filelock, regex, tqdm, importlib_metadata
and accelerate at module level (and transformers, for CLIP models the oracle does not use), for downloading, caching, file formats and progress bars; none is in Debian.
Importing this module makes each of them an empty stand-in: any name imported from one is a placeholder class
(hub cache paths are a non-existent folder), and calling a placeholder fails. Nothing on a forward pass or in a
scheduler step reaches them."""

import importlib.abc
import importlib.machinery
import sys
import types

# transformers: the pipeline module imports its CLIP classes; the one pipeline method run here uses none.
STUBBED = {"huggingface_hub", "safetensors", "filelock", "regex", "tqdm", "importlib_metadata", "accelerate", "transformers"}


class _Placeholder(Exception):
    def __init__(self, *a, **k):
        pass

    def __call__(self, *a, **k):
        raise RuntimeError("a stand-in for a library that is not installed was called")


class _Module(types.ModuleType):
    __path__ = []

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        if name in ("HUGGINGFACE_HUB_CACHE", "hf_cache_home"):
            return "/nonexistent-hub-cache"
        return type(name, (_Placeholder,), {})


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in STUBBED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        return _Module(spec.name)

    def exec_module(self, module):
        module.__version__ = "0.0.0"


if not any(isinstance(f, _Finder) for f in sys.meta_path):
    sys.meta_path.insert(0, _Finder())
