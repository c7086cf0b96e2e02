"""Writes a state_dict in torch.save's zip format one tensor at a time, so that a checkpoint larger than RAM
(AnyGPT-7B's 27.7 GB fp32 `pytorch_model.bin` on a 24 GB machine) can be produced.

`torch.save` pickles the whole dict first and then writes every storage, so all tensors must exist at once.
The format does not need that: `data.pkl` only names each storage by key, dtype and element count (a pickle
"persistent id"), and the storages are separate zip members (`data/0`, `data/1`, ...) written after it. So we
write `data.pkl` from the tensor *specs* (name, shape, dtype), then call each spec's `make()` just before its
member is written and drop the tensor right after: peak RAM is one tensor (plus whatever `make` needs).

Layout, as torch 1.13's writer does it: every member under `<file stem>/`, `data.pkl` first, members stored
(uncompressed) with their data 64-byte aligned (padding in a local-header extra field), then `version`.
torch.load and tools/convert/checkpoint.py read the result (test/convert/torch-zip-writer.test.ts).
"""

import collections
import io
import os
import pickle
import struct
import zipfile

import torch

_STORAGE = {
    torch.float32: torch.FloatStorage,
    torch.float16: torch.HalfStorage,
    torch.bfloat16: torch.BFloat16Storage,
    torch.float64: torch.DoubleStorage,
    torch.int64: torch.LongStorage,
    torch.int32: torch.IntStorage,
    torch.uint8: torch.ByteStorage,
    torch.bool: torch.BoolStorage,
}
ALIGN = 64
_EXTRA_ID = 0x4246  # "FB": the extra-field id torch's own writer pads with


class TensorSpec:
    """One entry of the state_dict: its shape and dtype now, its values from make() when it is written."""

    def __init__(self, name, shape, dtype, make):
        self.name, self.shape, self.dtype, self.make = name, tuple(int(d) for d in shape), dtype, make

    @property
    def numel(self):
        n = 1
        for d in self.shape:
            n *= d
        return n


class _Storage:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class _TensorStub:
    """Pickles exactly as a contiguous CPU tensor does: torch._utils._rebuild_tensor_v2(storage, 0, size, stride,
    False, OrderedDict())."""

    def __init__(self, storage, shape):
        self.storage, self.shape = storage, shape

    def __reduce__(self):
        stride, acc = [], 1
        for d in reversed(self.shape):
            stride.append(acc)
            acc *= d
        return (
            torch._utils._rebuild_tensor_v2,
            (self.storage, 0, tuple(self.shape), tuple(reversed(stride)), False, collections.OrderedDict()),
        )


class _Pickler(pickle.Pickler):
    def persistent_id(self, obj):
        if isinstance(obj, _Storage):
            return ("storage", _STORAGE[obj.dtype], obj.key, "cpu", obj.numel)
        return None


def _write_member(zf, name, data_len, write_body):
    """A stored member whose data starts on an ALIGN boundary (local header = 30 + name + extra bytes)."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_STORED
    info.file_size = data_len
    # zipfile adds a 20-byte zip64 extra to the local header for members it thinks may exceed 4 GiB
    zip64 = data_len * 1.05 > zipfile.ZIP64_LIMIT
    start = zf.fp.tell()
    base = start + 30 + len(name.encode()) + (20 if zip64 else 0) + 4
    info.extra = struct.pack("<HH", _EXTRA_ID, (-base) % ALIGN) + b"\0" * ((-base) % ALIGN)
    with zf.open(info, "w", force_zip64=zip64) as f:
        write_body(f)


def write_state_dict(path, specs, archive=None):
    """Writes `specs` (TensorSpec, in order) as an OrderedDict state_dict that torch.load reads back.

    Each spec's make() must return a tensor of exactly its shape and dtype (checked); it is written as one
    contiguous storage and released before the next make() is called."""
    specs = list(specs)
    archive = archive or os.path.splitext(os.path.basename(path))[0]  # torch names it after the file, too
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError("duplicate tensor names")
    state = collections.OrderedDict(
        (s.name, _TensorStub(_Storage(str(i), s.dtype, s.numel), s.shape)) for i, s in enumerate(specs)
    )
    buf = io.BytesIO()
    _Pickler(buf, protocol=2).dump(state)
    pkl = buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        _write_member(zf, f"{archive}/data.pkl", len(pkl), lambda f: f.write(pkl))
        for i, s in enumerate(specs):
            t = s.make()
            if tuple(t.shape) != s.shape or t.dtype != s.dtype:
                raise ValueError(f"{s.name}: make() gave {tuple(t.shape)} {t.dtype}, spec says {s.shape} {s.dtype}")
            t = t.contiguous()
            nbytes = s.numel * t.element_size()
            # a uint8 view of the tensor's memory: written without a bytes copy
            view = t.view(-1).view(torch.uint8).numpy() if s.numel else b""
            _write_member(zf, f"{archive}/data/{i}", nbytes, lambda f, v=view: f.write(v))
            del t, view
        _write_member(zf, f"{archive}/version", 2, lambda f: f.write(b"3\n"))
