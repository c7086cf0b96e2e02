"""The synthetic world of AnyGPT-nano: shapes, notes/chords and espeak-ng phrases, with held-out splits.

Everything is deterministic given SEED. Renders images and music in numpy; speech comes from espeak-ng + sox.
Run as a script to synthesise the speech clips into work/speech.npz (the other media are rendered on demand).
"""

import itertools, multiprocessing, os, subprocess, sys, tempfile, wave
import numpy as np

SEED = 1234
WORK = os.environ.get("NANO_WORK", os.path.join(os.path.dirname(os.path.abspath(__file__)), "work"))
SR = 16000  # speech and music sample rate

# ---------------------------------------------------------------- images
SHAPES = ["circle", "square", "triangle", "cross"]
COLOURS = {
    "red": (230, 30, 30),
    "green": (30, 190, 40),
    "blue": (40, 70, 245),
    "yellow": (240, 230, 30),
    "purple": (150, 40, 200),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "cyan": (30, 220, 230),
}
SIZES = {"small": 4.0, "big": 7.0}
POSITIONS = {"left": (8, 16), "right": (24, 16), "top": (16, 8), "bottom": (16, 24), "center": (16, 16)}
POS_PHRASE = {
    "left": "on the left",
    "right": "on the right",
    "top": "at the top",
    "bottom": "at the bottom",
    "center": "in the center",
}
IMG = 32


def shape_mask(shape, r, cx, cy, ss=4):
    """Anti-aliased coverage in [0,1] of one shape of radius r at (cx, cy) on the 32x32 grid."""
    g = (np.arange(IMG * ss) + 0.5) / ss
    x, y = np.meshgrid(g - cx, g - cy)
    if shape == "circle":
        m = x * x + y * y <= r * r
    elif shape == "square":
        m = (abs(x) <= 0.85 * r) & (abs(y) <= 0.85 * r)
    elif shape == "triangle":  # pointing up
        m = (y >= -r) & (y <= 0.8 * r) & (abs(x) <= (y + r) / 1.8 * 0.62)
    else:  # cross (plus sign)
        w = max(r / 3, 1.2)
        m = ((abs(x) <= w) & (abs(y) <= r)) | ((abs(y) <= w) & (abs(x) <= r))
    return m.reshape(IMG, ss, IMG, ss).mean((1, 3))


