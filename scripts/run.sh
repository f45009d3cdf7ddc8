#!/usr/bin/env bash
# The run command: installs dependencies, builds the applications and starts Mizan on the demo
# model shipped in resources/demo/fortunes-llama (a small LLaMA trained on fortunes, see the
# README's "The demo model"), already planned over the hardware profile made for it (two
# simulated GPUs, CPU RAM and disk). Extra arguments go to `mizan` (e.g. --language ar, or
# --screenshot FILE to save the first planned view and quit).
# MIZAN_DEMO_DIR opens another checkpoint instead, MIZAN_DEMO_PROFILE plans it over another
# profile (e.g. `mizan-cli make-demo demo/llama-demo --layers 24 --hidden 512 --shards 4` writes
# the 24-layer random-weight demo sized for the demo-2gpu profile).
set -euo pipefail
MIZAN_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$MIZAN_ROOT/scripts/deps.sh"
mizan_install_deps
BUILD="${MIZAN_BUILD_DIR:-$MIZAN_ROOT/build}"
mizan_configure "$BUILD" "${MIZAN_BUILD_OPTIONS[@]}"
cmake --build "$BUILD" --parallel "$(nproc)" --target mizan-cli mizan
# The demo: 4 decoder layers, 3.3 MiB in float32. Over fortunes-demo the first plan uses every
# kind of device: the embeddings and layer 0 on GPU 0, layer 1 on GPU 1, layer 2 in CPU RAM,
# layer 3, the final norm and the head on disk.
DEMO="${MIZAN_DEMO_DIR:-$MIZAN_ROOT/resources/demo/fortunes-llama}"
PROFILE="${MIZAN_DEMO_PROFILE:-fortunes-demo}"
SELECT=()
# model.layers.3: the first layer offloaded to disk; the details pane says why.
[ -z "${MIZAN_DEMO_DIR:-}" ] && SELECT=(--select model.layers.3)
if [ -x "$BUILD/app/gui/mizan" ]; then
    exec "$BUILD/app/gui/mizan" "$DEMO" --hardware "$PROFILE" "${SELECT[@]}" "$@"
else
    exec "$BUILD/app/cli/mizan-cli" plan "$DEMO" --hardware "$PROFILE" "$@"
fi
