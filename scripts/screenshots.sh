#!/usr/bin/env bash
# Regenerates docs/screenshots/en.png and docs/screenshots/ar.png: exactly what scripts/run.sh
# shows on a first run (the demo model planned over the fortunes-demo profile: layers on two
# simulated GPUs, in CPU RAM and on disk), under Xvfb, in English and in Arabic; and
# docs/screenshots/run-en.png and run-ar.png: the same plan's test inference caught mid-run (the
# live view with weights moving over a simulated 1 GB/s link).
# The window saves itself (QWidget::grab), so the pictures are exact.
# Usage: scripts/screenshots.sh [BUILD_DIR]   (default: $MIZAN_BUILD_DIR or build/)
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}}"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps xvfb xauth
OUT="$MIZAN_ROOT/docs/screenshots"
mkdir -p "$OUT"
# A private settings folder: the user's recent files and limits never leak into the pictures.
CONFIG="$(mktemp -d)"
trap 'rm -rf "$CONFIG"' EXIT
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/$lang" MIZAN_BUILD_DIR="$BUILD" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$MIZAN_ROOT/scripts/run.sh" --language "$lang" --size 1500x950 --screenshot "$OUT/$lang.png"
    echo "wrote $OUT/$lang.png"
    XDG_CONFIG_HOME="$CONFIG/run-$lang" MIZAN_BUILD_DIR="$BUILD" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$MIZAN_ROOT/scripts/run.sh" --language "$lang" --size 1500x950 --test-run --max-new-tokens 30 \
        --simulated-bandwidth 1 --screenshot "$OUT/run-$lang.png"
    echo "wrote $OUT/run-$lang.png"
done
