"""SentencePiece model files and the slow LLaMA tokenizer, without the sentencepiece library.

* `read_model` / `write_model`: the `tokenizer.model` protobuf (sentencepiece ModelProto), decoded and
  encoded by hand (protobuf wire format; only the fields a LLaMA BPE model uses are interpreted, the rest
  of trainer_spec is kept as raw bytes on read).
* `SentencePieceBPE`: SentencePiece's BPE segmentation (normalise, merge the adjacent pair whose merged
  piece has the highest score, leftmost first on ties; byte fallback for unknown characters).
* `SlowLlamaTokenizer`: a re-statement of transformers 4.34 `LlamaTokenizer.tokenize` rules (added tokens
  split first with a longest-match trie, lstrip/rstrip per AddedToken, `legacy` spacing, BOS prepended).
  It is written from the documented behaviour, not copied, and is the source of the goldens of the fake
  checkpoints. The independent check on LLaMA-2's real vocabulary with the sentencepiece library is
  tools/convert/llama_goldens.py; goldens from transformers 4.34.1 on the real AnyGPT files are still needed.
"""

import struct

# SentencePiece piece types (sentencepiece_model.proto).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
SP = "\u2581"


# ------------------------------------------------------------------ protobuf wire format
def _varint(n):
    if n < 0:
        n += 1 << 64
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _len_field(field, payload):
    return _key(field, 2) + _varint(len(payload)) + payload


def _read_varint(buf, pos):
    shift = result = 0
    while True:
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7


def _fields(buf):
    """Yields (field, wire, value) over one message; value is int, bytes or float-bytes."""
    pos = 0
    while pos < len(buf):
        k, pos = _read_varint(buf, pos)
        field, wire = k >> 3, k & 7
        if wire == 0:
            v, pos = _read_varint(buf, pos)
        elif wire == 1:
            v, pos = buf[pos : pos + 8], pos + 8
        elif wire == 2:
            n, pos = _read_varint(buf, pos)
            v, pos = buf[pos : pos + n], pos + n
        elif wire == 5:
            v, pos = buf[pos : pos + 4], pos + 4
        else:
            raise ValueError(f"tokenizer.model: unsupported protobuf wire type {wire}")
        yield field, wire, v


TRAINER_INT_FIELDS = {3: "model_type", 4: "vocab_size", 40: "unk_id", 41: "bos_id", 42: "eos_id", 43: "pad_id"}
TRAINER_BOOL_FIELDS = {35: "byte_fallback", 25: "split_digits"}
TRAINER_STR_FIELDS = {45: "unk_piece", 46: "bos_piece", 47: "eos_piece", 48: "pad_piece"}
NORMALIZER_DEFAULTS = {
    "name": "",
    "add_dummy_prefix": True,
    "remove_extra_whitespaces": True,
    "escape_whitespaces": True,
}


def read_model(path):
    """Parses tokenizer.model → dict(pieces=[(piece, score, type)], trainer={...}, normalizer={...})."""
    with open(path, "rb") as f:
        buf = f.read()
    pieces, trainer, normalizer = [], {"model_type": 1, "byte_fallback": False}, dict(NORMALIZER_DEFAULTS)
    for field, _, v in _fields(buf):
        if field == 1:
            piece, score, typ = "", 0.0, NORMAL
            for f2, _, v2 in _fields(v):
                if f2 == 1:
                    piece = v2.decode("utf-8")
                elif f2 == 2:
                    score = struct.unpack("<f", v2)[0]
                elif f2 == 3:
                    typ = v2
            pieces.append((piece, score, typ))
        elif field == 2:
            for f2, _, v2 in _fields(v):
                if f2 in TRAINER_INT_FIELDS:
                    trainer[TRAINER_INT_FIELDS[f2]] = v2 if v2 < (1 << 63) else v2 - (1 << 64)
                elif f2 in TRAINER_BOOL_FIELDS:
                    trainer[TRAINER_BOOL_FIELDS[f2]] = bool(v2)
                elif f2 in TRAINER_STR_FIELDS:
                    trainer[TRAINER_STR_FIELDS[f2]] = v2.decode("utf-8")
        elif field == 3:
            for f2, _, v2 in _fields(v):
                if f2 == 1:
                    normalizer["name"] = v2.decode("utf-8")
                elif f2 == 2:
                    normalizer["precompiled_charsmap"] = bytes(v2)
                elif f2 == 3:
                    normalizer["add_dummy_prefix"] = bool(v2)
                elif f2 == 4:
                    normalizer["remove_extra_whitespaces"] = bool(v2)
                elif f2 == 5:
                    normalizer["escape_whitespaces"] = bool(v2)
    if not pieces:
        raise ValueError(f"{path}: no pieces; not a SentencePiece model")
    return {"pieces": pieces, "trainer": trainer, "normalizer": normalizer}


