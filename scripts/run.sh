#!/usr/bin/env bash
# The run command: installs dependencies, builds, creates the demo checkpoint if absent, starts Mizan on it.
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps
BUILD="${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}"
mizan_configure_build "$BUILD" -DMIZAN_BUILD_TESTS=OFF -DMIZAN_BUILD_BENCH=OFF
DEMO="${MIZAN_DEMO_DIR:-$MIZAN_ROOT/demo/tiny-llama}"
if [ ! -f "$DEMO/config.json" ]; then
    "$BUILD/app/cli/mizan-cli" make-demo "$DEMO"
fi
if [ -x "$BUILD/app/gui/mizan" ]; then
    exec "$BUILD/app/gui/mizan" "$DEMO" "$@"
else
    exec "$BUILD/app/cli/mizan-cli" inspect "$DEMO" "$@"
fi
