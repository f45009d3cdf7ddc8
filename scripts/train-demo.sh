#!/usr/bin/env bash
# Trains the demo model shipped in resources/demo/fortunes-llama/ (README, "The demo model"):
# installs the fortune files (Debian's fortunes and fortunes-min) when missing, builds
# mizan-train-demo and runs it with its defaults, which are the options of the shipped model.
# Deterministic: on the same machine, libtorch and thread count it writes the same bytes.
#   scripts/train-demo.sh                 # rewrites resources/demo/fortunes-llama/ and tests/data/fortunes-heldout.txt
#   scripts/train-demo.sh --steps 100     # extra arguments go to mizan-train-demo (see its --help)
# MIZAN_DEMO_MODEL_DIR writes the model elsewhere (the held-out file then goes next to it).
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps fortunes fortunes-min
BUILD="${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}"
mizan_configure "$BUILD" "${MIZAN_BUILD_OPTIONS[@]}"
cmake --build "$BUILD" --parallel "$(nproc)" --target mizan-train-demo
OUT="${MIZAN_DEMO_MODEL_DIR:-$MIZAN_ROOT/resources/demo/fortunes-llama}"
HELDOUT="$MIZAN_ROOT/tests/data/fortunes-heldout.txt"
[ -n "${MIZAN_DEMO_MODEL_DIR:-}" ] && HELDOUT="$OUT/fortunes-heldout.txt"
mkdir -p "$OUT"
# One libtorch thread and one OpenBLAS thread (the trainer's default): the bytes written depend on
# the thread count, and on a machine shared with other work one thread trains faster than two.
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
nice "$BUILD/tools/traindemo/mizan-train-demo" --corpus /usr/share/games/fortunes --out "$OUT" --heldout "$HELDOUT" "$@"
sha256sum "$OUT"/* "$HELDOUT"
