#!/usr/bin/env bash
# The real model's size end to end, with random weights: make a full-size AnyGPT-7B-shaped fake checkpoint (32
# layers, hidden 4096, vocabulary 53,516, one 27.7 GB fp32 pytorch_model.bin, written one tensor at a time so it
# fits a 24 GB machine), convert it the way a user converts the download, run 16 tokens with the engine, and print
# the figures docs/real-model.md quotes. Too slow for CI (which keeps the small fakes); run it by hand:
#
#   tools/convert/fullsize-check.sh [--work DIR] [--dtypes "int4 fp16,int4"] [--ep cpu|cuda] [--keep]
#
#   --work DIR   scratch folder (default /tmp/anygpt-fullsize; needs ≈ 28 GB + the largest package, 17 GB for
#                fp16,int4); the fake and each package are deleted after their figures unless --keep
#   --dtypes     one convert.py --llm-dtype per conversion, space-separated (default: "int4 fp16,int4" on CPU,
#                "fp16,int4" with --ep cuda)
#   --fake-args  fake_checkpoints.py dimensions instead of the full size (a quick try of this script, e.g.
#                "--layers 2 --hidden 64 --intermediate 172 --heads 4")
#   --ep         execution provider for the engine runs; cuda also prints the GPU's memory in use (nvidia-smi).
#                On CPU a package's int4 graph runs (the variant when there are several); on CUDA its main graph.
#
# Figures: time and peak RSS of each step (GNU time), conversion seconds per layer (from convert.py's log), package
# size, engine load cold (no verification stamp: every file the graph uses is hashed) and warm (stamp valid), first
# token (prefill) and decode tok/s over 16 new tokens. The load average is printed before and after: on a shared
# machine the times depend on it.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
WORK=/tmp/anygpt-fullsize
DTYPES=""
EP=cpu
KEEP=0
FAKE_ARGS="--layers 32 --hidden 4096 --intermediate 11008 --heads 32 --base-vocab 32000"
while [ $# -gt 0 ]; do
  case "$1" in
    --work) WORK=$2; shift 2 ;;
    --dtypes) DTYPES=$2; shift 2 ;;
    --ep) EP=$2; shift 2 ;;
    --fake-args) FAKE_ARGS=$2; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) echo "fullsize-check.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
case "$EP" in cpu|cuda) ;; *) echo "--ep: cpu or cuda" >&2; exit 2 ;; esac
# GroupQueryAttention on CUDA needs fp16 activations: an int4-only package (fp32 activations) is a CPU package
[ -n "$DTYPES" ] || { [ "$EP" = cuda ] && DTYPES="fp16,int4" || DTYPES="int4 fp16,int4"; }
[ -x /usr/bin/time ] || { echo "needs GNU time (/usr/bin/time; apt-get install time)" >&2; exit 2; }
$PY -c 'import torch, onnx' || { echo "needs $PY with torch and onnx (python3-torch, python3-onnx)" >&2; exit 2; }
[ -f "$ROOT/dist/cli.js" ] || (cd "$ROOT" && npm run build >/dev/null)
mkdir -p "$WORK"
SUMMARY="$WORK/figures.txt"
: >"$SUMMARY"
say() { echo "$*" | tee -a "$SUMMARY"; }
gib() { awk -v b="$1" 'BEGIN { printf "%.2f GiB", b / 2^30 }'; }
# "<wall s> <peak RSS GiB>" from a GNU time -v log
timing() {
  awk -F': ' '/Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
              /Maximum resident set size/ { r = $2 }
              END { printf "%.1f s, peak RSS %.2f GiB", s, r / 2^20 }' "$1"
}
gpu_watch() { # peak GPU memory in use (MiB) while the command runs
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 200 >"$1" 2>/dev/null &
  echo $!
}

say "== fullsize-check $(date -u '+%Y-%m-%d %H:%M UTC') on $(nproc) cores, $(awk '/MemTotal/ { printf "%.1f GiB", $2 / 2^20 }' /proc/meminfo), ep $EP"
if [ "$EP" = cuda ]; then
  say "GPU: $(nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || echo 'nvidia-smi not found')"
