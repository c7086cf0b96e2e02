#!/usr/bin/python3
"""Reference ids for the text tokenizer on the real LLaMA-2 vocabulary, from the sentencepiece library.

    /usr/bin/python3 tools/convert/llama_goldens.py      # rewrites test/fixtures/tokenizer-llama/goldens.json

Needs Debian's python3-sentencepiece (apt-get install python3-sentencepiece; 0.1.97 here) and Node with the
dev dependency llama-tokenizer-js (npm ci). Neither is needed by the test that uses the file
(test/convert/tokenizer-llama.test.ts).

1. tools/convert/llama_vocab.py rebuilds LLaMA-2's tokenizer.model from llama-tokenizer-js's vocabulary and
   merges. The sentencepiece library on that model must give, for every corpus string without added-token text,
   the ids llama-tokenizer-js gives (its own encoder, BOS + leading space): this checks the rebuilt model.
2. A seeded corpus (sections: ASCII, whitespace runs, digits, CJK, emoji, byte fallback, leading spaces and
   newlines, other scripts, AnyGPT prompt templates with modality tokens, near-misses of added tokens).
3. Reference ids per string for the slow transformers 4.34.1 LlamaTokenizer (AnyGPT's requirements.txt pins
   transformers==4.34.1): `SlowReference` below follows that version's `PreTrainedTokenizer.tokenize`
   (added tokens split first on a trie, then lstrip/rstrip per AddedToken, empty chunks skipped) and
   `LlamaTokenizer.tokenize/_tokenize` (legacy: sentencepiece with its dummy prefix on every chunk; non-legacy:
   "▁" + text with "▁" turned into spaces, sentencepiece loaded with add_dummy_prefix false, chunks that
   start with a space encoded after "<unk>" and cut, a lone "▁" dropped before a special token), with the
   real sentencepiece library doing every BPE step. Our own pure-Python restatement (tools/convert/spm.py) must
   give the same ids on every string too. Modes: legacy (also what a tokenizer_config without a
   "legacy" key gets: 4.34's default) and non-legacy; the strip section also with lstrip/rstrip true
   on <eoh> (lstrip), [MMGPT] (rstrip) and <sosp> (both).
"""

import json
import os
import random
import subprocess
import sys
import tempfile

import sentencepiece
from sentencepiece import sentencepiece_model_pb2

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import layout  # noqa: E402
import llama_vocab  # noqa: E402
import spm  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(ROOT, "test", "fixtures", "tokenizer-llama", "goldens.json")
SP = "\u2581"
SPECIAL = ("<unk>", "<s>", "</s>")


class SlowReference:
    """transformers 4.34.1 LlamaTokenizer.encode(text) (add_special_tokens=True), sentencepiece underneath."""

    def __init__(self, model_path, added, *, legacy, strip=None):
        self.legacy = legacy
        with open(model_path, "rb") as f:
            proto = f.read()
        if not legacy:
            # As 4.34's get_spm_processor: the same model with normalizer_spec.add_dummy_prefix = False.
            m = sentencepiece_model_pb2.ModelProto.FromString(proto)
            m.normalizer_spec.add_dummy_prefix = False
            proto = m.SerializeToString()
        self.sp = sentencepiece.SentencePieceProcessor()
        self.sp.LoadFromSerializedProto(proto)
        self.added = dict(added)  # content -> id, incl. <unk> <s> </s>
        for i, t in enumerate(SPECIAL):
            self.added[t] = i
        self.strip = strip or {}
        self.max_len = max(len(t) for t in self.added)
        self.unk_len = len(self.sp.encode("<unk>"))

    def split(self, text):
        """The added-tokens trie split: at each position the longest added token that starts there, leftmost
        first (AnyGPT's tokens never overlap, so this is what Trie.split returns)."""
        out, start, i = [], 0, 0
        while i < len(text):
            hit = next(
                (
                    text[i : i + n]
                    for n in range(min(self.max_len, len(text) - i), 0, -1)
                    if text[i : i + n] in self.added
                ),
                None,
            )
            if hit is None:
                i += 1
                continue
            if i > start:
                out.append(text[start:i])
            out.append(hit)
            i += len(hit)
            start = i
        if start < len(text):
            out.append(text[start:])
        return out

    def base_tokenize(self, text):
        tokens = self.split(text)
        for i, t in enumerate(tokens):
            if t not in self.added:
                continue
            lstrip, rstrip = self.strip.get(t, (False, False))
            left = tokens[i - 1] if i > 0 else None
            right = tokens[i + 1] if i < len(tokens) - 1 else None
            if rstrip and right:
                tokens[i + 1] = right.lstrip()
            if lstrip and left:
                tokens[i - 1] = left.rstrip()
        out = []
        for t in tokens:
            if not t:
                continue
            out.extend([t] if t in self.added else self.sp_tokenize(t))
        return out

    def sp_tokenize(self, text):
        pieces = self.sp.encode(text, out_type=str)
        if self.legacy or not text.startswith((SP, " ")):
            return pieces
        pieces = self.sp.encode("<unk>" + text, out_type=str)
        return pieces[self.unk_len :] if len(pieces) >= self.unk_len else pieces

    def tokenize(self, text):
        if self.legacy or not text:
            return self.base_tokenize(text)
        tokens = self.base_tokenize(SP + text.replace(SP, " "))
        if len(tokens) > 1 and tokens[0] == SP and tokens[1] in SPECIAL:
            tokens = tokens[1:]
        return tokens

    def encode(self, text):
        return [1] + [self.added[t] if t in self.added else self.sp.piece_to_id(t) for t in self.tokenize(text)]


