#!/usr/bin/env bash
# `npm start`: build and package the extension, install it into a local real VS Code
# (code-server, installed on first use), and open examples/ in it at http://127.0.0.1:$PORT.
# KLING_FAKE=1 also starts the fake KIE/Kling API on loopback and points the extension at it
# with keys the fake accepts (KIE and Kling alike), so the whole loop (▶ Generate → results
# panel) can be tried without keys or money; its takes and ledger state stay in the profile.
# Knobs (the e2e suite's demo phase uses them to run this very script beside a developer's):
#   PORT (8080), FAKE_PORT (8790), KLING_TRY_DIR (profile, .vscode-real/try or try-fake),
#   KLING_TRY_FOLDER (the folder opened, examples).
set -euo pipefail
cd "$(dirname "$0")/../../.."
PORT=${PORT:-8080}
npm run -s package
bash test/e2e/codeserver/setup.sh .vscode-real
# The fake mode has its own profile, so keys saved in the real one never meet the fake server.
PROFILE=.vscode-real/try && [ "${KLING_FAKE:-}" = 1 ] && PROFILE=.vscode-real/try-fake
RUN=$(realpath -m "${KLING_TRY_DIR:-$PROFILE}")
FOLDER=$(realpath -m "${KLING_TRY_FOLDER:-examples}")
mkdir -p "$RUN"/{ud/User,ext,xdg-data,xdg-config,state}
[ -f "$RUN/ud/User/settings.json" ] || cat > "$RUN/ud/User/settings.json" <<'JSON'
{ "workbench.startupEditor": "none", "telemetry.telemetryLevel": "off", "extensions.ignoreRecommendations": true }
JSON
export XDG_DATA_HOME=$RUN/xdg-data XDG_CONFIG_HOME=$RUN/xdg-config EXTENSIONS_GALLERY='{}'
BIN=.vscode-real/node_modules/.bin/code-server
"$BIN" --config "$RUN/config.yaml" --user-data-dir "$RUN/ud" --extensions-dir "$RUN/ext" \
  --install-extension dist/kling-storyboard.vsix --force >/dev/null
if [ "${KLING_FAKE:-}" = 1 ]; then
  FAKE_PORT=${FAKE_PORT:-8790}
  # One set of made-up keys for both sides: the fake server checks them (KIE bearer key, Kling
  # JWT signed with the secret key) and the extension sends them (its environment fallback).
  # Real keys from the caller's environment are never sent to the fake.
  export FAKE_KIE_API_KEY=fake-kie-key FAKE_KLING_ACCESS_KEY=fake-kling-access-key \
    FAKE_KLING_SECRET_KEY=fake-kling-secret-key-0123456789
  node --import tsx test/fake-server/main.ts --port "$FAKE_PORT" >/dev/null &
  FAKE_PID=$!
  trap 'kill $FAKE_PID 2>/dev/null' EXIT
  export KIE_API_BASE=http://127.0.0.1:$FAKE_PORT KIE_UPLOAD_BASE=http://127.0.0.1:$FAKE_PORT \
    KLING_API_BASE=http://127.0.0.1:$FAKE_PORT KIE_API_KEY=$FAKE_KIE_API_KEY \
    KLING_ACCESS_KEY=$FAKE_KLING_ACCESS_KEY KLING_SECRET_KEY=$FAKE_KLING_SECRET_KEY \
    KLING_STORYBOARD_STATE_DIR=$RUN/state
  echo "fake KIE/Kling API on http://127.0.0.1:$FAKE_PORT (made-up keys; nothing leaves this machine)"
fi
echo "Open http://127.0.0.1:$PORT/?folder=$FOLDER in a browser (Ctrl+C to stop)."
"$BIN" --config "$RUN/config.yaml" --auth none --bind-addr "127.0.0.1:$PORT" --user-data-dir "$RUN/ud" \
  --extensions-dir "$RUN/ext" --disable-telemetry --disable-update-check --disable-workspace-trust "$FOLDER"
