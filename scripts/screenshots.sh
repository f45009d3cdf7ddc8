#!/usr/bin/env bash
# Regenerates docs/screenshots/en.png and docs/screenshots/ar.png: the GUI under Xvfb, planning
# Llama 3.1 70B (config-only preset) for 2 x RTX 3090 + 128 GB RAM, in English and in Arabic.
# The window saves itself (QWidget::grab) once the plan is shown, so the pictures are exact.
# Usage: scripts/screenshots.sh [BUILD_DIR]   (default: $MIZAN_BUILD_DIR or build/)
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${1:-${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}}"
GUI="$BUILD/app/gui/mizan"
if [ ! -x "$GUI" ]; then
    source "$MIZAN_ROOT/scripts/deps.sh"
    mizan_install_deps xvfb xauth
    cmake -S "$MIZAN_ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIZAN_BUILD_TESTS=OFF -DMIZAN_BUILD_BENCH=OFF
    cmake --build "$BUILD" --target mizan --parallel "$(nproc)"
fi
command -v xvfb-run >/dev/null || { echo "screenshots.sh: xvfb-run is missing (apt-get install xvfb xauth)" >&2; exit 1; }
OUT="$MIZAN_ROOT/docs/screenshots"
mkdir -p "$OUT"
# A private settings folder: the user's recent files and limits never leak into the pictures.
CONFIG="$(mktemp -d)"
trap 'rm -rf "$CONFIG"' EXIT
for lang in en ar; do
    XDG_CONFIG_HOME="$CONFIG/$lang" xvfb-run -a -s "-screen 0 1600x1000x24" \
        "$GUI" llama-3.1-70b --hardware 2x-rtx3090 --language "$lang" --size 1500x950 \
        --select model.layers.40 --screenshot "$OUT/$lang.png"
    echo "wrote $OUT/$lang.png"
done