def write_model(path, pieces, *, byte_fallback=True, add_dummy_prefix=True, remove_extra_whitespaces=False):
    """Writes a BPE ModelProto shaped like LLaMA's tokenizer.model (identity normaliser, byte fallback)."""
    out = bytearray()
    for piece, score, typ in pieces:
        body = _len_field(1, piece.encode("utf-8")) + _key(2, 5) + struct.pack("<f", score)
        if typ != NORMAL:
            body += _key(3, 0) + _varint(typ)
        out += _len_field(1, body)
    trainer = (
        _key(3, 0)
        + _varint(2)  # model_type BPE
        + _key(4, 0)
        + _varint(len(pieces))  # vocab_size
        + _key(35, 0)
        + _varint(int(byte_fallback))
        + _key(40, 0)
        + _varint(0)
        + _key(41, 0)
        + _varint(1)
        + _key(42, 0)
        + _varint(2)
        + _key(43, 0)
        + _varint(-1)
    )
    out += _len_field(2, trainer)
    normalizer = (
        _len_field(1, b"identity")
        + _key(3, 0)
        + _varint(int(add_dummy_prefix))
        + _key(4, 0)
        + _varint(int(remove_extra_whitespaces))
        + _key(5, 0)
        + _varint(1)
    )
    out += _len_field(3, normalizer)
    with open(path, "wb") as f:
        f.write(bytes(out))


# ------------------------------------------------------------------ SentencePiece BPE
class SentencePieceBPE:
    def __init__(self, model):
        if model["trainer"].get("model_type") != 2:
            raise ValueError("tokenizer.model is not a BPE SentencePiece model (LLaMA uses BPE)")
        if model["normalizer"].get("precompiled_charsmap"):
            raise ValueError('tokenizer.model has a precompiled normalisation map; LLaMA uses "identity"')
        self.pieces = model["pieces"]
        self.normalizer = model["normalizer"]
        self.byte_fallback = model["trainer"].get("byte_fallback", False)
        self.id_of = {}
        self.score = {}
        self.unk_id = model["trainer"].get("unk_id", 0)
        for i, (p, s, t) in enumerate(self.pieces):
            self.id_of.setdefault(p, i)
            if t in (NORMAL, USER_DEFINED, UNUSED):
                self.score.setdefault(p, s)
        self.add_dummy_prefix = self.normalizer["add_dummy_prefix"]

    def normalize(self, text, add_dummy_prefix=None):
        if add_dummy_prefix is None:
            add_dummy_prefix = self.add_dummy_prefix
        if self.normalizer["remove_extra_whitespaces"]:
            text = " ".join(t for t in text.split(" ") if t)
        if not text:
            return ""
        if add_dummy_prefix:
            text = " " + text
        if self.normalizer["escape_whitespaces"]:
            text = text.replace(" ", SP)
        return text

    def encode_pieces(self, text, add_dummy_prefix=None):
        s = self.normalize(text, add_dummy_prefix)
        syms = list(s)
        while len(syms) > 1:
            best, best_i = None, -1
            for i in range(len(syms) - 1):
                sc = self.score.get(syms[i] + syms[i + 1])
                if sc is not None and (best is None or sc > best):
                    best, best_i = sc, i
            if best is None:
                break
            syms[best_i : best_i + 2] = [syms[best_i] + syms[best_i + 1]]
        out = []
        for p in syms:
            if p in self.score:
                out.append(p)
            elif self.byte_fallback:
                out.extend(f"<0x{b:02X}>" for b in p.encode("utf-8"))
            else:
                out.append(self.pieces[self.unk_id][0])
        return out

    def piece_to_id(self, p):
        return self.id_of.get(p, self.unk_id)


