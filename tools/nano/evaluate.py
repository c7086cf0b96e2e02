"""Python-side scorecard of AnyGPT-nano on held-out prompts (torch, greedy with the engine's modality constraints),
and the held-out evaluation fixtures for the TypeScript scorecard (test/fixtures/nano-eval/).

python3 evaluate.py [--n N] [--fixtures] [--quick img,music,asr]   (NANO_LM=... picks a checkpoint)
"""

import json, os, struct, sys, wave, zlib
import numpy as np, torch
import world, image_codec, audio_codec, lm

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("NANO_FIXTURES", os.path.join(ROOT, "test", "fixtures"))  # as export.py


class Nano:
    def __init__(self):
        sd = torch.load(os.environ.get("NANO_LM", os.path.join(world.WORK, "lm.pt")))
        self.tok = lm.tokenizer_for(sd)
        self.model = lm.LM(len(self.tok))
        self.model.load_state_dict(sd)
        self.model.eval()
        self.media = lm.Media()
        self.icb = torch.load(os.path.join(world.WORK, "image_codec.pt"))
        ac = torch.load(os.path.join(world.WORK, "audio_codec.pt"))
        self.sp_enc, self.sp_dec = audio_codec.Encoder(ac["speech"]), audio_codec.Decoder(ac["speech"])
        self.mu_enc, self.mu_dec = audio_codec.Encoder(ac["music"]), audio_codec.Decoder(ac["music"])
        t = self.tok
        self.blk = {
            m: (t.blocks[m], t.blocks[m] + k) for m, k in [("image", image_codec.K), ("speech", 256), ("music", 512)]
        }
        self.stop = {t.id["</s>"], t.id["<eos>"], t.id["<eom>"]}

    @torch.no_grad()
    def generate(self, prompt, max_new=120):
        """Greedy + constraints: 16 image ids inside <soim>, speech ids/<eosp> inside <sosp>, alternating codebooks inside <somu>."""
        t, m = self.tok, self.model
        ids = [t.id["<s>"]] + t.encode(prompt)
        past, out, x, n, mode, count = m.empty_past(), [], torch.tensor([ids]), len(ids), None, 0
        for _ in range(max_new):
            logits, past = m(x, torch.ones(1, n, dtype=torch.long), torch.arange(n - x.shape[1], n)[None], past)
            lg = logits[0, -1]
            if mode:
                allow = torch.zeros_like(lg, dtype=torch.bool)
                a, b = self.blk[mode]
                if mode == "image":
                    if count < image_codec.TOKENS:
                        allow[a:b] = True
                    else:
                        allow[t.id["<eoim>"]] = True
                elif mode == "speech":
                    allow[a:b] = True
                    allow[t.id["<eosp>"]] = count > 0
                else:
                    q = count % 2
                    allow[a + 256 * q : a + 256 * (q + 1)] = True
                    allow[t.id["<eomu>"]] = q == 0 and count > 0
                lg = lg.masked_fill(~allow, -1e9)
            tk = int(lg.argmax())
            out.append(tk)
            count += 1
            start = {t.id["<soim>"]: "image", t.id["<sosp>"]: "speech", t.id["<somu>"]: "music"}
            if tk in start:
                mode, count = start[tk], 0
            elif tk in (t.id["<eoim>"], t.id["<eosp>"], t.id["<eomu>"]):
                mode = None
            if tk in self.stop:
                break
            x, n = torch.tensor([[tk]]), n + 1
        return out

    def span(self, out, mod):
        a, b = self.blk[mod]
        return [i - a for i in out if a <= i < b]

    def text(self, out):
        return self.tok.decode([i for i in out if i < self.tok.n_text]).strip()

    def image(self, codes):
        codes = (codes + [0] * image_codec.TOKENS)[: image_codec.TOKENS]
        return image_codec.Decoder(self.icb)(torch.tensor([codes]))[0].numpy()

    def speech_wave(self, codes):
        return self.sp_dec(torch.tensor(codes)[None, None])[0, 0].numpy()

    def music_wave(self, flat):
        f = len(flat) // 2
        c = torch.tensor([flat[0 : 2 * f : 2], [v - 256 for v in flat[1 : 2 * f : 2]]])
        return self.mu_dec(c[:, None].clamp(0, 255))[0, 0].numpy()


