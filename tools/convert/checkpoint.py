"""Tensor-by-tensor reading of HF checkpoints without loading them whole.

torch 1.13 has no `torch.load(mmap=True)`; `torch.load` of the 27.7 GB AnyGPT `pytorch_model.bin` would
need all of it in RAM. Instead we read the zip archive that `torch.save` writes ourselves:

* `data.pkl` is unpickled with a restricted Unpickler whose `persistent_load` returns a *reference* to a
  storage (`data/<key>` inside the zip) and whose `_rebuild_tensor_v2` returns a `LazyTensor` (storage key,
  dtype, offset, shape, stride). No tensor bytes are read at this point; only class names on an allow-list
  are resolved (no arbitrary code runs).
* `LazyTensor.numpy()` reads exactly one storage member from the zip (stored uncompressed) into a numpy
  array and returns the (contiguous) view. The caller converts and writes it, then drops it.

Peak RAM is therefore about the largest single tensor plus its converted copy: for AnyGPT-7B that is
embed_tokens / lm_head, 53516 x 4096 fp32 = 0.88 GB (+ 0.44 GB fp16 copy, or int4 working buffers of ~2x the
fp32 size during quantisation), i.e. ~2-3 GB, independent of the model size.

Also supported: sharded `pytorch_model-0000x-of-0000y.bin` + `.index.json`, and `*.safetensors`
(header + offsets; read with numpy.memmap).
"""

import json
import os
import pickle
import struct
import zipfile

import numpy as np

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": "bfloat16",
    "DoubleStorage": np.float64,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "CharStorage": np.int8,
    "ShortStorage": np.int16,
}
_SAFETENSORS_DTYPES = {
    "F32": np.float32,
    "F16": np.float16,
    "BF16": "bfloat16",
    "F64": np.float64,
    "I64": np.int64,
    "I32": np.int32,
    "U8": np.uint8,
    "BOOL": np.bool_,
}


def _bf16_to_f32(raw_u16):
    return (raw_u16.astype(np.uint32) << 16).view(np.float32)


class _StorageRef:
    def __init__(self, key, dtype, numel):
        self.key, self.dtype, self.numel = key, dtype, numel


class LazyTensor:
    def __init__(self, reader, storage, offset, shape, stride):
        self.reader, self.storage, self.offset = reader, storage, offset
        self.shape, self.stride = tuple(shape), tuple(stride)

    @property
    def dtype(self):
        return self.storage.dtype

    def numpy(self):
        """Reads the tensor; bfloat16 is widened to float32."""
        return self.reader.read(self)