class SlowLlamaTokenizer:
    """transformers 4.34 LlamaTokenizer (slow) as specified in our notes; see module docstring."""

    def __init__(self, model, added, legacy=True, add_bos=True, add_eos=False, bos="<s>", eos="</s>", unk="<unk>"):
        """added: list of dicts {content, id, lstrip, rstrip, special} (tokenizer_config added_tokens_decoder
        plus added_tokens.json)."""
        self.sp = SentencePieceBPE(model)
        self.legacy = legacy
        self.add_bos, self.add_eos = add_bos, add_eos
        self.bos, self.eos, self.unk = bos, eos, unk
        self.added = {a["content"]: a for a in added}
        self.special = {a["content"] for a in added if a.get("special")} | {bos, eos, unk}
        self.max_len = max((len(a) for a in self.added), default=0)
        # unk_token_length: how many pieces "<unk>" becomes without a dummy prefix.
        self.unk_len = len(self.sp.encode_pieces(unk, add_dummy_prefix=False))

    def split_added(self, text):
        """Leftmost-longest match of added tokens (HF Trie.split semantics for non-overlapping tokens)."""
        out, buf, i = [], [], 0
        while i < len(text):
            hit = None
            for n in range(min(self.max_len, len(text) - i), 0, -1):
                if text[i : i + n] in self.added:
                    hit = text[i : i + n]
                    break
            if hit is None:
                buf.append(text[i])
                i += 1
            else:
                if buf:
                    out.append("".join(buf))
                    buf = []
                out.append(hit)
                i += len(hit)
        if buf:
            out.append("".join(buf))
        return out

    def _base_tokenize(self, text):
        chunks = self.split_added(text)
        for i, c in enumerate(chunks):
            a = self.added.get(c)
            if a is None:
                continue
            if a.get("rstrip") and i + 1 < len(chunks) and chunks[i + 1] not in self.added:
                chunks[i + 1] = chunks[i + 1].lstrip()
            if a.get("lstrip") and i > 0 and chunks[i - 1] not in self.added:
                chunks[i - 1] = chunks[i - 1].rstrip()
        out = []
        for c in chunks:
            if not c:
                continue
            if c in self.added:
                out.append(c)
            else:
                out.extend(self._sp_tokenize(c))
        return out

    def _sp_tokenize(self, text):
        if self.legacy:
            return self.sp.encode_pieces(text)
        pieces = self.sp.encode_pieces(text, add_dummy_prefix=False)
        if not text.startswith((SP, " ")):
            return pieces
        pieces = self.sp.encode_pieces(self.unk + text, add_dummy_prefix=False)
        return pieces[self.unk_len :] if len(pieces) >= self.unk_len else pieces

    def tokenize(self, text):
        if self.legacy or not text:
            return self._base_tokenize(text)
        toks = self._base_tokenize(SP + text.replace(SP, " "))
        if len(toks) > 1 and toks[0] == SP and toks[1] in self.special:
            toks = toks[1:]
        return toks

    def token_to_id(self, t):
        a = self.added.get(t)
        return a["id"] if a is not None else self.sp.piece_to_id(t)

    def encode(self, text):
        ids = [self.token_to_id(t) for t in self.tokenize(text)]
        if self.add_bos:
            ids = [self.token_to_id(self.bos)] + ids
        if self.add_eos:
            ids.append(self.token_to_id(self.eos))
        return ids
