"""What AnyGPT-nano's world contains, declared in its manifest (`world`) so the kernel can warn when a prompt
uses a word nano never saw for that task, and offer the world's words as completions.

For each task whose input is text: the word classes (plural names, as the kernel's message shows them; words in
the case training used, e.g. "E4") and, per class, the lower-cased words seen just before a word of that class in
training ("^" = start of the text). The kernel uses
the latter to guess which class an unknown word stands in ("in the middle": after "the" comes a position).
Derived from world.py and lm.py, so it changes only when the training data does.

Run as a script to print it: /usr/bin/python3 tools/nano/world_spec.py
"""

import json, re
import world, lm, paraphrase

WORD = re.compile(r"[A-Za-z0-9#]+")


def words(text):
    """Case kept: in "a flute playing a A major chord" the article and the chord root differ only by case."""
    return WORD.findall(text)


def declare(texts, classes):
    """texts: every phrasing of the task; classes: name -> words. Words of no class go to 'other words'."""
    member = {w: name for name, ws in classes.items() for w in ws}
    other = sorted({w for t in texts for w in words(t) if w not in member})
    all_classes = {**{k: list(v) for k, v in classes.items()}, **({"other words": other} if other else {})}
    member.update({w: "other words" for w in other})
    after = {name: set() for name in all_classes}
    for t in texts:
        ws = words(t)
        for i, w in enumerate(ws):
            after[member[w]].add(ws[i - 1].lower() if i else "^")
    return {"classes": all_classes, "after": {k: sorted(v) for k, v in after.items()}}


def image_classes():
    return {
        "sizes": list(world.SIZES),
        "colours": list(world.COLOURS),
        "shapes": list(world.SHAPES),
        "positions": list(world.POSITIONS),
    }


def spec(paraphrases=False):
    """paraphrases: the LM was trained with paraphrase.py's phrasings too (lm.py --paraphrase)."""
    captions = [world.caption([o]) for o in world.ALL_OBJECTS]
    captions += [f"{a} and {b}" for a in captions[:40] for b in captions[:40]]
    music = [world.music_caption(i) for i in world.music_items()]
    if paraphrases:
        captions += [paraphrase.image_text(o, k=k) for o in world.ALL_OBJECTS for k in range(len(paraphrase.IMAGE_TRAIN))]
        music += [paraphrase.music_text(i, k=k) for i in world.music_items() for k in range(len(paraphrase.MUSIC_TRAIN))]
    music_classes = {
        "instruments": list(world.TIMBRES),
        "notes": list(world.NOTES),
        "chord roots": list(world.CHORD_ROOTS),
        "chord qualities": list(world.CHORDS),
    }
    obj = world.ALL_OBJECTS
    chat = [f"Draw {world.caption([o])}." for o in obj] + [f"Draw a {c} {s}." for c in world.COLOURS for s in world.SHAPES]
    chat += [f"Now make it {c}." for c in world.COLOURS] + [f"Now make it a {s}." for s in world.SHAPES]
    chat += [f"Now make it {z}." for z in world.SIZES] + [f"Now move it to the {p}." for p in world.POSITIONS]
    chat += list(lm.QUESTIONS.values()) + [lm.SPEECH_QUESTION + lm.SPEECH_SUFFIX]
    if paraphrases:
        chat += [paraphrase.fill(t, paraphrase._obj_fields(o)) for o in obj for t in paraphrase.DRAW_TRAIN]
        for kind, ts in paraphrase.EDIT_TRAIN.items():
            values = {"colour": world.COLOURS, "shape": world.SHAPES, "size": world.SIZES, "pos": world.POSITIONS}[kind]
            chat += [t.format(v=v) for t in ts for v in values]
        chat += sum(paraphrase.QUESTION_TRAIN.values(), [])
    return {
        "description": "AnyGPT-nano's synthetic world: one or two shapes on black, notes and chords of two "
        "instruments, espeak-ng phrases of a small vocabulary (tools/nano/world.py)",
        "tasks": {
            "t2i": declare(captions, image_classes()),
            "tts": declare([" ".join(world.SPEECH_WORDS)], {"words": list(world.SPEECH_WORDS)}),
            "t2m": declare(music, music_classes),
            "chat": declare(chat, image_classes()),
        },
    }


if __name__ == "__main__":
    print(json.dumps(spec(), indent=1))
