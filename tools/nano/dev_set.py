"""A development set for choosing nano's decoding settings without looking at the scorecard's held-out cases.

Writes OUT/nano-dev.json (test/fixtures/nano-eval.json with its ASR and TTS cases replaced) and OUT/nano-dev/*.wav:
20 ASR clips in the training voices and 20 in the held-out voice, 16 TTS texts with espeak's canonical rendering,
all of phrases that no world set (training or evaluation) contains, from a generator of their own.
Score it with the TypeScript scorecard:

    /usr/bin/python3 tools/nano/dev_set.py /tmp/nano-dev
    npm run eval:nano -- --fixture /tmp/nano-dev/nano-dev.json --tasks asr,tts --no-calibrate

MODEL_CARD.md says what was chosen on it (the text and speech presets' temperature, the default voice's phrase).
Needs espeak-ng and sox; not the world data (the phrases to avoid are regenerated, not read).
"""

import json, os, sys
import numpy as np
import world

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SEED_OFFSET = 99  # world.SEED + 99: no world set uses it


def main(out):
    media = os.path.join(out, "nano-dev")
    os.makedirs(media, exist_ok=True)
    fx = json.load(open(os.path.join(ROOT, "test", "fixtures", "nano-eval.json"), encoding="utf-8"))
    used = {spec[0] for specs in world.speech_specs().values() for spec in specs}
    rng = np.random.RandomState(world.SEED + SEED_OFFSET)

    def fresh():
        while True:
            p = world.phrase(rng)
            if p not in used and len(p.split()) >= 2:  # at least two words, as the evaluation phrases
                used.add(p)
                return p

    cases = {"asr_seen": [], "asr_heldout": [], "tts": []}
    for key, voices in [("asr_seen", world.TRAIN_VOICES), ("asr_heldout", [world.HELDOUT_VOICE])]:
        for i in range(20):
            p, v = fresh(), voices[i % len(voices)]
            speed, pitch = int(rng.randint(140, 190)), int(rng.randint(30, 70))
            name = f"{key}_{i:02d}.wav"
            world.write_wav(os.path.join(media, name), world.espeak(p, v, speed, pitch))
            cases[key].append({"audio": name, "expected": p, "voice": v, "speed": speed, "pitch": pitch})
    instruction = fx["cases"]["tts"][0]["prompt"].split("This is input: ")[0]
    for i in range(16):
        p, name = fresh(), f"tts_ref_{i:02d}.wav"
        world.write_wav(os.path.join(media, name), world.espeak(p, world.TTS_VOICE))
        cases["tts"].append(
            {
                "text": p,
                "prompt": f"{instruction}This is input: {p}<eoh> [MMGPT]:",
                "espeakReference": name,
                "voice": world.TTS_VOICE,
            }
        )
    fx["cases"].update(cases)
    with open(os.path.join(out, "nano-dev.json"), "w", encoding="utf-8") as f:
        json.dump(fx, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(
        f"wrote {out}/nano-dev.json and {len(cases['asr_seen']) + len(cases['asr_heldout']) + len(cases['tts'])} clips in {media}"
    )


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
