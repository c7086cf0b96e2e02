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
  $PY lm.py --init "$WORK/lm_phase2.pt" --steps 600 --lr 1e-3 --seed 1236 --warmup 20 --focus t2i,chat && cp "$WORK/lm.pt" "$WORK/lm_phase3.pt"
  # phase 4 (2 threads, batch 32, batches weighted to the weakest tasks): 200 steps of a 1000-step cosine from 1.5e-3
  # (cut short when the machine, shared with other jobs, ran at ~3.5 s/step), then a 400-step cosine from 1e-3 to 1e-4
  W=t2i=3,caption=3,t2m=2,m2t=2,asr=1.5,tts=0.5,chat=0.7
  NANO_THREADS=2 $PY lm.py --init "$WORK/lm_phase3.pt" --steps 1000 --stop-after 200 --bs 32 --lr 1.5e-3 --seed 1237 --warmup 30 \
    --weights $W --ckpt-every 100 && cp "$WORK/lm.pt" "$WORK/lm_phase4a.pt"
  NANO_THREADS=2 $PY lm.py --init "$WORK/lm_phase4a.pt" --steps 400 --bs 32 --lr 1e-3 --seed 1238 --warmup 10 --weights $W --ckpt-every 50 \
    && cp "$WORK/lm.pt" "$WORK/lm_phase4.pt"
  # phase 5: a short second anneal, cosine from 5e-4, same weighting, new data seed
  NANO_THREADS=2 $PY lm.py --init "$WORK/lm_phase4.pt" --steps 200 --bs 32 --lr 5e-4 --seed 1239 --warmup 10 --weights $W --ckpt-every 50
fi
$PY export.py "${SMOKE[@]}"         # ONNX + tokenizer.json + anygpt.json + parity fixture
if [ ${#SMOKE[@]} -eq 0 ]; then $PY evaluate.py --fixtures; fi
echo "nano pipeline done in $(( $(date +%s) - t0 ))s"