REFS = None


def classify_image(img):
    """Nearest rendered single-object scene (MSE) -> (shape, colour, size, pos)."""
    global REFS
    if REFS is None:
        REFS = np.stack([world.render([o]) for o in world.ALL_OBJECTS]).astype(np.float32)
    return world.ALL_OBJECTS[int(((REFS - img[None]) ** 2).mean((1, 2, 3)).argmin())]


def word_acc(hyp, ref):
    h, r = hyp.replace(".", "").split(), ref.split()
    d = np.arange(len(h) + 1)
    for i, rw in enumerate(r, 1):
        prev, d[0] = d.copy(), i
        for j, hw in enumerate(h, 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (rw != hw))
    return max(0.0, 1 - d[len(h)] / len(r))


def mfcc(y, n_mels=26, n_ceps=13):
    y = np.asarray(y, np.float64)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y, 200), 400)[::160] * np.hanning(400)
    spec = np.abs(np.fft.rfft(frames, 512)) ** 2
    mel = lambda f: 2595 * np.log10(1 + f / 700)
    pts = 700 * (10 ** (np.linspace(mel(50), mel(8000), n_mels + 2) / 2595) - 1)
    bins = np.floor(pts / 8000 * 256).astype(int)
    fb = np.zeros((n_mels, 257))
    for i in range(n_mels):
        a, b, c = bins[i], bins[i + 1], bins[i + 2]
        fb[i, a:b] = (np.arange(a, b) - a) / max(b - a, 1)
        fb[i, b:c] = (c - np.arange(b, c)) / max(c - b, 1)
    logmel = np.log(spec @ fb.T + 1e-8)
    k = np.arange(n_mels)
    dct = np.cos(np.pi / n_mels * (k[None, :] + 0.5) * np.arange(n_ceps)[:, None])
    return logmel @ dct.T


def dtw(a, b):
    d = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    acc = np.full((len(a) + 1, len(b) + 1), np.inf)
    acc[0, 0] = 0
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            acc[i, j] = d[i - 1, j - 1] + min(acc[i - 1, j], acc[i, j - 1], acc[i - 1, j - 1])
    return acc[-1, -1] / (len(a) + len(b))


def fft_pitches(y, n=1):
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y)), 8 * len(y)))
    f = np.fft.rfftfreq(8 * len(y), 1 / world.SR)
    return spec, f


def note_ok(y, item):
    spec, f = fft_pitches(y)
    band = (f > 200) & (f < 1100)
    peak = f[band][spec[band].argmax()]
    return abs(1200 * np.log2(peak / world.hz(world.music_pitches(item)[0]))) < 50


def chord_ok(y, item):
    spec, f = fft_pitches(y)
    chroma = np.zeros(12)
    for m in range(48, 96):  # energy near each semitone, folded to pitch classes
        band = np.abs(1200 * np.log2(np.maximum(f, 1) / world.hz(m))) < 30
        chroma[m % 12] += spec[band].max() ** 2 if band.any() else 0
    return set(np.argsort(chroma)[-3:]) == {p % 12 for p in world.music_pitches(item)}


