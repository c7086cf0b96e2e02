"""LLaMA → ONNX model builder: emits the decoder graph with onnx.helper (no trace) and streams weights,
one tensor at a time, from the checkpoint into one external-data file.

Graph (per docs/model-package.md "LLM graph"):
  in  input_ids int64 [1,S], attention_mask int64 [1,P+S], past_key_values.{i}.key|value [1,kvH,P,hd]
  out logits float32 [1,1,V] (last token only), present.{i}.key|value [1,kvH,P+S,hd]
  (no position_ids input: GroupQueryAttention derives positions from attention_mask, as ORT GenAI does, so the
  mask must be all ones: batch 1 without padding, which is what the engine feeds)

  embed  Gather(embed_tokens, input_ids)
  layer  SimplifiedLayerNormalization / SkipSimplifiedLayerNormalization (ms) — residual adds are fused
         packed QKV MatMul (or MatMulNBits) → GroupQueryAttention (ms; do_rotary=1, non-interleaved RoPE from
         cos/sin caches of `max_positions` rows; seqlens_k = sum(mask)-1, total_sequence_length = mask width)
         → o_proj; SiLU-GLU MLP: down(silu(gate(x)) * up(x))
  head   final SkipSimplifiedLayerNormalization, Slice(last token), lm_head, Cast to float32

Precisions:
  fp32  weights and activations float32 (CPU reference).
  fp16  weights, activations and KV float16 (CUDA; GroupQueryAttention on CUDA requires fp16).
  int4  every linear layer incl. lm_head → MatMulNBits (bits 4, block 32, asymmetric RTN with uint4 zero
        points, block-wise scales in the activation dtype, accuracy_level 4 by default = int8 activations on
        CPU). Activations float32 (CPU, default) or float16 (`act_dtype`, for CUDA). Embeddings stay in the
        activation dtype.
"""

import math
import os
import time

import numpy as np
import onnx
from onnx import TensorProto, helper

MS = "com.microsoft"
ALIGN = 65536  # tensors >= 1 MiB start at 64 KiB offsets so ORT can mmap them (Windows allocation granularity)
SMALL_ALIGN = 64


class ExternalData:
    """Appends tensors to one data file and returns TensorProtos that point into it."""

    def __init__(self, path):
        self.path = path
        self.f = open(path, "wb")
        self.offset = 0
        self.bytes = 0

    def _begin(self, nbytes=None):
        pad = (-self.offset) % (ALIGN if nbytes is None or nbytes >= 2**20 else SMALL_ALIGN)
        if pad:
            self.f.write(b"\0" * pad)
            self.offset += pad
        return self.offset

    def _write(self, arr):
        # the array's own buffer, not a .tobytes() copy: for the 0.88 GB embedding that copy was a third 0.88 GB
        a = np.ascontiguousarray(arr)
        self.f.write(memoryview(a).cast("B") if a.ndim else a.tobytes())
        self.offset += a.nbytes
        self.bytes += a.nbytes

    def _proto(self, name, onnx_type, dims, start):
        t = TensorProto()
        t.name = name
        t.data_type = onnx_type
        t.dims.extend(dims)
        t.data_location = TensorProto.EXTERNAL
        for k, v in (
            ("location", os.path.basename(self.path)),
            ("offset", str(start)),
            ("length", str(self.offset - start)),
        ):
            e = t.external_data.add()
            e.key, e.value = k, v
        return t

    def add(self, name, arr):
        start = self._begin(arr.nbytes)
        self._write(arr)
        return self._proto(
            name,
            helper.np_dtype_to_tensor_dtype(arr.dtype)
            if hasattr(helper, "np_dtype_to_tensor_dtype")
            else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype],
            list(arr.shape),
            start,
        )

    def add_chunked(self, name, onnx_type, dims, chunks):
        start = self._begin(int(np.prod(dims)) * (1 if onnx_type == TensorProto.UINT8 else 4))
        for c in chunks:
            self._write(c)
        return self._proto(name, onnx_type, dims, start)

    def close(self):
        self.f.close()


