"""Phrasings of every task's user text: what a user types in a cell, not only the one phrasing the first nano learnt.

A cell's text is the content for text→media tasks (text→image, text→music, text→speech: "Play the note E4 on the
flute.") and replaces the instruction for media→text tasks (image→text, ASR, music→text: "What is in this picture?").
In chat it is the request, the edit and the question. Each task has TRAIN phrasings and HELD-OUT ones: imperative,
question and descriptive, with and without articles, capitals and final punctuation. The held-out ones never appear
in training; the scorecard's "held-out phrasings" rows (tools/eval/run.ts) run them, from the `paraphrase` cases that
`fixtures()` adds to test/fixtures/nano-eval.json.

python3 paraphrase.py            print a few phrasings per task
python3 paraphrase.py --fixtures add the held-out phrasing cases to test/fixtures/nano-eval.json (reads only world.py)
"""

import json, os, sys
import numpy as np
import world

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
FIXTURES = os.environ.get("NANO_FIXTURES", os.path.join(ROOT, "test", "fixtures"))


# ---------------------------------------------------------------- text → image (the content: one scene)
def _obj_fields(o):
    shape, colour, size, pos = o
    return {
        "cap": world.caption([o]),  # "a big red circle on the left"
        "bare": f"{size} {colour} {shape} {world.POS_PHRASE[pos]}",  # no article
        "noart": f"{size} {colour} {shape} {world.POS_PHRASE[pos].split()[0]} {pos}",  # "on left": no articles at all
        "pos": world.POS_PHRASE[pos],
        "thing": f"{size} {colour} {shape}",
    }


IMAGE_TRAIN = [
    "{cap}",
    "{cap}.",
    "Draw {cap}.",
    "draw {cap}",
    "Show me {cap}.",
    "Can you draw {cap}?",
    "An image of {cap}.",
    "A picture of {cap}",
    "{bare}",
    "{Bare}.",
    "Draw {bare}",
    "Paint {cap}!",
    "I want to see {cap}.",
    "Could you show {cap}?",
    "{noart}",
    "There is {cap}.",
]
IMAGE_HELDOUT = [
    "Please show {cap}.",
    "Can you show me {bare}?",
    "a picture of {noart}",
    "Show {cap}!",
    "I want to see {bare}",
    "{Cap}!",
]

# ---------------------------------------------------------------- text → music (the content: one note or chord)
def _music_fields(item):
    kind, name, timbre = item
    what = f"the note {name}" if kind == "note" else f"a {name} chord"
    bare = f"note {name}" if kind == "note" else f"{name} chord"
    return {
        "cap": world.music_caption(item),  # "a flute playing the note E4"
        "what": what,
        "bare": bare,
        "name": name,
        "inst": timbre,
        "a_inst": world.ARTICLE[timbre],
    }


MUSIC_TRAIN = [
    "{cap}",
    "{cap}.",
    "Play {what} on {a_inst}.",
    "play {bare} on {inst}",
    "Can you play {what} on {a_inst}?",
    "{What} played on {a_inst}.",
    "{A_inst} playing {what}!",
    "{inst} {bare}",
    "{bare} on {a_inst}",
    "Make {a_inst} play {what}.",
    "I want to hear {what} on {a_inst}.",
    "Could you play {what} on {a_inst}?",
]
MUSIC_HELDOUT = [
    "Play {what} on the {inst}.",  # the "Play the note E4 on the flute."
    "Can you play {bare} on {inst}?",
    "{what} on {a_inst}",
    "{A_inst} playing {bare}.",
]

# ---------------------------------------------------------------- text → speech (the content: the words to say)
# The words themselves are the content; what varies is how they are written.
SPEECH_TRAIN = ["{w}", "{w}.", "{W}.", "{w_comma}", "{W}!", "{W}?"]
SPEECH_HELDOUT = ["{W_comma}.", "{w}!"]


