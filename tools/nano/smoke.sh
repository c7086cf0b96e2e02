#!/usr/bin/env bash
# CI smoke test of the nano training pipeline: every stage for a few steps, written under tools/nano/work/smoke/.
set -euo pipefail
exec "$(dirname "$0")/train.sh" --smoke