def quantize_int4(w, block=32, rows_per_chunk=2048):
    """RTN asymmetric 4-bit quantisation of w [N, K] (HF Linear layout, = MatMulNBits' B layout).

    Returns (generator of packed blob chunks uint8 [n, n_blocks, block/2], scales float32 [N, n_blocks],
    zero_points uint8 [N, ceil(n_blocks/2)]). Dequantised: (q - zp) * scale."""
    n, k = w.shape
    nb = (k + block - 1) // block
    scales = np.empty((n, nb), np.float32)
    zps = np.empty((n, nb), np.uint8)

    def chunks():
        for r0 in range(0, n, rows_per_chunk):
            x = w[r0 : r0 + rows_per_chunk].astype(np.float32)
            if k % block:
                x = np.pad(x, ((0, 0), (0, nb * block - k)))
            x = x.reshape(x.shape[0], nb, block)
            lo = np.minimum(x.min(axis=2), 0.0)
            hi = np.maximum(x.max(axis=2), 0.0)
            s = (hi - lo) / 15.0
            s = np.where(s == 0, 1.0, s).astype(np.float32)
            z = np.clip(np.round(-lo / s), 0, 15).astype(np.uint8)
            q = np.clip(np.round(x / s[:, :, None]) + z[:, :, None], 0, 15).astype(np.uint8)
            scales[r0 : r0 + len(x)] = s
            zps[r0 : r0 + len(x)] = z
            yield (q[:, :, 0::2] | (q[:, :, 1::2] << 4)).astype(np.uint8)

    def packed_zp():
        z = zps if nb % 2 == 0 else np.pad(zps, ((0, 0), (0, 1)))
        return (z[:, 0::2] | (z[:, 1::2] << 4)).astype(np.uint8)

    return chunks(), scales, packed_zp, nb


def dequantize_int4(w, block=32):
    """What MatMulNBits computes with our quantisation (for reference models)."""
    gen, scales, _, nb = quantize_int4(w, block)
    packed = np.concatenate(list(gen), axis=0)
    q = np.empty(packed.shape[:2] + (block,), np.uint8)
    q[:, :, 0::2] = packed & 15
    q[:, :, 1::2] = packed >> 4
    lo_zp = None  # recompute zero points exactly as quantize_int4 did
    x = w.astype(np.float32)
    k = x.shape[1]
    if k % block:
        x = np.pad(x, ((0, 0), (0, nb * block - k)))
    x = x.reshape(x.shape[0], nb, block)
    lo = np.minimum(x.min(axis=2), 0.0)
    z = np.clip(np.round(-lo / scales), 0, 15)
    del lo_zp
    deq = (q.astype(np.float32) - z[:, :, None]) * scales[:, :, None]
    return deq.reshape(w.shape[0], nb * block)[:, :k]