def render(scene):
    """scene: list of (shape, colour, size, pos) -> uint8 [32,32,3] on black."""
    img = np.zeros((IMG, IMG, 3), np.float32)
    for shape, colour, size, pos in scene:
        r = SIZES[size] if isinstance(size, str) else size
        cx, cy = POSITIONS[pos] if isinstance(pos, str) else pos
        a = shape_mask(shape, r, cx, cy)[..., None]
        img = img * (1 - a) + a * np.array(COLOURS[colour] if isinstance(colour, str) else colour, np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def caption(scene):
    parts = [f"a {size} {colour} {shape} {POS_PHRASE[pos]}" for shape, colour, size, pos in scene]
    return " and ".join(parts)


ALL_OBJECTS = list(itertools.product(SHAPES, COLOURS, SIZES, POSITIONS))  # 320 single-shape scenes
_r = np.random.RandomState(SEED)
HELDOUT_OBJECTS = set(ALL_OBJECTS[i] for i in _r.choice(len(ALL_OBJECTS), 32, replace=False))
TRAIN_OBJECTS = [o for o in ALL_OBJECTS if o not in HELDOUT_OBJECTS]


def two_shape_scene(rng, train=True):
    """Two shapes on opposite sides (left/right or top/bottom)."""
    pair = [("left", "right"), ("top", "bottom")][rng.randint(2)]
    while True:
        objs = [(SHAPES[rng.randint(4)], list(COLOURS)[rng.randint(8)], list(SIZES)[rng.randint(2)], p) for p in pair]
        if (all(o not in HELDOUT_OBJECTS for o in objs)) == train:
            return objs


# ---------------------------------------------------------------- music
NOTE_NAMES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
NOTES = [f"{n}{o}" for o in (4, 5) for n in NOTE_NAMES]  # C4..B5, midi 60..83
TIMBRES = {"flute": [1.0, 0.12, 0.04], "organ": [1.0, 0.7, 0.55, 0.4, 0.35, 0.25, 0.2, 0.15]}
ARTICLE = {"flute": "a flute", "organ": "an organ"}
CHORD_ROOTS = ["C", "D", "E", "F", "G", "A", "B"]
CHORDS = {"major": [0, 4, 7], "minor": [0, 3, 7]}


def midi(note):
    return 60 + 12 * (int(note[-1]) - 4) + NOTE_NAMES.index(note[:-1])


def hz(m):
    return 440.0 * 2 ** ((m - 69) / 12)


def music_items():
    """All (kind, name, timbre) items; kind 'note' (name 'A4') or 'chord' (name 'C major')."""
    notes = [("note", n, t) for t in TIMBRES for n in NOTES]
    chords = [("chord", f"{r} {q}", t) for t in TIMBRES for r in CHORD_ROOTS for q in CHORDS]
    return notes + chords


def music_caption(item):
    kind, name, timbre = item
    return (
        f"{ARTICLE[timbre]} playing the note {name}" if kind == "note" else f"{ARTICLE[timbre]} playing a {name} chord"
    )


def music_pitches(item):
    kind, name, _ = item
    if kind == "note":
        return [midi(name)]
    root, q = name.split()
    return [midi(root + "4") + k for k in CHORDS[q]]


def synth(item, dur=1.0, amp=0.5):
    t = np.arange(int(dur * SR)) / SR
    y = np.zeros_like(t)
    for m in music_pitches(item):
        for h, a in enumerate(TIMBRES[item[2]], 1):
            if h * hz(m) < SR / 2 - 500:
                y += a * np.sin(2 * np.pi * h * hz(m) * t)
    env = np.minimum(1, np.minimum(t / 0.02, (dur - t) / 0.05))
    y *= env
    return (amp * y / np.abs(y).max()).astype(np.float32)


# Held out: 6 (note, timbre) and 3 (chord, timbre) combinations. Each is a combination, never a whole note or chord:
# its name is heard in training with the other timbre, and the timbre with other names. (A draw over all 76 items
# once held out both G#4 items, so "G#4" was a name the LM could never have learnt.)
_r = np.random.RandomState(SEED + 1)
_chords = [f"{r} {q}" for r in CHORD_ROOTS for q in CHORDS]
HELDOUT_MUSIC = set(
    ("note", NOTES[i], list(TIMBRES)[_r.randint(2)]) for i in _r.choice(len(NOTES), 6, replace=False)
) | set(("chord", _chords[i], list(TIMBRES)[_r.randint(2)]) for i in _r.choice(len(_chords), 3, replace=False))
TRAIN_MUSIC = [i for i in music_items() if i not in HELDOUT_MUSIC]

# ---------------------------------------------------------------- speech
DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
SPEECH_WORDS = DIGITS + list(COLOURS) + SHAPES + ["hello", "goodbye", "yes", "no"]
TRAIN_VOICES = [
    "en-us",
    "en-gb",
    "en-us+f3",
    "en-gb-x-rp+m2",
    "en-029+f4",
    "en-gb-scotland",
    "en-us+m7",
    "en-us-nyc+f1",
]
HELDOUT_VOICE = "en-us+f2"
TTS_VOICE = "en-us"  # the single canonical voice TTS learns (no voice cloning in nano)


def phrase(rng):
    return " ".join(SPEECH_WORDS[rng.randint(len(SPEECH_WORDS))] for _ in range(rng.randint(1, 5)))


def espeak(text, voice, speed=160, pitch=50):
    """espeak-ng -> sox (16 kHz mono, trimmed silence, -3 dB) -> float32 numpy."""
    with tempfile.TemporaryDirectory() as d:
        a, b = os.path.join(d, "a.wav"), os.path.join(d, "b.wav")
        subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", a, text], check=True)
        # -R: sox dithers the 16-bit output with a seeded generator (by default each run draws other noise, ±2 LSB)
        subprocess.run(
            [
                "sox",
                "-R",
                a,
                "-r",
                str(SR),
                "-c",
                "1",
                "-b",
                "16",
                b,
                "silence",
                "1",
                "0.02",
                "0.5%",
                "reverse",
                "silence",
                "1",
                "0.02",
                "0.5%",
                "reverse",
                "norm",
                "-3",
                "pad",
                "0.04",
                "0.04",
            ],
            check=True,
        )
        raw = open(b, "rb").read()
    return np.frombuffer(raw[44:], np.int16).astype(np.float32) / 32768


def write_wav(path, y):
    """16-bit mono WAV at SR; exact for espeak()'s samples (k / 32768)."""
    y = np.round(y * 32768).clip(-32768, 32767).astype("<i2")
    with wave.open(path, "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(SR)
        f.writeframes(y.tobytes())


def phrases_apart(seed, n, held, voices, prosody):
    """n (phrase, voice, speed, pitch) from a generator of their own, never a phrase in `held`; the voices in turn,
    with random speed and pitch (prosody) or the canonical 160 / 50."""
    rng, out = np.random.RandomState(seed), []
    while len(out) < n:
        p, v = phrase(rng), voices[len(out) % len(voices)]
        sp, pi = (rng.randint(130, 200), rng.randint(25, 75)) if prosody else (160, 50)
        if p not in held:
            out.append((p, v, sp, pi))
    return out


# Fresh sets for the LM's last stages only (lm.py speech3, speech4, speech5): (name, seed offset, clips). ASR sets are in
# the training voices with random speed and pitch, TTS sets (texts) in the canonical voice; no earlier stage reads them.
FRESH_SETS = [
    ("asr_fresh", 7, 4800),
    ("tts_fresh", 8, 2400),
    ("tts_fresh2", 9, 6000),
    ("asr_fresh2", 10, 4800),
    ("tts_fresh3", 11, 6000),
    ("asr_fresh3", 12, 4800),
]


def speech_specs(n_train=1200, n_tts=700, n_asr_extra=3600, smoke=False):
    """Returns dict of lists of (text, voice, speed, pitch): what speech_sets renders. Deterministic."""
    if smoke:
        n_train, n_tts = 48, 24
    rng = np.random.RandomState(SEED + 2)
    out = {"train": [], "tts": [], "eval_seen": [], "eval_heldout": [], "eval_tts": []}
    for i in range(n_train):  # ASR: many voices, speeds, pitches
        v = TRAIN_VOICES[i % len(TRAIN_VOICES)]
        out["train"].append((phrase(rng), v, rng.randint(130, 200), rng.randint(25, 75)))
    for w in SPEECH_WORDS:  # every word alone in the canonical voice
        out["tts"].append((w, TTS_VOICE, 160, 50))
    for i in range(n_tts):
        out["tts"].append((phrase(rng), TTS_VOICE, 160, 50))
    seen = {t for t, *_ in out["train"] + out["tts"]}
    n_eval = 8 if smoke else 40
    for key, voices in [("eval_seen", TRAIN_VOICES), ("eval_heldout", [HELDOUT_VOICE]), ("eval_tts", [TTS_VOICE])]:
        while len(out[key]) < n_eval:
            p = phrase(rng)
            if p not in seen and len(p.split()) >= 2:
                v = voices[len(out[key]) % len(voices)]
                sp, pi = (160, 50) if key == "eval_tts" else (rng.randint(140, 190), rng.randint(30, 70))
                out[key].append((p, v, sp, pi))
    # More ASR clips for the LM only, from their own generator so that the sets above (which the codecs and the
    # acoustic stage are fit on) stay as they are; never an evaluation phrase.
    held = {t for k in ("eval_seen", "eval_heldout", "eval_tts") for t, *_ in out[k]}
    out["asr_extra"] = phrases_apart(SEED + 6, 24 if smoke else n_asr_extra, held, TRAIN_VOICES, prosody=True)
    for name, seed, n in FRESH_SETS:  # each from a generator of its own, so adding one leaves the others as they are
        tts = name.startswith("tts")
        out[name] = phrases_apart(
            SEED + seed, (8 if tts else 16) if smoke else n, held, [TTS_VOICE] if tts else TRAIN_VOICES, prosody=not tts
        )
    return out


def speech_sets(smoke=False):
    """Returns dict of lists of (text, voice, speed, pitch, wave): speech_specs rendered by espeak-ng. Deterministic."""
    out = speech_specs(smoke=smoke)
    # espeak-ng and sox run once per clip, one process per core: each clip depends only on its own arguments (sox's
    # dither is seeded per run), so the waves are the same in any order.
    with multiprocessing.Pool(os.cpu_count() or 1) as pool:
        return {
            k: [(*spec, y) for spec, y in zip(lst, pool.starmap(espeak, lst, chunksize=32))] for k, lst in out.items()
        }


if __name__ == "__main__":
    smoke = "--smoke" in sys.argv
    os.makedirs(WORK, exist_ok=True)
    sets = speech_sets(smoke=smoke)
    np.save(os.path.join(WORK, "speech.npy"), np.array(sets, dtype=object), allow_pickle=True)
    for k, v in sets.items():
        print(k, len(v), "clips, mean %.2fs" % np.mean([len(x[-1]) / SR for x in v]))
