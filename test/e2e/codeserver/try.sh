#!/usr/bin/env bash
# `npm start`: build and package the extension, install it into a local real VS Code
# (code-server, installed on first use), and open examples/ in it at http://127.0.0.1:$PORT.
# KLING_FAKE=1 also starts the fake KIE/Kling API on loopback and points the extension at it,
# so the whole loop (generate → results panel) can be tried without keys or money.
set -euo pipefail
cd "$(dirname "$0")/../../.."
PORT=${PORT:-8080}
npm run -s package
bash test/e2e/codeserver/setup.sh .vscode-real
RUN=.vscode-real/try
mkdir -p "$RUN"/{ud/User,ext,xdg-data,xdg-config,state}
[ -f "$RUN/ud/User/settings.json" ] || cat > "$RUN/ud/User/settings.json" <<'JSON'
{ "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off", "extensions.ignoreRecommendations": true }
JSON
export XDG_DATA_HOME=$PWD/$RUN/xdg-data XDG_CONFIG_HOME=$PWD/$RUN/xdg-config EXTENSIONS_GALLERY='{}'
BIN=.vscode-real/node_modules/.bin/code-server
"$BIN" --config "$RUN/config.yaml" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext" \
  --install-extension dist/kling-storyboard.vsix --force >/dev/null
if [ "${KLING_FAKE:-}" = 1 ]; then
  FAKE_PORT=${FAKE_PORT:-8790}
  node --import tsx test/fake-server/main.ts --port "$FAKE_PORT" &
  trap 'kill $! 2>/dev/null' EXIT
  export KIE_API_BASE=http://127.0.0.1:$FAKE_PORT KIE_UPLOAD_BASE=http://127.0.0.1:$FAKE_PORT \
    KLING_API_BASE=http://127.0.0.1:$FAKE_PORT KIE_API_KEY=${KIE_API_KEY:-fake-kie-key}
  echo "fake KIE/Kling API on http://127.0.0.1:$FAKE_PORT (key: fake-kie-key)"
fi
echo "Open http://127.0.0.1:$PORT/?folder=$PWD/examples in a browser (Ctrl+C to stop)."
"$BIN" --config "$RUN/config.yaml" --auth none --bind-addr "127.0.0.1:$PORT" --user-data-dir "$RUN/ud" \
  --extensions-dir "$RUN/ext" --disable-telemetry --disable-update-check --disable-workspace-trust "$PWD/examples"
