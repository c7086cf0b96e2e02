#!/usr/bin/env bash
# Regenerates AnyGPT-nano from scratch, deterministically (seeded): world data -> codecs -> LM -> ONNX package.
#   tools/nano/train.sh           full run (~1 h on 2 shared CPU cores), writes models/anygpt-nano/ and test/fixtures/nano-*
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
$PY world.py "${SMOKE[@]}"          # espeak-ng speech clips (images and music are rendered on demand)
$PY image_codec.py "${SMOKE[@]}"    # patch k-means VQ, 64 codes x 512
$PY audio_codec.py "${SMOKE[@]}"    # spectral residual k-means, speech 2x256, music 2x256, 25 Hz
if [ ${#SMOKE[@]} -gt 0 ]; then
  $PY lm.py --smoke                 # LLaMA-style LM, next-token loss on responses (20 steps)
else                                # phase 1, then a warm restart that anneals (see lm.py __main__)
  $PY lm.py --steps 5000 --stop-after 2000 && cp "$WORK/lm.pt" "$WORK/lm_phase1.pt"
  $PY lm.py --init "$WORK/lm_phase1.pt" --steps 1300 --lr 2e-3 --seed 1235 --warmup 20 && cp "$WORK/lm.pt" "$WORK/lm_phase2.pt"
  $PY lm.py --init "$WORK/lm_phase2.pt" --steps 600 --lr 1e-3 --seed 1236 --warmup 20 --focus t2i,chat
fi
$PY export.py "${SMOKE[@]}"         # ONNX + tokenizer.json + anygpt.json + parity fixture
if [ ${#SMOKE[@]} -eq 0 ]; then $PY evaluate.py --fixtures; fi
echo "nano pipeline done in $(( $(date +%s) - t0 ))s"
