#!/usr/bin/env bash
# End-to-end tests in a real VS Code (code-server 4.139.1 on Node 24), driven by playwright-core +
# Debian chromium. Part of `npm test`; alone: `npm run test:e2e`. Screenshots go to test-output/e2e/.
#   ANYGPT_MODEL=DIR run the kernel over another model package (default: models/anygpt-nano, which must exist)
#   E2E_ONLY=ui|exthost|vsix|inspector   run one of the drivers (vsix: the packaged extension in a fresh code-server;
#                                          inspector: keyboard, axe-core and colour themes, test/e2e/inspector.js)
set -euo pipefail
# Everything runs inside main(): bash then parses the whole file before running, so editing it during a run is harmless.
main() {
cd "$(dirname "$0")/../.."
ROOT="$PWD"
eval "$(bash tools/e2e-setup.sh)"
export XDG_CONFIG_HOME="$E2E_BASE/xdg/config" XDG_DATA_HOME="$E2E_BASE/xdg/data" XDG_CACHE_HOME="$E2E_BASE/xdg/cache"
PORT="${E2E_PORT:-18090}"
SHOTS="$ROOT/test-output/e2e"
mkdir -p "$SHOTS"
[ -f dist/extension.js ] && [ -f dist/kernel.js ] && [ -f dist/media/tokens.js ] || npm run build

if [ -n "${ANYGPT_MODEL:-}" ]; then
  [ -f "$ANYGPT_MODEL/anygpt.json" ] || { echo "e2e: ANYGPT_MODEL=$ANYGPT_MODEL has no anygpt.json" >&2; exit 1; }
  export ANYGPT_MODEL="$(cd "$ANYGPT_MODEL" && pwd)"
  echo "e2e: using the model package $ANYGPT_MODEL"
elif [ -f models/anygpt-nano/anygpt.json ]; then
  echo "e2e: using the nano model (models/anygpt-nano)"
else
  echo "e2e: no model package: build models/anygpt-nano (tools/nano) or set ANYGPT_MODEL=DIR" >&2
  exit 1
fi

RUN="$E2E_BASE/run"; rm -rf "$RUN"; mkdir -p "$RUN/data/User" "$RUN/ext" "$RUN/ws"
cat >"$RUN/data/User/settings.json" <<'JSON'
{
  "security.workspace.trust.enabled": false,
  "workbench.startupEditor": "none",
  "workbench.secondarySideBar.defaultVisibility": "hidden",
  "telemetry.telemetryLevel": "off",
  "update.mode": "none",
  "extensions.autoCheckUpdates": false,
  "extensions.autoUpdate": false,
  "workbench.enableExperiments": false,
  "workbench.tips.enabled": false,
  "chat.disableAIFeatures": true,
  "workbench.colorTheme": "Default Dark Modern",
  "notebook.output.scrolling": false,
  "window.commandCenter": false
}
JSON
printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$PORT" >"$RUN/config.yaml"
MODEL_DIR="${ANYGPT_MODEL:-$ROOT/models/anygpt-nano}"
node --import tsx test/e2e/notebooks.js "$ROOT/samples" "$RUN/ws" "$MODEL_DIR"

setsid "$NODE24" "$CODE_SERVER" --config "$RUN/config.yaml" --user-data-dir "$RUN/data" --extensions-dir "$RUN/ext" \
  --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override \
  --vscode-option enable-smoke-test-driver "$RUN/ws" >"$RUN/code-server.log" 2>&1 &
CS_PID=$!
teardown() {
  kill -TERM -- "-$CS_PID" 2>/dev/null || true
  for _ in $(seq 1 20); do pgrep -g "$CS_PID" >/dev/null || break; sleep 0.5; done
  pgrep -g "$CS_PID" >/dev/null && kill -KILL -- "-$CS_PID" 2>/dev/null || true
}
trap teardown EXIT
for i in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$CS_PID" 2>/dev/null || { cat "$RUN/code-server.log"; exit 1; }
  sleep 0.5
done

export CS_URL="http://127.0.0.1:$PORT" WS_DIR="$RUN/ws" EXT_DIR="$ROOT" SHOTS
run_vsix() {
  local V="$E2E_BASE/vsix" VPORT=$((PORT + 1)) VPID rc=0
  rm -rf "$V"; mkdir -p "$V/data/User" "$V/ext" "$V/ws"
  cp "$RUN/data/User/settings.json" "$V/data/User/settings.json"
  VSIX_OUT="$V/anygpt.vsix" node extension/packaging/package.mjs linux-x64 >"$V/package.log" 2>&1 || { cat "$V/package.log"; return 1; }
  "$NODE24" "$CODE_SERVER" --user-data-dir "$V/data" --extensions-dir "$V/ext" --install-extension "$V/anygpt.vsix" >"$V/install.log" 2>&1 || { cat "$V/install.log"; return 1; }
  ls "$V/ext" | grep -q '^anygpt-notebooks\.anygpt-notebooks-' || { echo "e2e: the .vsix did not install"; cat "$V/install.log"; return 1; }
  printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$VPORT" >"$V/config.yaml"
  setsid "$NODE24" "$CODE_SERVER" --config "$V/config.yaml" --user-data-dir "$V/data" --extensions-dir "$V/ext" \
    --disable-telemetry --disable-update-check --disable-workspace-trust --disable-getting-started-override "$V/ws" >"$V/code-server.log" 2>&1 &
  VPID=$!
  for _ in $(seq 1 120); do curl -fsS "http://127.0.0.1:$VPORT/healthz" >/dev/null 2>&1 && break; sleep 0.5; done
  CS_URL="http://127.0.0.1:$VPORT" WS_DIR="$V/ws" node test/e2e/vsix.js || rc=1
  kill -TERM -- "-$VPID" 2>/dev/null || true
  for _ in $(seq 1 20); do pgrep -g "$VPID" >/dev/null || break; sleep 0.5; done
  pgrep -g "$VPID" >/dev/null && kill -KILL -- "-$VPID" 2>/dev/null || true
  return $rc
}
PASS=0; FAIL=0
# a passing UI run also refreshes the README screenshot from the product as it is now (issue 22)
ONLY="${E2E_ONLY:-}"
if [ -z "$ONLY" ] || [ "$ONLY" = ui ]; then
  if NB_FILE=e2e.ipynb node test/e2e/ui.js; then
    PASS=$((PASS+1))
    cp "$SHOTS/vscode-notebook.png" extension/images/vscode-notebook.png && echo "e2e: wrote extension/images/vscode-notebook.png"
  else FAIL=$((FAIL+1)); fi
fi
if [ -z "$ONLY" ] || [ "$ONLY" = exthost ]; then if node test/e2e/exthost.js; then PASS=$((PASS+1)); else FAIL=$((FAIL+1)); fi; fi
# the packaged extension: build the .vsix, install it into a fresh code-server (own extensions and user-data folders,
# an empty workspace, no development path) and run a sample there (test/e2e/vsix.js)
if [ -z "$ONLY" ] || [ "$ONLY" = vsix ]; then if run_vsix; then PASS=$((PASS+1)); else FAIL=$((FAIL+1)); fi; fi
# last: it switches the colour theme through the UI (which the vsix run's copied settings must not inherit)
if [ -z "$ONLY" ] || [ "$ONLY" = inspector ]; then if NB_FILE=inspector.ipynb node test/e2e/inspector.js; then PASS=$((PASS+1)); else FAIL=$((FAIL+1)); fi; fi
echo "screenshots: $SHOTS"
[ $FAIL = 0 ] || echo "code-server log: $RUN/code-server.log; extension log: $RUN/data/logs/*/exthost*/anygpt-notebooks.anygpt-notebooks/AnyGPT.log"
echo "e2e: $PASS passed, $FAIL failed"
[ $FAIL = 0 ]
}
main "$@"
