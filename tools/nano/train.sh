#!/usr/bin/env bash
# Regenerates AnyGPT-nano from scratch, deterministically (seeded): world data -> codecs -> LM -> ONNX package.
#   tools/nano/train.sh           full run (1 h 42 min on 2 CPU cores, measured end to end: MODEL_CARD.md), writes models/anygpt-nano/ and test/fixtures/nano-*
#   tools/nano/train.sh --smoke   a few steps of every stage into tools/nano/work/smoke/ (CI, <= 3 min)
# Needs Debian packages python3-torch python3-onnx espeak-ng sox libopenblas0-pthread (installed by tools/setup-system.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
bash tools/setup-system.sh
PY=/usr/bin/python3   # Debian's python with torch; the pyenv python3 on PATH has no torch
SMOKE=()
if [ "${1:-}" = "--smoke" ]; then
  SMOKE=(--smoke)
  export NANO_WORK=$PWD/tools/nano/work/smoke NANO_OUT=$PWD/tools/nano/work/smoke/package NANO_FIXTURES=$PWD/tools/nano/work/smoke/fixtures
  rm -rf "$NANO_WORK"
fi
WORK=${NANO_WORK:-$PWD/tools/nano/work}
mkdir -p "$WORK" && rm -f "$WORK"/media*.pt   # the LM's media-code cache depends on the codecs
cd tools/nano
t0=$(date +%s)
$PY world.py "${SMOKE[@]}"          # espeak-ng speech clips (images and music are rendered on demand), more ASR/TTS clips for the LM only
$PY image_codec.py "${SMOKE[@]}"    # colour x shape product VQ, 32 tokens (colour, mask per 8x8 patch)
$PY audio_codec.py "${SMOKE[@]}"    # two-level spectral codec (speech: envelope + pitch; music: pitch set + timbre), 2x256, 25 Hz
$PY acoustic.py "${SMOKE[@]}"       # SoundStorm-contract net: speech level 1 from level 0 + a voice prompt
if [ ${#SMOKE[@]} -gt 0 ]; then
  $PY lm.py --smoke --paraphrase    # LLaMA-style LM, next-token loss on responses (5 steps a stage, paraphrase stage too)
else                                # staged: images, music, speech, chat (lm.py STAGES), batch 32 on 2 threads
  NANO_THREADS=2 $PY lm.py          # resumable after a finished stage: lm.py --resume <stage>
fi
$PY export.py "${SMOKE[@]}"         # ONNX + tokenizer.json + anygpt.json + parity fixture
if [ ${#SMOKE[@]} -eq 0 ]; then $PY evaluate.py --fixtures; fi
echo "nano pipeline done in $(( $(date +%s) - t0 ))s"