def run(n_cap=40):
    nano, I, R = Nano(), lm.INSTRUCTIONS, {}
    for split, objs in [
        ("held-out", sorted(world.HELDOUT_OBJECTS)[:n_cap]),
        ("trained", world.TRAIN_OBJECTS[::9][:n_cap]),
    ]:
        ok = [
            classify_image(
                nano.image(nano.span(nano.generate(lm.base_prompt("t2i", I["t2i"][0], world.caption([o]))), "image"))
            )
            for o in objs
        ]
        R[f"t2i {split} colour+shape+position"] = np.mean(
            [(g[0], g[1], g[3]) == (o[0], o[1], o[3]) for g, o in zip(ok, objs)]
        )
        R[f"t2i {split} colour right"] = np.mean([g[1] == o[1] for g, o in zip(ok, objs)])
        caps = [
            nano.text(
                nano.generate(lm.base_prompt("caption", I["caption"][0], lm.media_str("image", nano.media.image([o]))))
            )
            for o in objs
        ]
        R[f"caption {split} exact"] = np.mean(
            [c == world.caption([o]) + "." or c == world.caption([o]) for c, o in zip(caps, objs)]
        )
    train_clips = nano.media.speech["train"][:n_cap]
    hyps = [
        nano.text(nano.generate(lm.base_prompt("asr", I["asr"][0], lm.media_str("speech", c))))
        for c in nano.media.sp_codes["train"][:n_cap]
    ]
    R["asr training clips word acc"] = np.mean([word_acc(h, c[0]) for h, c in zip(hyps, train_clips)])
    for key, name in [("eval_seen", "asr seen voices"), ("eval_heldout", "asr held-out voice")]:
        clips = nano.media.speech[key][:n_cap]
        hyps = [
            nano.text(nano.generate(lm.base_prompt("asr", I["asr"][0], lm.media_str("speech", c))))
            for c in nano.media.sp_codes[key][:n_cap]
        ]
        R[name + " word acc"] = np.mean([word_acc(h, c[0]) for h, c in zip(hyps, clips)])
    refs = nano.media.speech["eval_tts"][:n_cap]
    accs, wins, rank1 = [], [], []
    ref_m = [mfcc(r[-1]) for r in refs]
    for i, r in enumerate(refs):
        codes = nano.span(nano.generate(lm.base_prompt("tts", I["tts"][0], r[0])), "speech")
        if not codes:
            accs.append(0)
            wins.append(0)
            rank1.append(0)
            continue
        y = nano.speech_wave(codes)
        back = nano.sp_enc(torch.tensor(y)[None, None])[0, 0].tolist()
        accs.append(
            word_acc(nano.text(nano.generate(lm.base_prompt("asr", I["asr"][0], lm.media_str("speech", back)))), r[0])
        )
        d = [dtw(mfcc(y), m) for m in ref_m]
        wins.append(np.mean([d[i] < d[j] for j in range(len(d)) if j != i]))
        rank1.append(int(np.argmin(d) == i))
    R["tts round-trip word acc"] = np.mean(accs)
    R["tts MFCC-DTW closer than other texts (pairwise)"] = np.mean(wins)
    R["tts MFCC-DTW nearest reference is own text"] = np.mean(rank1)
    for split, items in [("held-out", sorted(world.HELDOUT_MUSIC)), ("trained", world.TRAIN_MUSIC[::4])]:
        res = {"note": [], "chord": []}
        for it in items:
            y = nano.music_wave(
                nano.span(nano.generate(lm.base_prompt("t2m", I["t2m"][0], world.music_caption(it))), "music")
            )
            res[it[0]].append(note_ok(y, it) if it[0] == "note" else chord_ok(y, it))
        R[f"t2m {split} notes within 50 cents"] = np.mean(res["note"])
        R[f"t2m {split} chords all 3 pitch classes"] = np.mean(res["chord"])
    rng = np.random.RandomState(7)
    m2t = []
    for it in sorted(world.HELDOUT_MUSIC):
        for _ in range(3):
            codes = lm.music_flat(
                nano.mu_enc(torch.tensor(world.synth(it, rng.uniform(0.5, 2.0), rng.uniform(0.3, 0.7)))[None, None])[
                    :, 0
                ]
            )
            m2t.append(
                nano.text(nano.generate(lm.base_prompt("m2t", I["m2t"][0], lm.media_str("music", codes))))
                == world.music_caption(it)
            )
    R["m2t held-out exact"] = np.mean(m2t)
    R["m2t trained (training clips) exact"] = np.mean(
        [
            nano.text(nano.generate(lm.base_prompt("m2t", I["m2t"][0], lm.media_str("music", c))))
            == world.music_caption(it)
            for it, c in nano.media.m2t[::12][:n_cap]
        ]
    )
    edits = []
    for o, colour in chat_edit_cases()[:n_cap]:
        first = f"Draw a {o[1]} {o[0]}." if (o[2], o[3]) == ("big", "center") else f"Draw {world.caption([o])}."
        out1 = nano.generate(lm.chat_prompt([], first))
        reply1 = lm.media_str("image", nano.span(out1, "image"))
        out2 = nano.generate(lm.chat_prompt([(first, reply1)], f"Now make it {colour}."))
        edits.append(classify_image(nano.image(nano.span(out2, "image"))) == (o[0], colour, o[2], o[3]))
    R["chat two-turn colour edit"] = np.mean(edits)
    return R