# ------------------------------------------------------------------ corpus
WORDS = (
    "the of and to in is was that for it with as on be at by this had not are but from or have an they which one you "
    "were all we her she there would their will when who him been has more if no out do so can what up said about "
    "other into than its time only could new them man some these then two first may any like now my such make over "
    "our even most me state after also made many did must before back see through way where get much go well your "
    "know should down work year because come people just say each those take day good how long Mr own too little use "
    "US very great still men here life both between old under last never place same another think house while high "
    "right might came off find states since used give against three himself look few general hand school part small "
    "American home during number again Mrs around thought went without however Government don't didn't it's I'm "
    "we've they're Hello World Python JavaScript tokenizer AnyGPT LLaMA SentencePiece ONNX GPU CUDA notebook "
    "speech image music audio picture voice sound melody caption transcribe describe generate compose"
).split()
INSTRUCTIONS = list(layout.TEMPLATES["instructions"].values()) + [
    "Please recognize the voice command and give reply and voice",
    "Transcribe the following speech into text.",
    "Generate a picture of a sunset over the sea.",
]
WHITESPACE = [
    " ",
    "  ",
    "   ",
    "    ",
    "        ",
    "\t",
    "\t\t",
    "\n",
    "\n\n",
    "\r\n",
    "\r",
    " \n",
    "\n ",
    "\u3000",
    "\xa0",
]
ODD_SPACES = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x1f", "\x85", "\xa0", "\u1680", "\u2002", "\u2009", "\u200a"]
ODD_SPACES += ["\u200b", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000", "\ufeff", SP]
EMOJI = [
    "😀", "😂", "🥹", "❤️", "👍", "👍🏽", "🎉", "🔥", "🚀", "🌍", "🍕", "🐱", "🐶", "🤖", "🧠", "🎶", "👀", "🗣️", "🗣",
    "👂", "🖼️", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇯🇵", "🇫🇷", "1️⃣", "#️⃣", "☃", "☃️", "✨", "⭐", "🫠", "🧑🏿‍💻", "😶‍🌫️",
]  # fmt: skip
SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "A cat sits on the mat, and the dog is sleeping.",
    "你好，世界！今天天气很好。",
    "日本語のテキストを分割します。",
    "東京は日本の首都です。",
    "한국어 문장도 시험합니다.",
    "Привет, как дела? Всё хорошо.",
    "Καλημέρα κόσμε, τι κάνεις;",
    "مرحبا بالعالم",
    "שלום עולם",
    "नमस्ते दुनिया, आप कैसे हैं?",
    "สวัสดีชาวโลก",
    "Ünïcödé café naïve résumé Ångström façade",
    "Tiếng Việt có dấu đầy đủ",
    "Zażółć gęślą jaźń",
]
CJK_RANGES = [(0x4E00, 0x9FFF), (0x3041, 0x3096), (0x30A1, 0x30FA), (0xAC00, 0xD7A3), (0x3400, 0x4DBF)]
RARE_RANGES = [
    (0x0000, 0x001F),  # C0 controls
    (0x007F, 0x009F),  # DEL, C1
    (0x0300, 0x036F),  # combining marks
    (0x0F00, 0x0FFF),  # Tibetan
    (0x1200, 0x137F),  # Ethiopic
    (0x2800, 0x28FF),  # Braille
    (0xE000, 0xF8FF),  # private use
    (0x10000, 0x1007F),  # Linear B
    (0x1D400, 0x1D7FF),  # mathematical alphanumerics
    (0x1F300, 0x1FAFF),  # emoji blocks
    (0x20000, 0x2A6DF),  # CJK extension B
    (0xF0000, 0xF00FF),  # supplementary private use
    (0xFFF0, 0xFFFD),  # specials
]


