#!/bin/sh
# Regenerates test/fixtures/convert/ (small fake checkpoint → converted packages + torch reference logits).
# Needs Debian's python3 with torch 1.13 and onnx 1.12. Then: npx mocha test/convert
set -e
cd "$(dirname "$0")/../.."
exec nice -n 10 /usr/bin/python3 tools/convert/make_fixtures.py
