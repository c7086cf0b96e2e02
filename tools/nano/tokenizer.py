"""The unified vocabulary and a Hugging Face tokenizer.json for it (WordPiece over whitespace-split words).

Layout: <unk> <s> </s> | text words and ## pieces | [Human] [MMGPT] <eoh> <eos> | <👀0..> <soim> <eoim> |
<🗣️0..> <sosp> <eosp> | <🎶0..> <somu> <eomu> | [AnyGPT] <eom>.
`encode` here reproduces what @huggingface/tokenizers does with the written file (checked by tools/nano/check_tokenizer.mjs).
"""

import json, re, string

ROLE = ["[Human]", "[MMGPT]", "<eoh>", "<eos>"]
EXTRA = ["[AnyGPT]", "<eom>"]
IMAGE = ("👀", "<soim>", "<eoim>")
SPEECH = ("🗣\ufe0f", "<sosp>", "<eosp>")
MUSIC = ("🎶", "<somu>", "<eomu>")
PUNCT = ".,?!:;'\"-"


class Tokenizer:
    def __init__(self, corpus, image_k, speech_k, music_k):
        words = set()
        for text in corpus:
            for w in text.split():
                core = w.rstrip(PUNCT)
                if core:
                    words.add(core)
        chars = [c for c in string.printable if not c.isspace()]
        text_vocab = sorted(words) + [c for c in chars if c not in words] + ["##" + c for c in chars]
        self.tokens = ["<unk>", "<s>", "</s>"] + text_vocab + ROLE
        self.blocks = {}
        for name, (prefix, start, end), k in [
            ("image", IMAGE, image_k),
            ("speech", SPEECH, speech_k),
            ("music", MUSIC, music_k),
        ]:
            self.blocks[name] = len(self.tokens)
            self.tokens += [f"<{prefix}{i}>" for i in range(k)] + [start, end]
        self.tokens += EXTRA
        self.id = {t: i for i, t in enumerate(self.tokens)}
        self.n_text = 3 + len(text_vocab)
        self.added = ["<unk>", "<s>", "</s>"] + self.tokens[self.n_text :]
        self._split = re.compile("(" + "|".join(re.escape(t) for t in sorted(self.added, key=len, reverse=True)) + ")")

    def __len__(self):
        return len(self.tokens)

    def _wordpiece(self, word):
        out, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                sub = ("##" if start else "") + word[start:end]
                if sub in self.id:
                    break
                end -= 1
            if end == start:
                return [self.id["<unk>"]]
            out.append(self.id[sub])
            start = end
        return out

    def encode(self, text):
        ids = []
        for i, part in enumerate(self._split.split(text)):
            if i % 2:
                ids.append(self.id[part])
            else:
                for w in part.split():
                    ids += self._wordpiece(w)
        return ids

    def decode(self, ids):
        out = ""
        for k, i in enumerate(ids):
            t = self.tokens[i]
            out += t[2:] if t.startswith("##") and k else ("" if k == 0 else " ") + t
        return out

    def to_json(self):
        special = {"<unk>", "<s>", "</s>"}
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [
                {
                    "id": self.id[t],
                    "content": t,
                    "single_word": False,
                    "lstrip": False,
                    "rstrip": False,
                    "normalized": False,
                    "special": t in special,
                }
                for t in self.added
            ],
            "normalizer": None,
            "pre_tokenizer": {"type": "WhitespaceSplit"},
            "post_processor": None,
            "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
            "model": {
                "type": "WordPiece",
                "unk_token": "<unk>",
                "continuing_subword_prefix": "##",
                "max_input_chars_per_word": 100,
                "vocab": {t: i for i, t in enumerate(self.tokens)},
            },
        }

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_json(), f, ensure_ascii=False, indent=1)