def modality_span(rnd, kind):
    prefix, start, end, n = {
        "image": (layout.IMAGE_PREFIX, "<soim>", "<eoim>", 8192),
        "speech": (layout.SPEECH_PREFIX, "<sosp>", "<eosp>", 1024),
        "music": (layout.MUSIC_PREFIX, "<somu>", "<eomu>", 8192),
        "audio": (layout.AUDIO_PREFIX, "<soau>", "<eoau>", 4096),
    }[kind]
    return start + "".join(f"<{prefix}{rnd.randrange(n)}>" for _ in range(rnd.randint(1, 12))) + end


def corpus():
    rnd = random.Random(19)
    out = []

    def add(section, text):
        out.append({"section": section, "text": text})

    def words(n):
        return " ".join(rnd.choice(WORDS) for _ in range(n))

    def sentence():
        s = words(rnd.randint(1, 12))
        return s[:1].upper() + s[1:] + rnd.choice([".", "!", "?", ",", ":", ";", "", "...", " -", '"', "'s"])

    for _ in range(400):
        add("ascii", sentence() if rnd.random() < 0.7 else " ".join(sentence() for _ in range(rnd.randint(2, 3))))
    for w in WORDS[:60]:
        add("ascii", w)
    for _ in range(250):
        parts = []
        for _ in range(rnd.randint(1, 5)):
            parts += [rnd.choice(WHITESPACE) * rnd.randint(1, 3), words(rnd.randint(0, 3))]
        add("whitespace", "".join(parts))
    for k in range(1, 17):
        add("whitespace", " " * k)
        add("whitespace", "a" + " " * k + "b")
    for _ in range(200):
        f = rnd.choice(
            [
                lambda: str(rnd.randrange(10 ** rnd.randint(1, 12))),
                lambda: f"{rnd.uniform(-1000, 1000):.{rnd.randint(1, 6)}f}",
                lambda: f"{rnd.randrange(1, 32)}/{rnd.randrange(1, 13)}/{rnd.randrange(1900, 2100)}",
                lambda: f"{rnd.randrange(1000000):,}",
                lambda: f"+1 ({rnd.randrange(100, 999)}) {rnd.randrange(100, 999)}-{rnd.randrange(1000, 9999)}",
                lambda: f"{words(2)} {rnd.randrange(100)} {words(1)} {rnd.randrange(10**6)}",
                lambda: "".join(rnd.choice("0123456789") for _ in range(rnd.randint(1, 30))),
                lambda: f"v{rnd.randrange(10)}.{rnd.randrange(100)}.{rnd.randrange(100)}",
                lambda: "".join(chr(0xFF10 + rnd.randrange(10)) for _ in range(rnd.randint(1, 6))),  # fullwidth
                lambda: "".join(chr(0x0660 + rnd.randrange(10)) for _ in range(rnd.randint(1, 6))),  # Arabic-Indic
            ]
        )
        add("digits", f())
    for _ in range(200):
        s = "".join(chr(rnd.randint(*rnd.choice(CJK_RANGES))) for _ in range(rnd.randint(1, 16)))
        add("cjk", s if rnd.random() < 0.7 else f"{words(2)} {s}{rnd.choice(['。', '、', '！', '？', ''])}")
    for _ in range(150):
        add(
            "emoji",
            "".join(
                rnd.choice(EMOJI) + (rnd.choice([" ", "", "", words(1) + " "]) if rnd.random() < 0.5 else "")
                for _ in range(rnd.randint(1, 6))
            ),
        )
    for _ in range(200):
        s = "".join(chr(rnd.randint(*rnd.choice(RARE_RANGES))) for _ in range(rnd.randint(1, 8)))
        s = s.replace("\r", "\n")
        add("byte-fallback", s if rnd.random() < 0.5 else f"{words(1)} {s} {words(1)}")
    for _ in range(150):
        lead = rnd.choice([" ", "  ", "\n", "\n\n", " \n", "\t", "   ", "\n "]) * rnd.randint(1, 2)
        trail = rnd.choice(["", "", " ", "\n", "  "])
        add("leading", lead + rnd.choice([sentence(), rnd.choice(SENTENCES), words(1)]) + trail)
    for _ in range(150):
        s = rnd.choice(SENTENCES)
        add("scripts", s if rnd.random() < 0.3 else f"{sentence()} {s} {words(2)}")
    for s in SENTENCES:
        add("scripts", s)
    for _ in range(60):
        s = rnd.choice([SP, SP + SP, "<unk>", "<s>", "</s>", "<0x0A>", "<", ">", "</", "<s", "s>", "▁▁hello"])
        add("pieces", f"{words(rnd.randint(0, 2))}{rnd.choice(['', ' '])}{s}{rnd.choice(['', ' '])}{words(1)}")
    # AnyGPT prompts (layout.TEMPLATES): base template, chat template, modality spans, near-misses.
    for g in layout.GOLDEN_PROMPTS:
        add("anygpt", g)
    for _ in range(300):
        kind = rnd.choice(["image", "speech", "music", "audio"])
        span = modality_span(rnd, kind)
        msg = rnd.choice(
            [
                f"{rnd.choice(INSTRUCTIONS)} This is input: {sentence()}",
                f"{rnd.choice(INSTRUCTIONS)} {span}",
                f"{span} {rnd.choice(INSTRUCTIONS)}",
                f"{rnd.choice(INSTRUCTIONS)} This is input: {span}",
            ]
        )
        if rnd.random() < 0.5:
            text = layout.TEMPLATES["base"].format(message=msg)
        else:
            sysmsg = rnd.choice([layout.MMGPT_SYSTEM, layout.ANYGPT_SYSTEM])
            text = f"{sysmsg}\n[Human]: {msg}<eoh>\n[MMGPT]: {rnd.choice([sentence(), span])}<eos>\n[Human]: {sentence()}<eoh>\n[MMGPT]:"
        if rnd.random() < 0.2:
            text += rnd.choice([" ", span, "<soim>", "<sosp>", "<somu>", " <sosp>"])
        add("anygpt", text)
    for _ in range(60):
        add(
            "anygpt-edge",
            rnd.choice(
                [
                    f"<{layout.IMAGE_PREFIX}{rnd.randrange(8192, 20000)}>",  # out of range: not a token
                    f"<\U0001f5e3{rnd.randrange(1024)}>",  # 🗣 without U+FE0F: not a token
                    f"[Human{rnd.choice(['', ' ', ']'])}",
                    f"<eoh{rnd.choice(['', ' >', '>>'])}",
                    f"{rnd.choice(['<sosp>', '<eoh>', '[MMGPT]'])}{rnd.choice(['<sosp>', '<eoh>', '[MMGPT]'])}",
                    f"{rnd.choice(WHITESPACE)}{modality_span(rnd, 'speech')}{rnd.choice(WHITESPACE)}",
                    f"</s>{rnd.choice(['', ' '])}{words(2)}",
                    f"<s>{rnd.choice(['', ' '])}[Human]: {words(2)}",
                ]
            ),
        )
    return out