fi
say "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

SRC="$WORK/src"
if [ ! -f "$SRC/pytorch_model.bin" ]; then
  # shellcheck disable=SC2086 # FAKE_ARGS is a list of arguments
  /usr/bin/time -v -o "$WORK/make.time" $PY "$ROOT/tools/convert/fake_checkpoints.py" --out "$SRC" $FAKE_ARGS |
    tee "$WORK/make.log"
  say "make fake: $(timing "$WORK/make.time"); pytorch_model.bin $(gib "$(stat -c %s "$SRC/pytorch_model.bin")")"
else
  say "make fake: reusing $SRC"
fi

for D in $DTYPES; do
  TAG=${D//,/-}
  PKG="$WORK/pkg-$TAG"
  rm -rf "$PKG"
  /usr/bin/time -v -o "$WORK/convert-$TAG.time" $PY "$ROOT/tools/convert/convert.py" --src "$SRC" --out "$PKG" \
    --llm-dtype "$D" | tee "$WORK/convert-$TAG.log"
  # seconds per layer: "layer i/32 written (... MiB, T s)" lines, per graph (T restarts with each graph)
  PER_LAYER=$(awk '/^\[3\/5\] LLM graph/ { g = $4 } /layer [0-9]+\/[0-9]+ written/ { split($2, a, "/"); t = $(NF-1); sub(/\(/, "", t); last[g] = t; n[g] = a[2] }
                   END { for (g in last) printf "%s %.1f s/layer; ", g, last[g] / n[g] }' "$WORK/convert-$TAG.log")
  say "convert --llm-dtype $D: $(timing "$WORK/convert-$TAG.time"); ${PER_LAYER}package $(gib "$(du -sb "$PKG" | cut -f1)"); $(grep -o 'estimate: peak RAM ≈ [0-9.]* GiB' "$WORK/convert-$TAG.log")"
  VARIANT=()
  if [ "$EP" = cpu ] && [ "${D%%,*}" != int4 ] && [[ ",$D," == *,int4,* ]]; then VARIANT=(--variant int4); fi
  CACHE="$WORK/cache-$TAG"
  rm -rf "$CACHE"
  for RUN in cold warm; do
    [ "$EP" = cuda ] && WATCH=$(gpu_watch "$WORK/gpu-$TAG-$RUN.csv")
    ANYGPT_CACHE_DIR="$CACHE" /usr/bin/time -v -o "$WORK/run-$TAG-$RUN.time" node "$ROOT/dist/cli.js" generate \
      --model "$PKG" "${VARIANT[@]}" --ep "$EP" --greedy --max-new-tokens 16 --min-new-tokens 16 --json \
      "[Human]: Tell me about the sea.<eoh> [MMGPT]:" >"$WORK/run-$TAG-$RUN.json" 2>"$WORK/run-$TAG-$RUN.err"
    [ "$EP" = cuda ] && { kill "$WATCH" 2>/dev/null || true; }
    LOADLINE=$(grep -- '-- loaded in' "$WORK/run-$TAG-$RUN.err" | sed 's/^-- //')
    STATS=$(node -e 'const g = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); const s = g.stats;
      console.log(`ep ${g.model.executionProvider}, ${s.promptTokens} prompt + ${s.generatedTokens} new tokens, first token (prefill) ${s.prefillMs.toFixed(0)} ms, ${s.tokensPerSecond.toFixed(2)} tok/s`)' \
      "$WORK/run-$TAG-$RUN.json")
    GPU=""
    if [ "$EP" = cuda ]; then GPU="; GPU memory peak $(sort -n "$WORK/gpu-$TAG-$RUN.csv" | tail -1) MiB"; fi
    say "  run $RUN ${VARIANT[*]:-(main graph)}: $LOADLINE; $STATS; process $(timing "$WORK/run-$TAG-$RUN.time")$GPU"
  done
  [ "$KEEP" = 1 ] || rm -rf "$PKG"
done
[ "$KEEP" = 1 ] || rm -rf "$SRC"
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "figures: $SUMMARY"
