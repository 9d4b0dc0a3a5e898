#!/usr/bin/env bash
# Installs the real VS Code (code-server from npm, VS Code 1.100.3) into <dir> without any
# download step of its own: scripts off, ripgrep from Debian, native modules built against /usr headers.
# Usage: test/e2e/codeserver/setup.sh .vscode-real
set -euo pipefail
D=$(realpath -m "${1:-.vscode-real}"); mkdir -p "$D"; cd "$D"
[ -f "$D/.ready" ] && exit 0
export npm_config_nodedir=${npm_config_nodedir:-/usr} npm_config_yes=true
[ -f package.json ] || echo '{ "name": "vscode-real", "private": true }' > package.json
npm install code-server@4.100.3 --ignore-scripts --no-audit --no-fund
VS=node_modules/code-server/lib/vscode
(cd $VS && npm install --omit=dev --ignore-scripts --no-audit --no-fund)
mkdir -p $VS/node_modules/@vscode/ripgrep/bin && ln -sf /usr/bin/rg $VS/node_modules/@vscode/ripgrep/bin/rg
(cd $VS && npm rebuild @parcel/watcher @vscode/deviceid @vscode/spdlog kerberos native-watchdog node-pty)
(cd $VS && ln -sfn node_modules node_modules.asar \
  && (cd bin/remote-cli && ln -sf code-linux.sh code-server) \
  && (cd bin/helpers && ln -sf browser-linux.sh browser.sh))
(cd $VS/extensions && npm install --omit=dev --no-audit --no-fund)
npm rebuild argon2
touch "$D/.ready"
