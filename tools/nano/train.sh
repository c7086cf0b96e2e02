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
  export NANO_WORK=tools/nano/work/smoke NANO_OUT=tools/nano/work/smoke/package NANO_FIXTURES=tools/nano/work/smoke/fixtures
  rm -rf "$NANO_WORK"
fi
WORK=${NANO_WORK:-tools/nano/work}
mkdir -p "$WORK" && rm -f "$WORK"/media*.pt   # the LM's media-code cache depends on the codecs
cd tools/nano
t0=$(date +%s)
$PY world.py "${SMOKE[@]}"          # espeak-ng speech clips (images and music are rendered on demand)
$PY image_codec.py "${SMOKE[@]}"    # patch k-means VQ, 64 codes x 512
$PY audio_codec.py "${SMOKE[@]}"    # spectral residual k-means, speech 2x256, music 2x256, 25 Hz
$PY lm.py "${SMOKE[@]}"             # LLaMA-style LM, next-token loss on responses
$PY export.py "${SMOKE[@]}"         # ONNX + tokenizer.json + anygpt.json + parity fixture
if [ ${#SMOKE[@]} -eq 0 ]; then $PY evaluate.py --fixtures; fi
echo "nano pipeline done in $(( $(date +%s) - t0 ))s"