def _speech_fields(text):
    ws = text.split()
    half = max(1, len(ws) // 2)
    comma = " ".join(ws[:half]) + ", " + " ".join(ws[half:]) if len(ws) > 1 else text
    return {"w": text, "w_comma": comma}


# ---------------------------------------------------------------- media → text: the instruction a user writes
CAPTION_TRAIN = [
    "What is in this image?",
    "what is in the picture",
    "Describe the image.",
    "describe this picture",
    "Caption this image.",
    "What does the picture show?",
    "Tell me what you see.",
    "What do you see?",
    "Describe it",
    "What is this a picture of?",
]
CAPTION_HELDOUT = ["What does this image show?", "describe what you see", "Tell me what is in the picture."]
ASR_TRAIN = [
    "Transcribe this.",
    "transcribe the speech",
    "What is said in this clip?",
    "What does it say?",
    "Write down the words.",
    "What words do you hear?",
    "Write what is said",
    "Tell me what you hear.",
]
ASR_HELDOUT = ["What do you hear in this clip?", "write down what you hear", "Transcribe the words in this clip."]
M2T_TRAIN = [
    "What is playing?",
    "What do you hear in this music?",
    "Describe this music.",
    "describe the sound",
    "Which instrument and note is this?",
    "Name the instrument and what it plays.",
    "What is this?",
    "Tell me what you hear.",
]
M2T_HELDOUT = ["What is playing in this clip?", "describe what you hear", "Which instrument is playing what?"]

# ---------------------------------------------------------------- chat: requests, edits, questions
DRAW_TRAIN = ["Draw {cap}.", "Please draw {cap}.", "Can you draw {cap}?", "Show me {cap}.", "draw {bare}", "Paint {cap}!"]
DRAW_HELDOUT = ["Could you paint {cap}?", "please draw {bare}"]
EDIT_TRAIN = {  # kind -> phrasings; {v} the new value
    "colour": ["Now make it {v}.", "Make it {v}.", "make it {v}", "Change the colour to {v}.", "Can you make it {v}?", "Now it should be {v}!"],
    "shape": ["Now make it a {v}.", "Make it a {v}.", "make it a {v}", "Change the shape to a {v}.", "Can you make it a {v}?", "Turn it into a {v}."],
    "size": ["Now make it {v}.", "Make it {v}.", "make it {v}", "Change the size to {v}.", "Can you make it {v}?", "Now it should be {v}!"],
    "pos": ["Now move it to the {v}.", "Move it to the {v}.", "move it {v}", "Put it at the {v}.", "Can you move it to the {v}?", "Now move it {v}!"],
}
EDIT_HELDOUT = {
    "colour": ["Now change the colour to {v}.", "make it {v} please"],
    "shape": ["Now turn it into a {v}.", "make it a {v} please"],
    "size": ["Now change the size to {v}.", "make it {v} please"],
    "pos": ["Now put it at the {v}.", "move it to the {v} please"],
}
QUESTION_TRAIN = {
    "colour": ["What colour is it?", "What colour is the shape?", "what colour is this", "Which colour is it?"],
    "shape": ["What shape is it?", "What is the shape?", "what shape is this", "Which shape is it?"],
    "where": ["Where is it?", "Where is the shape?", "where is this", "Where is it in the picture?"],
    "size": ["Is it big or small?", "Is the shape big or small?", "big or small", "What size is it?"],
    "describe": ["Describe this image.", "Describe the picture.", "describe it", "What is in this image?"],
}
QUESTION_HELDOUT = {
    "colour": ["Which colour is the shape?", "tell me the colour"],
    "shape": ["Which shape is this?", "tell me the shape"],
    "where": ["Where is the shape in the picture?", "tell me where it is"],
    "size": ["Is this shape big or small?", "tell me the size"],
    "describe": ["Describe this picture.", "tell me what is in it"],
}


def fill(template, fields):
    """str.format with a capitalised variant of every field: {Cap} = Capitalised {cap}."""
    more = {k[0].upper() + k[1:]: v[0].upper() + v[1:] for k, v in fields.items() if v}
    return template.format(**fields, **more)


def image_text(o, heldout=False, rng=None, k=None):
    ts = IMAGE_HELDOUT if heldout else IMAGE_TRAIN
    return fill(ts[k if k is not None else rng.randint(len(ts))], _obj_fields(o))


def music_text(item, heldout=False, rng=None, k=None):
    ts = MUSIC_HELDOUT if heldout else MUSIC_TRAIN
    return fill(ts[k if k is not None else rng.randint(len(ts))], _music_fields(item))


def speech_text(text, heldout=False, rng=None, k=None):
    ts = SPEECH_HELDOUT if heldout else SPEECH_TRAIN
    return fill(ts[k if k is not None else rng.randint(len(ts))], _speech_fields(text))


INSTRUCTIONS = {"caption": (CAPTION_TRAIN, CAPTION_HELDOUT), "asr": (ASR_TRAIN, ASR_HELDOUT), "m2t": (M2T_TRAIN, M2T_HELDOUT)}


def instruction(task, rng):
    ts = INSTRUCTIONS[task][0]
    return ts[rng.randint(len(ts))]


def draw_request(o, rng):
    return fill(DRAW_TRAIN[rng.randint(len(DRAW_TRAIN))], _obj_fields(o))


def edit_text(kind, value, rng):
    ts = EDIT_TRAIN[kind]
    return ts[rng.randint(len(ts))].format(v=value)


def question(q, rng):
    ts = QUESTION_TRAIN[q]
    return ts[rng.randint(len(ts))]


def train_texts():
    """Every training phrasing with every world word, for the vocabulary and the manifest's world."""
    out = []
    for o in world.ALL_OBJECTS:
        out += [image_text(o, k=k) for k in range(len(IMAGE_TRAIN))] + [fill(t, _obj_fields(o)) for t in DRAW_TRAIN]
    for it in world.music_items():
        out += [music_text(it, k=k) for k in range(len(MUSIC_TRAIN))]
    out += sum((ts for ts, _ in INSTRUCTIONS.values()), [])
    for kind, ts in EDIT_TRAIN.items():
        vals = {"colour": world.COLOURS, "shape": world.SHAPES, "size": world.SIZES, "pos": world.POSITIONS}[kind]
        out += [t.format(v=v) for t in ts for v in vals]
    out += sum(QUESTION_TRAIN.values(), [])
    return out


def heldout_texts():
    out = []
    for o in world.ALL_OBJECTS[:8]:
        out += [image_text(o, True, k=k) for k in range(len(IMAGE_HELDOUT))]
        out += [fill(t, _obj_fields(o)) for t in DRAW_HELDOUT]
    for it in world.music_items()[::10]:
        out += [music_text(it, True, k=k) for k in range(len(MUSIC_HELDOUT))]
    out += sum((hs for _, hs in INSTRUCTIONS.values()), [])
    out += [t.format(v="red") for ts in EDIT_HELDOUT.values() for t in ts] + sum(QUESTION_HELDOUT.values(), [])
    return out


# ---------------------------------------------------------------- held-out phrasing cases for the TS scorecard
def cases(fx):
    """The `paraphrase` cases of nano-eval.json, over the fixture's own media (its held-out images, seen-voice clips
    and music clips): every case uses a held-out phrasing; each task cycles through its held-out phrasings."""
    rng = np.random.RandomState(world.SEED + 22)
    obj = lambda o: {"shape": o[0], "colour": o[1], "size": o[2], "position": o[3]}
    objs = [world.ALL_OBJECTS[i] for i in rng.choice(len(world.ALL_OBJECTS), 18, replace=False)]
    c = fx["cases"]
    out = {
        "t2i": [{"text": image_text(o, True, k=i % len(IMAGE_HELDOUT)), "expected": obj(o)} for i, o in enumerate(objs)],
        "caption": [
            {"image": x["image"], "instruction": CAPTION_HELDOUT[i % len(CAPTION_HELDOUT)], "expected": x["expected"], "attributes": x["attributes"]}
            for i, x in enumerate(c["caption"][:18])
        ],
        "asr": [
            {"audio": x["audio"], "instruction": ASR_HELDOUT[i % len(ASR_HELDOUT)], "expected": x["expected"]}
            for i, x in enumerate(c["asr_seen"][:12])
        ],
        "tts": [
            {"text": speech_text(x["text"], True, k=i % len(SPEECH_HELDOUT)), "words": x["text"], "voice": x["voice"]}
            for i, x in enumerate(c["tts"][:8])
        ],
        "m2t": [
            {"audio": x["audio"], "instruction": M2T_HELDOUT[(i + r) % len(M2T_HELDOUT)], "expected": x["expected"]}
            for r in range(2)
            for i, x in enumerate(c["m2t"])
        ],
    }
    items = world.TRAIN_MUSIC[::5][:12] + sorted(world.HELDOUT_MUSIC)
    out["t2m"] = [
        {"text": music_text(it, True, k=i % len(MUSIC_HELDOUT)), "expected": x}
        for i, (it, x) in enumerate((it, _music_attrs(it)) for it in items)
    ]
    edits = []
    for i, o in enumerate(objs[:12]):
        colour = [k for k in world.COLOURS if k != o[1]][i % 7]
        first = fill(DRAW_HELDOUT[i % len(DRAW_HELDOUT)], _obj_fields(o))
        second = EDIT_HELDOUT["colour"][i % 2].format(v=colour)
        edits.append({"turns": [first, second], "expectedFirst": obj(o), "expected": obj((o[0], colour, o[2], o[3]))})
    out["chat_edit"] = edits
    out["note"] = "Held-out phrasings (tools/nano/paraphrase.py): never in training; target >= 80 % per task."
    return out


def _music_attrs(it):
    return {
        "kind": it[0],
        "name": it[1],
        "timbre": it[2],
        "midi": world.music_pitches(it),
        "hz": [round(world.hz(m), 2) for m in world.music_pitches(it)],
    }


def add_fixtures(path=os.path.join(FIXTURES, "nano-eval.json")):
    with open(path, encoding="utf-8") as f:
        fx = json.load(f)
    fx["cases"]["paraphrase"] = cases(fx)
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        json.dump(fx, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.replace(path + ".tmp", path)


if __name__ == "__main__":
    if "--fixtures" in sys.argv:
        add_fixtures()
    else:
        r = np.random.RandomState(0)
        o, it = world.ALL_OBJECTS[3], world.music_items()[4]
        for h in (False, True):
            print("held-out" if h else "train")
            print(" ", [image_text(o, h, k=k) for k in range(len(IMAGE_HELDOUT if h else IMAGE_TRAIN))])
            print(" ", [music_text(it, h, k=k) for k in range(len(MUSIC_HELDOUT if h else MUSIC_TRAIN))])
            print(" ", [speech_text("red circle blue square", h, k=k) for k in range(len(SPEECH_HELDOUT if h else SPEECH_TRAIN))])