def quick(n=16, rows=("img", "music", "asr")):
    """The held-out rows checked at the end of each training stage (NANO_LM=work/lm_<stage>.pt): text→image over the
    first n held-out scenes (all of colour, shape, position; and each), image→text exact on the same scenes, music
    (9 held-out items), ASR on the first n clips of each evaluation voice set. Greedy, in torch."""
    nano, I, R = Nano(), lm.INSTRUCTIONS, {}
    if "img" in rows:
        objs = sorted(world.HELDOUT_OBJECTS)[:n]
        got = [
            classify_image(
                nano.image(nano.span(nano.generate(lm.base_prompt("t2i", I["t2i"][0], world.caption([o]))), "image"))
            )
            for o in objs
        ]
        R["t2i held-out colour+shape+position"] = np.mean(
            [(g[0], g[1], g[3]) == (o[0], o[1], o[3]) for g, o in zip(got, objs)]
        )
        for k, name in enumerate(["shape", "colour", "size", "position"]):
            R[f"t2i held-out {name}"] = np.mean([g[k] == o[k] for g, o in zip(got, objs)])
        caps = [
            nano.text(
                nano.generate(lm.base_prompt("caption", I["caption"][0], lm.media_str("image", nano.media.image([o]))))
            )
            for o in objs
        ]
        R["caption held-out exact"] = np.mean([c.rstrip(".") == world.caption([o]) for c, o in zip(caps, objs)])
    if "music" in rows:
        res = {"note": [], "chord": []}
        for it in sorted(world.HELDOUT_MUSIC):
            codes = nano.span(nano.generate(lm.base_prompt("t2m", I["t2m"][0], world.music_caption(it))), "music")
            y = nano.music_wave(codes) if len(codes) >= 4 else None
            res[it[0]].append(y is not None and (note_ok(y, it) if it[0] == "note" else chord_ok(y, it)))
        R["t2m held-out notes"], R["t2m held-out chords"] = np.mean(res["note"]), np.mean(res["chord"])
        rng = np.random.RandomState(7)
        m2t = []
        for it in sorted(world.HELDOUT_MUSIC):
            codes = lm.music_flat(
                nano.mu_enc(torch.tensor(world.synth(it, rng.uniform(0.5, 2.0), rng.uniform(0.3, 0.7)))[None, None])[
                    :, 0
                ]
            )
            m2t.append(
                nano.text(nano.generate(lm.base_prompt("m2t", I["m2t"][0], lm.media_str("music", codes))))
                == world.music_caption(it)
            )
        R["m2t held-out exact"] = np.mean(m2t)
    if "asr" in rows:
        for key in ("eval_seen", "eval_heldout"):
            clips = nano.media.speech[key][:n]
            hyps = [
                nano.text(nano.generate(lm.base_prompt("asr", I["asr"][0], lm.media_str("speech", c))))
                for c in nano.media.sp_codes[key][:n]
            ]
            R[f"asr {key[5:]} word acc"] = np.mean([word_acc(h, c[0]) for h, c in zip(hyps, clips)])
    return R


def chat_edit_cases():
    rng = np.random.RandomState(world.SEED + 9)
    cases = []
    for o in world.ALL_OBJECTS[::4]:
        cases.append((o, [c for c in world.COLOURS if c != o[1]][rng.randint(7)]))
    return cases


# ---------------------------------------------------------------- fixtures for the TS scorecard
def png(path, rgb):
    h, w, _ = rgb.shape
    raw = b"".join(b"\x00" + rgb[y].tobytes() for y in range(h))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    with open(path, "wb") as f:
        f.write(
            b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b"")
        )


def wav(path, y, sr=world.SR):
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(sr)
        f.writeframes((np.clip(y, -1, 1) * 32767).astype("<i2").tobytes())


