#!/usr/bin/env bash
# Debian packages the tests and the training pipeline need. Idempotent; skips apt when all are present.
set -euo pipefail
pkgs=(python3-torch python3-onnx espeak-ng sox libopenblas0-pthread python3-jupyter-client python3-nbclient jupyter-nbconvert python3-jupyter-kernel-test python3-jupyter-server chromium jupyter-notebook)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
fi