def strip_corpus():
    """Whitespace around the tokens that get lstrip/rstrip in the strip variants, in many combinations."""
    rnd = random.Random(1919)
    toks = list(llama_vocab.STRIP_TOKENS) + ["<eosp>", "<s>", "</s>"]
    ws = WHITESPACE + ODD_SPACES
    out = []
    for _ in range(300):
        parts = []
        for _ in range(rnd.randint(1, 4)):
            parts.append(rnd.choice(["", "", rnd.choice(WORDS), rnd.choice(WORDS) + " " + rnd.choice(WORDS)]))
            parts.append(rnd.choice(ws) * rnd.randint(0, 2))
            parts.append(rnd.choice(toks))
            parts.append(rnd.choice(ws) * rnd.randint(0, 2))
        out.append({"section": "strip", "text": "".join(parts)})
    for t in llama_vocab.STRIP_TOKENS:
        for w in ODD_SPACES + [" ", "  ", "\n", "\t"]:
            out.append({"section": "strip", "text": f"x{w}{t}{w}y"})
            out.append({"section": "strip", "text": f"{w}{t}{w}"})
    return out


def llama_js_ids(strings):
    with tempfile.TemporaryDirectory() as d:
        src, dst = os.path.join(d, "in.json"), os.path.join(d, "out.json")
        with open(src, "w", encoding="utf-8") as f:
            json.dump(strings, f, ensure_ascii=False)
        subprocess.run(
            ["node", os.path.join(HERE, "llama_js_dump.mjs"), "--encode", src, "--ids", dst], check=True, cwd=ROOT
        )
        with open(dst, encoding="utf-8") as f:
            return json.load(f)