def fixtures():
    out = os.path.join(FIXTURES, "nano-eval")
    os.makedirs(out, exist_ok=True)
    sp = np.load(os.path.join(world.WORK, "speech.npy"), allow_pickle=True).item()
    I = lm.INSTRUCTIONS
    obj = lambda o: {"shape": o[0], "colour": o[1], "size": o[2], "position": o[3]}
    spec = {
        "note": "Held-out evaluation set of AnyGPT-nano (never seen by the LM in training). Generated by tools/nano/evaluate.py --fixtures.",
        "palette": world.COLOURS,
        "positions": {k: list(v) for k, v in world.POSITIONS.items()},
        "sizes": world.SIZES,
        "imageSize": world.IMG,
        "sampleRate": world.SR,
        "instructions": {k: v[0] for k, v in I.items()},
        "cases": {},
    }
    c = spec["cases"]
    c["t2i"] = [
        {
            "text": world.caption([o]),
            "prompt": lm.base_prompt("t2i", I["t2i"][0], world.caption([o])),
            "expected": obj(o),
        }
        for o in sorted(world.HELDOUT_OBJECTS)
    ]
    c["caption"] = []
    for i, o in enumerate(sorted(world.HELDOUT_OBJECTS)):
        png(os.path.join(out, f"image_{i:02d}.png"), world.render([o]))
        c["caption"].append({"image": f"image_{i:02d}.png", "expected": world.caption([o]), "attributes": obj(o)})
    for key, n in [("eval_seen", 20), ("eval_heldout", 20)]:
        c["asr_" + key[5:]] = []
        for i, (text, voice, speed, pitch, y) in enumerate(sp[key][:n]):
            name = f"speech_{key[5:]}_{i:02d}.wav"
            wav(os.path.join(out, name), y)
            c["asr_" + key[5:]].append(
                {"audio": name, "expected": text, "voice": voice, "speed": speed, "pitch": pitch}
            )
    c["tts"] = []
    for i, (text, voice, speed, pitch, y) in enumerate(sp["eval_tts"][:16]):
        name = f"tts_ref_{i:02d}.wav"
        wav(os.path.join(out, name), y)
        c["tts"].append(
            {"text": text, "prompt": lm.base_prompt("tts", I["tts"][0], text), "espeakReference": name, "voice": voice}
        )
    c["t2m"], c["m2t"] = [], []
    rng = np.random.RandomState(7)
    for i, it in enumerate(sorted(world.HELDOUT_MUSIC)):
        gt = {
            "kind": it[0],
            "name": it[1],
            "timbre": it[2],
            "midi": world.music_pitches(it),
            "hz": [round(world.hz(m), 2) for m in world.music_pitches(it)],
        }
        c["t2m"].append(
            {
                "text": world.music_caption(it),
                "prompt": lm.base_prompt("t2m", I["t2m"][0], world.music_caption(it)),
                "expected": gt,
            }
        )
        name = f"music_{i:02d}.wav"
        wav(os.path.join(out, name), world.synth(it, rng.uniform(0.5, 2.0), rng.uniform(0.3, 0.7)))
        c["m2t"].append({"audio": name, "expected": world.music_caption(it), "attributes": gt})
    c["chat_edit"] = []
    for o, colour in chat_edit_cases():
        first = f"Draw a {o[1]} {o[0]}." if (o[2], o[3]) == ("big", "center") else f"Draw {world.caption([o])}."
        c["chat_edit"].append(
            {
                "turns": [first, f"Now make it {colour}."],
                "template": "mmgpt",
                "expectedFirst": obj(o),
                "expected": obj((o[0], colour, o[2], o[3])),
            }
        )
    c["chat_image_question"] = [
        {"image": f"image_{i:02d}.png", "question": q, "expected": lm.answer(o, k)}
        for i, o in enumerate(sorted(world.HELDOUT_OBJECTS))
        for k, q in list(lm.QUESTIONS.items())[:2]
    ]
    with open(os.path.join(FIXTURES, "nano-eval.json"), "w", encoding="utf-8") as f:
        json.dump(spec, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    torch.set_num_threads(int(os.environ.get("NANO_THREADS", "2")))
    n = int(sys.argv[sys.argv.index("--n") + 1]) if "--n" in sys.argv else None
    if "--fixtures" in sys.argv:
        fixtures()
    else:
        rows = sys.argv[sys.argv.index("--quick") + 1].split(",") if "--quick" in sys.argv else None
        for k, v in (quick(n or 16, rows) if rows else run(n or 40)).items():
            print(f"{k:50s} {100 * v:5.1f} %")
