#!/usr/bin/env bash
# The test command: installs dependencies, configures, builds and runs the whole suite with ctest.
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps xvfb xauth
BUILD="${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}"
mizan_configure_build "$BUILD"
export QT_QPA_PLATFORM=offscreen
cd "$BUILD"
ctest --output-on-failure --timeout 900 -j "$(nproc)" "$@"