class _TorchZipReader:
    def __init__(self, path):
        self.path = path
        self.zf = zipfile.ZipFile(path)
        names = self.zf.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pkl:
            raise ValueError(
                f"{path}: not a torch zip checkpoint (no data.pkl); "
                "legacy (pre-1.6) torch pickles are not supported, re-save with torch>=1.6"
            )
        self.prefix = pkl[0][: -len("data.pkl")]
        reader = self

        class Unpickler(pickle.Unpickler):
            def find_class(self, module, name):
                if module == "torch._utils" and name == "_rebuild_tensor_v2":
                    return reader._rebuild
                if module == "torch._utils" and name == "_rebuild_parameter":
                    return lambda data, requires_grad, hooks: data
                if module == "torch" and name in _STORAGE_DTYPES:
                    return name
                if module == "collections" and name == "OrderedDict":
                    import collections

                    return collections.OrderedDict
                if module == "torch" and name in ("float32", "float16", "bfloat16"):
                    return name
                raise pickle.UnpicklingError(f"{path}: refusing to load {module}.{name} (not a plain state_dict)")

            def persistent_load(self, pid):
                typename, storage_type, key, _location, numel = pid
                if typename != "storage":
                    raise pickle.UnpicklingError(f"unexpected persistent id {typename}")
                if storage_type not in _STORAGE_DTYPES:
                    raise pickle.UnpicklingError(f"unsupported storage {storage_type}")
                return _StorageRef(key, _STORAGE_DTYPES[storage_type], numel)

        with self.zf.open(pkl[0]) as f:
            self.state = Unpickler(f).load()

    def _rebuild(self, storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
        return LazyTensor(self, storage, offset, size, stride)

    def read(self, t):
        st = t.storage
        raw_dtype = np.uint16 if st.dtype == "bfloat16" else st.dtype
        item = np.dtype(raw_dtype).itemsize
        n = int(np.prod(t.shape)) if t.shape else 1
        with self.zf.open(f"{self.prefix}data/{st.key}") as f:
            f.seek(t.offset * item)
            buf = f.read(n * item)
        arr = np.frombuffer(buf, dtype=raw_dtype)
        # Reconstruct strided views (HF state dicts are contiguous; transposed storages also work).
        if t.shape:
            expect = tuple(int(np.prod(t.shape[i + 1 :])) for i in range(len(t.shape)))
            if t.stride != expect:
                with self.zf.open(f"{self.prefix}data/{st.key}") as f:
                    whole = np.frombuffer(f.read(), dtype=raw_dtype)
                arr = np.lib.stride_tricks.as_strided(
                    whole[t.offset :], shape=t.shape, strides=[s * item for s in t.stride]
                ).copy()
            else:
                arr = arr.reshape(t.shape)
        if st.dtype == "bfloat16":
            arr = _bf16_to_f32(arr)
        return arr


class _SafetensorsReader:
    def __init__(self, path):
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            header = json.loads(f.read(n))
        self.base = 8 + n
        self.path = path
        self.state = {}
        for k, v in header.items():
            if k == "__metadata__":
                continue
            self.state[k] = (v["dtype"], tuple(v["shape"]), v["data_offsets"])

    def get(self, key):
        dt, shape, (a, b) = self.state[key]
        raw = np.uint16 if dt == "BF16" else _SAFETENSORS_DTYPES[dt]
        arr = np.fromfile(self.path, dtype=raw, count=(b - a) // np.dtype(raw).itemsize, offset=self.base + a)
        arr = arr.reshape(shape)
        return _bf16_to_f32(arr) if dt == "BF16" else arr


class Checkpoint:
    """Key → shape/dtype/array access over one or several checkpoint files, one tensor at a time."""

    def __init__(self, folder):
        self.folder = folder
        self._where = {}
        files = self._files(folder)
        self.files = files
        for fn in files:
            path = os.path.join(folder, fn)
            r = _SafetensorsReader(path) if fn.endswith(".safetensors") else _TorchZipReader(path)
            for k in r.state:
                self._where[k] = r

    @staticmethod
    def _files(folder):
        for index in ("pytorch_model.bin.index.json", "model.safetensors.index.json"):
            p = os.path.join(folder, index)
            if os.path.exists(p):
                with open(p) as f:
                    return sorted(set(json.load(f)["weight_map"].values()))
        for single in ("model.safetensors", "pytorch_model.bin"):
            if os.path.exists(os.path.join(folder, single)):
                return [single]
        raise FileNotFoundError(f"{folder}: no pytorch_model.bin, model.safetensors or shard index found")

    def keys(self):
        return list(self._where)

    def shape(self, key):
        r = self._where[key]
        if isinstance(r, _SafetensorsReader):
            return r.state[key][1]
        return r.state[key].shape

    def dtype(self, key):
        r = self._where[key]
        if isinstance(r, _SafetensorsReader):
            return {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}.get(r.state[key][0], r.state[key][0])
        d = r.state[key].dtype
        return d if isinstance(d, str) else np.dtype(d).name

    def get(self, key):
        """The tensor as a numpy array (float tensors as stored; bfloat16 widened to float32)."""
        if key not in self._where:
            raise KeyError(f'checkpoint has no tensor "{key}"')
        r = self._where[key]
        return r.get(key) if isinstance(r, _SafetensorsReader) else r.state[key].numpy()


def check_keys(source, present, expected, ignored=()):
    """Strict loading: every key of the file is consumed or deliberately ignored, every expected key is there.

    `ignored` holds exact keys or prefixes ending in '.' that we know and do not need (say why at the caller).
    Raises KeyError naming the keys (up to 20 of each kind, with the counts)."""
    present, expected = set(present), set(expected)

    def known(k):
        return any(k == i or (i.endswith(".") and k.startswith(i)) for i in ignored)

    extra = sorted(k for k in present - expected if not known(k))
    missing = sorted(expected - present)
    if not extra and not missing:
        return

    def names(ks):
        return ", ".join(ks[:20]) + (f" … ({len(ks)} in all)" if len(ks) > 20 else "")

    parts = []
    if missing:
        parts.append(f"missing {len(missing)} expected key(s): {names(missing)}")
    if extra:
        parts.append(f"{len(extra)} key(s) we would not use: {names(extra)}")
    raise KeyError(f"{source}: " + "; ".join(parts))