def main():
    with tempfile.TemporaryDirectory() as d:
        dump = llama_vocab.dump_llama_js(os.path.join(d, "llama.json"))
        ck = os.path.join(d, "ck")
        added = llama_vocab.write_checkpoint_tokenizer(ck, llama_vocab.pieces_from_dump(dump), layout.added_tokens())
        model = os.path.join(ck, "tokenizer.model")
        refs = {
            "legacy": SlowReference(model, added, legacy=True),
            "nonlegacy": SlowReference(model, added, legacy=False),
        }
        strip_refs = {
            "legacy": SlowReference(model, added, legacy=True, strip=llama_vocab.STRIP_TOKENS),
            "nonlegacy": SlowReference(model, added, legacy=False, strip=llama_vocab.STRIP_TOKENS),
        }
        cases = corpus()
        for c in cases:
            for mode, ref in refs.items():
                c[mode] = ref.encode(c["text"])
        strip_cases = strip_corpus()
        for c in strip_cases:
            for mode, ref in strip_refs.items():
                c[mode] = ref.encode(c["text"])

        # The rebuilt model vs llama-tokenizer-js on every string that holds no added-token text.
        plain = [c for c in cases if c["text"] and len(refs["legacy"].split(c["text"])) == 1]
        plain = [c for c in plain if c["text"] not in refs["legacy"].added]
        js = llama_js_ids([c["text"] for c in plain])
        differ = [(c["text"], c["legacy"], j) for c, j in zip(plain, js) if c["legacy"] != j]
        for c in plain:
            c["plain"] = True
        for text, ours, theirs in differ[:20]:
            print(f"  sentencepiece {ours} != llama-tokenizer-js {theirs} for {text!r}", file=sys.stderr)
        if differ:
            raise SystemExit(
                f"{len(differ)} of {len(plain)} strings differ between sentencepiece and llama-tokenizer-js"
            )
        print(f"sentencepiece == llama-tokenizer-js on all {len(plain)} strings without added tokens")

        # Our own restatement (tools/convert/spm.py, which makes the fake checkpoints' goldens) must agree too.
        model_dict = spm.read_model(model)
        base = [
            {"content": t, "id": i, "lstrip": False, "rstrip": False, "special": True} for i, t in enumerate(SPECIAL)
        ]
        for strip, group in ((None, cases), (llama_vocab.STRIP_TOKENS, strip_cases)):
            entries = base + [
                {"content": t, "id": i, "lstrip": False, "rstrip": False, "special": False} for t, i in added.items()
            ]
            for e in entries:
                e["lstrip"], e["rstrip"] = (strip or {}).get(e["content"], (False, False))
            for mode, legacy in (("legacy", True), ("nonlegacy", False)):
                ours = spm.SlowLlamaTokenizer(model_dict, entries, legacy=legacy)
                bad = [c["text"] for c in group if ours.encode(c["text"]) != c[mode]]
                if bad:
                    raise SystemExit(f"tools/convert/spm.py differs from sentencepiece ({mode}) on {bad[:5]}")
        print("tools/convert/spm.py (our restatement) == sentencepiece on every string, both modes")

    # Non-legacy ids are stored only where they differ from legacy ones (most strings), to keep the file small.
    for c in cases + strip_cases:
        if c["nonlegacy"] == c["legacy"]:
            c["nonlegacy"] = None
    doc = {
        "about": "Reference ids (BOS included) of the slow transformers 4.34.1 LlamaTokenizer on LLaMA-2's vocabulary, "
        "from the sentencepiece library; nonlegacy null = same as legacy; plain = no added-token text, and "
        "llama-tokenizer-js gave the same ids",
        "regenerate": "/usr/bin/python3 tools/convert/llama_goldens.py",
        "sentencepiece": sentencepiece.__version__,
        "vocabulary": dump["package"],
        "stripTokens": {t: {"lstrip": ls, "rstrip": rs} for t, (ls, rs) in llama_vocab.STRIP_TOKENS.items()},
        "checkedAgainstLlamaTokenizerJs": len(plain),
        "cases": cases,
        "strip": strip_cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w", encoding="utf-8") as f:
        f.write("{\n")
        items = list(doc.items())
        for k, (key, v) in enumerate(items):
            sep = "," if k < len(items) - 1 else ""
            if isinstance(v, list):
                rows = ",\n".join("  " + json.dumps(x, ensure_ascii=False, separators=(",", ":")) for x in v)
                f.write(f"{json.dumps(key)}: [\n{rows}\n]{sep}\n")
            else:
                f.write(f"{json.dumps(key)}: {json.dumps(v, ensure_ascii=False)}{sep}\n")
        f.write("}\n")
    n_non = sum(1 for c in cases + strip_cases if c["nonlegacy"] is not None)
    print(f"{OUT}: {len(cases)} corpus strings + {len(strip_cases)} strip strings ({n_non} differ in non-legacy mode)")


if __name__ == "__main__":
    main()
