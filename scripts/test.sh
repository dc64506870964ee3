#!/usr/bin/env bash
# The whole test suite (`npm test`): native modules, renderer build, lint (import direction
# included), type checks, unit/integration tests, the training smoke test and the browser
# tests. The keychain tests need a D-Bus session with an unlocked gnome-keyring; this script
# starts one when none is running. Missing system parts make tests fail with what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${TP_IN_DBUS:-}" ]; then
  if ! command -v dbus-run-session >/dev/null || ! command -v gnome-keyring-daemon >/dev/null; then
    echo "npm test needs dbus and gnome-keyring for the keychain tests: apt-get install dbus gnome-keyring libsecret-1-dev" >&2
    exit 1
  fi
  export TP_IN_DBUS=1
  exec dbus-run-session -- bash "$0" "$@"
fi

# A throwaway keyring, unlocked with a throwaway password, for this session only (see
# scripts/test-keyring.sh for why one foreground daemon and a wait over D-Bus).
export XDG_DATA_HOME="$(mktemp -d /tmp/tp-keyring-XXXXXX)"
. scripts/test-keyring.sh
tp_keyring_start "tp-test-keyring"

step() { printf '\n=== %s\n' "$*"; }

step "native modules"
node scripts/ensure-native.mjs
step "build renderer"
npx vite build --config renderer/vite.config.ts --logLevel error
step "lint (import direction included)"
npx eslint .
step "type check"
npx tsc -p tsconfig.json --noEmit
npx tsc -p renderer/tsconfig.json --noEmit
npx tsc -p e2e/tsconfig.json --noEmit
step "training pipeline smoke test (Debian's PyTorch)"
if [ -d native-models/training ] && ls native-models/training/test_*.py >/dev/null 2>&1; then
  /usr/bin/python3 -m unittest discover -s native-models/training -p 'test_*.py'
fi
step "unit, integration and browser tests"
results="$(mktemp /tmp/tp-vitest-XXXXXX.json)"
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
set -e
# One closing line in the plain form CI reads: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$results" || true
exit $status