class LlamaGraphBuilder:
    def __init__(
        self,
        ckpt,
        config,
        out_path,
        dtype="fp32",
        act_dtype=None,
        max_positions=4608,
        block_size=32,
        accuracy_level=4,
        log=print,
    ):
        if dtype not in ("fp32", "fp16", "int4"):
            raise ValueError(f"unknown dtype {dtype}")
        self.ckpt, self.cfg, self.out_path, self.dtype = ckpt, config, out_path, dtype
        act_dtype = act_dtype or ("float16" if dtype == "fp16" else "float32")
        if dtype == "fp16" and act_dtype != "float16":
            raise ValueError("fp16 weights need float16 activations")
        if dtype == "fp32" and act_dtype != "float32":
            raise ValueError("fp32 weights need float32 activations")
        self.act_np = np.float16 if act_dtype == "float16" else np.float32
        self.act_onnx = TensorProto.FLOAT16 if act_dtype == "float16" else TensorProto.FLOAT
        self.act_dtype = act_dtype
        self.max_positions, self.block, self.acc = max_positions, block_size, accuracy_level
        self.log = log
        self.nodes, self.inits = [], []
        self.D = config["hidden_size"]
        self.H = config["num_attention_heads"]
        self.kvH = config.get("num_key_value_heads") or self.H
        self.hd = self.D // self.H
        self.L = config["num_hidden_layers"]
        self.V = config["vocab_size"]
        self.I = config["intermediate_size"]
        self.eps = float(config.get("rms_norm_eps", 1e-6))
        self.theta = float(config.get("rope_theta", 10000.0))
        if config.get("rope_scaling"):
            raise ValueError(f"rope_scaling {config['rope_scaling']} is not supported (AnyGPT has none)")
        if self.hd % 16:
            raise ValueError(f"head_dim {self.hd}: GroupQueryAttention needs a multiple of 16 (LLaMA-7B: 128)")
        self.data = ExternalData(out_path + ".data")
        self._n = 0

    # ---- helpers
    def _name(self, base):
        self._n += 1
        return f"{base}_{self._n}"

    def node(self, op, inputs, outputs=None, name=None, domain=None, **attrs):
        name = name or self._name(op)
        outputs = outputs or [name + "/out"]
        self.nodes.append(helper.make_node(op, inputs, outputs, name=name, domain=domain, **attrs))
        return outputs if len(outputs) > 1 else outputs[0]

    def const(self, name, arr):
        self.inits.append(
            helper.make_tensor(
                name,
                helper.np_dtype_to_tensor_dtype(arr.dtype)
                if hasattr(helper, "np_dtype_to_tensor_dtype")
                else onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[arr.dtype],
                list(arr.shape),
                arr.flatten().tolist(),
            )
        )
        return name

    def weight(self, name, arr):
        self.inits.append(self.data.add(name, arr))
        return name

    def linear(self, x, w, name):
        """x @ w.T with w [N, K] as in the checkpoint."""
        n, k = w.shape
        if self.dtype == "int4":
            gen, scales, packed_zp, nb = quantize_int4(w, self.block)
            blob = self.data.add_chunked(name + ".weight_Q4", TensorProto.UINT8, [n, nb, self.block // 2], gen)
            self.inits.append(blob)
            self.weight(name + ".weight_scales", scales.astype(self.act_np).reshape(-1))
            self.weight(name + ".weight_zp", packed_zp().reshape(-1))
            return self.node(
                "MatMulNBits",
                [x, name + ".weight_Q4", name + ".weight_scales", name + ".weight_zp"],
                name=name,
                domain=MS,
                K=k,
                N=n,
                bits=4,
                block_size=self.block,
                accuracy_level=self.acc,
            )
        wt = np.ascontiguousarray(w.T, dtype=self.act_np)  # one copy (astype then ascontiguousarray made two)
        return self.node("MatMul", [x, self.weight(name + ".weight", wt)], name=name)

    def get(self, key):
        return self.ckpt.get(key)

    # ---- graph
    def build(self):
        t0 = time.time()
        D, hd, H, kvH = self.D, self.hd, self.H, self.kvH
        act = self.act_onnx
        inputs = [
            helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, "sequence_length"]),
            helper.make_tensor_value_info("attention_mask", TensorProto.INT64, [1, "total_sequence_length"]),
        ]
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1, self.V])]
        for i in range(self.L):
            for kv in ("key", "value"):
                inputs.append(
                    helper.make_tensor_value_info(
                        f"past_key_values.{i}.{kv}", act, [1, kvH, "past_sequence_length", hd]
                    )
                )
                outputs.append(
                    helper.make_tensor_value_info(f"present.{i}.{kv}", act, [1, kvH, "total_sequence_length", hd])
                )
        # attention-mask subgraph (as ORT GenAI): seqlens_k = sum(mask) - 1, total = mask width
        self.const("const.axes1", np.array([1], np.int64))
        self.const("const.one", np.array([1], np.int64))
        self.const("const.idx1", np.array(1, np.int64))
        s = self.node("ReduceSum", ["attention_mask", "const.axes1"], name="mask/ReduceSum", keepdims=0)
        s = self.node("Sub", [s, "const.one"], name="mask/Sub")
        seqlens_k = self.node("Cast", [s], ["seqlens_k"], name="mask/seqlens_k", to=TensorProto.INT32)
        shp = self.node("Shape", ["attention_mask"], name="mask/Shape")
        tot = self.node("Gather", [shp, "const.idx1"], name="mask/Gather", axis=0)
        total = self.node("Cast", [tot], ["total_seq_len"], name="mask/total", to=TensorProto.INT32)
        # rotary caches (HF LLaMA: inv_freq = theta^(-2j/hd), computed in float32/float64 then cast)
        inv = 1.0 / (self.theta ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
        freqs = np.outer(np.arange(self.max_positions, dtype=np.float64), inv).astype(np.float32)
        cos = self.weight("rotary.cos_cache", np.cos(freqs).astype(self.act_np))
        sin = self.weight("rotary.sin_cache", np.sin(freqs).astype(self.act_np))

        emb = self.get("model.embed_tokens.weight")
        if emb.shape != (self.V, D):
            raise ValueError(f"embed_tokens {emb.shape} != ({self.V}, {D}) from config.json")
        self.weight("model.embed_tokens.weight", emb.astype(self.act_np, copy=False))  # no copy if fp32 → fp32
        del emb
        x = self.node("Gather", ["model.embed_tokens.weight", "input_ids"], name="embed", axis=0)

        residual, pending = x, None  # pending = output to add into residual before the next norm
        for i in range(self.L):
            p = f"model.layers.{i}."
            w_in = self.weight(p + "input_layernorm.weight", self.get(p + "input_layernorm.weight").astype(self.act_np))
            if pending is None:
                h = self.node(
                    "SimplifiedLayerNormalization",
                    [residual, w_in],
                    name=p + "input_norm",
                    axis=-1,
                    epsilon=self.eps,
                    stash_type=1,
                )
            else:
                h, _, _, residual = self.node(
                    "SkipSimplifiedLayerNormalization",
                    [pending, residual, w_in],
                    [p + "input_norm/out", "", "", p + "input_norm/residual"],
                    name=p + "input_norm",
                    domain=MS,
                    epsilon=self.eps,
                )
            qkv_w = np.concatenate(
                [
                    self.get(p + "self_attn.q_proj.weight"),
                    self.get(p + "self_attn.k_proj.weight"),
                    self.get(p + "self_attn.v_proj.weight"),
                ],
                axis=0,
            )
            if qkv_w.shape != ((H + 2 * kvH) * hd, D):
                raise ValueError(f"layer {i}: q/k/v shapes do not match config.json")
            qkv = self.linear(h, qkv_w, p + "attn.qkv_proj")
            del qkv_w
            attn, _, _ = self.node(
                "GroupQueryAttention",
                [qkv, "", "", f"past_key_values.{i}.key", f"past_key_values.{i}.value", seqlens_k, total, cos, sin],
                [p + "attn/out", f"present.{i}.key", f"present.{i}.value"],
                name=p + "attn.gqa",
                domain=MS,
                num_heads=H,
                kv_num_heads=kvH,
                do_rotary=1,
                rotary_interleaved=0,
                scale=1.0 / math.sqrt(hd),
            )
            o = self.linear(attn, self.get(p + "self_attn.o_proj.weight"), p + "attn.o_proj")
            w_post = self.weight(
                p + "post_attention_layernorm.weight",
                self.get(p + "post_attention_layernorm.weight").astype(self.act_np),
            )
            h, _, _, residual = self.node(
                "SkipSimplifiedLayerNormalization",
                [o, residual, w_post],
                [p + "post_norm/out", "", "", p + "post_norm/residual"],
                name=p + "post_norm",
                domain=MS,
                epsilon=self.eps,
            )
            g = self.linear(h, self.get(p + "mlp.gate_proj.weight"), p + "mlp.gate_proj")
            u = self.linear(h, self.get(p + "mlp.up_proj.weight"), p + "mlp.up_proj")
            sg = self.node("Sigmoid", [g], name=p + "mlp.act/Sigmoid")
            silu = self.node("Mul", [g, sg], name=p + "mlp.act/Mul")
            gu = self.node("Mul", [silu, u], name=p + "mlp.glu")
            pending = self.linear(gu, self.get(p + "mlp.down_proj.weight"), p + "mlp.down_proj")
            self.log(f"  layer {i + 1}/{self.L} written ({self.data.bytes / 2**20:.0f} MiB, {time.time() - t0:.0f} s)")

        w_norm = self.weight("model.norm.weight", self.get("model.norm.weight").astype(self.act_np))
        h, _, _, _ = self.node(
            "SkipSimplifiedLayerNormalization",
            [pending, residual, w_norm],
            ["final_norm/out", "", "", ""],
            name="final_norm",
            domain=MS,
            epsilon=self.eps,
        )
        self.const("const.last_start", np.array([-1], np.int64))
        self.const("const.last_end", np.array([np.iinfo(np.int64).max], np.int64))
        last = self.node("Slice", [h, "const.last_start", "const.last_end", "const.axes1"], name="last_token")
        lm = self.get("lm_head.weight")
        if lm.shape != (self.V, D):
            raise ValueError(f"lm_head {lm.shape} != ({self.V}, {D})")
        logits = self.linear(last, lm, "lm_head")
        del lm
        if self.act_onnx != TensorProto.FLOAT:
            self.node("Cast", [logits], ["logits"], name="logits/Cast", to=TensorProto.FLOAT)
        else:
            self.node("Identity", [logits], ["logits"], name="logits/Identity")
        self.data.close()
        graph = helper.make_graph(self.nodes, "anygpt_llm", inputs, outputs, initializer=self.inits)
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)],
            producer_name="anygpt-notebooks tools/convert/llm_builder.py",
        )
        model.ir_version = 8
        onnx.save(model, self.out_path)
        self.log(
            f"  graph {os.path.basename(self.out_path)}: {len(self.nodes)} nodes, "
            f"{self.data.bytes / 2**20:.1f} MiB external data, {time.time() - t0:.1f} s"
        )
        return {
            "path": self.out_path,
            "data": self.data.path,
            "kvDtype": self.act_dtype,
            "maxPositions": self.max_positions,
            "numLayers": self.L,
            "numKvHeads": kvH,
            "headDim": hd,
            "vocabSize": self.V,
        }


def build(ckpt, config, out_path, dtype="fp32", **kw):
    return LlamaGraphBuilder(ckpt, config, out_path, dtype, **kw).build()
